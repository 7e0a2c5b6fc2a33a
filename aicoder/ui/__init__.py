"""The Space's building blocks. Gradio is imported here, never at `aicoder` import."""

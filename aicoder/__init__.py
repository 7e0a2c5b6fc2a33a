"""AICoder Studio: AICoderEval tasks, the CoderGen agent, model backends and the Space's UI.

Heavy libraries (torch, transformers, gradio) are imported where they are used, never here.
"""

__version__ = "0.1.0"

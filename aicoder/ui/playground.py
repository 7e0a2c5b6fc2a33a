"""The first panel of the Space: pick a task, edit a candidate, judge it in the sandbox.

The CoderGen loop (a model writing and repairing the code) builds on this panel.
"""

from __future__ import annotations

from aicoder.tasks import Task, assemble
from aicoder.ui.verdict import check_rows, summary_markdown
from sandbox import Limits

__all__ = ["MAX_CODE_CHARS", "build_app", "judge"]

MAX_CODE_CHARS = 50_000
LIMITS = Limits(wall_s=60)


def judge(task: Task, code: str, sandbox) -> tuple[str, list[list[str]], str, str, str]:
    """Run ``code`` as an answer to ``task``; return what the panel shows.

    Returns:
        (summary markdown, checks rows, traceback text, stdout, stderr)
    """
    if not code.strip():
        return "### ✋ Nothing to run: write the function first.", [], "", "", ""
    if len(code) > MAX_CODE_CHARS:
        return (f"### ✋ The code is {len(code):,} characters; the limit is "
                f"{MAX_CODE_CHARS:,}.", [], "", "", "")
    result = sandbox.run(assemble(task, code), LIMITS)
    tb = result.traceback.text if result.traceback else ""
    return summary_markdown(result), check_rows(result), tb, result.stdout, result.stderr


def build_app(tasks: list[Task], sandbox):
    """The Gradio Blocks of the playground."""
    import gradio as gr

    by_label = {f"{t.task_id} · {t.framework}": t for t in tasks}
    labels = list(by_label)

    def show(label: str):
        task = by_label[label]
        return task.prompt, task.imports + task.reference_code

    def run(label: str, code: str):
        summary, rows, tb, out, err = judge(by_label[label], code, sandbox)
        return summary, rows, gr.Code(value=tb, visible=bool(tb)), out, err

    with gr.Blocks(title="AICoder Studio") as app:
        gr.Markdown("# AICoder Studio\nAICoderEval tasks judged check by check in an isolated "
                    "sandbox (no network, read-only system, resource limits).")
        with gr.Row():
            with gr.Column(scale=1):
                picker = gr.Dropdown(labels, value=labels[0], label="Task")
                prompt = gr.Code(language="python", label="Prompt (what the model sees)",
                                 interactive=False)
                code = gr.Code(language="python", label="Candidate (edit me)", interactive=True)
                button = gr.Button("Run in the sandbox", variant="primary")
            with gr.Column(scale=1):
                summary = gr.Markdown()
                checks = gr.Dataframe(headers=["verdict", "check", "message"],
                                      label="Checks", wrap=True, interactive=False,
                                      column_widths=["15%", "45%", "40%"])
                traceback = gr.Code(language="python", label="Traceback", interactive=False,
                                    visible=False)
                with gr.Row():
                    stdout = gr.Textbox(label="stdout", lines=6, max_lines=12)
                    stderr = gr.Textbox(label="stderr", lines=6, max_lines=12)
        picker.change(show, picker, [prompt, code])
        app.load(show, picker, [prompt, code])
        button.click(run, [picker, code], [summary, checks, traceback, stdout, stderr],
                     concurrency_limit=2)
    return app

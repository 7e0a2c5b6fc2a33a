"""The Space: try a task and watch the repair loop live, replay eval runs, the leaderboard.

`build_studio(config)` returns the Gradio Blocks; `app.py` only reads the configuration and
launches it. Every run gets its own agent, cancel event and sandbox run: nothing is shared
between sessions but the loaded models (one in-process generation at a time; a server model
takes as many as it serves).
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aicoder.agents import AGENTS, Budget, Step, TextDelta
from aicoder.errors import AICoderError
from aicoder.models import ChatModel, GenerationParams, ModelUnavailable, load_model
from aicoder.runs import Report, RunDirError, SampleRecord, load_samples, record_from_steps
from aicoder.tasks import Task
from aicoder.ui.custom import MAX_FIELD_CHARS, custom_task
from aicoder.ui.transcript import Panels, Transcript
from sandbox import Limits, Sandbox

__all__ = ["ModelPool", "StudioConfig", "build_studio", "load_run_samples", "read_leaderboard"]

CUSTOM = "Write your own"
#: the UI is refreshed at most this often while text streams (each refresh is a websocket
#: message to the browser; per token would be hundreds per second with a fast server)
REFRESH_S = 0.08


@dataclass
class StudioConfig:
    """What the Space serves."""

    tasks: dict[str, list[Task]]  # source name -> tasks, e.g. {"Builtin suite": [...]}
    models: dict[str, str]  # label -> model spec; the first is the default
    sandbox: Sandbox
    runs_dir: Path | None = None
    limits: Limits = field(default_factory=lambda: Limits(wall_s=60))
    max_rounds: int = 5
    concurrency: int = 2  # runs at once (in-process generation is serialised by the model)


class ModelPool:
    """Each model spec loaded once, on first use, shared by all sessions."""

    def __init__(self) -> None:
        self._models: dict[str, ChatModel] = {}
        self._lock = threading.Lock()

    def get(self, spec: str) -> ChatModel:
        with self._lock:
            if spec not in self._models:
                self._models[spec] = load_model(spec)
            return self._models[spec]


def load_run_samples(path: str | Path) -> list[SampleRecord]:
    """The samples of an eval run (``samples.jsonl``), read by the run format's own loader (a
    run still being written may end in a cut line: it is left out).

    Raises:
        AICoderError: unreadable, a line that is not a sample (named by its number), or none.
    """
    path = Path(path)
    try:
        samples, _ = load_samples(path)
    except RunDirError as exc:  # name the file as the visitor knows it, not its upload path
        raise AICoderError(str(exc).replace(str(path), path.name)) from None
    if not samples:
        raise AICoderError(f"{path.name} holds no samples")
    return samples


def read_leaderboard(runs_dir: Path | None) -> list[dict]:
    """One row per run directory with a readable report.json, best SR@All first."""
    rows = []
    if runs_dir is None or not runs_dir.is_dir():
        return rows
    for path in sorted(runs_dir.glob("*/report.json")):
        try:
            report = Report.model_validate_json(path.read_bytes())
        except (OSError, ValueError):
            continue
        rows.append({"run": path.parent.name, "model": report.model, "mode": report.mode,
                     "tasks": report.n_scored, "SR@All": report.sr_all,
                     "SR@Any": report.sr_any, "pass@1": report.pass_at_k.get("1", 0.0),
                     "tokens/sample": report.tokens_per_sample,
                     "curve": report.repair_curve})
    rows.sort(key=lambda r: -r["SR@All"])
    return rows


def _outputs(transcript: Transcript, panels: Panels | None = None):

    p = panels or transcript.panels()
    return (transcript.messages, p.summary, p.code, p.diff, p.checks, p.stdout, p.stderr,
            p.traceback)


def _download(task_id: str, steps: list[Step]) -> str | None:
    if not steps:
        return None
    record = record_from_steps(task_id, 0, steps)
    out = Path(tempfile.mkdtemp(prefix="aicoder-run-")) / f"{task_id}.jsonl"
    out.write_text(record.model_dump_json() + "\n")
    return str(out)


def build_studio(config: StudioConfig):
    """The Gradio Blocks of the Space: one builder per tab."""
    import gradio as gr

    with gr.Blocks(title="AICoder Studio") as studio:
        gr.Markdown("# AICoder Studio\nA model writes the function, the sandbox runs the "
                    "task's checks, the model reads the failure and repairs — live.")
        with gr.Tab("Try a task"):
            _try_tab(gr, studio, config, ModelPool())
        with gr.Tab("Replay"):
            _replay_tab(gr, config)
        with gr.Tab("Leaderboard"):
            _leaderboard_tab(gr, studio, config)
        gr.Markdown(f"<small>Code runs in the **{getattr(config.sandbox, 'name', 'sandbox')}** "
                    "sandbox.</small>", elem_id="sandbox-footer")
    return studio


def _try_tab(gr, studio, config: StudioConfig, pool: ModelPool) -> None:
    """Pick a task (or write one), a model and a mode; watch the run live; Stop ends it."""
    sources = [*list(config.tasks), CUSTOM]
    labels = {name: [f"{t.task_id} · {t.framework}" for t in ts]
              for name, ts in config.tasks.items()}
    by_label = {label: t for name, ts in config.tasks.items()
                for label, t in zip(labels[name], ts, strict=True)}
    model_labels = list(config.models)

    def pick_source(source: str):
        custom = source == CUSTOM
        choices = labels.get(source, [])
        return (gr.update(choices=choices, value=choices[0] if choices else None,
                          visible=not custom),
                gr.update(visible=custom), gr.update(visible=not custom))

    def show_task(label: str | None):
        task = by_label.get(label or "")
        return task.prompt if task else ""

    def run(source, label, signature, test, model_label, mode, rounds, temperature):
        transcript = Transcript()
        try:
            task = custom_task(signature, test) if source == CUSTOM else by_label[label]
        except (AICoderError, KeyError) as exc:
            transcript.messages.append({"role": "assistant",
                                        "content": f"**Cannot run this task:** {exc}"})
            yield (*_outputs(transcript), None)
            return
        transcript.messages.append({"role": "user", "content":
                                    f"**{task.task_id}** with `{config.models[model_label]}`, "
                                    f"{mode}, {int(rounds)} repair rounds, T={temperature:g}"})
        yield (*_outputs(transcript), None)
        try:
            model = pool.get(config.models[model_label])
        except ModelUnavailable as exc:
            transcript.messages.append({"role": "assistant",
                                        "content": f"**The model cannot be used:** {exc}"})
            yield (*_outputs(transcript), None)
            return
        agent = AGENTS[mode](model, config.sandbox, budget=Budget(rounds=int(rounds)),
                             params=GenerationParams(temperature=float(temperature)),
                             limits=config.limits)
        events = agent.run(task)
        last = 0.0
        try:
            for event in events:
                transcript.feed(event)
                now = time.monotonic()
                if isinstance(event, TextDelta) and now - last < REFRESH_S:
                    continue
                last = now
                yield (*_outputs(transcript), None)
        except ModelUnavailable as exc:
            transcript.messages.append({"role": "assistant",
                                        "content": f"**The model stopped answering:** {exc}"})
        finally:
            events.close()  # Stop (or a closed tab) ends generation and execution at once
        yield (*_outputs(transcript), _download(task.task_id, transcript.steps))

    with gr.Row():
        with gr.Column(scale=2, min_width=380):
            source = gr.Radio(sources, value=sources[0], label="Tasks")
            picker = gr.Dropdown(labels.get(sources[0], []),
                                 value=(labels.get(sources[0]) or [None])[0], label="Task")
            prompt = gr.Code(language="python", label="What the model sees",
                             interactive=False, max_lines=14)
            with gr.Group(visible=False) as custom_box:
                signature = gr.Code(language="python", interactive=True,
                                    label="Signature with a docstring (and imports)",
                                    value='def add(a: int, b: int) -> int:\n'
                                          '    """Return the sum of a and b."""\n')
                test = gr.Code(language="python", interactive=True, label="Test function",
                               value="def test_add():\n    assert add(1, 2) == 3\n"
                                     "    assert add(-1, 1) == 0\n")
                gr.Markdown(f"*Each field up to {MAX_FIELD_CHARS:,} characters; it "
                            "runs only in the sandbox.*")
            with gr.Row():
                model = gr.Dropdown(model_labels, value=model_labels[0], label="Model")
                mode = gr.Radio(["codergen", "react", "direct"], value="codergen",
                                label="Mode")
            with gr.Row():
                rounds = gr.Slider(0, config.max_rounds, value=3, step=1,
                                   label="Repair rounds")
                temperature = gr.Slider(0, 1.5, value=0.6, step=0.1, label="Temperature")
            with gr.Row():
                run_button = gr.Button("Run", variant="primary")
                stop_button = gr.Button("Stop", variant="stop")
            download = gr.File(label="This run as JSONL (eval's samples format)")
        with gr.Column(scale=3):
            summary = gr.Markdown("*Pick a task and press Run: each step of the loop "
                                  "appears below as it happens.*")
            chat = gr.Chatbot(label="The run, step by step", height=520,
                              group_consecutive_messages=False)
            with gr.Tab("Attempt"):
                code = gr.Code(language="python", label="Current attempt", interactive=False)
            with gr.Tab("Diff"):
                diff = gr.Markdown()
            with gr.Tab("Checks"):
                checks = gr.Dataframe(headers=["verdict", "check", "message"], wrap=True,
                                      interactive=False, show_label=False,
                                      column_widths=["15%", "45%", "40%"])
            with gr.Tab("Output"), gr.Row():
                stdout = gr.Textbox(label="stdout", lines=6, max_lines=14)
                stderr = gr.Textbox(label="stderr", lines=6, max_lines=14)
            with gr.Tab("Traceback"):
                traceback = gr.Code(label="Traceback (your failing line marked >>)",
                                    interactive=False)
    source.change(pick_source, source, [picker, custom_box, prompt])
    picker.change(show_task, picker, prompt)
    studio.load(show_task, picker, prompt)
    outputs = [chat, summary, code, diff, checks, stdout, stderr, traceback, download]
    running = run_button.click(
        run, [source, picker, signature, test, model, mode, rounds, temperature],
        outputs, concurrency_id="runs", concurrency_limit=config.concurrency,
        # a visitor waiting behind others sees their place in the queue on the chat
        show_progress="full", show_progress_on=[summary])
    stop_button.click(None, None, None, cancels=[running])


def _replay_tab(gr, config: StudioConfig) -> None:
    """Step through a stored run (an upload, or a run of the server) back and forth."""

    def replay_open(upload, run_name):
        path = upload if upload else (config.runs_dir / run_name / "samples.jsonl"
                                      if config.runs_dir and run_name else None)
        if path is None:
            return [], gr.update(choices=[], value=None), "*Upload a samples.jsonl or pick a run.*"
        try:
            samples = load_run_samples(path)
        except AICoderError as exc:
            return [], gr.update(choices=[], value=None), f"**{exc}**"
        choices = [f"{i}: {s.task_id} #{s.sample} — {s.status.value}"
                   for i, s in enumerate(samples)]
        return samples, gr.update(choices=choices, value=choices[0]), \
            f"{len(samples)} samples loaded."

    def replay_show(samples, choice, position):
        if not samples or not choice:
            return (gr.update(maximum=1, value=0), *_outputs(Transcript()))
        steps = samples[int(choice.split(":")[0])].steps
        position = max(0, min(int(position), len(steps) - 1))
        transcript = Transcript.from_steps(steps[: position + 1])
        return (gr.update(maximum=max(len(steps) - 1, 1), value=position),
                *_outputs(transcript))

    samples_state = gr.State([])
    with gr.Row():
        upload = gr.File(label="samples.jsonl of an eval run", file_types=[".jsonl"],
                         type="filepath")
        run_names = sorted(p.parent.name for p in config.runs_dir.glob(
            "*/samples.jsonl")) if config.runs_dir and config.runs_dir.is_dir() else []
        run_pick = gr.Dropdown(run_names, value=None, label="or a run of the server",
                               visible=bool(run_names))
    status = gr.Markdown()
    sample_pick = gr.Dropdown([], label="Sample")
    with gr.Row():
        back = gr.Button("◀ Back")
        position = gr.Slider(0, 1, value=0, step=1, label="Step")
        forward = gr.Button("Forward ▶")
    with gr.Row():
        with gr.Column(scale=2):
            r_chat = gr.Chatbot(label="Steps", height=520, group_consecutive_messages=False)
        with gr.Column(scale=2):
            r_summary = gr.Markdown()
            r_code = gr.Code(language="python", label="Attempt", interactive=False)
            r_diff = gr.Markdown()
            r_checks = gr.Dataframe(headers=["verdict", "check", "message"], label="Checks",
                                    wrap=True, interactive=False)
            r_tb = gr.Code(label="Traceback (the failing line marked >>)", interactive=False)
            with gr.Row():
                r_out = gr.Textbox(label="stdout", lines=3)
                r_err = gr.Textbox(label="stderr", lines=3)
    r_outputs = [position, r_chat, r_summary, r_code, r_diff, r_checks, r_out, r_err, r_tb]
    for trigger in (upload.change, run_pick.change):
        trigger(replay_open, [upload, run_pick], [samples_state, sample_pick, status])
    sample_pick.change(lambda s, c: replay_show(s, c, 10_000), [samples_state, sample_pick],
                       r_outputs)
    position.release(replay_show, [samples_state, sample_pick, position], r_outputs)
    back.click(lambda s, c, p: replay_show(s, c, p - 1),
               [samples_state, sample_pick, position], r_outputs)
    forward.click(lambda s, c, p: replay_show(s, c, p + 1),
                  [samples_state, sample_pick, position], r_outputs)


def _leaderboard_tab(gr, studio, config: StudioConfig) -> None:
    """The server's runs, best SR@All first, and their repair curves."""

    def leaderboard():
        rows = read_leaderboard(config.runs_dir)
        table = [[r["run"], r["model"], r["mode"], r["tasks"], r["SR@All"], r["SR@Any"],
                  r["pass@1"], r["tokens/sample"]] for r in rows]
        import pandas as pd

        curve = pd.DataFrame([{"run": r["run"], "round": k, "SR@All": v}
                              for r in rows for k, v in enumerate(r["curve"])],
                             columns=["run", "round", "SR@All"])
        return table, curve

    board = gr.Dataframe(headers=["run", "model", "mode", "tasks", "SR@All", "SR@Any",
                                  "pass@1", "tokens/sample"], interactive=False,
                         label="Runs (click a header to sort)")
    curves = gr.LinePlot(x="round", y="SR@All", color="run", y_lim=[0, 1],
                         label="Repair curves (SR@All after round k)")
    refresh = gr.Button("Refresh")
    refresh.click(leaderboard, None, [board, curves])
    studio.load(leaderboard, None, [board, curves])

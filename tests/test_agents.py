"""CoderGen, Direct and ReAct driven by a scripted model over the real sandbox."""

from __future__ import annotations

import time

import pytest

from aicoder.agents import (
    STEP,
    Budget,
    CoderGen,
    Direct,
    Progress,
    ReAct,
    RepairPolicy,
    Step,
    StepKind,
    StepStarted,
    TextDelta,
    steps_only,
)
from aicoder.models import ModelError, ModelUnavailable
from aicoder.tasks import load_builtin
from sandbox import Status
from tests.doubles import ScriptedModel

K = StepKind


@pytest.fixture(scope="module")
def iou():
    return next(t for t in load_builtin() if t.function_name == "box_iou")


def fenced(code: str) -> str:
    return f"Here is the function:\n\n```python\n{code}```\n"


def iou_answer(task, body_change=None) -> str:
    code = task.imports + task.reference_code
    if body_change:
        code = code.replace(*body_change)
    return fenced(code)


BROKEN = ("return inter / union if union > 0 else 0.0", "return inter / (union - union)")
WRONG = ("return inter / union if union > 0 else 0.0", "return 0.5")


def kinds(steps):
    return [s.kind for s in steps]


def test_repairs_after_reading_the_traceback(iou, bwrap):
    model = ScriptedModel([iou_answer(iou, BROKEN),
                           "The union is subtracted from itself, so it divides by zero.",
                           iou_answer(iou)])
    events = list(CoderGen(model, bwrap).run(iou))
    steps = steps_only(events)
    assert kinds(steps) == [K.GENERATE, K.EXECUTE, K.ANALYZE, K.REPAIR, K.EXECUTE, K.FINAL]
    assert steps[1].result.status is Status.FAILED
    assert steps[4].result.status is Status.PASSED
    final = steps[-1]
    assert final.passed and final.rounds == 1 and final.text == "passed at round 1"
    # the analysis prompt shows the failing checks and the candidate's failing line
    analyze_prompt = model.history[1][-1].content
    assert "ZeroDivisionError" in analyze_prompt and "[FAILED]" in analyze_prompt
    assert "return inter / (union - union)" in analyze_prompt
    # the repair request continues that conversation with the analysis
    assert model.history[2][-2].content.startswith("The union is subtracted")
    # streaming: every step was announced, and the model's words arrived as deltas
    started = [e for e in events if isinstance(e, StepStarted)]
    assert [e.kind for e in started] == kinds(steps)[:-1]
    deltas = "".join(e.text for e in events if isinstance(e, TextDelta) and e.index == 0)
    assert deltas == steps[0].text
    assert steps[0].prompt_tokens == 10 and steps[0].completion_tokens > 5


def test_paper_prompts_budget_spent_and_repeated_code_not_rerun(iou, bwrap):
    wrong = iou_answer(iou, WRONG)
    model = ScriptedModel([wrong, "analysis 1", wrong, "analysis 2", wrong])
    steps = steps_only(CoderGen(model, bwrap, budget=Budget(rounds=2),
                                policy=RepairPolicy(prompts="paper")).run(iou))
    assert kinds(steps) == [K.GENERATE, K.EXECUTE, K.ANALYZE, K.REPAIR, K.EXECUTE, K.ANALYZE,
                            K.REPAIR, K.EXECUTE, K.FINAL]
    executes = [s for s in steps if s.kind is K.EXECUTE]
    assert executes[1].note == "same code as round 0: not run again"
    assert executes[1].result == executes[0].result and executes[1].duration_s == 0
    final = steps[-1]
    assert not final.passed and not final.any_passed  # a constant 0.5 passes no check
    assert final.text == "repair budget spent (2 rounds)" and final.rounds == 2


def test_token_budget_stops_the_loop(iou, bwrap):
    model = ScriptedModel([iou_answer(iou, WRONG)], prompt_tokens=500)
    steps = steps_only(CoderGen(model, bwrap, budget=Budget(max_tokens=100)).run(iou))
    assert kinds(steps) == [K.GENERATE, K.EXECUTE, K.FINAL]
    assert steps[-1].text.startswith("token budget spent")


def test_time_budget_stops_the_loop(iou, bwrap):
    model = ScriptedModel([iou_answer(iou, WRONG)])
    steps = steps_only(CoderGen(model, bwrap, budget=Budget(wall_s=0.01)).run(iou))
    assert kinds(steps) == [K.GENERATE, K.EXECUTE, K.FINAL]
    assert steps[-1].text == "time budget spent (0.01 s)"


def test_a_model_error_is_stored_on_the_step(iou, bwrap):
    model = ScriptedModel([iou_answer(iou, WRONG), ModelError("server returned 500")])
    steps = steps_only(CoderGen(model, bwrap).run(iou))
    assert kinds(steps) == [K.GENERATE, K.EXECUTE, K.ANALYZE, K.FINAL]
    assert steps[2].error == "server returned 500"
    assert steps[-1].text == "model error: server returned 500" and not steps[-1].passed


def test_an_unusable_model_is_raised_not_stored(iou, bwrap):
    model = ScriptedModel([ModelUnavailable("cannot reach http://127.0.0.1:9")])
    with pytest.raises(ModelUnavailable, match="cannot reach"):
        steps_only(CoderGen(model, bwrap).run(iou))


def test_stop_during_generation_closes_the_model_stream(iou, bwrap):
    model = ScriptedModel([iou_answer(iou)], hang=True)
    events = CoderGen(model, bwrap).run(iou)
    for event in events:
        if isinstance(event, TextDelta):
            break
    start = time.monotonic()
    events.close()  # the consumer stops iterating (a Stop button)
    assert model.closed.wait(5) and time.monotonic() - start < 5


def test_stop_during_execution_kills_the_sandbox_run(iou, bwrap):
    slow = iou_answer(iou, ("return inter / union if union > 0 else 0.0",
                            "import time; time.sleep(60); return 0.0"))
    events = CoderGen(ScriptedModel([slow]), bwrap).run(iou)
    start = time.monotonic()
    for event in events:
        if isinstance(event, Progress):
            break
    events.close()
    assert time.monotonic() - start < 10


def test_direct_is_one_generation_and_one_execution(iou, bwrap):
    steps = steps_only(Direct(ScriptedModel([iou_answer(iou)]), bwrap).run(iou))
    assert kinds(steps) == [K.GENERATE, K.EXECUTE, K.FINAL]
    assert steps[-1].passed and steps[-1].text == "passed"


def test_react_recovers_from_a_malformed_action(iou, bwrap):
    code = iou.imports + iou.reference_code
    model = ScriptedModel([
        "Thought: I will just write it.\nHere is code without an action.",
        "Thought: check the library.\nAction: python\n```python\nimport sys\n"
        "print('python', sys.version_info[0])\n```",
        "Thought: test it.\nAction: run_tests\n" + fenced(iou.reference_code),
        "Thought: it passes.\nAction: finish\n" + fenced(code),
    ])
    steps = steps_only(ReAct(model, bwrap).run(iou))
    assert kinds(steps) == [K.THOUGHT, K.OBSERVATION, K.THOUGHT, K.ACTION, K.OBSERVATION,
                            K.THOUGHT, K.ACTION, K.OBSERVATION, K.THOUGHT, K.ACTION,
                            K.OBSERVATION, K.FINAL]
    assert steps[1].note == "malformed action" and "valid action" in steps[1].text
    assert steps[4].text == "Observation:\npython 3"
    assert steps[7].text.startswith("Observation: all 4 checks passed")
    assert steps[-1].passed and steps[-1].text == "finished at step 4: passed"
    # each observation went back to the model as the next user message
    assert model.history[2][-1].content == steps[4].text


def test_react_without_finish_spends_its_steps(iou, bwrap):
    model = ScriptedModel(["Thought: hmm."] * 3)
    steps = steps_only(ReAct(model, bwrap, budget=Budget(react_steps=3)).run(iou))
    assert steps[-1].text == "step budget spent (3 steps) without finish"
    assert not steps[-1].passed
    assert all(isinstance(s, Step) for s in steps)


def test_a_run_round_trips_through_json(iou, bwrap):
    """eval stores the steps as JSON lines and replay reads them back: nothing is lost."""
    model = ScriptedModel([iou_answer(iou, BROKEN), "analysis", iou_answer(iou)])
    steps = steps_only(CoderGen(model, bwrap).run(iou))
    lines = [step.model_dump_json() for step in steps]
    again = [STEP.validate_json(line) for line in lines]
    assert again == steps
    assert again[1].result.checks[0].name == steps[1].result.checks[0].name
    assert again[1].result.traceback.exc_type == "ZeroDivisionError"

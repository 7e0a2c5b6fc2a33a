"""CoderGen's repair policy: no dead rounds, candidates, the analysis cap, the paper's prompts.

The loop is driven by a scripted model over the real sandbox; the text checks of
`aicoder.agents.policy` run on analyses of the kind a small model writes.
"""

from __future__ import annotations

import pytest

from aicoder.agents import Budget, CoderGen, RepairPolicy, StepKind, steps_only
from aicoder.agents.policy import degenerate, failure_line, trim_analysis
from aicoder.models import GenerationParams
from aicoder.runs import record_from_steps
from aicoder.tasks import load_builtin
from tests.doubles import ScriptedModel

K = StepKind


@pytest.fixture(scope="module")
def iou():
    return next(t for t in load_builtin() if t.function_name == "box_iou")


def answer(task, body: str | None = None) -> str:
    code = task.imports + task.reference_code
    if body is not None:
        code = code.replace("return inter / union if union > 0 else 0.0", body)
    return f"```python\n{code}```\n"


ZERO = "return 0.0"  # passes the two disjoint/touching checks (2 of 4)
HALF = "return 0.5"  # passes none
ONE = "return 1.0"  # passes the identical-boxes check (1 of 4)
GREEDY = GenerationParams(temperature=0.0, seed=0)


def run(task, model, sandbox, *, rounds=3, params=GREEDY, **policy):
    agent = CoderGen(model, sandbox, budget=Budget(rounds=rounds), params=params,
                     policy=RepairPolicy(**policy))
    return steps_only(agent.run(task))


def test_a_repeat_is_said_plainly_and_asked_again_with_other_sampling(iou, bwrap):
    half = answer(iou, HALF)
    model = ScriptedModel([half, "It always returns 0.5 instead of computing the overlap.",
                           half, answer(iou)])
    steps = run(iou, model, bwrap)
    assert [s.kind for s in steps] == [K.GENERATE, K.EXECUTE, K.ANALYZE, K.REPAIR, K.EXECUTE,
                                       K.REPAIR, K.EXECUTE, K.FINAL]
    repeat = steps[4]
    assert repeat.note == "identical to attempt 1: not run again" and repeat.duration_s == 0
    # the re-ask names the attempt and how it failed, and asks for another approach, in a
    # fresh conversation: the task, the failed attempts' failures, the analysis, no code
    system, reask = model.history[3]
    assert system.role == "system" and reask.role == "user"
    assert reask.content.startswith(model.history[0][1].content)  # the task's own prompt
    assert "Your last answer was identical to attempt 1, which failed with: 4 of 4 checks " \
           "failed; [1/4] Test case 1: identical boxes" in reask.content
    assert "  1. round 0: 4 of 4 checks failed" in reask.content
    assert "What your last analysis found: It always returns 0.5" in reask.content
    assert "takes another approach" in reask.content and "return 0.5" not in reask.content
    # ... in the same round, sampled differently: hotter, with a seed of its own
    assert model.params[2].temperature == 0.0
    assert model.params[3].temperature == pytest.approx(0.6) and model.params[3].seed != 0
    assert "sampled at temperature 0.6" in steps[5].note
    final = steps[-1]
    assert final.passed and final.rounds == 1 and final.text == "passed at round 1"


def test_a_round_that_only_repeats_says_so_in_the_next_request(iou, bwrap):
    half = answer(iou, HALF)
    model = ScriptedModel([half, "analysis one.", half, half, "analysis two.", answer(iou)])
    steps = run(iou, model, bwrap)
    assert steps[-1].passed and steps[-1].rounds == 2
    feedback = model.history[4][-1].content
    assert "Your last repair was identical to attempt 1, which failed with: 4 of 4 checks " \
           "failed" in feedback
    # two repeats so far: the stuck level is 2 (temperature 0.8) for the analysis and repair
    assert model.params[4].temperature == pytest.approx(0.8)
    assert model.params[5].temperature == pytest.approx(0.8)


def test_the_conversation_carries_the_failed_attempts_compactly(iou, bwrap):
    model = ScriptedModel([answer(iou, HALF), "analysis one.", answer(iou, ZERO),
                           "analysis two.", answer(iou)])
    steps = run(iou, model, bwrap)
    assert steps[-1].passed and steps[-1].rounds == 2
    feedback = model.history[3][-1].content
    assert "Attempts that failed so far (do not send any of them again):" in feedback
    assert "1. round 0: 4 of 4 checks failed" in feedback
    assert "2. round 1: 2 of 4 checks failed" in feedback
    # only the latest attempt's code is shown, as the assistant's turn
    assert model.history[3][2].role == "assistant" and "return 0.0" in model.history[3][2].content
    assert all("return 0.5" not in m.content for m in model.history[3])
    # round 1's request held no list: one attempt is shown in full already
    assert "Attempts that failed" not in model.history[1][-1].content


def test_a_looping_analysis_is_cut_before_it_is_fed_back(iou, bwrap):
    looping = "It returns a constant. " + "I need to compute the intersection. " * 12
    model = ScriptedModel([answer(iou, HALF), looping, answer(iou)])
    steps = run(iou, model, bwrap)
    analysis = steps[2]
    assert analysis.text == looping  # the step keeps what the model wrote
    assert analysis.note.startswith("degenerate analysis (repeats itself): fed back cut to")
    fed = model.history[2][-2]
    assert fed.role == "assistant"
    assert fed.content == "It returns a constant. I need to compute the intersection."
    # a degenerate analysis raises the stuck level: the repair samples differently
    assert model.params[2].temperature == pytest.approx(0.6)


def test_code_instead_of_an_analysis_is_not_fed_back(iou, bwrap):
    model = ScriptedModel([answer(iou, HALF), answer(iou, ONE), answer(iou)])
    steps = run(iou, model, bwrap)
    assert "degenerate analysis (code instead of analysis): not fed back" in steps[2].note
    repair_request = model.history[2]
    assert repair_request[-1].role == "user" and repair_request[-2].role == "assistant"
    assert "Write a short error analysis" in repair_request[-1].content
    assert repair_request[-1].content.rstrip().endswith("```python code block.")
    assert steps[-1].passed


def test_the_analysis_has_its_own_token_cap(iou, bwrap):
    model = ScriptedModel([answer(iou, HALF), "It returns 0.5.", answer(iou)])
    run(iou, model, bwrap, analysis_tokens=64,
        params=GenerationParams(temperature=0.0, max_new_tokens=900))
    assert [p.max_new_tokens for p in model.params] == [900, 64, 900]


def test_candidates_keep_the_one_passing_most_checks(iou, bwrap):
    model = ScriptedModel([answer(iou, HALF), "It returns 0.5.",
                           answer(iou, ONE), answer(iou, ZERO), answer(iou, HALF)])
    steps = run(iou, model, bwrap, rounds=1, candidates=3, retries=0)
    executes = [s for s in steps if s.kind is K.EXECUTE]
    assert [s.candidate for s in executes] == [None, 0, 1, 2]
    assert executes[3].note == "identical to attempt 1: not run again"
    # every candidate is its own sample, even at temperature 0
    assert [p.temperature for p in model.params[2:]] == [0.0, pytest.approx(0.6),
                                                         pytest.approx(0.6)]
    assert len({p.seed for p in model.params[2:]}) == 3
    final = steps[-1]
    assert final.text == "repair budget spent (1 rounds)"
    assert final.verdict_step == executes[2].index  # return 0.0: 2 of 4
    record = record_from_steps(iou.task_id, 0, steps)
    assert record.checks_passed == 2 and not record.passed and record.any_passed


def test_a_passing_candidate_ends_the_run_at_once(iou, bwrap):
    model = ScriptedModel([answer(iou, HALF), "It returns 0.5.", answer(iou), ])
    steps = run(iou, model, bwrap, candidates=3)
    assert [s.kind for s in steps][-2:] == [K.EXECUTE, K.FINAL]
    assert steps[-1].passed and steps[-1].rounds == 1 and not model.answers


def test_candidate_ties_go_to_fewer_tokens(iou, bwrap):
    padded = answer(iou, ZERO) + "\nThis version returns zero, which is a safe default. " * 3
    model = ScriptedModel([answer(iou, HALF), "It returns 0.5.", padded,
                           answer(iou, ZERO).replace("return 0.0", "return 0.0 * 1")])
    steps = run(iou, model, bwrap, rounds=1, candidates=2)
    executes = [s for s in steps if s.kind is K.EXECUTE]
    assert steps[-1].verdict_step == executes[2].index


def test_paper_prompts_keep_the_paper_exchange(iou, bwrap):
    half = answer(iou, HALF)
    model = ScriptedModel([half, "analysis 1", half, "analysis 2", answer(iou)])
    steps = run(iou, model, bwrap, prompts="paper")
    assert steps[-1].passed and steps[-1].rounds == 2
    # the same history every round: the first answer, the analysis prompt with the code
    assert model.history[1][-1].content.startswith("Your function was run against its tests")
    assert "return 0.5" in model.history[1][-1].content
    assert model.history[2][-1].content.startswith("Now write the repaired function, following")
    assert all(p == GREEDY for p in model.params)  # no resampling, no analysis cap
    assert all("identical to attempt" not in m.content for h in model.history for m in h)


def test_bad_policies_are_one_line_errors():
    with pytest.raises(ValueError, match="prompts must be one of default, paper"):
        RepairPolicy(prompts="fancy")
    with pytest.raises(ValueError, match="candidates must be at least 1"):
        RepairPolicy(candidates=0)


@pytest.mark.parametrize(("text", "cut", "why"), [
    ("The function returns 0.5 for every input. It should compute the intersection area and "
     "divide it by the union.", False, None),
    ("The boxes are disjoint. " + "The intersection is zero. " * 5, False, "repeats itself"),
    ("The error is in the loop: " + "and the the the " * 20, False, "repeats itself"),
    ("```python\ndef f(x):\n    return x\n```", False, "code instead of analysis"),
    ("import numpy as np\ndef f(x):\n    y = np.sum(x)\n    return y\n", False,
     "code instead of analysis"),
    ("The function fails because the union is computed", True, "cut at the token limit"),
    ("   ", False, "empty"),
])
def test_degenerate_analyses_are_recognised(text, cut, why):
    assert degenerate(text, cut=cut) == why


def test_trim_keeps_the_usable_part():
    assert trim_analysis("A is wrong. B is next. A is wrong. A is wrong.", "repeats itself") \
        == "A is wrong. B is next."
    assert trim_analysis("The sum is off by one. It should start at 0. Then the loo",
                         "cut at the token limit") == "The sum is off by one. It should start at 0."
    assert trim_analysis("Use this:\n```python\nx = 1\n```\nThe index starts at 1.",
                         "code instead of analysis") == "Use this: The index starts at 1."
    assert trim_analysis("```python\nx = 1\n```", "code instead of analysis") == ""


def test_failure_line_names_the_first_failure_and_its_evidence(iou, bwrap):
    from aicoder.tasks import assemble

    result = bwrap.run(assemble(iou, answer(iou, ZERO)))
    line = failure_line(result)
    assert line.startswith("2 of 4 checks failed; [1/4] Test case 1: identical boxes")
    assert line.endswith("AssertionError: Test case [1/4] failed (value: 1.0)")
    assert len(line) <= 240


def test_the_space_shows_the_candidates_and_the_kept_attempt(iou, bwrap):
    from aicoder.ui.transcript import Transcript

    model = ScriptedModel([answer(iou, HALF), "It returns 0.5.", answer(iou, ZERO),
                           answer(iou, ONE)])
    steps = run(iou, model, bwrap, rounds=1, candidates=2, retries=0)
    transcript = Transcript.from_steps(steps)
    titles = [m["metadata"]["title"] for m in transcript.messages if "metadata" in m]
    assert "Writing the repair · round 1 · candidate 1" in titles
    assert any(t.startswith("Running the checks · round 1 · candidate 2") for t in titles)
    assert any("*sampled at temperature 0.6, seed" in m["content"] for m in transcript.messages)
    panels = transcript.panels()
    assert "return 0.0" in panels.code  # the kept candidate (2 of 4), not the last one run
    assert "Not passed" in panels.summary


def test_react_observations_carry_the_same_evidence(iou, bwrap):
    from aicoder.agents import ReAct

    model = ScriptedModel([
        "Thought: test it.\nAction: run_tests\n" + answer(iou, ZERO),
        "Thought: it passes.\nAction: finish\n" + answer(iou),
    ])
    steps = steps_only(ReAct(model, bwrap).run(iou))
    observation = next(s for s in steps if s.kind is K.OBSERVATION)
    assert "[FAILED] [1/4] Test case 1: identical boxes" in observation.text
    assert "value: 1.0" in observation.text  # what the failing comparison saw
    assert model.history[1][-1].content == observation.text

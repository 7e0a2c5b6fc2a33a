"""Mutants and the test-strength audit (`python -m eval audit`): a known function whose
mutants are known (one equivalent, the others killable), and tasks whose tests are strong,
vacuous, passed by a stub, or blind to every mutant."""

from __future__ import annotations

import json

import pytest

from aicoder.build.audit import audit_tasks, weak_reasons
from aicoder.build.mutate import OPERATORS, mutants
from aicoder.tasks import load_jsonl
from aicoder.tasks.loaders import task_from_program
from sandbox import Limits

CLIP = '''def clip_total(values: list, limit: float) -> float:
    """Sum ``values``, capped at ``limit``.

    Args:
        values (list): numbers.
        limit (float): the cap.

    Returns:
        float: the sum, or ``limit`` when the sum is larger.
    """
    total = 0
    for v in values:
        total += v
    if total > limit:
        return limit
    return total
'''

STRONG_TEST = '''def test_clip_total():
    # Test case 1: a sum under the cap
    assert clip_total([1, 2], 10) == 3
    # Test case 2: a sum over the cap is the cap
    assert clip_total([5, 6], 10) == 10
    # Test case 3: nothing sums to zero
    assert clip_total([], 4) == 0
'''


def program(code: str, test: str, imports: str = "import math\n") -> str:
    entry = test.split("def ", 1)[1].split("(", 1)[0]
    return (f"# function_import --------------------\n\n{imports}\n"
            f"# function_code --------------------\n\n{code}\n"
            f"# test_function_code --------------------\n\n{test}\n"
            f"# call_test_function_code --------------------\n\n{entry}()\n")


def task(name: str, code: str, test: str):
    return task_from_program(program(code, test), f"audit/{name}.py", name)


def test_mutants_of_a_known_function():
    found = {m.description: m for m in mutants(CLIP)}
    # every operator that applies made its mutant, none touched the docstring or signature
    assert {m.operator for m in found.values()} == {"arith", "compare", "constant", "return",
                                                    "statement"}
    assert set(OPERATORS) >= {m.operator for m in found.values()}
    assert "line 11: `0` → `1`" in found
    assert "line 13: `total += v` → `total -= v`" in found
    assert "line 14: `total > limit` → `total >= limit`" in found
    assert "line 15: `return limit` → `return None`" in found
    assert "line 12: `for v in values:` removed" in found
    for m in found.values():
        assert '"""Sum ``values``, capped at ``limit``.' in m.code
        assert m.code.startswith("def clip_total(values: list, limit: float) -> float:")
        compile(m.code, "<mutant>", "exec")
    assert len({m.code for m in found.values()}) == len(found)
    assert len({m.mutant_id for m in found.values()}) == len(found)
    # a sample keeps a share of each operator, and is the same for the same seed
    sample = mutants(CLIP, limit=4, seed=1)
    assert len(sample) == 4 and len({m.operator for m in sample}) == 4
    assert sample == mutants(CLIP, limit=4, seed=1)
    assert mutants("def broken(:\n") == []


def test_a_comprehension_filter_is_dropped_and_negated():
    code = ('def trainable(params):\n'
            '    """Doc."""\n'
            '    return sum(p.numel() for p in params if p.requires_grad)\n')
    found = {m.description: m for m in mutants(code) if m.operator == "filter"}
    assert set(found) == {"line 3: `if p.requires_grad` removed",
                          "line 3: `if p.requires_grad` → `if not p.requires_grad`"}
    assert "for p in params)" in found["line 3: `if p.requires_grad` removed"].code
    # a comparison or a `not` is negated by `compare` / `boolean` already: only dropped here
    code = code.replace("if p.requires_grad", "if p.name not in frozen")
    assert [m.description for m in mutants(code) if m.operator == "filter"] == [
        "line 3: `if p.name not in frozen` removed"]


def test_keyword_and_string_mutants_leave_messages_alone():
    code = ('import numpy as np\n'
            'def f(x, mode="mean"):\n'
            '    """Doc."""\n'
            '    if mode not in ("mean", "sum"):\n'
            '        raise ValueError(f"unknown mode {mode!r}, not \'max\'")\n'
            '    out = np.sum(x, axis=-1, keepdims=True)\n'
            '    return out if mode == "sum" else out / x.shape[-1]\n')
    descriptions = [m.description for m in mutants(code)]
    assert "line 6: `np.sum(x, axis=-1, keepdims=True)` → `np.sum(x, keepdims=True)`" in descriptions
    assert "line 7: `'sum'` → `''`" in descriptions
    assert "line 4: `mode not in ('mean', 'sum')` → `mode in ('mean', 'sum')`" in descriptions
    assert "line 6: `-1` → `1`" in descriptions
    assert "line 6: `1` → `0`" not in descriptions  # `-0` repeats nothing a test could see
    # no constant mutant touches a message, the docstring or the signature's default
    constants = [m.description for m in mutants(code) if m.operator == "constant"]
    assert constants and not any(
        "unknown mode" in d or "Doc." in d or "'mean'" in d or "max" in d for d in constants)


def test_the_known_function_keeps_only_its_equivalent_mutant(bwrap):
    """`total > limit` → `>=` returns the same at the boundary: no test can kill it; the
    strong test kills every other mutant, and the stub fails every check."""
    [audit] = audit_tasks([task("clip", CLIP, STRONG_TEST)], bwrap.run, Limits(wall_s=60),
                          workers=2)
    assert audit.reference == "passed" and audit.deterministic and audit.runs == ["passed"] * 3
    assert audit.checks == audit.checks_executed == 3
    assert audit.stub == "failed" and audit.stub_killed and audit.stub_passed_checks == []
    assert [s["description"] for s in audit.survivors] == [
        "line 16: `total > limit` → `total >= limit`"]
    assert audit.killed == audit.mutants - 1 and audit.score == round(1 - 1 / audit.mutants, 4)
    assert weak_reasons(audit) == []
    assert weak_reasons(audit, min_score=1.0) == [f"mutation score {audit.score:.2f} < 1"]


PICK = '''def pick(values: list, i: int) -> int:
    """Twice the ``i``-th of ``values``.

    Args:
        values (list): whole numbers.
        i (int): a position, not negative.

    Returns:
        int: twice ``values[i]``.
    """
    if i < 0:
        raise ValueError("i must not be negative")
    assert values, "no values"
    try:
        return values[i] * 2
    except IndexError as exc:
        raise ValueError(f"no position {i}") from exc
'''

PICK_TEST = '''def test_pick():
    # Test case 1: the first
    assert pick([1, 2], 0) == 2
    # Test case 2: a wrong expected value
    assert pick([1, 2], 1) == 5
    # Test case 3: the test's own name that is not there
    assert pick([1, 2], 0) == expected_two
    # Test case 4: a call with an argument too few
    assert pick([1, 2]) == 2
    # Test case 5: an input the function refuses with its raise
    assert pick([1, 2], -1) == 2
    # Test case 6: an input its own assert refuses
    assert pick([], 0) == 0
    # Test case 7: a position past the end: indexing crashes, and its except raises again
    assert pick([1, 2], 7) == 0
    # Test case 8: a value that cannot be doubled: a crash, plain
    assert pick([None], 0) == 0
    # Test case 9: the second
    assert pick([1, 2], 1) == 4
    # Test case 10: a negative value
    assert pick([-3], 0) == -6
'''


def test_where_a_check_failed_is_told_apart(bwrap):
    """An assert of the test, the test's own code, a raise or assert of the function (it
    refused the input), a crash inside the function (or a raise in its except, which raises
    the crash again): the builder drops the first three kinds of wrong check, never a
    crash."""
    from aicoder.build.builder import prunable_checks

    [audit] = audit_tasks([task("pick", PICK, PICK_TEST)], bwrap.run, Limits(wall_s=60))
    assert audit.reference == "failed" and audit.deterministic
    causes = {c["name"].split(":")[0]: c["cause"] for c in audit.failed_checks}
    assert causes == {"[2/10] Test case 2": "assert", "[3/10] Test case 3": "test",
                      "[4/10] Test case 4": "test", "[5/10] Test case 5": "raise",
                      "[6/10] Test case 6": "raise", "[7/10] Test case 7": "crash",
                      "[8/10] Test case 8": "crash"}
    assert prunable_checks(audit) == []  # a crash may be the function's fault
    no_crash = PICK_TEST.replace("pick([1, 2], 7) == 0", "pick([1, 2, 3], 2) == 6").replace(
        "pick([None], 0) == 0", "pick([0], 0) == 0")
    [audit] = audit_tasks([task("pick", PICK, no_crash)], bwrap.run, Limits(wall_s=60))
    assert [c["cause"] for c in prunable_checks(audit)] == ["assert", "test", "test", "raise",
                                                           "raise"]


WEAK = {
    # the test checks nothing a mutant changes
    "blind": ('''def scale(x: float, factor: float = 2.0) -> float:
    """``x`` times ``factor``.

    Returns:
        float: the product.
    """
    return x * factor
''', '''def test_scale():
    # Test case 1: it answers
    assert scale(1.5) != "three"
    # Test case 2: it answers again
    assert scale(2.0, 3.0) != "six"
    # Test case 3: and again
    assert scale(0.0) != "zero"
'''),
    # a stub that raises passes the test
    "stub": (CLIP, '''def test_clip_total():
    # Test case 1: the function exists
    assert callable(clip_total)
    # Test case 2: a sum under the cap
    assert clip_total([1, 2], 10) == 3
    # Test case 3: the cap
    assert clip_total([5, 6], 10) == 10
'''),
    # every check is swallowed: the test checks nothing
    "vacuous": (CLIP, '''def test_clip_total():
    try:
        clip_total([1, 2], 10)
    except Exception:
        pass
'''),
    # the reference draws from the kernel's randomness: its verdicts differ from run to run
    # (8 fair coins: three runs agree on every check with probability 2**-16)
    "flaky": ('''def coin() -> int:
    """0 or 1.

    Returns:
        int: a random bit.
    """
    import os
    return os.urandom(1)[0] % 2
''', "def test_coin():\n" + "".join(
        f"    # Test case {i}: heads\n    assert coin() == 0\n" for i in range(1, 9))),
}


def test_weak_tests_are_told_apart(bwrap, tmp_path, capsys):
    """Through `python -m eval audit`: each weak task is flagged for its own reason, the
    strong one is not, and the files say so."""
    from eval.cli import main

    tasks = [task("strong", CLIP, STRONG_TEST)] + [task(n, c, t) for n, (c, t) in WEAK.items()]
    jsonl = tmp_path / "tasks.jsonl"
    jsonl.write_text("".join(json.dumps(t.to_record()) + "\n" for t in tasks))
    assert [t.task_id for t in load_jsonl(jsonl)] == ["strong", *WEAK]
    out = tmp_path / "audit"
    assert main(["audit", "--tasks", str(jsonl), "--sandbox", "bwrap", "--env", "app", "--out", str(out),
                 "--timeout", "60"]) == 0
    data = json.loads((out / "audit.json").read_text())
    weak = {r["task_id"]: r["weak"] for r in data["rows"]}
    assert weak["strong"] == []
    assert weak["blind"] == ["mutation score 0.00 < 0.6"], weak["blind"]
    assert len(weak["stub"]) == 1 and weak["stub"][0].startswith("a stub passes "), weak["stub"]
    assert weak["vacuous"][0] == "reference vacuous", weak["vacuous"]
    assert len(weak["flaky"]) == 1 and weak["flaky"][0].startswith(
        "reference not deterministic ("), weak["flaky"]
    assert data["weak"] == [t for t in weak if weak[t]]
    md = (out / "audit.md").read_text()
    assert "## Mutants the tests did not kill" in md and "`total > limit` → `total >= limit`" in md
    printed = capsys.readouterr().out
    assert "weak tests" in printed and "blind: mutation score 0.00 < 0.6" in printed


def test_bad_audit_options_are_one_line(tmp_path, capsys):
    from eval.cli import main

    assert main(["audit", "--tasks", "builtin", "--out", str(tmp_path), "--max-mutants",
                 "-1"]) == 2
    assert capsys.readouterr().err.strip() == "error: --max-mutants must be 0 (all) or more"
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["audit", "--tasks", "builtin", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot write to {blocker / 'sub'}") and "\n" not in err
    from aicoder.errors import AICoderError
    from eval.commands.audit import load_audit

    with pytest.raises(AICoderError, match="no audit at"):
        load_audit(tmp_path / "nothing")


def test_check_gt_and_report_flag_or_exclude_the_weak_tasks(bwrap, tmp_path, capsys,
                                                            monkeypatch):
    """An audit's weak tasks are flagged by check-gt and report (SR@All is also given
    without them), left out with --exclude-weak, and the report says on which tasks it
    counted; an audit of other tasks is refused."""
    from eval.cli import main

    monkeypatch.setenv("AICODER_HOME", str(tmp_path / "home"))  # its own exclusion lists
    tasks = [task("strong", CLIP, STRONG_TEST), task("blind", *WEAK["blind"])]
    jsonl = tmp_path / "tasks.jsonl"
    jsonl.write_text("".join(json.dumps(t.to_record()) + "\n" for t in tasks))
    audit_dir = tmp_path / "audit"
    assert main(["audit", "--tasks", str(jsonl), "--sandbox", "bwrap", "--env", "app",
                 "--out", str(audit_dir), "--timeout", "60"]) == 0
    # both references are right, so both tasks pass; a wrong `scale` passes the blind test too
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"task_id": "strong", "completion": CLIP}) + "\n"
                     + json.dumps({"task_id": "blind", "completion":
                                   "def scale(x, factor=2.0):\n    return x - factor\n"}) + "\n")
    run_dir = tmp_path / "scored"
    assert main(["score", "--tasks", str(jsonl), "--predictions", str(preds), "--env", "app",
                 "--sandbox", "bwrap", "--out", str(run_dir)]) == 0
    capsys.readouterr()

    assert main(["report", str(run_dir), "--audit", str(audit_dir)]) == 0
    out = capsys.readouterr().out
    assert "weak tests (< 0.6)" in out and "1 in; SR@All without them 1.000" in out
    data = json.loads((run_dir / "report.json").read_text())
    assert data["sr_all"] == 1.0 and data["n_scored"] == 2
    assert data["audit"]["weak"] == {"blind": "weak tests (mutation score floor 0.6): "
                                              "mutation score 0.00 < 0.6"}
    assert data["audit"]["excluded"] is False and data["audit"]["sr_all_strong"] == 1.0
    md = (run_dir / "report.md").read_text()
    assert "1 tasks have weak tests" in md and "## Weak tests (1): in the numbers" in md

    assert main(["report", str(run_dir), "--audit", str(audit_dir / "audit.json"),
                 "--exclude-weak"]) == 0
    data = json.loads((run_dir / "report.json").read_text())
    assert data["n_scored"] == 1 and "blind" in data["skipped"] and data["audit"]["excluded"]
    md = (run_dir / "report.md").read_text()
    assert ("**Scored on the tasks whose tests kill at least 0.6 of their mutants**: 1 tasks "
            "with weak tests excluded") in md

    # check-gt puts them in the exclusion list, which score and report honour
    assert main(["check-gt", "--tasks", str(jsonl), "--env", "app", "--sandbox", "bwrap",
                 "--audit", str(audit_dir), "--exclude-weak"]) == 0
    out = capsys.readouterr().out
    assert "weak tests (audit" in out and "blind: mutation score 0.00 < 0.6" in out
    assert "exclusion list (1 tasks" in out
    assert main(["report", str(run_dir)]) == 0
    data = json.loads((run_dir / "report.json").read_text())
    assert data["n_scored"] == 1 and data["audit"]["source"] == "check-gt's exclusion list"
    assert data["audit"]["min_mutation_score"] == 0.6
    assert "Scored on the tasks whose tests kill at least 0.6" in (run_dir / "report.md").read_text()

    # mistakes: one line each
    capsys.readouterr()
    assert main(["report", str(run_dir), "--exclude-weak"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --exclude-weak and --min-mutation-score need --audit DIR (an `eval audit` of "
        "these tasks)")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps(tasks[0].to_record()) + "\n")
    assert main(["check-gt", "--tasks", str(other), "--env", "app", "--audit",
                 str(audit_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: the audit at {audit_dir} is of other tasks") and err.count(
        "\n") == 1


def test_every_builtin_task_has_tests_that_kill_its_mutants(bwrap, tmp_path, capsys):
    """The suite this project ships: each reference passes 3 runs of 3, a stub fails every
    check, and the tests kill at least 0.6 of the (seeded sample of) mutants."""
    from eval.cli import main

    out = tmp_path / "audit"
    assert main(["audit", "--tasks", "builtin", "--sandbox", "bwrap", "--env", "app",
                 "--out", str(out)]) == 0
    data = json.loads((out / "audit.json").read_text())
    assert data["n_tasks"] == 30 and data["reference_passed"] == data["deterministic"] == 30
    assert data["stub_killed"] == 30 and data["mutants"] >= 300
    assert data["weak"] == [], capsys.readouterr().out

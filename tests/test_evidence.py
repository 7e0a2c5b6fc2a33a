"""Evidence a model can act on: what a failed check compared, and where the candidate raised.

The harness reports, for a failed comparison, the evaluated operands (a short repr each; shape,
dtype and a few values for arrays; where two sequences or dicts first differ), and for an
exception in the candidate's code, the failing line and the candidate's locals there. The
Checks tab, ``solve`` and the repair prompt all show it.
"""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from aicoder.prompts import describe_failure
from aicoder.ui.verdict import check_rows
from sandbox import Program, Status

CANDIDATE = """\
import numpy as np
def nms(boxes, scores, threshold):
    return [3, 1, 2]
def scale(x):
    return np.asarray(x, float) * 2.0 + np.array([0.0, 0.5])
def parse(text):
    parts = text.split(",")
    count = len(parts)
    return int(parts[count])
def counts(words):
    return {"a": 1, "b": 1, "c": 3}
"""

TEST = """\
def test_f():
    assert nms([1, 2, 3], [0.9, 0.8, 0.7], 0.5) == [3, 2]
    assert np.allclose(scale([1.0, 2.0]), np.array([2.0, 4.0]))
    assert parse("1,2") == 2
    assert counts("a b b") == {"a": 1, "b": 2}
    assert nms([], [], 0.5) == [3, 1, 2]
"""


def _result(sandbox):
    return sandbox.run(Program(candidate=CANDIDATE, test=TEST, entry="test_f"))


def test_failed_comparisons_show_their_operands(any_sandbox):
    result = _result(any_sandbox)
    assert result.status is Status.FAILED
    nms, scale, _parse, counts, same = result.checks
    assert "left:  [3, 1, 2]" in nms.evidence
    assert "right: [3, 2]" in nms.evidence
    assert "first difference at index 1: 1 != 2" in nms.evidence
    assert "shape=(2,), dtype=float64, values=[2.0, 4.5]" in scale.evidence
    assert "largest difference 0.5 at flat index 1" in scale.evidence
    assert "keys in only one of them: 'c'" in counts.evidence
    assert same.passed and same.evidence == ""


def test_an_exception_in_the_candidate_shows_its_line_and_locals(bwrap):
    parse = _result(bwrap).checks[2]
    assert parse.message == "IndexError: list index out of range"
    assert "in your function parse, line 9: return int(parts[count])" in parse.evidence
    assert "parts = ['1', '2']" in parse.evidence and "count = 2" in parse.evidence


def test_evidence_is_capped(bwrap):
    cand = "def big():\n    return list(range(100000))\n"
    test = "def test_f():\n    assert big() == []\n"
    check = bwrap.run(Program(candidate=cand, test=test, entry="test_f")).checks[0]
    assert check.evidence.startswith("left:  [0, 1, 2")
    assert len(check.evidence) < 1700
    assert "lengths differ: 100000 and 0" in check.evidence


def test_evidence_reaches_the_checks_tab_solve_and_the_prompt(bwrap):
    result = _result(bwrap)
    rows = check_rows(result)
    assert "first difference at index 1: 1 != 2" in rows[0][2]
    prompt = describe_failure(result)
    assert "      left:  [3, 1, 2]" in prompt
    assert "      in your function parse, line 9: return int(parts[count])" in prompt

    from aicoder.agents.steps import ExecuteStep
    from aicoder.tasks import load_builtin
    from aicoder.terminal import TerminalRenderer

    console = Console(file=StringIO(), width=200)
    renderer = TerminalRenderer(load_builtin()[0], "double", "direct", console=console)
    renderer.show(ExecuteStep(index=1, round=0, code="x", result=result))
    text = console.file.getvalue()
    assert "first difference at index 1" in text and "parts = ['1', '2']" in text


def test_without_hardening_the_candidates_locals_still_show(bwrap):
    """Sandbox.harden=False (the OS-layer tests) has no guard: no operands, but the locals."""
    bwrap.harden = False
    try:
        result = _result(bwrap)
    finally:
        bwrap.harden = True
    assert result.status is Status.FAILED
    assert "parts = ['1', '2']" in result.checks[2].evidence
    assert result.checks[0].evidence == ""


def test_tensors_show_shape_dtype_and_values(bwrap):
    """torch's ``size`` is a method, numpy's an int: both are summarised, in comparisons and
    in the candidate's locals (an empty batch included)."""
    cand = ("import torch\n"
            "def mean_score(logits):\n"
            "    total = logits.sum()\n"
            "    return total / logits.shape[0] if logits.numel() < 0 else logits * 2\n"
            "def accuracy(logits, labels):\n"
            "    correct = int((logits.argmax(1) == labels).sum())\n"
            "    return correct / logits.shape[0]\n")
    test = ("import torch\n"
            "def test_f():\n"
            "    assert torch.equal(mean_score(torch.arange(12.0)), torch.zeros(12))\n"
            "    assert accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)) == 0.0\n")
    compared, empty = bwrap.run(Program(candidate=cand, test=test, entry="test_f")).checks
    assert "argument 1: Tensor(shape=(12,), dtype=torch.float32, values=[0.0, 2.0, 4.0, 6.0, " \
           "8.0, 10.0, 12.0, 14.0] ...)" in compared.evidence
    assert "argument 2: Tensor(shape=(12,), dtype=torch.float32" in compared.evidence
    assert empty.message == "ZeroDivisionError: division by zero"
    assert "logits = Tensor(shape=(0, 3), dtype=torch.float32, values=[])" in empty.evidence
    assert "correct = 0" in empty.evidence

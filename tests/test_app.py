"""The playground panel: judging an edited candidate, and bad input."""

from __future__ import annotations

import pytest

from aicoder.tasks import load_builtin
from aicoder.ui.playground import MAX_CODE_CHARS, build_app, judge


@pytest.fixture(scope="module")
def iou_task():
    return next(t for t in load_builtin() if t.function_name == "box_iou")


def test_judge_shows_each_check(iou_task, bwrap):
    summary, rows, tb, _, _ = judge(iou_task, iou_task.imports + iou_task.reference_code, bwrap)
    assert "PASSED — 4/4 checks passed" in summary
    assert [r[0] for r in rows] == ["✓ passed"] * 4 and tb == ""

    broken = iou_task.imports + iou_task.reference_code.replace("inter / union", "inter / (union + 1)")
    summary, rows, _, _, _ = judge(iou_task, broken, bwrap)
    assert "FAILED" in summary and "✗ failed" in [r[0] for r in rows]


def test_judge_refuses_empty_and_huge_code(iou_task, bwrap):
    assert "Nothing to run" in judge(iou_task, "  \n", bwrap)[0]
    assert "the limit is" in judge(iou_task, "x" * (MAX_CODE_CHARS + 1), bwrap)[0]


def test_the_app_builds(iou_task, process_sandbox):
    app = build_app([iou_task], process_sandbox)
    assert app is not None

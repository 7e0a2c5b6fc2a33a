"""Per-check verdicts: what counts as a check, and which status each kind of run gets.

These run through real sandboxes (bubblewrap and the plain process backend).
"""

from __future__ import annotations

import ast

import pytest

from sandbox import Limits, Program, Status
from sandbox.harness import instrument

FAST = Limits(wall_s=20)


def program(candidate: str, test: str, entry: str = "test_f") -> Program:
    return Program(candidate=candidate, test=test, entry=entry)


DOUBLE = "def f(x):\n    return 2 * x\n"


def test_plan_names_top_level_and_nested_asserts():
    src = (
        "def test_f():\n"
        "    assert f(1) == 2\n"
        "    for i in range(3):\n"
        "        assert f(i) == 2 * i, 'loop'\n"
        "    return 'All Tests Passed'\n"
    )
    module, plan = instrument(src, "test_f")
    assert [c["name"] for c in plan] == ["line 2: assert f(1) == 2",
                                         "line 4: assert f(i) == 2 * i"]
    compile(module, "test.py", "exec")  # the rewrite is valid Python
    text = ast.unparse(module)
    assert "__aicoder_rec__.send" in text and "__aicoder_checks__" not in text


def test_plan_uses_test_case_blocks_when_marked():
    src = (
        "def test_f():\n"
        "    print('Testing started.')\n"
        "    data = [1, 2]\n"
        "    # Test case 1: doubles\n"
        "    print('Testing case [1/2] started.')\n"
        "    assert f(1) == 2\n"
        "    assert f(2) == 4\n"
        "    print('Testing case [2/2] started.')\n"
        "    assert f(data[0]) == 2\n"
        "    return 'done'\n"
    )
    _, plan = instrument(src, "test_f")
    assert len(plan) == 2
    assert plan[0]["name"].startswith("[1/2] Test case 1") and plan[0]["line"] == 5
    assert plan[1]["name"] == "Testing case [2/2] started."


def test_missing_test_function_is_reported():
    with pytest.raises(LookupError, match="no function named 'test_g'"):
        instrument("def test_f():\n    assert True\n", "test_g")


def test_independent_checks_each_get_a_verdict(any_sandbox):
    test = ("def test_f():\n"
            "    assert f(1) == 2\n"
            "    assert f(2) == 5, 'wrong on purpose'\n"
            "    assert f(3) == 6\n")
    result = any_sandbox.run(program(DOUBLE, test), FAST)
    assert result.status is Status.FAILED
    assert [c.passed for c in result.checks] == [True, False, True]
    assert result.checks[1].message == "AssertionError: wrong on purpose"
    assert result.any_passed and not result.passed
    assert result.traceback is not None and result.traceback.exc_type == "AssertionError"


def test_all_checks_pass(any_sandbox):
    test = "def test_f():\n    assert f(1) == 2\n    assert f(0) == 0\n    return 'ok'\n"
    result = any_sandbox.run(program(DOUBLE, test), FAST)
    assert result.status is Status.PASSED, result.reason
    assert result.checks_executed == 2 and result.passed
    assert result.peak_memory_mb and result.peak_memory_mb > 1


def test_block_failure_does_not_stop_later_blocks(bwrap):
    test = ("def test_f():\n"
            "    # Test case 1\n"
            "    assert f(None) == 0\n"
            "    # Test case 2\n"
            "    assert f(2) == 4\n")
    result = bwrap.run(program(DOUBLE, test), FAST)
    assert result.status is Status.FAILED
    assert [c.passed for c in result.checks] == [False, True]
    assert result.checks[0].message.startswith("TypeError: unsupported operand")


def test_error_in_candidate_is_error_with_candidate_frames(bwrap):
    cand = "def f(x):\n    y = x / 0\n    return y\n"
    test = "def test_f():\n    r = f(1)\n    assert r == 2\n"
    result = bwrap.run(program(cand, test), FAST)
    assert result.status is Status.ERROR
    assert result.traceback.exc_type == "ZeroDivisionError"
    frames = result.traceback.candidate_frames
    assert frames and frames[-1].line == 2 and frames[-1].code == "y = x / 0"
    assert not result.checks[0].executed
    assert result.checks[0].message.startswith("not reached: ZeroDivisionError")


def test_syntax_error_names_the_line(bwrap):
    result = bwrap.run(program("def f(x):\n    return (x\n", "def test_f():\n    assert f(1)\n"),
                       FAST)
    assert result.status is Status.ERROR
    assert result.traceback.exc_type == "SyntaxError"
    assert any(fr.in_candidate and fr.line == 2 for fr in result.traceback.frames)


def test_a_test_that_catches_the_error_is_vacuous_not_passed(bwrap):
    """The v3 pattern: the test catches an OSError, prints, and never asserts."""
    cand = "def f(path):\n    return open(path).read()\n"
    test = ("def test_f():\n"
            "    try:\n"
            "        text = f('missing.wav')\n"
            "        assert isinstance(text, str)\n"
            "    except OSError as e:\n"
            "        print(f'Error: {e}')\n"
            "    else:\n"
            "        print('All Tests Passed')\n")
    result = bwrap.run(program(cand, test), FAST)
    assert result.status is Status.VACUOUS
    assert "FileNotFoundError" in result.reason
    assert result.checks_executed == 0 and not result.any_passed


def test_catch_all_handler_that_swallows_an_error_is_an_error(bwrap):
    cand = "def f(x):\n    raise RuntimeError('model not found')\n"
    test = ("def test_f():\n"
            "    try:\n"
            "        assert f(1) is not None\n"
            "        print('All Tests Passed')\n"
            "    except Exception as e:\n"
            "        print(f'Test Failed: {e}')\n")
    result = bwrap.run(program(cand, test), FAST)
    # the assert's own expression raised: the check failed, and its message says why
    assert result.status is Status.FAILED
    assert result.checks[0].message == "RuntimeError: model not found"

    test2 = ("def test_f():\n"
             "    assert f is not None\n"
             "    try:\n"
             "        r = f(1)\n"
             "    except Exception:\n"
             "        print('Test Failed')\n"
             "        return\n"
             "    assert r == 1\n")
    result = bwrap.run(program(cand, test2), FAST)
    assert result.status is Status.ERROR
    assert "caught RuntimeError with a catch-all handler" in result.reason
    assert [c.executed for c in result.checks] == [True, False]


def test_handler_that_asserts_on_the_exception_is_a_real_check(bwrap):
    cand = "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n"
    test = ("def test_f():\n"
            "    try:\n"
            "        f(-1)\n"
            "    except Exception as e:\n"
            "        assert isinstance(e, ValueError)\n"
            "    assert f(2) == 2\n")
    result = bwrap.run(program(cand, test), FAST)
    assert result.status is Status.PASSED, result.reason


def test_a_test_without_asserts_is_vacuous(bwrap):
    test = "def test_f():\n    print(f(2))\n    return 'All Tests Passed'\n"
    result = bwrap.run(program(DOUBLE, test), FAST)
    assert result.status is Status.VACUOUS
    assert result.stdout.strip() == "4"


def test_output_is_kept_and_events_are_not_shown(bwrap):
    cand = "import sys\ndef f(x):\n    print('out', x)\n    print('err', x, file=sys.stderr)\n    return 2 * x\n"
    test = "def test_f():\n    assert f(1) == 2\n"
    result = bwrap.run(program(cand, test), FAST)
    assert result.status is Status.PASSED
    assert result.stdout == "out 1\n"
    assert result.stderr == "err 1\n"


def test_unusable_test_code_is_an_error_not_a_crash(bwrap):
    result = bwrap.run(program(DOUBLE, "def test_f(:\n"), FAST)
    assert result.status is Status.ERROR
    assert "test code is unusable" in result.reason
    result = bwrap.run(program(DOUBLE, "def test_g():\n    assert True\n"), FAST)
    assert result.status is Status.ERROR and "no function named 'test_f'" in result.reason


def test_a_block_whose_assert_never_ran_has_not_passed(bwrap):
    """AICoderEval v3 shape: each Test case wraps its call in `try/except OSError: pass`."""
    cand = "def f(path):\n    return open(path).read()\n"
    block = ("    # Test case {i}\n"
             "    try:\n"
             "        text = f({arg!r})\n"
             "        assert isinstance(text, str)\n"
             "    except OSError:\n"
             "        pass\n")
    test = ("def test_f():\n" + block.format(i=1, arg="/missing/a.wav")
            + block.format(i=2, arg="/missing/b.wav") + "    return 'All Tests Passed'\n")
    result = bwrap.run(program(cand, test), FAST)
    assert result.status is Status.VACUOUS, result.reason
    assert [c.executed for c in result.checks] == [False, False]

    # one case passes, the other never ran its check because the test caught the error
    readable = test.replace("/missing/b.wav", "/etc/hostname")
    result = bwrap.run(program(cand, readable), FAST)
    assert result.status is Status.FAILED, result.reason
    assert "1 of 2 checks did not run: the test caught FileNotFoundError" in result.reason
    assert [c.executed for c in result.checks] == [False, True] and result.any_passed

    both = readable.replace("/missing/a.wav", "/etc/hostname")
    assert bwrap.run(program(cand, both), FAST).status is Status.PASSED


def test_checks_in_branches_not_taken_do_not_count(bwrap):
    test = ("def test_f():\n"
            "    if f(1) == 2:\n"
            "        assert f(2) == 4\n"
            "    else:\n"
            "        assert f(2) == 5\n")
    result = bwrap.run(program(DOUBLE, test), FAST)
    assert result.status is Status.PASSED, result.reason
    assert [c.executed for c in result.checks] == [True, False]


def test_should_not_be_reached_asserts_pass_when_not_reached(bwrap):
    cand = "def f(x):\n    if x is None:\n        raise ValueError('x is None')\n    return x\n"
    test = ("def test_f():\n"
            "    assert f(3) == 3\n"
            "    try:\n"
            "        f(None)\n"
            "        assert False, 'f(None) should raise'\n"
            "    except ValueError:\n"
            "        pass\n")
    result = bwrap.run(program(cand, test), FAST)
    assert result.status is Status.PASSED, result.reason
    assert result.checks[1].message == "not reached, as the test intends"
    lenient = cand.replace("raise ValueError('x is None')", "return 0")
    result = bwrap.run(program(lenient, test), FAST)
    assert result.status is Status.FAILED
    assert result.checks[1].message == "AssertionError: f(None) should raise"


CHECK_BLOCK_TESTS = {
    "comments": "def test_f():\n    x = 1\n    # Test case 1: one\n    assert x == 1\n\n"
                "    # Test case 2: two\n    y = x + 1\n    assert y == 2\n",
    "trailing": "def test_f():\n    assert 1 == 1  # Test case 1\n    assert 2 == 2  # Test case 2\n"
                "    assert 3 == 3  # Test case 3\n",
    "prints": "def test_f():\n    print('Testing case [1/2] started.')\n    assert True\n"
              "    print('Testing case [2/2] started.')\n    assert 2 > 1\n"
              "    return 'All Tests Passed'\n",
    "a block with no assert": "def test_f():\n    # Test case 1\n    assert 1\n    # Test case 2\n"
                              "    z = 3\n    # Test case 3\n    assert z\n",
}


@pytest.mark.parametrize("style", sorted(CHECK_BLOCK_TESTS))
def test_check_blocks_are_the_checks_the_harness_makes(style):
    from sandbox.harness import check_blocks, instrument

    source = CHECK_BLOCK_TESTS[style]
    blocks = check_blocks(source, "test_f")
    _, plan = instrument(source, "test_f")
    assert [b[0] for b in blocks] == [c["line"] for c in plan]  # the same checks, by line
    lines = source.splitlines()
    for _line, first, last in blocks:
        assert "Test case" in lines[first - 1] or "case [" in lines[first - 1]
        assert first <= last <= len(lines)
    if style == "prints":  # the closing return is not part of the last block
        assert blocks[-1][2] == lines.index("    assert 2 > 1") + 1
    if style == "a block with no assert":
        assert len(blocks) == 2
    assert check_blocks("def test_f():\n    assert 1\n    assert 2\n", "test_f") == []
    with pytest.raises(LookupError):
        check_blocks(source, "test_g")

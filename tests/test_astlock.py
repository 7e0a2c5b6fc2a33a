"""ast.parse is serialised across threads where CPython's AST constructor needs it."""

from __future__ import annotations

import ast
import os
import signal
import threading

import pytest

import aicoder  # noqa: F401  (installs the lock)
from sandbox import astlock

pytestmark = pytest.mark.skipif(not astlock.AFFECTED, reason="CPython 3.13+ parses per thread")


def test_importing_the_product_installs_the_lock_once():
    assert ast.parse.__aicoder_locked__
    parse = ast.parse
    astlock.install()
    assert ast.parse is parse
    assert ast.dump(ast.parse("x = 1")) == "Module(body=[Assign(targets=[Name(id='x', " \
        "ctx=Store())], value=Constant(value=1))], type_ignores=[])"


def test_a_second_thread_waits_while_one_parses():
    done = threading.Event()
    errors: list[BaseException] = []

    def parse():
        try:
            ast.parse("def f():\n    return 1\n")
        except BaseException as e:  # reported below
            errors.append(e)
        done.set()

    with astlock.LOCK:  # stands for a parse in flight on this thread
        ast.parse("y = 2")  # re-entrant: the same thread may parse inside (a finalizer can)
        thread = threading.Thread(target=parse)
        thread.start()
        assert not done.wait(0.5)
    assert done.wait(60)
    thread.join()
    assert errors == []


def test_a_forked_child_can_parse_while_another_thread_holds_the_lock():
    held, release = threading.Event(), threading.Event()

    def hold():
        with astlock.LOCK:
            held.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(60)
    try:
        pid = os.fork()
        if pid == 0:  # the child: a lock inherited held would hang here, so the alarm ends it
            signal.alarm(30)
            code = 1
            try:
                ast.parse("z = 3")
                code = 0
            finally:
                os._exit(code)
    finally:
        release.set()
        holder.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

"""app.py: configuration mistakes are one line and exit 2, before anything is served."""

from __future__ import annotations

import pytest

import app


@pytest.mark.parametrize(("argv", "message"), [
    (["--model", "nobackend:x"], "unknown model backend"),
    (["--tasks", "nowhere.jsonl"], "no tasks at 'nowhere.jsonl'"),
    (["--runs", "/nonexistent/runs", "--model", "openai:http://127.0.0.1:9"],
     "--runs /nonexistent/runs is not a directory"),
    (["--sandbox", "bwarp", "--model", "openai:http://127.0.0.1:9"], "did you mean 'bwrap'"),
])
def test_configuration_mistakes(capsys, argv, message):
    assert app.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_model_labels():
    assert app._models(["openai:http://h:1#m"]) == {"openai:http://h:1#m": "openai:http://h:1#m"}
    assert app._models(["AICoder=tgi:http://h:8080"]) == {"AICoder": "tgi:http://h:8080"}

"""`python -m aicoder.build` with a served model double (a real model cannot run in the suite):
a good task is kept; a vacuous one, one a stub passes, one whose tests kill no mutant, one
with too few checks and a duplicate are each rejected for their own reason, after one repair;
kill -9 mid-build loses nothing; the output loads and scores."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aicoder.build.__main__ import main
from aicoder.tasks import load_tasks
from tests.server_double import ServerDouble

ROOT = Path(__file__).resolve().parent.parent

FUNCTION = '''def clip_total(values: list, limit: float) -> float:
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

TESTS = {
    "good": '''def test_clip_total():
    # Test case 1: a sum under the cap
    assert clip_total([1, 2], 10) == 3
    # Test case 2: a sum over the cap is the cap
    assert clip_total([5, 6], 10) == 10
    # Test case 3: nothing sums to zero
    assert clip_total([], 4) == 0
''',
    "vacuous": '''def test_clip_total():
    # Test case 1: never checked
    if clip_total([1], 10) is None:
        assert clip_total([1, 2], 10) == 3
    # Test case 2: never checked
    if clip_total([1], 10) is None:
        assert clip_total([5, 6], 10) == 10
    # Test case 3: never checked
    if clip_total([1], 10) is None:
        assert clip_total([], 4) == 0
''',
    "stub": '''def test_clip_total():
    # Test case 1: it exists
    assert callable(clip_total)
    # Test case 2: a sum under the cap
    assert clip_total([1, 2], 10) == 3
    # Test case 3: the cap
    assert clip_total([5, 6], 10) == 10
''',
    "blind": '''def test_clip_total():
    # Test case 1: it answers
    assert clip_total([1, 2], 10) != "three"
    # Test case 2: it answers again
    assert clip_total([5, 6], 10) != "ten"
    # Test case 3: and again
    assert clip_total([], 4) != "zero"
''',
    "few": '''def test_clip_total():
    # Test case 1: a sum under the cap
    assert clip_total([1, 2], 10) == 3
''',
}
TESTS["dup"] = TESTS["good"]


def program(kind: str) -> str:
    return ("# domain: Tabular\n\n# function_import --------------------\n\nimport math\n\n"
            f"# function_code --------------------\n\n{FUNCTION}\n"
            f"# test_function_code --------------------\n\n{TESTS[kind]}\n"
            "# call_test_function_code --------------------\n\ntest_clip_total()\n")


def responder(hold: threading.Event | None = None, hold_on: str = ""):
    def respond(body: dict):
        text = " ".join(m.get("content", "") for m in body.get("messages", []))
        kind = next(k for k in TESTS if f"DOC-{k}-DOC" in text)
        if hold is not None and kind == hold_on:
            hold.wait(120)
        return ("ok", f"Here is the task.\n\n```python\n{program(kind)}```\n")
    return respond


def documents(path: Path, kinds) -> Path:
    path.write_text("".join(json.dumps({"id": k, "text": f"DOC-{k}-DOC: clip_total sums "
                                        "numbers up to a cap.", "library": "numpy"}) + "\n"
                            for k in kinds))
    return path


KINDS = ["good", "vacuous", "stub", "blind", "few", "dup"]


def test_exactly_the_good_task_is_kept(bwrap, tmp_path, capsys):
    docs = documents(tmp_path / "docs.jsonl", KINDS)
    out = tmp_path / "build"
    with ServerDouble(responder()) as server:
        assert main(["--jsonl", str(docs), "--model", f"openai:{server.url}", "--samples", "1",
                     "--sandbox", "bwrap", "--out", str(out), "--test-fraction", "0"]) == 0
        # one request per candidate: the good one at once, every other with its repair
        assert len(server.requests) == 1 + 2 * 5
        repair = server.requests[2]["messages"][-1]["content"]
        assert repair.startswith("The program was rejected:")
    printed = capsys.readouterr().out
    assert "6 documents, 6 candidates, 5 repairs: 1 kept" in printed
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    final = {e["doc_id"]: e["candidates"][-1] for e in log}
    assert final["good"]["status"] == "kept" and final["good"]["task_id"] == "g00001_clip_total"
    reasons = {k: c["reasons"] for k, c in final.items() if k != "good"}
    assert reasons["vacuous"][0].startswith("reference vacuous"), reasons
    assert reasons["stub"][0].startswith("a stub passes "), reasons
    # its tests see only a mutant that raises (`total = 0` removed): 1 of 9
    assert reasons["blind"] == ["mutation score 0.11 < 0.6"], reasons
    assert reasons["few"][0].startswith("the test has 1 asserts in 1 '# Test case' blocks")
    assert reasons["dup"][0].startswith("duplicate of g00001_clip_total (exact"), reasons
    assert all(c["status"] == "rejected" for k, c in final.items() if k != "good")
    sheet = json.loads((out / "datasheet.json").read_text())
    assert sheet["kept"] == 1 and sheet["documents"] == 6 and sheet["repairs"] == 5
    assert sheet["rejections"] == {"vacuous": 2, "stub passes": 2, "weak tests": 2,
                                   "too few checks": 2, "duplicate": 2}
    assert sheet["mutation_scores"]["median"] == pytest.approx(1 - 1 / 9, abs=0.2)
    md = (out / "DATASHEET.md").read_text()
    assert md.startswith("---\nlicense:") and "| kept | 1 (after a repair: 0) |" in md
    # the output is a task file: it loads, and the reference scores through `eval score`
    [task] = load_tasks(str(out / "tasks.jsonl"))
    assert task.task_id == "g00001_clip_total" and task.domain == "Tabular"
    record = json.loads((out / "tasks.jsonl").read_text())
    assert record["source_document"] == "good" and record["document_source"].endswith(":1")
    from eval.cli import main as eval_main

    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"task_id": task.task_id, "completion": task.reference_code}))
    assert eval_main(["score", "--tasks", str(out / "tasks.jsonl"), "--predictions", str(preds),
                      "--env", "app", "--sandbox", "bwrap", "--out", str(tmp_path / "s")]) == 0
    assert json.loads((tmp_path / "s" / "report.json").read_text())["sr_all"] == 1.0


def test_kill_9_mid_build_resumes_and_a_changed_config_is_refused(bwrap, tmp_path, capsys):
    docs = documents(tmp_path / "docs.jsonl", ["good", "few", "dup", "blind"])
    out = tmp_path / "build"
    hold = threading.Event()
    with ServerDouble(responder(hold, hold_on="dup")) as server:
        argv = ["--jsonl", str(docs), "--model", f"openai:{server.url}", "--samples", "1",
                "--sandbox", "bwrap", "--out", str(out)]
        proc = subprocess.Popen([sys.executable, "-m", "aicoder.build", *argv], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            # the third document's request is held: the build is mid-way, two documents logged
            for _ in range(1200):
                if any("DOC-dup-DOC" in json.dumps(r) for r in list(server.requests)):
                    break
                threading.Event().wait(0.1)
            lines = (out / "log.jsonl").read_text().splitlines()
            assert [json.loads(x)["doc_id"] for x in lines] == ["good", "few"]
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            hold.set()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        with open(out / "log.jsonl", "a") as fh:
            fh.write('{"doc_id": "torn')  # what a write cut by kill -9 can leave
        assert main(argv) == 0
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [e["doc_id"] for e in log] == ["good", "few", "dup", "blind"]
    assert [t.task_id for t in load_tasks(str(out / "tasks.jsonl"))] == ["g00001_clip_total"]
    capsys.readouterr()
    assert main([*argv[:-2], "--out", str(out), "--min-mutation-score", "0.9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out} holds a build with another config (changed: "
                          "min_mutation_score)") and err.count("\n") == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["--library", "numpy", "--modules", "nolinalg"], "unknown module 'numpy.nolinalg'"),
    (["--docs", "{tmp}"], "no Markdown (.md, .mdx) or reStructuredText (.rst) file under"),
    (["--jsonl", "{tmp}/none.jsonl"], "no documents file at"),
    (["--jsonl", "{tmp}/d.jsonl", "--samples", "0"], "--samples must be 1 or more"),
    (["--jsonl", "{tmp}/d.jsonl", "--model", "openai:http://127.0.0.1:{closed}"],
     ": [Errno 111] Connection refused. Is the server running and the URL right? "
     "(what is built is kept: the same command resumes)"),
    (["--jsonl", "{tmp}/d.jsonl", "--out", "{tmp}/file/sub"], "cannot write to"),
])
def test_bad_input_is_one_line(tmp_path, capsys, argv, message, bwrap):
    documents(tmp_path / "d.jsonl", ["good"])
    (tmp_path / "file").write_text("")
    with socket.socket() as sock:  # a loopback port this test held and let go: nothing listens
        sock.bind(("127.0.0.1", 0))
        closed = str(sock.getsockname()[1])
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{closed}", closed) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    assert main([*argv, "--sandbox", "bwrap"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, last


UNMARKED = '''def test_clip_total():
    values = [1, 2]
    assert clip_total(values, 10) == 3
    assert clip_total([5, 6], 10) == 10
    big = [100]
    total = clip_total(big, 4)
    assert total == 4
'''


def _program_with(test: str) -> str:
    TESTS["unmarked"] = test
    try:
        return program("unmarked")
    finally:
        del TESTS["unmarked"]


def test_test_case_markers_are_added_to_a_test_without_any():
    import ast

    from aicoder.build.builder import add_test_case_markers
    from aicoder.tasks.loaders import task_from_program

    marked = add_test_case_markers(_program_with(UNMARKED))
    task = task_from_program(marked, "t.py", "t")
    lines = task.test_code.splitlines()
    heads = [i for i, line in enumerate(lines) if line.strip().startswith("# Test case")]
    assert [lines[i].strip() for i in heads] == [
        "# Test case 1: clip_total(values, 10) == 3", "# Test case 2: clip_total([5, 6], 10) == 10",
        "# Test case 3: total == 4"]
    # each block starts where the statements of its check start, not at its assert
    assert lines[heads[0] + 1].strip() == "values = [1, 2]"
    assert lines[heads[2] + 1].strip() == "big = [100]"
    ast.parse(task.test_code)
    # the same program, with one marker or too few asserts, is left alone
    one = UNMARKED.replace("    values", "    # Test case 1: under\n    values")
    assert add_test_case_markers(_program_with(one)) == _program_with(one)
    few = TESTS["few"].replace("    # Test case 1: a sum under the cap\n", "")
    assert add_test_case_markers(_program_with(few)) == _program_with(few)


def test_a_task_that_never_uses_its_documented_api_is_rejected():
    from aicoder.build.builder import reason_kind, structure_problems
    from aicoder.build.documents import Document
    from aicoder.tasks.loaders import task_from_program

    task = task_from_program(program("good"), "t.py", "t")
    about_det = Document(doc_id="numpy.linalg.det", source="library numpy", title="det",
                         text="function numpy.linalg.det(a)", library="numpy")
    problems = structure_problems(task, about_det)
    assert problems == ["the function never uses numpy.linalg.det (it must call the "
                        "documented API)"]
    assert reason_kind(problems[0]) == "off the document"
    about_sum = Document(doc_id="builtins.sum", source="library builtins", title="sum",
                         text="function sum", library="builtins")
    uses_sum = program("good").replace("    total = 0\n    for v in values:\n        total += v\n",
                                       "    total = sum(values)\n")
    assert structure_problems(task_from_program(uses_sum, "t.py", "t"), about_sum) == []


def test_a_bare_call_a_copied_docstring_and_a_made_up_domain_are_caught():
    from aicoder.build.builder import function_part, function_problems
    from aicoder.build.documents import Document

    about_prod = Document(doc_id="math.prod", source="library math", title="prod",
                          text="function math.prod(iterable)", library="math")
    wrapper = PROD.format(body="math.prod(values)").replace(
        "    if result > limit:\n        return limit\n    return result", "    return result")
    [thin] = function_problems(about_prod, "import math", wrapper.split("\n", 2)[2])
    assert thin.startswith("the function is too thin to test: 2 mutant(s) of it "), thin
    thick = PROD.format(body="math.prod(values)")
    assert function_problems(about_prod, "import math", thick.split("\n", 2)[2]) == []
    assert function_problems(about_prod, "import math", wrapper.split("\n", 2)[2],
                             min_mutants=2) == []
    # eight words in a row of the example's docstring, in other spacing, case and wrapping,
    # are a copy; its words in another order are not
    copied = thick.replace("The product of ``values``, capped at ``limit``.",
                           "The `ignore_index`   CONVENTION of\n    PyTorch losses and HuggingFace "
                           "tokenizers' labels")
    [problem] = function_problems(about_prod, "import math", copied)
    assert problem == ("the docstring copies the example's (\"the ignore_index convention of "
                       "pytorch losses and huggingface ...\"): write one that describes "
                       "capped_product itself"), problem
    own = thick.replace("The product of ``values``, capped at ``limit``.",
                        "Multiply the values; huge products are capped at the limit")
    assert function_problems(about_prod, "import math", own) == []
    # the domain line: one of the seven in any case, else none (the code decides)
    for line, kept in (("# domain: computer  vision", "# domain: Computer Vision"),
                       ("# domain: Natural Language Processing, Computer Vision, Audio, "
                        "Multimodal, Tabular, Reinforcement Learning or Other", ""),
                       ("# domain: Linear Algebra", ""), ("# domain: Tabular.", "# domain: Tabular")):
        domain, _, _, problems = function_part(f"```python\n{line}\n{thick}```", about_prod)
        assert (domain, problems) == (kept, []), line


def test_markers_after_the_asserts_count_as_the_harness_counts_them(bwrap):
    from aicoder.build.builder import structure_problems
    from aicoder.build.documents import Document
    from aicoder.tasks.loaders import task_from_program
    from sandbox import Program

    trailing = program("good").replace(
        "    # Test case 1: a sum under the cap\n    assert clip_total([1, 2], 10) == 3\n",
        "    assert clip_total([1, 2], 10) == 3  # Test case 1: a sum under the cap\n").replace(
        "    # Test case 2: a sum over the cap is the cap\n    assert clip_total([5, 6], 10) == 10\n",
        "    assert clip_total([5, 6], 10) == 10  # Test case 2: the cap\n")
    assert "== 3  # Test case 1" in trailing and "== 10  # Test case 2" in trailing
    task = task_from_program(trailing, "t.py", "t")
    about = Document(doc_id="clip", source="jsonl", title="clip", text="clip_total")
    assert structure_problems(task, about) == []
    result = bwrap.run(Program(candidate=task.imports + task.reference_code, test=task.test_code,
                               entry=task.test_entry))
    assert result.status.value == "passed" and len(result.checks) == 3, result
    # a marker in a string, or outside the test function, is no block
    fake = trailing.replace("  # Test case 2: the cap", "  # the cap").replace(
        "    # Test case 3: nothing sums to zero\n", "    '# Test case 3'\n")
    [problem] = structure_problems(task_from_program(fake, "t.py", "t"), about)
    assert problem.startswith("the test has 3 asserts in 1 '# Test case' blocks"), problem


def test_a_domain_line_that_is_not_one_of_the_seven_is_not_trusted():
    from aicoder.tasks.loaders import task_from_program

    made_up = program("good").replace("# domain: Tabular", "# domain: Tabular, Audio or Other")
    assert task_from_program(made_up, "t.py", "t").domain == "Other"  # as the code says
    assert task_from_program(program("good").replace("Tabular", "tabular"), "t.py",
                             "t").domain == "Tabular"


SCHEDULER = """function lib.get_scheduler(name: 'str', optimizer: 'Optimizer', steps: 'int' = 10)

Unified API to get any scheduler from its name.

Args:
""" + "".join(f"    arg{i} (`int`):\n        The number of warmup steps to do, and more words.\n"
              for i in range(30))


def test_the_prompt_shows_whole_paragraphs_and_no_cut_mark():
    from aicoder.build.builder import function_ask, prompt_document
    from aicoder.build.documents import Document

    # the Args block does not fit: the signature and the description, as they are, unmarked
    assert prompt_document(SCHEDULER, 400) == SCHEDULER.split("\n\nArgs:")[0]
    assert prompt_document("short text", 400) == "short text"
    # a description longer than the limit: the sentences of it that fit
    long = "f(x)\n\n" + " ".join(f"Sentence {i} says a thing." for i in range(100))
    shown = prompt_document(long, 200)
    assert shown.startswith("f(x)\n\nSentence 0 says a thing. Sentence 1") and \
        shown.endswith("says a thing.") and len(shown) <= 200, shown
    # a signature alone longer than the limit: whole lines of it
    assert prompt_document("a" * 50 + "\n" + "b" * 500, 100) == "a" * 50
    doc = Document(doc_id="lib.get_scheduler", source="library lib 1.0", title="get_scheduler",
                   text=SCHEDULER, library="lib")
    ask = function_ask(doc)
    assert "Unified API to get any scheduler" in ask and "[...]" not in ask
    assert "arg0" not in ask and "benchmark" not in ask.lower()
    assert "do not name the function `get_scheduler`" in ask


def test_a_copied_docstring_is_not_shown_again_in_the_repair():
    from aicoder.build.builder import function_problems, repair_function_ask, without_docstrings
    from aicoder.build.documents import Document

    code = ('def f(x: int) -> int:\n    """Copied\n    words."""\n    return x + 1\n\n\n'
            'def g() -> None:\n    "only a docstring"\n')
    stripped = without_docstrings(code)
    assert "Copied" not in stripped and "return x + 1" in stripped
    assert '"only a docstring"' in stripped  # a body of nothing else keeps it: it must parse
    compile(stripped, "f.py", "exec")
    assert '    """<the docstring that was here is left out' in stripped  # where it was
    [problem] = function_problems(Document(doc_id="lib.f", source="s", title="f", text="f(x)",
                                           library="lib"),
                                  "import lib", stripped.replace("x + 1", "lib.f(x) + x * 2"))
    assert problem.startswith("f has no docstring"), problem  # the placeholder left as it was
    broken = 'def f(:\n    """x"""'
    assert without_docstrings(broken) == broken
    doc = Document(doc_id="lib.f", source="s", title="f", text="f(x)", library="lib")
    copied = "the docstring copies the example's (\"one hot ...\"): write one that describes f"
    ask = repair_function_ask(doc, code, f"- {copied}", [copied])
    assert "Copied" not in ask and "return x + 1" in ask and "left out above" in ask
    thin = "the function is too thin to test: 1 mutant(s)"
    ask = repair_function_ask(doc, code, f"- {thin}", [thin])
    assert "Copied" in ask and "left out" not in ask  # only a copy is taken out
    assert "one_hot" not in ask  # no example in a repair: the model copied it


def test_the_function_is_repaired_when_it_raised_in_every_check_it_failed():
    from aicoder.build.builder import function_failed

    def run(*causes: str) -> dict:
        return {"failure": "Verdict: failed", "failed_checks": [
            {"line": n, "name": f"[{n}/5] Test case {n}", "cause": c}
            for n, c in enumerate(causes, 1)]}

    assert function_failed(run("crash", "crash"))
    assert function_failed(run("crash", "raise"))  # its own raise refused the input
    assert not function_failed(run("crash", "assert"))  # a check's own assert failed
    assert not function_failed(run("raise", "test"))  # the test's own code raised
    assert not function_failed(run())
    assert not function_failed(None) and not function_failed({"failure": ""})
    assert function_failed({"failure": "ImportError while defining the candidate: no module"})


def test_a_repair_is_told_how_to_compare_tensors():
    from aicoder.build.builder import repair_problems

    audit = {"failure": "  [FAILED] [1/3] Test case 1 — RuntimeError: Boolean value of Tensor "
             "with more than one value is ambiguous\n  [FAILED] [2/3] Test case 2 — TypeError: "
             "allclose(): argument 'other' (position 2) must be Tensor, not float\n"}
    told = repair_problems(["reference failed: 2 of 3 checks failed"], audit)
    assert "torch.allclose(a, b)" in told and "torch.tensor([...])" in told
    assert "torch.tensor([...])" not in repair_problems(["x"], {"failure": "AssertionError"})


def test_a_function_without_a_docstring_is_sent_back_before_its_test():
    from aicoder.build.builder import function_problems, reason_kind
    from aicoder.build.documents import Document

    doc = Document(doc_id="math.isqrt", source="s", title="isqrt", text="isqrt(n)",
                   library="math")
    code = "def floor_root(n: int) -> int:\n    if n < 0:\n        return 0\n" \
           "    return math.isqrt(n) + 0\n"
    problems = function_problems(doc, "import math", code)
    assert problems and problems[0].startswith("floor_root has no docstring"), problems
    assert reason_kind(problems[0]) == "no docstring"
    with_doc = code.replace("-> int:\n", '-> int:\n    """The floor of its square root."""\n')
    assert function_problems(doc, "import math", with_doc) == []


def test_several_libraries_are_taken_in_turn(capsys):
    from aicoder.build.__main__ import _documents, _select, build_parser

    args = build_parser().parse_args(["--library", "json,email", "--modules", "json,email.utils",
                                      "--out", "x"])
    groups, described = _documents(args)
    assert described == "libraries json, email: json, email.utils"
    docs = _select(groups, shuffle=True, limit=4, seed=0)
    assert [d.library for d in docs] == ["json", "email", "json", "email"]
    assert docs == _select(groups, shuffle=True, limit=4, seed=0)
    bad = build_parser().parse_args(["--library", "json,email", "--modules", "utils", "--out", "x"])
    with pytest.raises(Exception, match="module 'utils' is in none of --library json,email"):
        _documents(bad)


def test_section_markers_are_put_back_where_the_answer_left_them_out():
    from aicoder.build.builder import add_section_markers
    from aicoder.tasks.loaders import task_from_program

    full = program("good")
    bare = "\n".join(line for line in full.splitlines() if "--------------------" not in line)
    fixed = add_section_markers(bare)
    task = task_from_program(fixed, "t.py", "t")
    assert task.function_name == "clip_total" and task.test_entry == "test_clip_total"
    assert task.imports.strip().endswith("import math")
    assert fixed.startswith("# domain: Tabular\n")
    assert task.call.strip().endswith("test_clip_total()")
    # a program with something else at the top level, or no test call, is left as it was
    for broken in (bare + "\nprint('done')\n", bare.rsplit("test_clip_total()", 1)[0]):
        assert add_section_markers(broken) == broken
    assert add_section_markers(full) == full


FSUM = '''# domain: Tabular

import math


def capped_sum(values: list, limit: float) -> float:
    """The exact float sum of ``values``, capped at ``limit``.

    Args:
        values (list): numbers.
        limit (float): the cap.

    Returns:
        float: the sum, or ``limit`` when it is larger.
    """
    total = math.fsum(values)
    return limit if total > limit else total
'''
FSUM_TEST = '''import math

def test_capped_sum():
    # Test case 1: float sums are exact
    assert capped_sum([0.1] * 10, 5.0) == 1.0
    # Test case 2: the cap
    assert capped_sum([3.0, 4.0], 5.0) == 5.0
    # Test case 3: nothing is zero
    assert capped_sum([], 2.0) == 0.0
'''
PROD = '''import math

def capped_product(values: list, limit: int) -> int:
    """The product of ``values``, capped at ``limit``.

    Args:
        values (list): integers.
        limit (int): the cap.

    Returns:
        int: the product, or ``limit`` when it is larger.
    """
    result = {body}
    if result > limit:
        return limit
    return result

capped_product([2, 3], 100)  # an example call, dropped
'''
PROD_TEST = '''def test_capped_product():
    # Test case 1: a product under the cap
    assert capped_product([2, 3], 100) == 6
    # Test case 2: the cap
    assert capped_product([10, 20], 50) == 50
    # Test case 3: the empty product
    assert capped_product([], 9) == 1
'''


HYPOT = '''import math

def {name}(dx: float, dy: float) -> float:
    """{doc}

    Args:
        dx (float): the x step.
        dy (float): the y step.

    Returns:
        float: the distance{returns}.
    """
{body}
'''
THIN_HYPOT = HYPOT.format(
    name="step_length", returns="",
    doc="One-hot encode class labels, leaving an all-zero row for ignored",  # the example's
    body="    return math.hypot(dx, dy)")
THICK_HYPOT = HYPOT.format(
    name="step_length", returns=", 0.0 for a step shorter than 1e-9",
    doc="The length of one step on a plane; a tiny step counts as none.",
    body="    length = math.hypot(dx, dy)\n    if length < 1e-9:\n        return 0.0\n"
         "    return length")
HYPOT_TEST = '''def test_step_length():
    # Test case 1: a 3-4-5 triangle
    assert step_length(3.0, 4.0) == 5.0
    # Test case 2: a step below the floor is none
    assert step_length(1e-10, 0.0) == 0.0
    # Test case 3: a step in one direction
    assert step_length(0.0, -2.0) == 2.0
'''


ROOT_FUNCTION = '''import math

def floor_root(n: int) -> int:
    """The whole part of the square root of n; 0 for a negative n.

    Args:
        n (int): any integer.

    Returns:
        int: the floor of sqrt(n), 0 when n < 0.
    """
    if n < 0:
        return 0
    return math.isqrt({arg})
'''
ROOT_TEST = '''def test_floor_root():
    # Test case 1: a square
    assert floor_root(16) == 4
    # Test case 2: between two squares
    assert floor_root(17) == 4
    # Test case 3: a negative number
    assert floor_root(-5) == 0
    # Test case 4: a large square
    assert floor_root(10 ** 6) == 1000
'''
REPAIR = "This Python function was written to use"  # the function repair's first words


def two_answers(body: dict):
    """A model that answers the function question with a function only, and the test question
    with a test only; its first sum test expects a wrong value, its first product function
    loops instead of calling math.prod."""
    messages = body.get("messages", [])
    last = messages[-1]["content"]
    if last.startswith("Here is a function:"):
        if "def step_length" in last:
            return ("ok", f"```python\n{HYPOT_TEST}```")
        if "def floor_root" in last:
            return ("ok", f"```python\n{ROOT_TEST}```")
        test = FSUM_TEST if "def capped_sum" in last else PROD_TEST
        if "def capped_sum" in last and "Its test was rejected" not in last:
            test = test.replace("== 5.0", "== 7.0")  # a wrong expected value, the first time
        return ("ok", f"```python\n{test}```")
    if "DOC-isqrt-DOC" in messages[1]["content"]:  # float in, a TypeError in isqrt itself
        arg = "n" if last.startswith(REPAIR) else "n / 1"
        return ("ok", f"```python\n{ROOT_FUNCTION.format(arg=arg)}```")
    if "DOC-hypot-DOC" in messages[1]["content"]:
        thick = last.startswith(REPAIR)
        return ("ok", f"```python\n{THICK_HYPOT if thick else THIN_HYPOT}```")
    if "DOC-fsum-DOC" in messages[1]["content"]:
        return ("ok", f"```python\n{FSUM}```\n\nThis function sums exactly.")
    looped = "1\n    for v in values:\n        result *= v"
    body = "math.prod(values)" if last.startswith(REPAIR) else looped
    return ("ok", f"```python\n{PROD.format(body=body)}```")


def test_the_function_and_its_test_are_two_answers(bwrap, tmp_path, capsys):
    from aicoder.build.builder import reason_kind

    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"id": i, "text": f"DOC-{k}-DOC: {i}(values)",
                                        "library": "math"}) + "\n"
                            for i, k in (("math.fsum", "fsum"), ("math.prod", "prod"),
                                         ("math.hypot", "hypot"), ("math.isqrt", "isqrt"))))
    out = tmp_path / "build"
    with ServerDouble(two_answers) as server:
        assert main(["--jsonl", str(docs), "--model", f"openai:{server.url}", "--samples", "1",
                     "--sandbox", "bwrap", "--out", str(out), "--test-fraction", "0"]) == 0
        asks = [r["messages"][-1]["content"] for r in server.requests]
        turns = [[m["role"] for m in r["messages"]] for r in server.requests]
    # fsum: function, test, the test again told what failed; prod: a function off the
    # document, its repair, then the test; hypot: a bare call with the example's docstring,
    # its repair (no test is asked for the bare one), then the test
    write, test = "Write one Python function that", "Here is a function:"
    # isqrt: the function raised in the checks it failed, so the function is repaired, told
    # the sandbox's errors, and its new version gets a new test
    assert [next(p for p in (write, test, REPAIR, "") if a.startswith(p)) for a in asks] == [
        write, test, test, write, REPAIR, test, write, REPAIR, test, write, test, REPAIR, test]
    # every ask is a fresh prompt, the function repairs too: the rejected function is shown
    # in it, not left as the model's own turn to be written again
    assert turns == [["system", "user"]] * 13, turns
    assert "math.isqrt(n / 1)" in asks[11] and "TypeError" in asks[11], asks[11]
    assert "The function raised these errors itself" in asks[11]
    assert "result *= v" in asks[4] and "one_hot" not in asks[4]  # the rejected one, no example
    assert "def step_length" in asks[7] and "One-hot encode" not in asks[7], asks[7]
    assert "Its docstring is left out above" in asks[7]
    assert "the docstring copies the example's (\"one hot encode class labels leaving an all " \
        "...\")" in asks[7], asks[7]
    assert "the function is too thin to test: 1 mutant(s) of it (`return math.hypot(dx, dy)` " \
        "→ `return None`), at least 3 needed" in asks[7], asks[7]
    assert "Its test was rejected" in asks[2] and "def capped_sum" in asks[2]
    assert "AssertionError" in asks[2] and "Test case 2" in asks[2], asks[2]
    assert "math.prod" in asks[4] and "never uses math.prod" in asks[4]
    assert "capped_product([2, 3], 100)  #" not in asks[5]  # the example call was dropped
    log = {e["doc_id"]: e["candidates"] for e in
           map(json.loads, (out / "log.jsonl").read_text().splitlines())}
    wrong, retested = log["math.fsum"]
    assert wrong["reasons"][0].startswith("reference failed: 1 of 3 checks failed"), wrong
    assert retested["status"] == "kept" and "== 5.0" in retested["program"]
    first, repaired = log["math.prod"]
    assert first["reasons"] == ["the function never uses math.prod (it must call the documented "
                                "API)"]
    assert repaired["status"] == "kept", repaired["reasons"]
    thin, thick = log["math.hypot"]
    assert [reason_kind(r) for r in thin["reasons"]] == ["copied docstring", "too thin"]
    assert thick["status"] == "kept", thick["reasons"]
    tasks = {t.task_id: t for t in load_tasks(str(out / "tasks.jsonl"))}
    assert set(tasks) == {"g00001_capped_sum", "g00002_capped_product", "g00003_step_length",
                          "g00004_floor_root"}
    product = tasks["g00002_capped_product"]
    assert "import math" in product.imports and product.test_entry == "test_capped_product"
    assert "example call" not in product.content
    broken, mended = log["math.isqrt"]
    assert broken["reasons"][0].startswith("reference failed: 3 of 4 checks failed"), broken
    assert mended["status"] == "kept" and "math.isqrt(n)" in mended["program"], mended
    assert "4 documents, 4 candidates, 4 repairs: 4 kept" in capsys.readouterr().out
    seeds = [r.get("seed") for r in server.requests]

    # the same functions' first tests asked for again (benchmarks.build_retest), here with a
    # right test for each: fsum's turns, isqrt's function still raises; prod's and hypot's
    # first functions never reached a test, and are not taken
    def right_tests(body: dict):
        last = body["messages"][-1]["content"]
        assert last.startswith("Here is a function:"), last
        return ("ok", f"```python\n{FSUM_TEST if 'def capped_sum' in last else ROOT_TEST}```")

    from benchmarks.build_retest import main as retest

    report = tmp_path / "retest.json"
    with ServerDouble(right_tests) as again:
        assert retest(["--report", str(report), "--", "--jsonl", str(docs), "--model",
                       f"openai:{again.url}", "--samples", "1", "--sandbox", "bwrap",
                       "--out", str(out)]) == 0
    rows = json.loads(report.read_text())["candidates"]
    assert [(r["doc_id"], reason_kind(r["then"][0]), r["now"]) for r in rows] == [
        ("math.fsum", "reference fails", ["kept"]),
        ("math.isqrt", "reference fails", rows[1]["now"])], rows
    assert reason_kind(rows[1]["now"][0]) == "reference fails"
    assert seeds[1] != seeds[10] and None not in seeds
    assert [r.get("seed") for r in again.requests] == [seeds[1], seeds[10]]  # the build's


PAIRS = '''import math

def pairs(n: int) -> int:
    """The number of unordered pairs among n items; 0 for fewer than 2.

    Args:
        n (int): how many items.

    Returns:
        int: n choose 2, or 0 when n < 2.
    """
    if n < 2:
        return 0
    return math.comb(n, 2)
'''
PAIRS_TEST = '''def test_pairs():
    # Test case 1: two items make one pair
    assert pairs(2) == 1
    # Test case 2: four items
    assert pairs(4) == 7
    # Test case 3: none for one item
    assert pairs(1) == 0
    # Test case 4: five items
    assert pairs(5) == 10
    # Test case 5: a negative count
    assert pairs(-3) == 0
'''


def pairs_answers(body: dict):
    """A function that is right, and a test with one wrong expected value (4 choose 2 is 6,
    not 7) among five checks, until it is told what failed."""
    last = body["messages"][-1]["content"]
    if last.startswith("Here is a function:"):
        test = PAIRS_TEST if "Its test was rejected" not in last else PAIRS_TEST.replace(
            "== 7", "== 6")
        return ("ok", f"```python\n{test}```")
    return ("ok", f"```python\n{PAIRS}```")


def test_a_check_the_reference_fails_on_an_assert_is_dropped_and_recorded(bwrap, tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"id": "math.comb", "text": "DOC: math.comb(n, k)",
                                "library": "math"}) + "\n")
    logs = {}
    for flag in ([], ["--keep-failing-checks"]):
        out = tmp_path / ("keep" if flag else "drop")
        with ServerDouble(pairs_answers) as server:
            assert main(["--jsonl", str(docs), "--model", f"openai:{server.url}", "--samples",
                         "1", "--sandbox", "bwrap", "--out", str(out), "--test-fraction", "0",
                         *flag]) == 0
        [entry] = map(json.loads, (out / "log.jsonl").read_text().splitlines())
        logs[bool(flag)] = entry["candidates"]
        sheet = json.loads((out / "datasheet.json").read_text())
        assert sheet["kept_with_dropped_checks"] == (0 if flag else 1)
    # by default: kept at once, without the wrong check, and the log says which was dropped
    [kept] = logs[False]
    assert kept["status"] == "kept" and kept["attempt"] == 0, kept["reasons"]
    assert kept["audit"]["dropped_checks"] == ["[2/5] Test case 2: four items"]
    assert "pairs(4) == 7" not in kept["program"] and "Test case 2: four" not in kept["program"]
    assert "pairs(5) == 10" in kept["program"] and kept["audit"]["checks"] == 4
    assert "AssertionError" in kept["audit"]["before_dropping"]
    # with --keep-failing-checks: rejected, and the test repaired instead
    first, repaired = logs[True]
    assert first["reasons"][0].startswith("reference failed: 1 of 5 checks failed"), first
    assert repaired["status"] == "kept" and "pairs(4) == 6" in repaired["program"]
    assert "dropped_checks" not in repaired["audit"]


def test_what_can_be_dropped_is_a_wrong_check_never_a_crash():
    from aicoder.build.audit import TaskAudit
    from aicoder.build.builder import drop_checks, prunable_checks

    def audit(failed, checks=5, **kw):
        base = dict(task_id="t", domain="Other", framework="python", reference="failed",
                    deterministic=True, checks=checks, checks_executed=checks,
                    failed_checks=failed)
        return TaskAudit(**{**base, **kw})

    wrong = {"line": 5, "name": "[2/5] Test case 2", "cause": "assert"}
    broken = {"line": 6, "name": "[3/5] Test case 3", "cause": "test"}
    refused = {"line": 7, "name": "[4/5] Test case 4", "cause": "raise"}
    crashed = {"line": 8, "name": "[5/5] Test case 5", "cause": "crash"}
    assert prunable_checks(audit([wrong])) == [wrong]
    assert prunable_checks(audit([broken, refused], checks=6)) == [broken, refused]
    assert prunable_checks(audit([wrong, crashed])) == []  # the reference itself crashed
    assert prunable_checks(audit([wrong], checks=3)) == []  # 2 would be left, 3 needed
    assert prunable_checks(audit([wrong], deterministic=False)) == []
    assert prunable_checks(audit([wrong], checks_executed=4)) == []  # one never ran
    assert prunable_checks(audit([wrong], reference="timeout")) == []
    assert prunable_checks(audit([], reference="passed")) == []
    test = PAIRS_TEST
    line = test.splitlines().index("    assert pairs(4) == 7") + 1
    dropped = drop_checks(test, "test_pairs", {line})
    assert "pairs(4)" not in dropped and "four items" not in dropped
    assert dropped.count("# Test case") == 4 and "pairs(5) == 10" in dropped
    compile(dropped, "t.py", "exec")
    assert drop_checks(test, "test_pairs", {999}) == test  # no check starts there


def test_sigterm_stops_and_writes_what_is_built(bwrap, tmp_path):
    docs = documents(tmp_path / "docs.jsonl", ["good", "few", "dup"])
    out = tmp_path / "build"
    hold = threading.Event()
    with ServerDouble(responder(hold, hold_on="dup")) as server:
        argv = ["--jsonl", str(docs), "--model", f"openai:{server.url}", "--samples", "1",
                "--sandbox", "bwrap", "--out", str(out), "--test-fraction", "0"]
        proc = subprocess.Popen([sys.executable, "-m", "aicoder.build", *argv], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            for _ in range(1200):  # the third document's request is held
                if any("DOC-dup-DOC" in json.dumps(r) for r in list(server.requests)):
                    break
                threading.Event().wait(0.1)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=120)
        finally:
            hold.set()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "stopped after 2 of 3 documents: 1 kept; the files under" in err, err
    assert "Resume with:\n  python -m aicoder.build --jsonl" in err
    assert [t.task_id for t in load_tasks(str(out / "tasks.jsonl"))] == ["g00001_clip_total"]
    assert json.loads((out / "datasheet.json").read_text())["documents"] == 2
    assert (out / "DATASHEET.md").is_file()

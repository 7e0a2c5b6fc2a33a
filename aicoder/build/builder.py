"""Building AICoderEval-style tasks from documents: generate, check, verify, keep.

For each document the model writes ``samples`` candidate programs in the AICoderEval layout,
in two answers: the imports and a function that calls the document's API
(``templates/build_function.txt``, a builtin task's function as the example), then that
function's test (``templates/build_test.txt``, a form rather than an example); the builder
puts the four sections together.
A small model asked for the whole program at once often stops after the function, or copies
the example's tests. An answer that is a whole program already is taken as it is. A
candidate is kept only when every check holds:

* it parses into a task (the four sections, a function with a docstring);
* its function (``function_problems``, checked before its test is asked for): it calls the
  document's API, has at least ``min_mutants`` mutants (fewer is a bare call of the API) and a
  docstring of its own (no ``COPY_WORDS`` words in a row from the example's);
* its structure: the test calls the function, has at least ``MIN_CHECKS`` asserts in
  ``# Test case`` blocks, and does not print as a check; a test that needs a Hub repository
  (the static scan of ``aicoder.tasks.hubrefs``) is allowed only when the document speaks of
  the Hub (``from_pretrained``, a pipeline, the Hub), and the record names the repositories;
* in the sandbox (``aicoder.build.audit``): the reference passes every check, non-vacuously,
  ``runs`` times out of ``runs`` under the wall limit; a stub fails every check; the tests
  kill at least ``min_score`` of the reference's mutants;
* it is no near-duplicate of a task kept before, of the builtin suite, or of an ``--against``
  file (``aicoder.train.decontam``).

A candidate that fails a check gets one repair: the problems go back to the model, as CoderGen
does, and the answer is checked again. A function that was wrong goes back in a fresh prompt
(``templates/build_repair_function.txt``: the rejected function, its problems, the rules and
the document, no example): asked as the next turn of the conversation, the 1.5B model wrote
its rejected function again, word for word. A test that was wrong gets a new test for the
same function; a whole program's answer gets the whole program back. Every candidate is recorded with why it was rejected.

The output directory is append-only: ``manifest.json`` (the config and its hash) and
``log.jsonl``, one line per finished document with all its candidates (one ``write`` and
``fsync``; a torn last line, from kill -9, is dropped on resume). ``finish`` writes
``tasks.jsonl``, the seeded ``train.jsonl`` / ``test.jsonl`` split (grouped by document, so no
API is in both) and ``DATASHEET.md`` / ``datasheet.json``; all of them are made again from the
log, so a resumed build gives the same files.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aicoder.build import MIN_CHECKS, MIN_MUTANTS
from aicoder.build.audit import TaskAudit, audit_tasks, weak_reasons
from aicoder.build.documents import Document
from aicoder.build.mutate import mutants
from aicoder.errors import AICoderError, TaskFormatError
from aicoder.prompts.extract import fenced_blocks
from aicoder.prompts.render import render, trim_middle
from aicoder.tasks import Task
from aicoder.tasks.hubrefs import scan_task
from aicoder.tasks.loaders import task_from_program

__all__ = ["MIN_CHECKS", "MIN_MUTANTS", "BuildConfig", "BuildError", "Builder",
           "function_problems", "structure_problems"]

# the function prompt's example: a call of an API (torch's one_hot) with the handling around it
# that makes it a task; its docstring is specific to it (softmax's "any shape, any float dtype"
# was copied onto 5 of 12 documents' functions by the 1.5B model)
EXAMPLE_ID = "b025_one_hot"
PROMPT_DOC_CHARS = 1200  # of a document's text in the prompt: a small model copies long docstrings
_COPIED_DOCSTRING = "the docstring copies the example's"
_HUB_WORDS = re.compile(r"from_pretrained|pipeline\(|huggingface\.co|\bHub\b|hf_hub_download|"
                        r"load_dataset", re.IGNORECASE)
_SECTIONS = ("# function_import", "# function_code", "# test_function_code",
             "# call_test_function_code")


class BuildError(AICoderError):
    """A build that cannot go on (a changed config against the same output ...)."""


@dataclass(frozen=True)
class BuildConfig:
    """Everything that decides what a build writes; a resume must match it."""

    documents: str               # what was read: "library numpy: linalg", a folder, a jsonl
    documents_sha256: str        # of the documents' ids and texts
    model: str
    samples: int = 2
    temperature: float = 0.6
    max_new_tokens: int = 1200
    seed: int = 0
    min_mutation_score: float = 0.6
    max_mutants: int = 40
    min_mutants: int = MIN_MUTANTS
    drop_failing_checks: bool = True
    runs: int = 3
    wall_s: float = 60.0
    duplicate_threshold: float = 0.5
    against_sha256: str = ""
    test_fraction: float = 0.2
    prompt_sha256: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()


def documents_sha256(docs: Sequence[Document]) -> str:
    digest = hashlib.sha256()
    for d in docs:
        digest.update(json.dumps([d.doc_id, d.text]).encode())
    return digest.hexdigest()


def example_function() -> str:
    """The builtin example as the function prompt shows it: domain line, imports, function.
    (The test prompt shows a form, not an example: a small model copies an example's checks.)"""
    from aicoder.tasks import load_tasks
    from aicoder.tasks.task import split_content

    [task] = [t for t in load_tasks("builtin") if t.task_id == EXAMPLE_ID]
    parts = split_content(task.content)
    function = (f"# domain: {task.domain}\n\n{parts['function_import'].strip()}\n\n"
                f"{parts['function_code'].strip()}")
    return f"```python\n{function}\n```"


COPY_WORDS = 8  # a run of this many words shared with the example's docstring is a copy


def _word_runs(text: str) -> list[str]:
    """Every run of ``COPY_WORDS`` words of a text, lower case, punctuation and wrapping
    ignored, in order."""
    words = re.findall(r"[a-z0-9_]+", text.lower())
    return [" ".join(words[i:i + COPY_WORDS]) for i in range(len(words) - COPY_WORDS + 1)]


@functools.lru_cache(maxsize=1)
def _example_word_runs() -> frozenset[str]:
    from aicoder.tasks import load_tasks

    [task] = [t for t in load_tasks("builtin") if t.task_id == EXAMPLE_ID]
    func = next(n for n in ast.parse(task.reference_code).body if isinstance(n, ast.FunctionDef))
    return frozenset(_word_runs(ast.get_docstring(func) or ""))


def function_problems(doc: Document, imports: str, functions: str,
                      min_mutants: int = MIN_MUTANTS) -> list[str]:
    """What is wrong with a task's function before any test is written ([] when nothing):
    it never calls the document's API; its docstring copies the prompt's example (a small
    model kept b001 softmax's "sum to 1 along `axis`" on a sigmoid); it is too thin for a
    test to be measured (fewer than ``min_mutants`` mutants: a bare call of the API)."""
    if not uses_api(doc, imports, functions):
        return [off_document(doc)]
    problems = []
    try:
        func = next(n for n in ast.parse(functions).body if isinstance(n, ast.FunctionDef))
    except (SyntaxError, StopIteration):
        return ["no function in the answer"]
    docstring = ast.get_docstring(func) or ""
    if not docstring or LEFT_OUT in docstring:
        problems.append(f"{func.name} has no docstring: write one of your own (what it does, "
                        "Args, Returns, limits), since it is what the task shows")
    example = _example_word_runs()
    copied = next((run for run in _word_runs(ast.get_docstring(func) or "") if run in example),
                  None)
    if copied:
        problems.append(f"{_COPIED_DOCSTRING} (\"{copied} ...\"): write one "
                        f"that describes {func.name} itself")
    made = mutants(functions)
    if len(made) < min_mutants:
        what = "; ".join(m.description.split(": ", 1)[-1] for m in made) or "none"
        problems.append(f"the function is too thin to test: {len(made)} mutant(s) of it "
                        f"({what}), at least {min_mutants} needed. A bare call of the API is "
                        "not a task: make it solve a small problem with it (check or shape "
                        "the input, combine calls, post-process the result) as its docstring "
                        "says")
    return problems


def prompt_document(text: str, limit: int = PROMPT_DOC_CHARS) -> str:
    """The part of a document's text the prompt shows: whole paragraphs from the start (the
    signature, then the description) up to ``limit`` characters, and no mark where it stops.

    A cut in the middle, marked ``[...]``, was copied into the docstring up to the mark and
    left unterminated (get_scheduler's answers did not parse, 4 of 4). When the first
    paragraph after the signature does not fit, its sentences that do are shown."""
    if len(text) <= limit:
        return text
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    shown = paragraphs[0]
    if len(shown) > limit:  # a signature longer than the limit: whole lines of it
        return shown[:limit].rsplit("\n", 1)[0] if "\n" in shown[:limit] else shown[:limit]
    for paragraph in paragraphs[1:]:
        if len(shown) + 2 + len(paragraph) <= limit:
            shown += "\n\n" + paragraph
            continue
        if shown == paragraphs[0]:
            sentences = re.findall(r".+?(?:[.!?](?=\s)|$)", paragraph, re.DOTALL)
            part = ""
            for sentence in sentences:
                if len(shown) + 2 + len(part + sentence) > limit:
                    break
                part += sentence
            if part.strip():
                shown += "\n\n" + part.strip()
        break
    return shown


LEFT_OUT = "<the docstring that was here is left out: write a new one, of your own>"


def without_docstrings(code: str) -> str:
    """``code`` with each function's docstring replaced by a ``LEFT_OUT`` docstring (the code
    itself when it does not parse): what a repair shows of a function whose docstring was a
    copy, so the copy is not in front of the model again. Shown with the docstring gone, or
    a comment in its place, the 1.5B model wrote its repair without one (3 of 4 times)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    docstrings: dict[int, tuple[int, int]] = {}  # first line -> (last line, column)
    for node in ast.walk(tree):
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
                and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
                and isinstance(node.body[0].value.value, str) and len(node.body) > 1):
            first = node.body[0]
            docstrings[first.lineno] = (first.end_lineno, first.col_offset)
    out, skip_to = [], 0
    for number, line in enumerate(code.splitlines(), 1):
        if number in docstrings:
            skip_to, column = docstrings[number]
            out.append(" " * column + f'"""{LEFT_OUT}"""')
        if number > skip_to:
            out.append(line)
    return "\n".join(out)


def function_ask(doc: Document) -> str:
    """The first prompt of a document: the example, the rules, the document."""
    return render("build_function", example=example_function(), api=api_of(doc),
                  rules=_rules(doc))


def repair_function_ask(doc: Document, function: str, problems: str,
                        reasons: Sequence[str] = ()) -> str:
    """The function repair, as a fresh prompt: the rejected ``function`` (its docstring taken
    out where it was a copy), why, the rules and the document; no example."""
    if any(r.startswith(_COPIED_DOCSTRING) for r in reasons):
        function = without_docstrings(function)
        problems += "\n(Its docstring is left out above: write a new one, in your own words.)"
    return render("build_repair_function", api=api_of(doc), function=function.strip(),
                  problems=problems, rules=_rules(doc))


def _rules(doc: Document) -> str:
    api = api_of(doc)
    return render("build_function_rules", api=api, api_name=_api_name(doc) or api,
                  source=doc.source, document=prompt_document(doc.text))


def prompt_sha256() -> str:
    """The hash of the prompts as they are without a document: templates and examples."""
    rules = render("build_function_rules", api="$api", api_name="$api_name", source="$source",
                   document="$document")
    texts = [render("build_function", example=example_function(), api="$api", rules=rules),
             render("build_test", function="$function", function_name="$function_name"),
             render("build_repair_test", function="$function", function_name="$function_name",
                    problems="$problems"),
             render("build_repair_function", api="$api", function="$function",
                    problems="$problems", rules=rules),
             render("build_repair", api="$api", problems="$problems"), str(PROMPT_DOC_CHARS)]
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()


def _is_api(doc: Document) -> bool:
    return bool(doc.library) and doc.doc_id.startswith(doc.library + ".") and bool(
        re.fullmatch(r"[\w.]+", doc.doc_id))


def api_of(doc: Document) -> str:
    """How the prompt names what the task is about: the import path of a library document."""
    if _is_api(doc):
        return doc.doc_id
    return doc.title


def _api_name(doc: Document) -> str | None:
    """The name the reference must use, for a library document (``det`` of numpy.linalg.det)."""
    if _is_api(doc):
        return doc.doc_id.rsplit(".", 1)[-1]
    return None


_MARKER = re.compile(r"test(?:ing)?[ _]?case\s*\[?\s*\d", re.IGNORECASE)


def add_test_case_markers(program: str) -> str:
    """The program with a ``# Test case N:`` comment above each check of a test that has none.

    A small model often writes good asserts without the comments. When the test function has
    no marker at all (comment or print) and at least ``MIN_CHECKS`` top-level asserts, each
    assert and the statements since the one before it become one block, as the harness counts
    checks. Anything else is returned as it was, and the structure check judges it."""
    from aicoder.tasks.task import split_content

    section = split_content(program).get("test_function_code")
    if not section or _MARKER.search(section):
        return program
    try:
        tree = ast.parse(section)
    except SyntaxError:
        return program
    test = next((n for n in tree.body if isinstance(n, ast.FunctionDef)
                 and n.name.startswith("test")), None)
    if test is None:
        return program
    asserts = [i for i, stmt in enumerate(test.body) if isinstance(stmt, ast.Assert)]
    if len(asserts) < MIN_CHECKS:
        return program
    lines = section.splitlines(keepends=True)
    starts, prev = [], -1
    for number, index in enumerate(asserts, 1):
        first = test.body[prev + 1]
        label = " ".join((ast.get_source_segment(section, test.body[index].test) or "").split())
        starts.append((first.lineno - 1, first.col_offset, f"# Test case {number}: {label[:60]}"))
        prev = index
    for line, col, comment in reversed(starts):
        lines.insert(line, " " * col + comment + "\n")
    return program.replace(section, "".join(lines), 1)


def add_section_markers(program: str) -> str:
    """The program with the four section markers, where the answer left some out.

    A small model often writes the right program and forgets a marker line. When the program
    parses and is exactly imports, then functions (the last one named ``test*``), then a call
    of that test, the markers are put where they belong (any it wrote are dropped first).
    Anything else is returned as it was, and the layout check rejects it."""
    from aicoder.tasks.task import _MARKER_LINE

    if all(marker in program for marker in _SECTIONS):
        return program
    lines = [line for line in program.splitlines() if not _MARKER_LINE.match(line)]
    domain = [line for line in [domain_line(lines)] if line]
    lines = [line for line in lines if not line.startswith("# domain:")]
    source = "\n".join(lines)
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return program
    kinds = ["import" if isinstance(n, (ast.Import, ast.ImportFrom)) else
             "def" if isinstance(n, ast.FunctionDef) else
             "call" if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) else "other"
             for n in body]
    defs = [n for n in body if isinstance(n, ast.FunctionDef)]
    order = "".join({"import": "i", "def": "d", "call": "c"}.get(k, "x") for k in kinds)
    if not re.fullmatch(r"i*d{2,}c", order) or not defs[-1].name.startswith("test"):
        return program
    call = body[-1].value
    if not (isinstance(call.func, ast.Name) and call.func.id == defs[-1].name):
        return program

    def text(nodes) -> str:
        if not nodes:
            return ""
        head = nodes[0]
        first = min([head.lineno, *(d.lineno for d in getattr(head, "decorator_list", []))])
        return "\n".join(lines[first - 1:nodes[-1].end_lineno]) + "\n"

    imports = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
    parts = [("function_import", text(imports)), ("function_code", text(defs[:-1])),
             ("test_function_code", text([defs[-1]])), ("call_test_function_code",
                                                        text([body[-1]]))]
    out = [*domain, ""] if domain else []
    for name, code in parts:
        out += [f"# {name} --------------------", "", code]
    return "\n".join(out)


# where a failed check may have failed for it to be dropped (``audit.check_cause``): not a
# crash of the function, which may be wrong
DROPPABLE_CAUSES = frozenset({"assert", "test", "raise"})


def prunable_checks(audit: TaskAudit) -> list[dict]:
    """The checks of a failed reference that can be dropped ([] when none can): the reference
    ran every check, the same way each run, and ``MIN_CHECKS`` checks that it passes remain;
    each failed check failed on an assert of the test (an expected value the reference
    disagrees with: the 1.5B model's "the determinant of a matrix of ones is 1"), in the test's
    own code (``np.relu``, a ``gamma`` it never defined), or on a ``raise`` of the function's
    own (an input it refuses, as its code says), never by a crash of the function elsewhere
    (a reference that crashes may be wrong: that is not hidden). Test generators that filter
    their tests by the code under test do the same (TestGen-LLM keeps only the tests that
    pass); every dropped check is recorded."""
    failed = audit.failed_checks
    if (audit.reference != "failed" or not audit.deterministic or not failed
            or audit.checks_executed < audit.checks
            or any(c.get("cause") not in DROPPABLE_CAUSES for c in failed)
            or audit.checks - len(failed) < MIN_CHECKS):
        return []
    return failed


def drop_checks(test_code: str, entry: str, lines: set[int]) -> str:
    """``test_code`` without the `Test case` blocks whose check starts at one of ``lines``
    (their markers included)."""
    from sandbox.harness import check_blocks

    drop: set[int] = set()
    for line, first, last in check_blocks(test_code, entry):
        if line in lines:
            drop.update(range(first, last + 1))
    kept = [text for number, text in enumerate(test_code.splitlines(keepends=True), 1)
            if number not in drop]
    return "".join(kept)


def function_failed(audit: dict | None) -> bool:
    """Whether the reference's run failed in the function itself: the function needs the
    repair, not its test. That is a run that broke before any check, defining the function
    (an import or a name that is not there), or one where every failed check raised inside
    the function rather than in the test (``TargetEncoder().fit_transform(x)`` without its
    ``y``: a new test cannot mend that)."""
    audit = audit or {}
    if "while defining the candidate" in (audit.get("failure") or ""):
        return True
    failed = audit.get("failed_checks") or []
    return bool(failed) and all(c.get("cause") in ("raise", "crash") for c in failed)


def _first_function(code: str) -> str:
    return next(n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef))


def _program_text(answer: str) -> str:
    """The program in the answer: the fenced block with the section markers, or the answer."""
    blocks = fenced_blocks(answer)
    for block in blocks:
        if all(marker in block for marker in _SECTIONS):
            return block
    return max(blocks, key=len) if blocks else answer


def uses_api(doc: Document, imports: str, code: str) -> bool:
    """Whether ``code`` (with ``imports``) names the API of a library document (any document
    that is not a library's API passes)."""
    name = _api_name(doc)
    if name is None:
        return True
    try:
        used = {n.id for n in ast.walk(ast.parse(imports + "\n" + code)) if isinstance(n, ast.Name)}
        used |= {n.attr for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Attribute)}
    except SyntaxError:
        return False
    return name in used


def off_document(doc: Document) -> str:
    return f"the function never uses {doc.doc_id} (it must call the documented API)"


def _code_of(answer: str, want: str) -> str:
    """The fenced block of an answer that defines ``want`` (a regex), or its longest block."""
    blocks = fenced_blocks(answer)
    for block in blocks:
        if re.search(want, block, re.MULTILINE):
            return block
    return max(blocks, key=len) if blocks else answer


def domain_line(lines: Sequence[str]) -> str:
    """The ``# domain:`` line of an answer, as one of the seven domains; "" when there is none
    or it is not one (a small model copies the prompt's whole list): the code decides then."""
    from aicoder.tasks.domains import canonical_domain

    line = next((x for x in lines if x.startswith("# domain:")), "")
    domain = canonical_domain(line.removeprefix("# domain:"))
    return f"# domain: {domain}" if domain else ""


def function_part(answer: str, doc: Document, min_mutants: int = MIN_MUTANTS) -> tuple[
        str, str, str, list[str]]:
    """The function answer's (domain line, imports, functions, problems).

    Marker lines, example calls, prints and any test function are dropped; the functions keep
    the answer's order (the first is the task's function) with the assignments between them.
    The problems are ``function_problems``'s, or that there is no function."""
    from aicoder.tasks.task import _MARKER_LINE

    code = _code_of(answer, r"^def ")
    lines = [line for line in code.splitlines() if not _MARKER_LINE.match(line)]
    domain = domain_line(lines)
    source = "\n".join(line for line in lines if not line.startswith("# domain:"))
    try:
        body = ast.parse(source).body
    except SyntaxError as exc:
        return domain, "", "", [f"no function in the answer: it does not parse ({exc.msg}, "
                                f"line {exc.lineno})"]
    lines = source.splitlines()

    def text(node) -> str:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        return "\n".join(lines[first - 1:node.end_lineno])

    imports = [text(n) for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
    kept = [n for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Assign,
                                              ast.AnnAssign))
            and not (isinstance(n, ast.FunctionDef) and n.name.startswith("test"))]
    if not any(isinstance(n, ast.FunctionDef) for n in kept):
        return domain, "", "", ["no function in the answer"]
    while not isinstance(kept[0], ast.FunctionDef):  # the task's function comes first
        kept.append(kept.pop(0))
    imports_text, functions = "\n".join(imports), "\n\n\n".join(text(n) for n in kept)
    return domain, imports_text, functions, function_problems(doc, imports_text, functions,
                                                             min_mutants)


def test_part(answer: str) -> tuple[str, str, str]:
    """The test answer's (imports it adds, the test function, its name); ("", "", "") when it
    has no test function."""
    code = _code_of(answer, r"^def test")
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return "", "", ""
    lines = code.splitlines()
    test = next((n for n in body if isinstance(n, ast.FunctionDef)
                 and n.name.startswith("test")), None)
    if test is None:
        return "", "", ""
    imports = "\n".join("\n".join(lines[n.lineno - 1:n.end_lineno]) for n in body
                        if isinstance(n, (ast.Import, ast.ImportFrom)))
    return imports, "\n".join(lines[test.lineno - 1:test.end_lineno]), test.name


def assemble(domain: str, imports: str, functions: str, test: str, test_name: str) -> str:
    """A program in the AICoderEval layout from its parts."""
    head = [domain, ""] if domain else []
    return "\n".join([*head, "# function_import --------------------", "", imports, "",
                      "# function_code --------------------", "", functions, "",
                      "# test_function_code --------------------", "", test, "",
                      "# call_test_function_code --------------------", "", f"{test_name}()",
                      ""])


def _is_program(answer: str) -> bool:
    """Whether a function answer is a whole program already (a test function in it)."""
    code = _program_text(answer)
    return all(marker in code for marker in _SECTIONS) or bool(
        re.search(r"^def test\w*\(", code, re.MULTILINE))


def _marked_lines(source: str, test: ast.FunctionDef) -> int:
    """How many lines of the test function carry a ``# Test case N`` comment, on a line of its
    own or after a statement (the harness opens a check at either)."""
    import io
    import tokenize

    lines = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if (tok.type == tokenize.COMMENT and _MARKER.search(tok.string)
                    and test.lineno <= tok.start[0] <= (test.end_lineno or tok.start[0])):
                lines.add(tok.start[0])
    except (tokenize.TokenError, SyntaxError):
        pass
    return len(lines)


def structure_problems(task: Task, doc: Document, min_mutants: int = MIN_MUTANTS) -> list[str]:
    """What is wrong with a parsed task's layout and function, before anything runs ([] when
    nothing)."""
    problems = []
    try:
        tree = ast.parse(task.test_code)
    except SyntaxError as exc:
        return [f"the test does not parse: {exc.msg} (line {exc.lineno})"]
    test = next((n for n in tree.body if isinstance(n, ast.FunctionDef)
                 and n.name == task.test_entry), None)
    if test is None:
        return [f"no test function {task.test_entry}"]
    asserts = [n for n in ast.walk(test) if isinstance(n, ast.Assert)]
    calls = {n.func.id for n in ast.walk(test) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name)}
    if task.function_name not in calls:
        problems.append(f"the test never calls {task.function_name}")
    blocks = _marked_lines(task.test_code, test)
    if len(asserts) < MIN_CHECKS or blocks < MIN_CHECKS:
        problems.append(f"the test has {len(asserts)} asserts in {blocks} '# Test case' "
                        f"blocks; at least {MIN_CHECKS} of each are needed")
    if not asserts and "print(" in task.test_code:
        problems.append("the test prints instead of checking")
    problems += function_problems(doc, task.imports, task.reference_code, min_mutants)
    refs = scan_task(task)
    if refs and not _HUB_WORDS.search(doc.text):
        problems.append("the test needs the Hub (" + ", ".join(sorted(str(r) for r in refs))
                        + ") but the document is not about it")
    return problems


@dataclass
class Candidate:
    """One candidate program of a document, and what became of it."""

    doc_id: str
    sample: int
    attempt: int = 0             # 0: the first answer, 1: the repair
    status: str = "rejected"     # "kept" or "rejected"
    reasons: list[str] = field(default_factory=list)
    task_id: str = ""            # the build's id, when kept
    program: str = ""
    audit: dict | None = None
    tokens: int = 0
    seconds: float = 0.0
    hub_repos: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def reason_kind(reason: str) -> str:
    """The kind of a rejection reason, for the datasheet's counts."""
    for prefix, kind in (("no program", "no program"), ("unparseable", "unparseable"),
                         ("the test has", "too few checks"), ("the test never calls",
                                                               "test does not call"),
                         ("the test prints", "prints as checks"), ("the test needs the Hub",
                                                                   "needs the Hub"),
                         ("reference not deterministic", "flaky reference"),
                         ("reference vacuous", "vacuous"), ("reference", "reference fails"),
                         ("a stub passes", "stub passes"), ("mutation score", "weak tests"),
                         ("no mutant", "no mutant"), ("duplicate", "duplicate"),
                         ("contaminated", "too close to --against"),
                         ("the function never uses", "off the document"),
                         ("the docstring copies", "copied docstring"),
                         ("the function is too thin", "too thin"),
                         (" has no docstring", "no docstring"),
                         ("checks never ran", "checks never ran")):
        if reason.startswith(prefix) or prefix in reason.split(":")[0]:
            return kind
    return reason.split(":")[0][:40]


class Builder:
    """One build into ``out``: ``run(documents)`` then ``finish()``."""

    def __init__(self, out: str | Path, config: BuildConfig, model, run_program: Callable,
                 *, against: Sequence[Task] = (), workers: int = 2) -> None:
        self.out = Path(out)
        self.config = config
        self.model = model
        self.run_program = run_program
        self.against = list(against)
        self.workers = workers
        self.entries: list[dict] = []   # the log's lines, in order
        self._open()

    # --- the output directory -------------------------------------------------------------

    def _open(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            probe = self.out / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise BuildError(f"cannot write to {self.out}: {exc.strerror or exc}") from None
        manifest = self.out / "manifest.json"
        wanted = {"config": self.config.as_dict(), "config_sha256": self.config.sha256()}
        if manifest.is_file():
            try:
                had = json.loads(manifest.read_text())
            except ValueError:
                raise BuildError(f"{manifest} is damaged: remove {self.out} to start over") from None
            if had.get("config_sha256") != wanted["config_sha256"]:
                changed = sorted(k for k, v in wanted["config"].items()
                                 if had.get("config", {}).get(k) != v)
                raise BuildError(f"{self.out} holds a build with another config (changed: "
                                 f"{', '.join(changed)}): use another --out, or the same "
                                 "options to resume")
        else:
            manifest.write_text(json.dumps({**wanted, "created": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1))
        log = self.out / "log.jsonl"
        if log.is_file():
            raw = log.read_bytes()
            good = raw[:raw.rfind(b"\n") + 1]  # a torn last line (kill -9) is dropped
            if len(good) != len(raw):
                with open(log, "r+b") as fh:
                    fh.truncate(len(good))
            self.entries = [json.loads(line) for line in good.decode().splitlines() if line]

    def _append(self, entry: dict) -> None:
        data = (json.dumps(entry) + "\n").encode()
        fd = os.open(self.out / "log.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.entries.append(entry)

    @property
    def done(self) -> set[str]:
        return {e["doc_id"] for e in self.entries}

    def kept_tasks(self) -> list[tuple[Task, dict, dict]]:
        """(task, candidate, its document's entry) of every kept candidate, in order."""
        out = []
        for entry in self.entries:
            for cand in entry["candidates"]:
                if cand["status"] == "kept":
                    task = task_from_program(cand["program"], f"{cand['task_id']}.py",
                                             cand["task_id"])
                    out.append((task, cand, entry))
        return out

    # --- one document -----------------------------------------------------------------------

    def _generate(self, messages, sample: int, attempt: int,
                  stage: int = 0) -> tuple[str, int, float]:
        from aicoder.models import GenerationParams

        # every answer its own seed: the same seed for both samples gives the same answer twice
        seed = self.config.seed + 1000 * len(self.entries) + 10 * sample + 2 * attempt + stage
        params = GenerationParams(max_new_tokens=self.config.max_new_tokens,
                                  temperature=self.config.temperature, seed=seed)
        start = time.monotonic()
        completion = self.model.complete(messages, params)
        return (completion.text, completion.prompt_tokens + completion.completion_tokens,
                time.monotonic() - start)

    def _write(self, messages, doc: Document, sample: int, attempt: int) -> tuple[
            str, list[str], str, tuple[str, str, str] | None, int, float]:
        """One candidate in two answers: the function (``messages`` ask for it), then its test.

        Returns (program, problems, the function answer, the function's parts: domain line,
        imports and code, tokens, seconds). A function answer that is already a whole program
        is taken as it is (no parts); one with no usable function, or one that never calls the
        document's API, ends it with the problem and no program."""
        answer, tokens, seconds = self._generate(messages, sample, attempt)
        if _is_program(answer):
            return add_section_markers(_program_text(answer)), [], answer, None, tokens, seconds
        domain, imports, functions, problems = function_part(answer, doc,
                                                             self.config.min_mutants)
        if problems:
            return "", problems, answer, None, tokens, seconds
        parts = (domain, imports, functions)
        program, problems, used, took = self._test(parts, sample, attempt, None)
        return program, problems, answer, parts, tokens + used, seconds + took

    def _test(self, parts: tuple[str, str, str], sample: int, attempt: int,
              problems: str | None) -> tuple[str, list[str], int, float]:
        """The test answer for a function (again, with ``problems``, for a repair), and the
        program put together: (program, problems, tokens, seconds)."""
        from aicoder.models import Message

        domain, imports, functions = parts
        shown = f"{imports}\n\n{functions}".strip()
        name = _first_function(functions)
        ask = (render("build_test", function=shown, function_name=name) if problems is None
               else render("build_repair_test", function=shown, function_name=name,
                           problems=problems))
        answer, used, took = self._generate(
            [Message(role="system", content=render("system")), Message(role="user", content=ask)],
            sample, attempt, stage=1)
        more, test, test_name = test_part(answer)
        if not test:
            return "", ["no test function in the test answer"], used, took
        have = set(imports.splitlines())
        imports = "\n".join([imports, *(x for x in more.splitlines() if x not in have)]).strip()
        return assemble(domain, imports, functions, test, test_name), [], used, took

    def _check(self, program: str, doc: Document, name: str, kept: list[Task],
               prune: bool = True) -> tuple[Task | None, list[str], dict | None, list[str]]:
        """Check and verify one program: (task, reasons, audit, hub repos).

        With ``prune`` (and ``drop_failing_checks``), a reference that failed only some
        checks, none by a crash of its own (``prunable_checks``), has those checks dropped
        when ``MIN_CHECKS`` passing ones remain, and the program is checked again
        (``dropped_checks`` in its audit names them)."""
        if not all(marker in program for marker in _SECTIONS):
            missing = ", ".join(f"'{m} --------------------'" for m in _SECTIONS
                                if m not in program)
            return None, [f"no program in the layout (the four section markers): no {missing} "
                          "line"], None, []
        program = add_test_case_markers(program)
        try:
            task = task_from_program(program, f"{name}.py", name)
        except (TaskFormatError, SyntaxError, ValueError) as exc:
            return None, [f"unparseable: {str(exc).splitlines()[0][:200]}"], None, []
        problems = structure_problems(task, doc, self.config.min_mutants)
        repos = sorted(str(r) for r in scan_task(task))
        if problems:
            return task, problems, None, repos
        from sandbox import Limits

        limits = Limits(wall_s=self.config.wall_s, cpu_s=int(self.config.wall_s * 2))
        [audit] = audit_tasks([task], self.run_program, limits, workers=self.workers,
                              runs=self.config.runs, max_mutants=self.config.max_mutants or None,
                              seed=self.config.seed)
        reasons = weak_reasons(audit, self.config.min_mutation_score)
        if audit.reference != "passed" and audit.reason:
            reasons = [r if not r.startswith("reference ") else f"{r}: {audit.reason[:200]}"
                       for r in reasons]
        dropped = prunable_checks(audit) if prune and self.config.drop_failing_checks else []
        if dropped:
            test = drop_checks(task.test_code, task.test_entry, {c["line"] for c in dropped})
            again = self._check(program.replace(task.test_code, test, 1), doc, name, kept,
                                prune=False)
            if again[2] is not None:
                again[2]["dropped_checks"] = [c["name"] for c in dropped]
                again[2]["before_dropping"] = audit.failure
            return again
        if not reasons:
            reasons = self._duplicate(task, kept)
        return task, reasons, _audit_summary(audit), repos

    def _duplicate(self, task: Task, kept: list[Task]) -> list[str]:
        from aicoder.train.decontam import decontaminate

        threshold = self.config.duplicate_threshold
        for pool, word in ((kept, "duplicate of"), (self.against, "contaminated: too close to")):
            if pool:
                _, report = decontaminate([task], pool, threshold=threshold)
                if report.removed:
                    match = report.removed[0]
                    return [f"{word} {match.test_id} ({match.kind}, overlap "
                            f"{match.overlap:.2f})"]
        return []

    def build_document(self, doc: Document) -> dict:
        """All candidates of one document, checked, repaired once where needed; appended."""
        from aicoder.models import Message

        kept_before = self.kept_tasks()
        kept = [t for t, _, _ in kept_before]
        next_number = len(kept_before) + 1
        system = Message(role="system", content=render("system"))
        api = api_of(doc)
        ask = Message(role="user", content=function_ask(doc))
        candidates = []
        for sample in range(self.config.samples):
            messages = [system, ask]
            tokens, seconds = 0, 0.0
            early: list[str] = []
            parts: tuple[str, str, str] | None = None
            mode, retest = "write", ""
            for attempt in (0, 1):
                if mode == "retest":  # the same function, a new test told what was wrong
                    program, early, used, took = self._test(parts, sample, attempt, retest)
                elif mode == "write":
                    program, early, answer, parts, used, took = self._write(
                        messages, doc, sample, attempt)
                else:  # the whole program back, with what was wrong with it
                    answer, used, took = self._generate(messages, sample, attempt)
                    program, early = add_section_markers(_program_text(answer)), []
                tokens, seconds = tokens + used, seconds + took
                provisional = f"g{next_number:05d}"
                task, reasons, audit, repos = (
                    (None, early, None, []) if early
                    else self._check(program, doc, provisional, kept))
                cand = Candidate(doc_id=doc.doc_id, sample=sample, attempt=attempt,
                                 reasons=reasons, audit=audit,
                                 program=(task.content if task is not None
                                          else program or _program_text(answer)),
                                 tokens=tokens, seconds=round(seconds, 2), hub_repos=repos)
                if task is not None and not reasons:
                    cand.status = "kept"
                    cand.task_id = f"g{next_number:05d}_{task.function_name}"
                    cand.program = task.content
                    kept.append(task)
                    next_number += 1
                candidates.append(cand.to_dict())
                if cand.status == "kept" or attempt == 1:
                    break
                broke = parts is not None and function_failed(audit)
                problems = trim_middle(repair_problems(reasons, audit, function=broke), 4000)
                if early and early[0].startswith("no test function"):
                    mode, retest = "retest", problems
                elif early or broke:
                    # the function again, in a fresh prompt, then a new test
                    rejected = (f"{parts[0]}\n\n{parts[1]}\n\n{parts[2]}".strip()
                                if parts is not None else _code_of(answer, r"^def "))
                    messages = [system, Message(role="user", content=repair_function_ask(
                        doc, trim_middle(rejected, 4000), problems, reasons))]
                elif parts is not None:
                    mode, retest = "retest", problems
                else:
                    mode = "whole"
                    shown = task.content if task is not None else program
                    messages = [*messages,
                                Message(role="assistant", content=f"```python\n{shown}```"),
                                Message(role="user", content=render("build_repair", api=api,
                                                                    problems=problems))]
        entry = {"doc_id": doc.doc_id, "source": doc.source, "title": doc.title,
                 "library": doc.library, "candidates": candidates}
        self._append(entry)
        return entry

    def run(self, documents: Sequence[Document],
            progress: Callable[[dict], None] | None = None) -> None:
        done = self.done
        for doc in documents:
            if doc.doc_id in done:
                continue
            entry = self.build_document(doc)
            if progress is not None:
                progress(entry)

    # --- the output ---------------------------------------------------------------------------

    def finish(self) -> dict:
        """Write tasks.jsonl, train.jsonl, test.jsonl and the datasheet from the log."""
        kept = self.kept_tasks()
        records = []
        for task, cand, entry in kept:
            record = task.to_record()
            record.update({"domain": task.domain, "source_document": entry["doc_id"], "document_source": entry["source"],
                           "hub_repos": cand["hub_repos"],
                           "mutation_score": (cand["audit"] or {}).get("score")})
            records.append(record)
        groups = sorted({e["doc_id"] for _, _, e in kept})
        rng = random.Random(self.config.seed)
        rng.shuffle(groups)
        n_test = round(len(groups) * self.config.test_fraction)
        if len(groups) > 1:
            n_test = min(max(n_test, 1), len(groups) - 1)
        test_docs = set(groups[:n_test])
        split = {"train": [], "test": []}
        for record in records:
            split["test" if record["source_document"] in test_docs else "train"].append(record)
        for name, rows in (("tasks", records), ("train", split["train"]), ("test", split["test"])):
            (self.out / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        sheet = self.datasheet(kept, {k: len(v) for k, v in split.items()})
        (self.out / "datasheet.json").write_text(json.dumps(sheet, indent=1))
        (self.out / "DATASHEET.md").write_text(datasheet_markdown(sheet))
        return sheet

    def datasheet(self, kept, splits: dict[str, int]) -> dict:
        cands = [c for e in self.entries for c in e["candidates"]]
        rejected = Counter(reason_kind(c["reasons"][0]) for c in cands
                           if c["status"] != "kept" and c["reasons"])
        scores = [c["audit"]["score"] for c in cands if c["status"] == "kept"
                  and c.get("audit") and c["audit"].get("score") is not None]
        seconds = sum(c["seconds"] for c in cands) + sum(
            (c.get("audit") or {}).get("seconds", 0) for c in cands)
        return {
            "config": self.config.as_dict(), "config_sha256": self.config.sha256(),
            "documents": len(self.entries), "candidates": len(cands),
            "first_answers": sum(c["attempt"] == 0 for c in cands),
            "repairs": sum(c["attempt"] == 1 for c in cands),
            "kept": len(kept), "kept_after_repair": sum(c["status"] == "kept" and c["attempt"]
                                                        for c in cands),
            "yield": round(len(kept) / max(1, sum(c["attempt"] == 0 for c in cands)), 3),
            "rejections": dict(rejected.most_common()),
            "by_domain": dict(Counter(t.domain for t, _, _ in kept).most_common()),
            "by_framework": dict(Counter(t.framework for t, _, _ in kept).most_common()),
            "mutation_scores": {"min": min(scores), "median": statistics.median(scores),
                                "max": max(scores)} if scores else {},
            "splits": splits, "tokens": sum(c["tokens"] for c in cands),
            "seconds": round(seconds, 1),
            "minutes_per_kept": round(seconds / 60 / len(kept), 2) if kept else None,
            "hub_tasks": sum(bool(c["hub_repos"]) for _, c, _ in kept),
            "kept_with_dropped_checks": sum(bool((c.get("audit") or {}).get("dropped_checks"))
                                            for _, c, _ in kept),
        }


# errors a test makes comparing arrays and tensors, and what the repair is told for each
_TEST_MISTAKES = (
    (("Boolean value of Tensor with more than one value is ambiguous",
      "truth value of an array with more than one element is ambiguous"),
     "`==` on arrays or tensors gives an array, not one truth value: compare them with "
     "`torch.allclose(a, b)` / `torch.equal(a, b)` or `np.allclose(a, b)` / "
     "`np.array_equal(a, b)`."),
    (("allclose(): argument 'other'", "allclose(): argument 'input'",
      "equal(): argument 'other'", "equal(): argument 'input'"),
     "`torch.allclose` and `torch.equal` take two tensors: write the expected value as "
     "`torch.tensor([...])`, with the dtype of the result."),
)


def repair_problems(reasons: list[str], audit: dict | None, function: bool = False) -> str:
    """What the repair prompt says: the reasons, what the reference's run said when it failed
    (each check with its message, the exception), the mutants its tests let through.
    ``function``: it is the function that is repaired (it raised in the checks)."""
    lines = [f"- {r}" for r in reasons]
    if audit and audit.get("failure"):
        hint = ("The function raised these errors itself: make it work on inputs like these."
                if function else "Where an expected value was wrong, use the value the "
                "function really returns for that input, if it is right.")
        lines += ["", "The run of your reference, in the sandbox:", audit["failure"], "", hint]
    failure = (audit or {}).get("failure") or ""
    lines += [advice for signs, advice in _TEST_MISTAKES if any(x in failure for x in signs)]
    survivors = (audit or {}).get("survivors") or []
    if survivors:
        lines += ["", "Your tests still pass when the reference is changed like this (each "
                  "should fail a check):"]
        lines += [f"- {m.get('description') or m.get('operator')}" for m in survivors[:6]]
    return "\n".join(lines)


def _audit_summary(audit: TaskAudit) -> dict:
    data = audit.to_dict()
    return {k: data[k] for k in ("reference", "failure", "failed_checks", "deterministic",
                                 "checks", "checks_executed",
                                 "stub", "stub_killed", "mutants", "killed", "score",
                                 "survivors", "seconds")}


def datasheet_markdown(sheet: dict) -> str:
    cfg = sheet["config"]
    lines = [
        "---", "license: apache-2.0", "task_categories:", "- text-generation", "tags:",
        "- code", "- aicodereval", "---", "", "# Datasheet: an AICoderEval-style task set", "",
        f"Built by `python -m aicoder.build` from {cfg['documents']} with the model "
        f"`{cfg['model']}` (temperature {cfg['temperature']:g}, {cfg['samples']} candidates a "
        f"document, seed {cfg['seed']}). Prompt sha256 `{cfg['prompt_sha256'][:16]}`, "
        f"documents sha256 `{cfg['documents_sha256'][:16]}`, config sha256 "
        f"`{sheet['config_sha256'][:16]}`.", "",
        "Each kept task's reference passed every check, non-vacuously, "
        f"{cfg['runs']} runs of {cfg['runs']} in the sandbox; a stub body failed every check; "
        f"the tests killed at least {cfg['min_mutation_score']:g} of the reference's mutants; "
        "no kept task is a near-duplicate of another, of the builtin suite, or of the "
        "`--against` tasks. Each record names the document it was written from "
        "(`source_document`, `document_source`)." + (
            " A check that the reference failed on an assert of the test, in the test's own "
            "code, or on a `raise` of the function's own that refuses the input (never by a "
            f"crash of the function elsewhere) was dropped where {MIN_CHECKS} checks it passed "
            "remained, and the log names each such check."
            if cfg.get("drop_failing_checks", True) else ""), "",
        "| | |", "| --- | ---: |",
        f"| documents | {sheet['documents']} |", f"| candidates (first answers) | "
        f"{sheet['first_answers']} |", f"| repairs | {sheet['repairs']} |",
        f"| kept | {sheet['kept']} (after a repair: {sheet['kept_after_repair']}) |",
        f"| yield (kept / first answers) | {sheet['yield']:.3f} |",
        f"| train / test tasks | {sheet['splits'].get('train', 0)} / "
        f"{sheet['splits'].get('test', 0)} (grouped by document) |",
        f"| tasks that need the Hub | {sheet['hub_tasks']} |",
        f"| kept after checks the reference failed were dropped | "
        f"{sheet.get('kept_with_dropped_checks', 0)} |",
        f"| tokens | {sheet['tokens']:,} |", f"| minutes per kept task | "
        f"{sheet['minutes_per_kept'] if sheet['minutes_per_kept'] is not None else '—'} |", ""]
    if sheet["mutation_scores"]:
        ms = sheet["mutation_scores"]
        lines += [f"Mutation scores of the kept tasks: min {ms['min']:.2f}, median "
                  f"{ms['median']:.2f}, max {ms['max']:.2f}.", ""]
    for title, key in (("Rejections (the first reason of each rejected candidate)",
                        "rejections"), ("By domain", "by_domain"),
                       ("By framework", "by_framework")):
        if sheet[key]:
            lines += [f"## {title}", "", "| | |", "| --- | ---: |"]
            lines += [f"| {k} | {v} |" for k, v in sheet[key].items()]
            lines.append("")
    return "\n".join(lines)

"""The documents a build reads: an installed library's API, a folder of Markdown or
reStructuredText, a jsonl; each keeps its source, and each mistake is one line."""

from __future__ import annotations

import json

import pytest

from aicoder.build.documents import DocumentError, from_folder, from_jsonl, from_library


def test_an_installed_librarys_api_one_document_per_callable():
    docs = from_library("numpy", ["linalg"])
    by_id = {d.doc_id: d for d in docs}
    assert len(by_id) == len(docs) >= 15
    norm = by_id["numpy.linalg.norm"]
    assert norm.text.startswith("function numpy.linalg.norm(x, ord=None, axis=None")
    assert "Matrix or vector norm." in norm.text and norm.library == "numpy"
    assert norm.source.startswith("library numpy ")
    assert "numpy.linalg.LinAlgError" not in by_id  # an exception is no API to write a task on
    # an absolute module name, and classes with their constructor's signature
    [ridge] = [d for d in from_library("sklearn", ["sklearn.linear_model"])
               if d.doc_id == "sklearn.linear_model.Ridge"]
    assert ridge.text.startswith("class sklearn.linear_model.Ridge(alpha=1.0, *")
    assert "self" not in ridge.text.split("\n", 1)[0]


@pytest.mark.parametrize(("library", "modules", "message"), [
    ("numpy", ["nolinalg"], "unknown module 'numpy.nolinalg': ModuleNotFoundError"),
    ("no_such_library", None, "unknown library 'no_such_library'"),
    ("numpy", ["version"], "module 'numpy.version' documents no public class or function"),
])
def test_unknown_libraries_and_modules_are_one_line(library, modules, message):
    with pytest.raises(DocumentError) as info:
        from_library(library, modules)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


BODY = "Some words about the API, long enough to be a section of its own. " * 4


def test_a_folder_of_docs_split_at_its_headings(tmp_path):
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "pipelines.md").write_text(
        f"# Pipelines\n\n{BODY}\n\n```python\n# not a heading: a comment in code\nx = 1\n```\n"
        f"\n## Batching\n\n{BODY}\n\n## Tiny\n\nshort\n\n## Batching\n\n{BODY}\n")
    (tmp_path / "api.rst").write_text(f"Tokenizers\n==========\n\n{BODY}\n\nFast ones\n"
                                      f"---------\n\n{BODY}\n")
    (tmp_path / "notes.txt").write_text(BODY)
    docs = from_folder(tmp_path)
    assert [d.doc_id for d in docs] == [
        "api.rst#tokenizers", "api.rst#fast-ones", "guide/pipelines.md#pipelines",
        "guide/pipelines.md#batching", "guide/pipelines.md#batching-2"]
    first_md = docs[2]
    assert "# not a heading" in first_md.text and first_md.title == "Pipelines"
    assert first_md.source == str(tmp_path / "guide" / "pipelines.md")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.txt").write_text(BODY)
    with pytest.raises(DocumentError, match=r"^no Markdown \(.md, .mdx\) or reStructuredText"):
        from_folder(empty)
    with pytest.raises(DocumentError, match=r"^no folder at "):
        from_folder(tmp_path / "nowhere")
    (empty / "short.md").write_text("# Tiny\n\nshort\n")
    with pytest.raises(DocumentError, match="have no section of 200 characters"):
        from_folder(empty)


def test_a_jsonl_of_documents(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"id": "a", "text": "about a"}) + "\n\n"
                    + json.dumps({"id": 7, "text": "about b", "library": "torch"}) + "\n")
    docs = from_jsonl(path)
    assert [(d.doc_id, d.source, d.library) for d in docs] == [
        ("a", f"{path}:1", ""), ("7", f"{path}:3", "torch")]
    for content, message in [
        ("{not json\n", ":1: not JSON"),
        (json.dumps({"id": "a"}) + "\n", ':1: expected {"id": ..., "text": "..."}'),
        (json.dumps({"id": "a", "text": "x"}) + "\n" + json.dumps({"id": "a", "text": "y"}),
         ":2: the id 'a' is used twice"),
        ("\n", "holds no document"),
    ]:
        path.write_text(content)
        with pytest.raises(DocumentError, match=message.replace("{", r"\{").replace(
                "(", r"\(").replace(".", r"\.")):
            from_jsonl(path)
    with pytest.raises(DocumentError, match=r"^no documents file at "):
        from_jsonl(tmp_path / "none.jsonl")

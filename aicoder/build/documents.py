"""The documents a build writes tasks from, each with where it came from.

Three sources, as ``python -m aicoder.build`` takes them:

* ``from_library("transformers", ["pipelines", "models.bert"])``: the installed library's own
  API documentation, offline. Every public class and callable of the chosen modules (their
  ``__all__``, or the names without a leading underscore that the library itself defines)
  becomes one document: its import path, its signature and its docstring.
* ``from_folder(path)``: Markdown (``.md``, ``.mdx``) and reStructuredText (``.rst``) files,
  split into sections at their headings (a ``#`` line inside a code fence is not one).
* ``from_jsonl(path)``: one ``{"id": ..., "text": ...}`` object per line.

Every mistake is one ``DocumentError`` line naming what is wrong and where.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from aicoder.errors import AICoderError

__all__ = ["Document", "DocumentError", "from_folder", "from_jsonl", "from_library"]

MAX_CHARS = 6000        # a document's text at most (a docstring longer than that is cut)
MIN_SECTION_CHARS = 200  # a shorter section of a folder's docs says too little to write a task from


class DocumentError(AICoderError):
    """A document source that cannot be read."""


@dataclass(frozen=True)
class Document:
    """One piece of documentation."""

    doc_id: str    # unique in a build: "numpy.linalg.norm", "docs/pipelines.md#the-pipeline"
    source: str    # where it was read: "library numpy 2.3.1", a file path, "file.jsonl:12"
    title: str
    text: str
    library: str = ""  # the library it documents, where known

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS].rsplit("\n", 1)[0] + "\n[...]"


def _signature(obj) -> str:
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return "(...)"
    params = [_shown(p) for p in sig.parameters.values()
              if not (inspect.isclass(obj) and p.name == "self")]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty
                           if inspect.isclass(obj) else sig.return_annotation))


class _Unset:
    def __repr__(self) -> str:
        return "..."


def _shown(param: inspect.Parameter) -> inspect.Parameter:
    """A parameter whose default prints as no Python (numpy's ``<no value>``) shows ``...``: a
    model copies the signature, and it must parse."""
    if param.default is inspect.Parameter.empty:
        return param
    try:
        ast.parse(repr(param.default), mode="eval")
    except SyntaxError:
        return param.replace(default=_Unset())
    return param


def _public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if isinstance(names, (list, tuple)) and names:
        return sorted({str(n) for n in names if not str(n).startswith("_")})
    return sorted(n for n in dir(module) if not n.startswith("_"))


def from_library(library: str, modules: list[str] | None = None) -> list[Document]:
    """One document per public class or callable of ``library``'s ``modules`` (names relative
    to the library, like ``models.bert``, or absolute, like ``torch.nn``; none: the library's
    top level). Objects another package defines (re-exported ``typing`` helpers ...) are left
    out, and an object reachable from two modules is documented once."""
    try:
        top = importlib.import_module(library)
    except ImportError as exc:
        raise DocumentError(f"unknown library {library!r}: {exc} (is it installed in this "
                            "environment?)") from None
    version = getattr(top, "__version__", "")
    seen: set[int] = set()
    docs: list[Document] = []
    for name in modules or [library]:
        name = name.strip()
        full = name if name == library or name.startswith(library + ".") else f"{library}.{name}"
        try:
            module = importlib.import_module(full)
        except Exception as exc:
            raise DocumentError(f"unknown module {full!r}: {exc.__class__.__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        found = 0
        for attr in _public_names(module):
            try:
                obj = getattr(module, attr)
            except Exception:
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)
                    or (callable(obj) and hasattr(obj, "__wrapped__"))):
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue  # an exception class is not an API to write a task about
            owner = getattr(obj, "__module__", "") or ""
            if not (owner == library or owner.startswith(library + ".")) or id(obj) in seen:
                continue
            doc = inspect.getdoc(obj)
            if not doc or len(doc) < 40:
                continue
            seen.add(id(obj))
            found += 1
            path = f"{full}.{attr}"
            kind = "class" if inspect.isclass(obj) else "function"
            text = f"{kind} {path}{_signature(obj)}\n\n{doc}"
            docs.append(Document(doc_id=path, source=f"library {library} {version}".strip(),
                                 title=path, text=_cut(text), library=library))
        if not found:
            raise DocumentError(f"module {full!r} documents no public class or function")
    return docs


_MD_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_RST_RULE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"


def _sections_md(text: str) -> list[tuple[str, str]]:
    sections: list[tuple[str, list[str]]] = [("", [])]
    fence = None
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            mark = stripped[:3]
            fence = None if fence == mark else fence or mark
        heading = _MD_HEADING.match(line) if fence is None else None
        if heading:
            sections.append((heading.group(2).strip(), [line]))
        else:
            sections[-1][1].append(line)
    return [(t, "\n".join(lines).strip()) for t, lines in sections]


def _sections_rst(text: str) -> list[tuple[str, str]]:
    lines = text.splitlines()
    sections: list[tuple[str, list[str]]] = [("", [])]
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if (line.strip() and not _RST_RULE.match(line) and _RST_RULE.match(nxt)
                and len(nxt.strip()) >= len(line.strip())):
            sections.append((line.strip(), [line, nxt]))
            i += 2
            continue
        sections[-1][1].append(line)
        i += 1
    return [(t, "\n".join(body).strip()) for t, body in sections]


def from_folder(folder: str | Path, *, min_chars: int = MIN_SECTION_CHARS) -> list[Document]:
    """The sections of every Markdown and reStructuredText file under ``folder``, in path
    order; a section shorter than ``min_chars`` is left out."""
    root = Path(folder)
    if not root.is_dir():
        raise DocumentError(f"no folder at {root}")
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and p.suffix.lower() in (".md", ".mdx", ".rst"))
    if not files:
        raise DocumentError(f"no Markdown (.md, .mdx) or reStructuredText (.rst) file under "
                            f"{root}")
    docs: list[Document] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise DocumentError(f"cannot read {path}: {exc.strerror or exc}") from None
        rel = path.relative_to(root).as_posix()
        split = _sections_rst if path.suffix.lower() == ".rst" else _sections_md
        used: dict[str, int] = {}
        for title, body in split(text):
            if len(body) < min_chars:
                continue
            slug = _slug(title or path.stem)
            used[slug] = used.get(slug, 0) + 1
            anchor = slug if used[slug] == 1 else f"{slug}-{used[slug]}"
            docs.append(Document(doc_id=f"{rel}#{anchor}", source=str(path),
                                 title=title or path.stem, text=_cut(body)))
    if not docs:
        raise DocumentError(f"the docs under {root} have no section of {min_chars} characters "
                            "or more")
    return docs


def from_jsonl(path: str | Path) -> list[Document]:
    """One document per line: ``{"id": str, "text": str}`` (and optionally ``title``,
    ``library``)."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DocumentError(f"no documents file at {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"cannot read {p}: {exc}") from None
    docs: list[Document] = []
    ids: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise DocumentError(f"{p}:{number}: not JSON ({exc.msg})") from None
        if not (isinstance(item, dict) and isinstance(item.get("id"), (str, int))
                and isinstance(item.get("text"), str) and item["text"].strip()):
            raise DocumentError(f"{p}:{number}: expected {{\"id\": ..., \"text\": \"...\"}} "
                                "with a non-empty text")
        doc_id = str(item["id"])
        if doc_id in ids:
            raise DocumentError(f"{p}:{number}: the id {doc_id!r} is used twice")
        ids.add(doc_id)
        docs.append(Document(doc_id=doc_id, source=f"{p}:{number}",
                             title=str(item.get("title") or doc_id), text=_cut(item["text"]),
                             library=str(item.get("library") or "")))
    if not docs:
        raise DocumentError(f"{p} holds no document")
    return docs

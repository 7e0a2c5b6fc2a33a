"""Which Hub models and datasets a task's code loads: a static scan, and the local cache.

The scan reads the reference program and the test (never runs them) and collects the first
argument of the loading calls — ``*.from_pretrained``, ``pipeline(model=...)`` / its second
positional argument, ``load_dataset``, ``hf_hub_download``, ``snapshot_download``,
``SentenceTransformer``, ``timm.create_model('hf_hub:...')`` — where it is a string constant, a
name bound to one (an assignment, a parameter default, a keyword at a call site), or an
f-string-free concatenation of those. Local paths and builtin dataset loaders (``csv``,
``json``...) are ignored. What the scan cannot resolve, ``check-gt`` still catches at run time.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aicoder.tasks import Task

__all__ = ["HubRef", "cached", "hub_cache", "missing_refs", "scan_source", "scan_task"]

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
#: load_dataset's packaged builders: not Hub repositories.
_BUILDERS = frozenset({"csv", "json", "parquet", "text", "imagefolder", "audiofolder", "arrow",
                       "pandas", "sql", "webdataset", "generator", "xml", "videofolder"})
_MODEL_CALLS = frozenset({"SentenceTransformer", "CrossEncoder", "SetFitModel", "YOLO"})
_DOWNLOAD_CALLS = frozenset({"hf_hub_download", "snapshot_download", "hf_hub_url"})
#: ``Receiver.load("org/name")``: libraries whose loaders take a Hub id.
_LOADERS = frozenset({"SequenceTagger", "TextClassifier", "yolov5", "Classifier"})
_ID_KEYWORDS = ("pretrained_model_name_or_path", "model_name_or_path", "model_name", "repo_id",
                "path", "model", "checkpoint")


@dataclass(frozen=True, order=True)
class HubRef:
    """A Hub repository a task loads."""

    repo_id: str
    kind: str = "model"  # "model" or "dataset"

    @property
    def cache_folder(self) -> str:
        return f"{self.kind}s--{self.repo_id.replace('/', '--')}"

    def __str__(self) -> str:
        return self.repo_id if self.kind == "model" else f"dataset {self.repo_id}"


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


class _Scanner(ast.NodeVisitor):
    def __init__(self, functions: dict[str, list[str]]) -> None:
        self.functions = functions  # name -> positional parameter names, for call sites
        self.bindings: dict[str, set[str]] = {}
        self.pending: list[tuple[ast.expr, str]] = []

    def bind(self, name: str, value: ast.expr | None) -> None:
        if value is not None:
            for text in self.strings(value, depth=0):
                self.bindings.setdefault(name, set()).add(text)

    def strings(self, node: ast.expr, depth: int = 1) -> set[str]:
        """The string values an expression can have, as far as constants tell."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.Name) and depth:
            return set(self.bindings.get(node.id, ()))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.strings(node.left, depth), self.strings(node.right, depth)
            return {a + b for a in left for b in right}
        if isinstance(node, ast.IfExp):
            return self.strings(node.body, depth) | self.strings(node.orelse, depth)
        return set()

    # bindings -------------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.bind(target.id, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name):
            self.bind(node.target.id, node.value)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        args = node.args
        positional = args.posonlyargs + args.args
        for arg, default in zip(positional[len(positional) - len(args.defaults):],
                                args.defaults, strict=True):
            self.bind(arg.arg, default)
        for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            self.bind(arg.arg, default)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    # loading calls --------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        for key, value in keywords.items():  # f(model_name="x") binds the parameter too
            if key in _ID_KEYWORDS or key in self.functions.get(name, ()):
                self.bind(key, value)
        for param, value in zip(self.functions.get(name, ()), node.args, strict=False):
            self.bind(param, value)  # f("x") binds f's first parameter
        first = node.args[0] if node.args else None
        kind = "dataset" if _is_dataset_repo(keywords) else "model"
        if name == "from_pretrained":
            target = first or keywords.get("pretrained_model_name_or_path")
            if target is not None:
                self.pending.append((target, "model"))
        elif name == "pipeline":
            target = keywords.get("model") or (node.args[1] if len(node.args) > 1 else None)
            for value in (target, keywords.get("tokenizer")):
                if value is not None:
                    self.pending.append((value, "model"))
        elif name == "load_dataset":
            target = first or keywords.get("path")
            if target is not None:
                self.pending.append((target, "dataset"))
        elif name in _DOWNLOAD_CALLS:
            target = first or keywords.get("repo_id")
            if target is not None:
                self.pending.append((target, kind))
        elif name in _MODEL_CALLS:
            target = first or keywords.get("model_name_or_path") or keywords.get("model_name")
            if target is not None:
                self.pending.append((target, "model"))
        elif name == "from_hparams":
            target = first or keywords.get("source")
            if target is not None:
                self.pending.append((target, "model"))
        elif name == "load" and first is not None and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in _LOADERS:
            self.pending.append((first, "model"))
        elif name == "create_model" and first is not None:
            pretrained = keywords.get("pretrained")
            wants = isinstance(pretrained, ast.Constant) and pretrained.value is True
            self.pending.append((first, "timm-pretrained" if wants else "timm"))
        self.generic_visit(node)


def _is_dataset_repo(keywords: dict[str, ast.expr]) -> bool:
    value = keywords.get("repo_type")
    return isinstance(value, ast.Constant) and value.value == "dataset"


def _as_ref(text: str, kind: str) -> HubRef | None:
    if kind.startswith("timm"):
        if text.startswith("hf_hub:"):
            text = text[len("hf_hub:"):]
        elif kind == "timm-pretrained" and "/" not in text:
            text = "timm/" + text  # timm fetches its pretrained weights from the Hub's timm/
        else:
            return None
        kind = "model"
    text = text.strip()
    if not _REPO_ID.match(text) or text.endswith((".json", ".txt", ".py", ".bin", ".pt")):
        return None
    if kind == "dataset" and text.lower() in _BUILDERS:
        return None
    if text.lower() in {"cpu", "cuda", "pt", "tf", "np", "none", "auto"}:
        return None
    return HubRef(text, kind)


def scan_source(source: str) -> set[HubRef]:
    """The Hub repositories a piece of Python source loads (empty when it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    functions = {node.name: [a.arg for a in node.args.posonlyargs + node.args.args]
                 for node in ast.walk(tree)
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    scanner = _Scanner(functions)
    scanner.visit(tree)  # first pass: bindings everywhere, in source order
    refs: set[HubRef] = set()
    for node, kind in scanner.pending:
        for text in scanner.strings(node):
            ref = _as_ref(text, kind)
            if ref is not None:
                refs.add(ref)
    return refs


def scan_task(task: Task) -> set[HubRef]:
    """What the task's reference program and test load (imports, function, test, call)."""
    return scan_source(task.content or "\n".join(
        [task.imports, task.reference_code, task.test_code, task.call]))


def hub_cache() -> Path | None:
    """The HuggingFace hub cache the sandbox mounts (None when there is none yet)."""
    from sandbox import hf_cache_dir

    return hf_cache_dir()


def cached(ref: HubRef, cache: Path | None) -> bool:
    """Whether the cache holds a snapshot of the repository (any revision)."""
    if cache is None:
        return False
    snapshots = cache / ref.cache_folder / "snapshots"
    return snapshots.is_dir() and any(p.is_dir() and any(p.iterdir())
                                      for p in snapshots.iterdir())


def missing_refs(task: Task, cache: Path | None) -> list[HubRef]:
    return sorted(r for r in scan_task(task) if not cached(r, cache))


def all_refs(tasks: Iterable[Task]) -> dict[HubRef, list[str]]:
    """Each repository, with the tasks that load it."""
    out: dict[HubRef, list[str]] = {}
    for task in tasks:
        for ref in scan_task(task):
            out.setdefault(ref, []).append(task.task_id)
    return dict(sorted(out.items()))

"""``python -m eval prefetch``: fill the HuggingFace cache with what the tasks load.

A static scan of each task's reference program and test finds the Hub models and datasets it
loads (``from_pretrained``, ``pipeline(model=...)``, ``load_dataset``, ``hf_hub_download`` ...;
see ``aicoder/tasks/hubrefs.py``). Prefetch shows their total download size and downloads them into the
cache (``HF_HUB_CACHE`` / ``HF_HOME``); the sandbox then mounts that cache read-only with
``HF_HUB_OFFLINE=1``. Only one weight format is fetched per repository (safetensors when the
repository has it). A repository that cannot be fetched gets one line, and the rest go on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from eval.commands.common import add_task_options, select_tasks

__all__ = ["add_parser", "run"]

#: weight formats no task here loads (PyTorch tasks read safetensors or .bin)
_SKIP_ALWAYS = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "*.tflite", "*.mlmodel", "*.gguf",
                "onnx/*", "coreml/*", "openvino/*", "flax_model*", "tf_model*", "rust_model*"]


def add_parser(sub) -> None:
    parser = sub.add_parser("prefetch", help="download the Hub models the tasks load",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_task_options(parser)
    parser.add_argument("--dry-run", action="store_true",
                        help="list the repositories and their sizes; download nothing")
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds per Hub request before giving up (20)")
    parser.set_defaults(func=run)


def _human(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _one_line(exc: BaseException) -> str:
    """Why a repository cannot be fetched, in words a user can act on."""
    text = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status == 404:
        return "not on the Hub (404): renamed or deleted"
    if status in (401, 403):
        return f"gated or private ({status}): accept its terms on the Hub and set HF_TOKEN"
    name = type(exc).__name__
    if "OfflineMode" in name:
        return "HF_HUB_OFFLINE is set: unset it to download"
    if "Connect" in name or "Timeout" in name or "Network" in name:
        from huggingface_hub import constants

        return f"cannot reach {constants.ENDPOINT} ({detail})"
    return detail


def _plan(api, ref, timeout: float) -> tuple[list[str] | None, int]:
    """The files to fetch (None: all) and their total size."""
    if ref.kind == "dataset":
        info = api.dataset_info(ref.repo_id, files_metadata=True, timeout=timeout)
    else:
        info = api.model_info(ref.repo_id, files_metadata=True, timeout=timeout)
    names = {s.rfilename: (s.size or 0) for s in (info.siblings or [])}
    skip = set()
    if any(n.endswith(".safetensors") for n in names):
        skip |= {n for n in names if n.endswith(".bin") and "pytorch_model" in n}
    import fnmatch

    keep = [n for n in names if n not in skip
            and not any(fnmatch.fnmatch(n, p) for p in _SKIP_ALWAYS)]
    return keep, sum(names[n] for n in keep)


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from huggingface_hub import HfApi, snapshot_download

    from aicoder.tasks.hubrefs import all_refs, cached, hub_cache

    tasks = select_tasks(args)
    refs = all_refs(tasks)
    cache = hub_cache()
    print(f"{len(tasks)} tasks load {len(refs)} Hub repositories "
          "(found by a static scan); "
          f"cache: {cache or 'none yet'}")
    todo = [r for r in refs if not cached(r, cache)]
    print(f"{len(refs) - len(todo)} already cached, {len(todo)} to fetch")
    api = HfApi()
    failures: list[str] = []
    plans = {}
    total = 0
    for ref in todo:
        try:
            files, size = _plan(api, ref, args.timeout)
        except Exception as exc:  # one line per repository; the rest go on
            failures.append(f"{ref}: {_one_line(exc)}")
            print(f"  cannot fetch {ref} (used by {', '.join(refs[ref][:3])}): "
                  f"{_one_line(exc)}", file=sys.stderr)
            continue
        plans[ref] = files
        total += size
        print(f"  {ref}: {len(files)} files, {_human(size)} (used by "
              f"{', '.join(refs[ref][:3])}{' ...' if len(refs[ref]) > 3 else ''})")
    print(f"total to download: {_human(total)} in {len(plans)} repositories")
    if not args.dry_run:
        for ref, files in plans.items():
            try:
                snapshot_download(ref.repo_id, repo_type=ref.kind, allow_patterns=files,
                                  etag_timeout=args.timeout)
                print(f"  fetched {ref}")
            except Exception as exc:
                failures.append(f"{ref}: {_one_line(exc)}")
                print(f"  cannot fetch {ref}: {_one_line(exc)}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} repositories could not be fetched; tasks that need them are "
              "skipped by run and score", file=sys.stderr)
        return 1
    return 0

"""``python -m aicoder.build``: AICoderEval-style tasks from library documentation.

Documents in (one of):
  --library numpy --modules linalg,fft     the installed library's public API, offline
  --library numpy,torch --modules numpy.linalg,torch.nn.functional
                                           several libraries (modules then absolute); with
                                           --limit N the N documents are taken from them in turn
  --docs DIR                               Markdown / reStructuredText, split at headings
  --jsonl FILE                             one {"id", "text"} per line

For each document the model writes --samples candidate programs (function, docstring,
reference body, a test with >= 3 checks), the function in one answer and its test in the
next. A candidate is kept only if its reference passes every check 3 runs of 3 in the
sandbox, a stub fails every check, its tests kill at least --min-mutation-score of the
reference's mutants, its layout is right, and it duplicates no
kept, builtin or --against task; a rejected candidate gets one repair. The output directory
holds manifest.json, log.jsonl (append-only: the same command resumes), tasks.jsonl,
train.jsonl / test.jsonl (split by document) and DATASHEET.md / datasheet.json. Ctrl-C or
SIGTERM stops it (exit 130), writes those files from the documents finished so far, and prints
the command that resumes.

examples:
  python -m aicoder.build --library numpy --modules linalg --limit 10 --out builds/numpy
  python -m aicoder.build --docs ~/transformers/docs/source/en --model tgi:http://gpu:8080 \\
      --samples 4 --out builds/hf --push-to-hub me/my-aicodereval
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from aicoder.build import MIN_CHECKS, MIN_MUTANTS
from aicoder.errors import AICoderError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m aicoder.build", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--library", help="an installed library whose API documents the tasks, "
                     "or several, comma-separated")
    src.add_argument("--docs", metavar="DIR", help="a folder of .md/.mdx/.rst docs")
    src.add_argument("--jsonl", metavar="FILE", help='a jsonl of {"id", "text"} documents')
    p.add_argument("--modules", help="with --library: comma-separated modules (relative, like "
                   "models.bert, or absolute, like torch.nn); default: the top level")
    p.add_argument("--limit", type=int, default=0,
                   help="the first N documents only, after --shuffle (0: all)")
    p.add_argument("--shuffle", action="store_true",
                   help="take the documents in a seeded random order")
    p.add_argument("--model", default=None, help="model spec (default $AICODER_MODEL or the "
                   "embedded model): llamacpp:PATH, transformers:PATH, tgi:URL, vllm:URL ...")
    p.add_argument("--samples", type=int, default=2, help="candidates per document (2)")
    p.add_argument("--temperature", type=float, default=0.6, help="sampling temperature (0.6)")
    p.add_argument("--max-new-tokens", type=int, default=1200,
                   help="tokens per answer at most (1200)")
    p.add_argument("--seed", type=int, default=0, help="sampling, mutant and split seed (0)")
    p.add_argument("--min-mutation-score", type=float, default=0.6,
                   help="the share of mutants the tests must kill (0.6)")
    p.add_argument("--max-mutants", type=int, default=40, help="mutants per candidate (40)")
    p.add_argument("--min-mutants", type=int, default=MIN_MUTANTS,
                   help="the fewest mutants a task's function must have: fewer is a bare call "
                   f"of the API, too thin to measure its tests ({MIN_MUTANTS}; 0 keeps them)")
    p.add_argument("--keep-failing-checks", action="store_true",
                   help="reject a candidate whose reference fails some of its checks; by "
                   "default those checks are dropped (and recorded) when the reference failed "
                   "each on an assert or in the test's own code or on a raise of its own that "
                   f"refuses the input, never by a crash, and {MIN_CHECKS} that it passes "
                   "remain")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="the runtime cap of a reference run, seconds (60)")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="the share of documents whose tasks form the test split (0.2)")
    p.add_argument("--against", action="append", default=[],
                   help="task source(s) the built tasks must not be close to (builtin always)")
    p.add_argument("--sandbox", default=None, help="sandbox backend (default: the best here)")
    p.add_argument("--workers", type=int, default=2, help="sandbox runs at once (2)")
    p.add_argument("--out", required=True, help="the build's directory (resumable)")
    p.add_argument("--push-to-hub", metavar="REPO", help="upload the build as a dataset repo, "
                   "with the datasheet as its card")
    return p


def _documents(args):
    from aicoder.build.documents import from_folder, from_jsonl, from_library

    if args.library:
        libraries = [x.strip() for x in args.library.split(",") if x.strip()]
        modules = [m.strip() for m in (args.modules or "").split(",") if m.strip()] or None
        described = (f"librar{'ies' if len(libraries) > 1 else 'y'} {', '.join(libraries)}"
                     + (f": {', '.join(modules)}" if modules else ""))
        if len(libraries) == 1:
            return [from_library(libraries[0], modules)], described
        per: dict[str, list[str]] = {lib: [] for lib in libraries}
        for module in modules or []:
            owner = next((lib for lib in libraries if module == lib
                          or module.startswith(lib + ".")), None)
            if owner is None:
                raise AICoderError(f"module {module!r} is in none of --library "
                                   f"{args.library} (with several libraries, name modules in "
                                   "full, like torch.nn)")
            per[owner].append(module)
        return [from_library(lib, per[lib] or None) for lib in libraries], described
    if args.modules:
        raise AICoderError("--modules goes with --library")
    if args.docs:
        return [from_folder(args.docs)], f"the docs under {args.docs}"
    return [from_jsonl(args.jsonl)], f"documents {args.jsonl}"


def _select(groups: list[list], shuffle: bool, limit: int, seed: int) -> list:
    """The build's documents: each group shuffled (seeded) if asked, then taken in turn, one of
    each group at a time, so --limit N over several libraries takes from all of them."""
    import random

    groups = [list(g) for g in groups]
    if shuffle:
        for g in groups:
            random.Random(seed).shuffle(g)
    docs = [d for row in _interleave(groups) for d in row]
    return docs[:limit] if limit else docs


def _interleave(groups: list[list]):
    for i in range(max((len(g) for g in groups), default=0)):
        yield [g[i] for g in groups if i < len(g)]


def _check_options(args) -> None:
    if args.samples < 1:
        raise AICoderError("--samples must be 1 or more")
    if args.limit < 0:
        raise AICoderError("--limit must be 0 (all) or more")
    if not 0 <= args.min_mutation_score <= 1:
        raise AICoderError("--min-mutation-score must be between 0 and 1")
    if args.min_mutants < 0:
        raise AICoderError("--min-mutants must be 0 or more")
    if not 0 <= args.test_fraction < 1:
        raise AICoderError("--test-fraction must be in [0, 1)")
    if args.timeout <= 0 or args.workers < 1 or args.max_new_tokens < 1 or args.max_mutants < 0:
        raise AICoderError("--timeout, --workers and --max-new-tokens must be positive, "
                           "--max-mutants 0 (all) or more")


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from tqdm import tqdm

    from aicoder.build.builder import (
        BuildConfig,
        Builder,
        documents_sha256,
        prompt_sha256,
    )
    from aicoder.models import ModelError, default_spec, load_model
    from aicoder.tasks import load_tasks, tasks_sha256
    from sandbox import get_sandbox

    _check_options(args)
    groups, described = _documents(args)
    docs = _select(groups, args.shuffle, args.limit, args.seed)
    against = list(load_tasks("builtin"))
    for spec in args.against:
        against += load_tasks(spec)
    spec = args.model or default_spec()
    config = BuildConfig(
        documents=described, documents_sha256=documents_sha256(docs), model=spec,
        samples=args.samples, temperature=args.temperature, max_new_tokens=args.max_new_tokens,
        seed=args.seed, min_mutation_score=args.min_mutation_score,
        max_mutants=args.max_mutants, min_mutants=args.min_mutants,
        drop_failing_checks=not args.keep_failing_checks, wall_s=args.timeout,
        test_fraction=args.test_fraction,
        against_sha256=tasks_sha256(against), prompt_sha256=prompt_sha256())
    sandbox = get_sandbox(args.sandbox)
    builder = Builder(args.out, config, None, sandbox.run, against=against,
                      workers=args.workers)
    todo = [d for d in docs if d.doc_id not in builder.done]
    print(f"{len(docs)} documents from {described}; {len(docs) - len(todo)} done before, "
          f"{len(todo)} to go ({sandbox.name} sandbox, model {spec})", file=sys.stderr)
    resume = "python -m aicoder.build " + " ".join(shlex.quote(a) for a in argv)
    stopped, previous = False, _stop_on_sigterm()
    try:
        if todo:
            builder.model = load_model(spec)
            kept = len(builder.kept_tasks())
            firsts = sum(c["attempt"] == 0 for e in builder.entries for c in e["candidates"])
            with tqdm(total=len(docs), initial=len(docs) - len(todo), unit="doc",
                      desc="build") as bar:

                def progress(entry: dict) -> None:
                    nonlocal kept, firsts
                    kept += sum(c["status"] == "kept" for c in entry["candidates"])
                    firsts += sum(c["attempt"] == 0 for c in entry["candidates"])
                    bar.update()
                    bar.set_postfix(kept=kept, yield_now=f"{kept / max(firsts, 1):.2f}")

                builder.run(docs, progress)
    except ModelError as exc:
        raise AICoderError(f"{exc} (what is built is kept: the same command resumes)") from None
    except KeyboardInterrupt:
        stopped = True
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)
        close = getattr(sandbox, "close", None)
        if close is not None:
            close()
    sheet = builder.finish()
    if stopped:  # the files say what the finished documents gave; the log resumes the rest
        print(f"\nstopped after {sheet['documents']} of {len(docs)} documents: "
              f"{sheet['kept']} kept; the files under {builder.out} are written from them. "
              f"Resume with:\n  {resume}", file=sys.stderr)
        return 130
    print(f"{sheet['documents']} documents, {sheet['first_answers']} candidates, "
          f"{sheet['repairs']} repairs: {sheet['kept']} kept (yield {sheet['yield']:.2f}); "
          f"train {sheet['splits']['train']}, test {sheet['splits']['test']}")
    if sheet["rejections"]:
        print("rejected: " + ", ".join(f"{k} {v}" for k, v in sheet["rejections"].items()))
    print(f"written: {builder.out / 'tasks.jsonl'}, train.jsonl, test.jsonl, DATASHEET.md")
    if args.push_to_hub:
        push(builder.out, args.push_to_hub)
    return 0


def _stop_on_sigterm():
    """SIGTERM (a job manager, ``timeout``, ``kill``) stops the build as Ctrl-C does; the
    handler it replaced (None off the main thread, where none can be set)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, stop)


def push(out, repo: str) -> None:
    """Upload the build's files as a dataset repository; the datasheet becomes its card."""
    import shutil
    import tempfile
    from pathlib import Path

    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise AICoderError("--push-to-hub needs huggingface_hub (pip install "
                           "huggingface_hub)") from None
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("tasks.jsonl", "train.jsonl", "test.jsonl", "datasheet.json",
                     "manifest.json"):
            shutil.copy(Path(out) / name, Path(tmp) / name)
        shutil.copy(Path(out) / "DATASHEET.md", Path(tmp) / "README.md")
        api = HfApi()
        try:
            api.create_repo(repo, repo_type="dataset", exist_ok=True)
            api.upload_folder(folder_path=tmp, repo_id=repo, repo_type="dataset",
                              commit_message="aicoder.build")
        except Exception as exc:  # the Hub's errors are many; the user needs one line
            raise AICoderError(f"cannot push to the Hub dataset {repo}: "
                               f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
                               ) from None
    print(f"pushed: https://huggingface.co/datasets/{repo}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return run(args, argv)
    except AICoderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The repair policy's command-line options, shared by ``python -m aicoder solve`` and
``python -m eval run``. Light on purpose (no pydantic, no agents): ``--help`` stays fast."""

from __future__ import annotations

import argparse

__all__ = ["PROMPTS", "add_repair_options", "agent_options", "repair_config"]

#: CoderGen's prompt sets: the repair policy, and the paper's exchange
PROMPTS = ("default", "paper")


def add_repair_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompts", choices=PROMPTS, default="default",
                        help="codergen: 'default' is the repair policy (repeats said plainly "
                        "and resampled, the failed attempts listed, degenerate analyses cut); "
                        "'paper' is the paper's analysis -> repair exchange as published")
    parser.add_argument("--candidates", type=int, default=1,
                        help="codergen: repairs sampled per round; the one passing the most "
                        "checks is kept, ties to fewer tokens (1)")
    parser.add_argument("--analysis-tokens", type=int, default=256,
                        help="codergen: token cap of an error analysis (256; default prompts)")


def _policy(args: argparse.Namespace):
    from aicoder.agents.policy import RepairPolicy
    from aicoder.errors import AICoderError

    try:
        return RepairPolicy(prompts=args.prompts, candidates=args.candidates,
                            analysis_tokens=args.analysis_tokens)
    except ValueError as exc:  # "candidates must be ..." -> "--candidates must be ..."
        name, _, rest = str(exc).partition(" ")
        raise AICoderError(f"--{name.replace('_', '-')} {rest}") from None


def agent_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of the chosen agent (the policy for codergen, none otherwise)."""
    policy = _policy(args)
    if args.mode != "codergen":
        if args.candidates != 1 or args.prompts != "default":
            from aicoder.errors import AICoderError

            raise AICoderError(f"--prompts and --candidates are options of codergen, not of "
                               f"{args.mode}")
        return {}
    return {"policy": policy}


def repair_config(args: argparse.Namespace) -> dict:
    """What config.json records of the policy (codergen only)."""
    if args.mode != "codergen":
        return {}
    return {"prompts": args.prompts, "candidates": args.candidates,
            "analysis_tokens": args.analysis_tokens if args.prompts == "default" else None}

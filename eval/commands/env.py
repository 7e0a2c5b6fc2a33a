"""``python -m eval env``: the tasks' own execution environments (see ``eval/envs/``).

    python -m eval env create [--name aicodereval] [--requirements FILE] [--force]
    python -m eval env list
    python -m eval env show [--name aicodereval]
    python -m eval env docker-build [--name aicodereval] [--base python:3.11-slim]

The docker backend uses an environment's image when it was built (``--sandbox docker --env
NAME``); otherwise it mounts the environment's venv from this host read-only.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    parser = sub.add_parser("env", help="build and list the tasks' execution environments",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("create", "list", "show", "docker-build"))
    parser.add_argument("--name", default=None, help="environment name (aicodereval)")
    parser.add_argument("--requirements", help="requirements file (default eval/envs/NAME.txt)")
    parser.add_argument("--force", action="store_true", help="rebuild an existing environment")
    parser.add_argument("--base", default="python:3.11-slim",
                        help="docker-build: the base image (python:3.11-slim)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from eval.envs import (
        DEFAULT_ENV,
        KEY_PACKAGES,
        build_image,
        create,
        env_home,
        list_envs,
        resolve,
    )

    name = args.name or DEFAULT_ENV
    if args.action == "create":
        env = create(name, args.requirements, force=args.force)
        print(f"built {env.name}: {env.python} ({len(env.packages)} packages)")
        for key in KEY_PACKAGES:
            if key in env.packages:
                print(f"  {key} {env.packages[key]}")
        print(f"use it with: python -m eval run ... --env {env.name}")
    elif args.action == "docker-build":
        tag = build_image(name, args.requirements, base=args.base)
        print(f"built {tag}: `--sandbox docker --env {name}` runs candidates in it")
    elif args.action == "list":
        names = list_envs()
        print("\n".join(names) if names else f"no environment built yet in {env_home()}: "
              "python -m eval env create")
    else:
        env = resolve(name)
        print(f"{env.name}: {env.python}")
        for pkg, version in env.packages.items():
            print(f"  {pkg}=={version}")
    return 0

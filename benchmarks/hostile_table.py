"""The hostile table: each attack of the corpora × {bwrap, landlock on the host, landlock in a
Space-like container} → contained or not, with the status the sandbox gave it.

    python -m benchmarks.hostile_table [--out benchmarks/results/hostile_table.json]

It runs tests/test_hostile.py and tests/test_shared_uid.py (every test asserts that its attack
was contained) on the host, and again inside the container that
tests/test_space_container.py builds (uid 1000, default seccomp, no capabilities), and reads
their junit reports; each run's backend and status is a junit property of its test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ["tests/test_hostile.py", "tests/test_shared_uid.py"]
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "addopts="]


def _cases(xml: Path) -> dict[str, tuple[str, list[str]]]:
    """test id -> (passed | failure | error | skipped, [backend:status, ...])."""
    out = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        outcome = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")),
                       "passed")
        statuses = [p.get("value") for p in case.iter("property")
                    if p.get("name") == "sandbox_status"]
        out[case.get("name")] = (outcome, statuses)
    return out


def _cell(case: tuple[str, list[str]] | None, backend: str) -> str:
    if case is None:
        return "n/a"
    outcome, statuses = case
    mine = sorted({s.split(":", 1)[1] for s in statuses if s.startswith(backend + ":")})
    if outcome == "skipped":
        return "skipped"
    word = "contained" if outcome == "passed" else "NOT CONTAINED"
    return f"{word} ({', '.join(mine)})" if mine else word


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/hostile_table.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.test_space_container import space_run_argv

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        host_xml = tmp / "host.xml"
        subprocess.run([sys.executable, *PYTEST, "--junitxml", str(host_xml), *FILES],
                       cwd=ROOT, check=False)
        out = tmp / "out"
        out.mkdir()
        out.chmod(0o777)
        python = str(ROOT / ".venv" / "bin" / "python")
        subprocess.run(space_run_argv(out, [python, *PYTEST, "--basetemp", "/tmp/pytest",
                                            "--junitxml", "/out/inner.xml", *FILES], {}),
                       check=False)
        host = _cases(host_xml)
        inner = _cases(out / "inner.xml") if (out / "inner.xml").is_file() else {}

    def split(name: str) -> tuple[str, str]:
        """test id -> (the attack, the backend): `test_x[bwrap-case]` -> (`test_x[case]`,
        `bwrap`); a test without a backend parameter is one of landlock's own."""
        base, _, param = name.partition("[")
        backend, _, rest = param.rstrip("]").partition("-")
        if backend not in ("bwrap", "landlock", "docker", "process"):
            return name, "landlock"
        return (f"{base}[{rest}]" if rest else base), backend

    table: dict[str, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
    for where, cases in (("host", host), ("container", inner)):
        for name, case in cases.items():
            attack, backend = split(name)
            table[attack][where][backend] = case
    rows = []
    for attack in sorted(table):
        cells = table[attack]
        rows.append({"attack": attack[:90],
                     "bwrap": _cell(cells["host"].get("bwrap"), "bwrap"),
                     "landlock (host)": _cell(cells["host"].get("landlock"), "landlock"),
                     "landlock (Space-like container)": _cell(
                         cells["container"].get("landlock"), "landlock")})
    Path(args.out).write_text(json.dumps(rows, indent=1))
    columns = ["attack", "bwrap", "landlock (host)", "landlock (Space-like container)"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(r[c] for c in columns) + " |" for r in rows]
    Path(args.out).with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    bad = [r["attack"] for r in rows if any("NOT" in r[c] for c in columns[1:])]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

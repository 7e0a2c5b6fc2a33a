"""Turning an ExecutionResult into what a person reads: a summary line and a checks table."""

from __future__ import annotations

from sandbox import CheckState, ExecutionResult, Status

__all__ = ["STATUS_ICONS", "check_rows", "summary_markdown"]

# Plain symbols that every font has (emoji render as boxes in many headless browsers).
STATUS_ICONS = {
    Status.PASSED: "✓", Status.FAILED: "✗", Status.VACUOUS: "○", Status.ERROR: "✗",
    Status.TIMEOUT: "✗", Status.MEMORY: "✗", Status.CRASHED: "✗", Status.CANCELLED: "■",
    Status.TAMPERED: "⚠",
}

_CHECK_ICONS = {CheckState.PASSED: "✓", CheckState.FAILED: "✗", CheckState.NOT_RUN: "–"}


def summary_markdown(result: ExecutionResult) -> str:
    """One paragraph: the status, how many checks passed, why, and what it cost."""
    passed = sum(c.passed for c in result.checks)
    icon = STATUS_ICONS[result.status]
    memory = f" · peak {result.peak_memory_mb:.0f} MiB" if result.peak_memory_mb else ""
    lines = [
        f"### {icon} {result.status.value.upper()} — {passed}/{len(result.checks)} checks passed",
        f"{result.reason}",
        f"*{result.duration_s:.2f} s in the `{result.backend}` sandbox"
        f"{' (warm)' if result.warm else ''}{memory}*",
    ]
    if result.tamper:
        evidence = "\n".join(f"- **{t.event}** — {t.summary()}" for t in result.tamper[:5])
        lines.insert(2, "The harness refused or found:\n\n" + evidence)
    return "\n\n".join(lines)


def check_rows(result: ExecutionResult) -> list[list[str]]:
    """Rows of (verdict, check, message) for a table; the verdict first, so it is never cut."""
    rows = []
    for check in result.checks:
        verdict = f"{_CHECK_ICONS[check.state]} {check.state.value}"
        message = check.message
        if check.evidence:
            message = f"{message}\n{check.evidence}" if message else check.evidence
        rows.append([verdict, check.name, message])
    return rows

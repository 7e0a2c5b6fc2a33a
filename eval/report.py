"""Reports: from ``samples.jsonl`` (+ ``config.json``, ``skipped.json``) to the numbers.

Definitions (the paper's, per task, averaged over tasks):

* **SR@All** — the fraction of a task's samples whose final code passed every check (at
  least one check must have run: a *vacuous* sample never counts).
* **SR@Any** — the fraction whose final code passed at least one check. A *tampered* sample
  (the harness caught the candidate reaching into the test) counts for none of them.
* **pass@k** — the unbiased estimator over a task's n samples (Chen et al. 2021); pass@1
  equals SR@All.
* **repair curve** — SR@All after round 0..K: a sample counts from the first round it passed.

Every rate has a 95% percentile-bootstrap interval over tasks (seeded, reproducible).
Skipped tasks (could not run here) are counted and listed apart, never as failures.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from aicoder.runs import FORMAT_VERSION, Report, Run, SampleRecord, SampleStatus, read_run
from aicoder.runs.report import AuditNote, Disagreement, Group, Intervals, TaskRow, TheirHarness
from eval.metrics import bootstrap_interval, mean, pass_at_k

__all__ = ["Report", "build_report", "compare", "compare_plot", "load_run", "terminal_table",
           "write_report"]

_KS = (1, 2, 5, 10, 20, 50, 100)


def load_run(path: str | Path) -> Run:
    """Read a run directory, with check-gt's exclusion list for its tasks and environment
    (check-gt may have run after the run) unless the run named its own with ``--exclude``.

    Raises:
        RunDirError: no config.json (not a run directory) or a damaged file.
    """
    run = read_run(path)
    source, env = run.config.source_sha256, run.config.env
    if source and env and not run.config.exclude:
        from eval.provenance import exclusions_path, load_exclusions

        listed = exclusions_path(source, env)
        if listed.is_file():
            ids = {r.task_id for r in run.records} | set(run.skipped)
            for task_id, why in load_exclusions(listed).items():
                if task_id in ids:
                    run.skipped.setdefault(task_id, why)
    return run


def _rate(values: list[float]) -> dict:
    lo, hi = bootstrap_interval(values)
    return {"value": round(mean(values), 4), "ci95": [round(lo, 4), round(hi, 4)]}


def terminal_table(report: Report, name: str | None = None) -> str:
    """The report as a rich table, for the terminal."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    d = report
    table = Table(title=f"{name or d.name}: {d.model} ({d.mode})", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")

    def row(label, value, ci=None):
        table.add_row(label, f"{value:.3f}" if isinstance(value, float) else str(value),
                      f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")

    row("tasks", d.n_tasks)
    row("scored / skipped", f"{d.n_scored} / {d.n_skipped}")
    row("samples per task", d.samples_per_task)
    row("SR@All", d.sr_all, d.intervals.sr_all)
    row("SR@Any", d.sr_any, d.intervals.sr_any)
    for k, value in d.pass_at_k.items():
        row(f"pass@{k}", value, d.intervals.pass_at_k.get(k))
    if len(d.repair_curve) > 1:
        row("repair curve", " ".join(f"{v:.3f}" for v in d.repair_curve))
    if d.compat:
        row("authors' harness: pass", d.compat.sr_authors)
        row("verdicts agree", f"{d.compat.agree} of {d.compat.n}")
    if d.audit is not None:
        a = d.audit
        row(f"weak tests (< {a.min_mutation_score:g})",
            f"{len(a.weak)} excluded" if a.excluded else
            f"{len(a.weak)} in; SR@All without them {a.sr_all_strong:.3f}"
            if a.sr_all_strong is not None else f"{len(a.weak)} in")
    row("vacuous samples", d.n_vacuous)
    if d.n_tampered:
        row("tampered samples", d.n_tampered)
    row("tokens per sample", f"{d.tokens_per_sample:,.0f}")
    row("seconds per sample", f"{d.seconds_per_sample:.1f}")
    out = StringIO()
    Console(file=out, width=100).print(table)
    return out.getvalue()


def audit_note(run: Run, audit: str | Path | None = None, exclude_weak: bool = False,
               min_score: float | None = None) -> AuditNote | None:
    """The weak tasks of ``run`` by the audit at ``audit`` (moved to the run's skipped tasks
    when ``exclude_weak``), or by the reasons check-gt's exclusion list gave (``check-gt
    --exclude-weak``); None when neither says anything.

    Raises:
        AICoderError: no audit there, or an audit of other tasks.
    """
    from eval.commands.audit import WEAK_PREFIX, load_audit_for, weak_tasks

    ids = {r.task_id for r in run.records} | set(run.skipped)
    if audit is not None:
        data = load_audit_for(audit, run.config.source_sha256)
        floor = data.get("min_mutation_score", 0.6) if min_score is None else min_score
        weak = {t: why for t, why in weak_tasks(data, floor).items() if t in ids}
        if exclude_weak:
            for task_id, why in weak.items():
                run.skipped.setdefault(task_id, why)
        return AuditNote(source=str(audit), min_mutation_score=floor, excluded=exclude_weak,
                         weak=dict(sorted(weak.items())))
    listed = {t: why for t, why in run.skipped.items() if why.startswith(WEAK_PREFIX)}
    if not listed:
        return None
    floor = float(next(iter(listed.values()))[len(WEAK_PREFIX):].split(")", 1)[0])
    return AuditNote(source="check-gt's exclusion list", min_mutation_score=floor,
                     excluded=True, weak=dict(sorted(listed.items())))


def build_report(run: Run, audit: AuditNote | None = None) -> Report:
    """Compute a run's report (pure: reads nothing but ``run``; ``audit`` is noted, and
    when it does not exclude the weak tasks SR@All is also given without them)."""
    cfg = run.config
    by_task: dict[str, list[SampleRecord]] = defaultdict(list)
    for rec in run.records:
        if rec.task_id not in run.skipped:
            by_task[rec.task_id].append(rec)
    for samples in by_task.values():
        samples.sort(key=lambda r: r.sample)
    scored = sorted(by_task)
    rounds = max([cfg.repair_rounds] + [r.passed_at_round or 0 for r in run.records])

    sr_all = [mean([r.passed for r in by_task[t]]) for t in scored]
    sr_any = [mean([r.any_passed for r in by_task[t]]) for t in scored]
    n_min = min((len(by_task[t]) for t in scored), default=0)
    pass_k, pass_k_ci = {}, {}
    for k in _KS:
        if k > n_min:
            break
        per_task = [pass_at_k(len(by_task[t]), sum(r.passed for r in by_task[t]), k)
                    for t in scored]
        rate = _rate(per_task)
        pass_k[str(k)], pass_k_ci[str(k)] = rate["value"], rate["ci95"]
    curve = [round(mean([mean([r.passed_at_round is not None and r.passed_at_round <= k
                               for r in by_task[t]]) for t in scored]), 4)
             for k in range(rounds + 1)]

    def meta(task_id: str, key: str) -> str:
        return run.task_meta.get(task_id, {}).get(key) or "unknown"

    def group(key: str) -> dict[str, Group]:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, t in enumerate(scored):
            groups[meta(t, key)].append(i)
        return {g: Group(n=len(ix), sr_all=round(mean([sr_all[i] for i in ix]), 4),
                         sr_any=round(mean([sr_any[i] for i in ix]), 4))
                for g, ix in sorted(groups.items())}

    per_task = {}
    for t in scored:
        first = by_task[t][0]
        per_task[t] = TaskRow(
            status=first.status.value, checks_passed=first.checks_passed,
            checks_total=first.checks_total, checks_executed=first.checks_executed,
            all_passed=first.passed, any_passed=first.any_passed,
            passed_at_round=first.passed_at_round, samples=len(by_task[t]),
            samples_passed=sum(r.passed for r in by_task[t]),
            samples_any_passed=sum(r.any_passed for r in by_task[t]),
            domain=meta(t, "domain"), framework=meta(t, "framework"),
            authors_passed=first.compat.passed if first.compat is not None else None)
    if audit is not None and not audit.excluded:
        strong = [sr_all[i] for i, t in enumerate(scored) if t not in audit.weak]
        audit = audit.model_copy(update={"n_strong": len(strong),
                                         "sr_all_strong": round(mean(strong), 4)})
    records = [r for t in scored for r in by_task[t]]
    statuses: dict[str, int] = defaultdict(int)
    for r in records:
        statuses[r.status.value] += 1
    expected = cfg.n_tasks or len(scored) + len(run.skipped)
    compat = [r for r in records if r.compat is not None]
    theirs = None
    if compat:
        disagree = [Disagreement(task_id=r.task_id, sample=r.sample, ours=r.status.value,
                                 ours_passed=r.passed, authors_passed=r.compat.passed,
                                 stderr_has_error=r.compat.stderr_has_error,
                                 stdout_has_failed=r.compat.stdout_has_failed)
                    for r in compat if r.passed != r.compat.passed]
        theirs = TheirHarness(n=len(compat),
                              sr_authors=round(mean([r.compat.passed for r in compat]), 4),
                              agree=len(compat) - len(disagree), disagree=disagree)
    return Report(
        format_version=FORMAT_VERSION, name=run.path.name, model=cfg.model, mode=cfg.mode,
        tasks=cfg.tasks, env=cfg.env, env_packages=cfg.env_packages, git_commit=cfg.git_commit,
        source_sha256=cfg.source_sha256,
        n_tasks=expected, n_scored=len(scored), n_skipped=len(run.skipped),
        n_missing=max(expected - len(scored) - len(run.skipped), 0),
        samples_per_task=max(int(cfg.samples or 1), 1), n_samples=len(records),
        n_vacuous=statuses.get(SampleStatus.VACUOUS.value, 0),
        n_tampered=statuses.get(SampleStatus.TAMPERED.value, 0),
        statuses=dict(sorted(statuses.items())),
        sr_all=round(mean(sr_all), 4), sr_any=round(mean(sr_any), 4), pass_at_k=pass_k,
        intervals=Intervals(sr_all=_rate(sr_all)["ci95"], sr_any=_rate(sr_any)["ci95"],
                            pass_at_k=pass_k_ci),
        repair_curve=curve, by_domain=group("domain"), by_framework=group("framework"),
        tokens_per_sample=round(mean([r.prompt_tokens + r.completion_tokens
                                      for r in records]), 1),
        completion_tokens_per_sample=round(mean([r.completion_tokens for r in records]), 1),
        # a sample's own time: what it waited for a slot while others ran is not its cost
        seconds_per_sample=round(mean([max(r.duration_s - r.queued_s, 0.0)
                                       for r in records]), 2),
        queued_seconds_per_sample=round(mean([r.queued_s for r in records]), 2),
        per_task=per_task, skipped=dict(sorted(run.skipped.items())), compat=theirs,
        audit=audit)


def _audit_lines(note: AuditNote | None) -> list[str]:
    if note is None:
        return []
    if note.excluded:
        return [f"**Scored on the tasks whose tests kill at least {note.min_mutation_score:g} "
                f"of their mutants**: {len(note.weak)} tasks with weak tests excluded (audit "
                f"`{note.source}`).", ""]
    strong = ("" if note.sr_all_strong is None else
              f"; SR@All on the other {note.n_strong}: {note.sr_all_strong:.3f}")
    return [f"{len(note.weak)} tasks have weak tests (audit `{note.source}`, mutation score "
            f"floor {note.min_mutation_score:g}) and are in the numbers{strong}.", ""]


def _markdown(report: Report) -> str:
    d = report.as_dict()
    iv = d["intervals"]
    lines = [f"# {d['name']}", "",
             f"Model `{d['model']}`, mode `{d['mode']}`, tasks `{d['tasks']}`, "
             f"environment `{d['env']}`, commit `{d['git_commit'][:12]}`.", "",
             *_audit_lines(report.audit),
             "| metric | value | 95% CI |", "| --- | ---: | ---: |",
             f"| tasks (scored / skipped / missing) | {d['n_tasks']} ({d['n_scored']} / "
             f"{d['n_skipped']} / {d['n_missing']}) | |",
             f"| SR@All | {d['sr_all']:.3f} | {iv['sr_all'][0]:.3f}–{iv['sr_all'][1]:.3f} |",
             f"| SR@Any | {d['sr_any']:.3f} | {iv['sr_any'][0]:.3f}–{iv['sr_any'][1]:.3f} |"]
    for k, v in d["pass_at_k"].items():
        lo, hi = iv["pass_at_k"][k]
        lines.append(f"| pass@{k} | {v:.3f} | {lo:.3f}–{hi:.3f} |")
    lines += [f"| vacuous samples | {d['n_vacuous']} | |",
              *([f"| tampered samples | {d['n_tampered']} | never counted |"]
                if d.get("n_tampered") else []),
              f"| tokens per sample | {d['tokens_per_sample']} | |",
              f"| seconds per sample | {d['seconds_per_sample']} | |", ""]
    if len(d["repair_curve"]) > 1:
        lines += ["## Repair curve (SR@All after round k)", "",
                  "| round | " + " | ".join(str(i) for i in range(len(d["repair_curve"]))) + " |",
                  "| --- |" + " ---: |" * len(d["repair_curve"]),
                  "| SR@All | " + " | ".join(f"{v:.3f}" for v in d["repair_curve"]) + " |", ""]
    for title, key in (("By domain", "by_domain"), ("By framework", "by_framework")):
        lines += [f"## {title}", "", "| group | tasks | SR@All | SR@Any |",
                  "| --- | ---: | ---: | ---: |"]
        lines += [f"| {g} | {v['n']} | {v['sr_all']:.3f} | {v['sr_any']:.3f} |"
                  for g, v in d[key].items()]
        lines.append("")
    if d.get("compat"):
        c = d["compat"]
        lines += ["## The authors' harness on the same predictions", "",
                  f"Passed by the authors' criterion (no `Error` in stderr, no `failed` in "
                  f"stdout): {c['sr_authors']:.3f}; verdicts agree on {c['agree']} of {c['n']}.",
                  "", "| task | ours | authors' |", "| --- | --- | --- |"]
        lines += [f"| {x['task_id']} | {x['ours']} | "
                  f"{'pass' if x['authors_passed'] else 'fail'} |" for x in c["disagree"]]
        lines.append("")
    if report.audit is not None and report.audit.weak and not report.audit.excluded:
        lines += [f"## Weak tests ({len(report.audit.weak)}): in the numbers", ""]
        lines += [f"- `{t}`: {why.split('): ', 1)[-1]}" for t, why in report.audit.weak.items()]
        lines.append("")
    if d["skipped"]:
        lines += [f"## Skipped ({d['n_skipped']}): could not run here, or excluded", ""]
        lines += [f"- `{t}`: {why}" for t, why in d["skipped"].items()]
        lines.append("")
    return "\n".join(lines)


def _plots(report: Report, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = report.as_dict()
    paths = []
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    curve = d["repair_curve"]
    ax.plot(range(len(curve)), curve, marker="o")
    ax.set_xlabel("repair round")
    ax.set_ylabel("SR@All")
    ax.set_ylim(0, 1)
    ax.set_xticks(range(len(curve)))
    ax.set_title(f"{d['name']}: repair curve")
    fig.tight_layout()
    paths.append(out / "repair_curve.png")
    fig.savefig(paths[-1])
    plt.close(fig)
    domains = d["by_domain"]
    if domains:
        names = list(domains)
        labels = [f"{n} ({domains[n]['n']})" for n in names]
        all_ = [domains[n]["sr_all"] for n in names]
        any_ = [domains[n]["sr_any"] for n in names]
        fig, ax = plt.subplots(figsize=(6.5, 0.5 * len(names) + 1.6), dpi=120)
        ax.barh(labels, all_, color="#2f6db5", label="SR@All")
        ax.barh(labels, [b - a for a, b in zip(all_, any_, strict=True)], left=all_,
                color="#9cc0e8", label="SR@Any (extra)")
        for y, (a, b) in enumerate(zip(all_, any_, strict=True)):
            ax.text(b + 0.01, y, f"{a:.2f} / {b:.2f}", va="center", fontsize=8)
        ax.set_xlim(0, 1.2)
        ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.set_xlabel("rate (tasks per domain in brackets)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, frameon=False)
        ax.set_title(f"{d['name']}: SR@All / SR@Any by domain")
        paths.append(out / "by_domain.png")
        fig.savefig(paths[-1], bbox_inches="tight")
        plt.close(fig)
    return paths


def write_report(path: str | Path, *, audit: str | Path | None = None, exclude_weak: bool = False,
                 min_score: float | None = None) -> Report:
    """Compute a run directory's report and write report.json, report.md and the plots;
    with ``audit``, the weak tasks are flagged (left out with ``exclude_weak``)."""
    run = load_run(path)
    report = build_report(run, audit_note(run, audit, exclude_weak, min_score))
    (run.path / "report.json").write_text(json.dumps(report.as_dict(), indent=1))
    (run.path / "report.md").write_text(_markdown(report))
    _plots(report, run.path)
    return report


def compare(reports: list[Report]) -> dict:
    """Several runs side by side, and each later run's paired difference with the first on
    the tasks both scored (mean of per-task SR@All differences, with a bootstrap interval)."""
    base = reports[0]
    rows = [{"name": r.name, "model": r.model, "mode": r.mode, "n_scored": r.n_scored,
             "sr_all": r.sr_all, "sr_any": r.sr_any, "pass_at_k": r.pass_at_k,
             "tokens_per_sample": r.tokens_per_sample} for r in reports]
    diffs = []
    for r in reports[1:]:
        common = sorted(set(base.per_task) & set(r.per_task))

        def rate(report: Report, t: str) -> float:
            p = report.per_task[t]
            return p.samples_passed / p.samples

        values = [rate(r, t) - rate(base, t) for t in common]
        lo, hi = bootstrap_interval(values)
        diffs.append({"run": r.name, "versus": base.name, "common_tasks": len(common),
                      "sr_all_difference": round(mean(values), 4),
                      "ci95": [round(lo, 4), round(hi, 4)],
                      "better": sum(v > 0 for v in values), "worse": sum(v < 0 for v in values)})
    return {"runs": rows, "paired": diffs}


def compare_plot(reports: list[Report], path: Path) -> Path:
    """The runs' repair curves on one plot (a direct run is a single point at round 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    longest = 1
    for r in reports:
        curve = r.repair_curve or [r.sr_all]
        longest = max(longest, len(curve))
        ax.plot(range(len(curve)), curve, marker="o",
                label=f"{r.name} ({r.mode}, {r.n_scored} tasks)")
    ax.set_xlabel("repair round")
    ax.set_ylabel("SR@All")
    ax.set_ylim(0, 1)
    ax.set_xticks(range(longest))
    ax.legend(fontsize=8)
    ax.set_title("SR@All after each repair round")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path

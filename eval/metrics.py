"""Benchmark metrics: SR@All, SR@Any, the unbiased pass@k estimator, bootstrap intervals.

One home for each formula (harnesses often copy ``estimate_pass_at_k`` several times).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

__all__ = ["bootstrap_interval", "mean", "pass_at_k", "pass_at_k_tasks"]


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimate of pass@k from ``n`` samples of which ``c`` passed
    (Chen et al. 2021): ``1 - C(n - c, k) / C(n, k)``, computed without large binomials.

    Raises:
        ValueError: ``k`` is not in 1..n, or ``c`` is not in 0..n.
    """
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n samples (n = {n})")
    if not 0 <= c <= n:
        raise ValueError(f"{c} passing samples out of {n} is impossible")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def pass_at_k_tasks(counts: Sequence[tuple[int, int]], k: int) -> float:
    """pass@k over tasks: the mean of each task's estimate; ``counts`` are (n, c) per task."""
    return mean([pass_at_k(n, c, k) for n, c in counts])


def bootstrap_interval(values: Sequence[float], statistic: Callable[[Sequence[float]], float]
                       = mean, *, resamples: int = 2000, level: float = 0.95, seed: int = 0
                       ) -> tuple[float, float]:
    """A percentile bootstrap interval of ``statistic`` over per-task ``values``.

    Tasks are resampled with replacement; the seed makes the interval reproducible.
    """
    if not values:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(values)
    stats = sorted(statistic([values[rng.randrange(n)] for _ in range(n)])
                   for _ in range(resamples))
    low = stats[int((1 - level) / 2 * resamples)]
    high = stats[min(int((1 + level) / 2 * resamples), resamples - 1)]
    return (low, high)

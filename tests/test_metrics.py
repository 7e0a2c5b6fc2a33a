"""The metrics against values worked out by hand and by brute force."""

from __future__ import annotations

import itertools
from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval.metrics import bootstrap_interval, mean, pass_at_k, pass_at_k_tasks


def test_pass_at_k_known_values():
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - comb(3, 2) / comb(5, 2))  # 0.7
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 3, 3) == 1.0  # every 3-subset holds a pass
    assert pass_at_k_tasks([(5, 2), (5, 0)], 1) == pytest.approx(0.2)


@given(n=st.integers(1, 9), data=st.data())
def test_pass_at_k_is_the_fraction_of_k_subsets_with_a_pass(n, data):
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(samples, k))
    assert pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))


@pytest.mark.parametrize(("n", "c", "k"), [(3, 1, 4), (3, 4, 1), (3, 1, 0)])
def test_pass_at_k_rejects_impossible_inputs(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    values = [1.0] * 30 + [0.0] * 70
    low, high = bootstrap_interval(values)
    assert low < mean(values) == 0.3 < high
    assert low > 0.18 and high < 0.42
    assert bootstrap_interval(values) == (low, high)
    assert bootstrap_interval([1.0] * 10) == (1.0, 1.0)
    assert bootstrap_interval([]) == (0.0, 0.0)

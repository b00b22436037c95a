"""Drift checks with a stated false-positive rate: PSI over the baseline's bins, calibrated by simulation.

Each signal is binned on the baseline's bins: numeric signals at the baseline's deciles (ties merge
bins, so a count with few values gets few bins), categorical ones by value plus an "other" bin. The
statistic is the population stability index (PSI) between the baseline's and the window's bin shares
(both smoothed by half a count a bin). A window drifts when its PSI exceeds BOTH

- the (1 - alpha) quantile of the PSI under "no drift", simulated for this window's size: the baseline
  counts and the window counts drawn as multinomials from the baseline's shares, `simulations` times,
  seeded from the feature's name and the window size (the same inputs give the same threshold); this
  two-sample null carries the baseline's own sampling noise, which matters for a baseline of a few
  hundred texts; and
- `min_psi` (0.1, the customary "moderate shift"), so that very large windows do not flag shifts too
  small to act on.

False-positive rate: at most `alpha` per check and window, up to the Monte Carlo error of the quantile
(about +-0.0003 at alpha 0.001 with 20,000 simulations) and the bootstrap's use of the baseline's shares
for the true ones: over baselines drawn afresh the rate is alpha (measured 0.0009-0.0010 at windows of 50
and 200 against baselines of 300), while one given baseline's rate varies around it (at 200 records, 90 %
of baselines at most 0.002, 1 % above 0.01: a baseline that is itself an unlucky sample).
Defaults: alpha = 0.001 per check; a classifier window runs 6 checks, a chatbot window
7, so by the union bound a window of unchanged traffic raises any violation with probability at most
0.6-0.7 % (about one false alarm in six days of hourly windows, at worst). Measured in
tests/containers/monitoring/test_drift.py with fixed seeds at windows of 50 and 200 records against a
baseline of 300. Windows under `min_window` records (20) are not checked: too few to tell. Each check's
rate on the baselines of a real run, at each window size: benchmarks/monitoring_fpr.py (README's table).

The distinct-reply rate is a window-level figure: its null distribution is simulated by drawing the
window's replies from the baseline's reply frequencies (with replacement; one-sided: only a drop, i.e.
a model repeating itself, is a violation).

Why not Evidently: its drift tests (KS, chi-square, PSI, Wasserstein at fixed thresholds) do not
calibrate to the window size, so their false-positive rate at 50 records is not what it is at 5,000,
and some of its text descriptors fetch NLTK corpora at run time, which a network-isolated job cannot.
Its reports are also far heavier than this job needs (numpy only).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

ALPHA = 0.001
SIMULATIONS = 20_000
MIN_PSI = 0.1
MIN_WINDOW = 20
QUANTILES = tuple(i / 10 for i in range(1, 10))
OTHER = "__other__"
SMOOTHING = 0.5


@dataclass(frozen=True)
class DriftSettings:
    alpha: float = ALPHA
    simulations: int = SIMULATIONS
    min_psi: float = MIN_PSI
    min_window: int = MIN_WINDOW

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be in (0, 0.5), got {self.alpha}")
        if self.simulations * self.alpha < 10:
            raise ValueError(
                f"{self.simulations} simulations leave fewer than 10 beyond the {self.alpha} quantile; "
                "raise simulations"
            )
        if self.min_window < 1 or self.min_psi < 0:
            raise ValueError("min_window must be >= 1 and min_psi >= 0")


@dataclass(frozen=True)
class DriftResult:
    feature: str
    statistic: float
    threshold: float
    drifted: bool
    detail: str


def numeric_edges(values: list[float]) -> list[float]:
    """The baseline's distinct deciles, each an observed value (discrete counts keep whole-number edges):
    bin i holds edges[i-1] < x <= edges[i]."""
    if not values:
        raise ValueError("cannot bin a feature without baseline values")
    return sorted(
        {float(q) for q in np.quantile(np.asarray(values, dtype=float), QUANTILES, method="inverted_cdf")}
    )


def bin_numeric(values: list[float], edges: list[float]) -> list[int]:
    index = np.searchsorted(np.asarray(edges), np.asarray(values, dtype=float), side="left")
    return np.bincount(index, minlength=len(edges) + 1).tolist()


def bin_categorical(values: list[str], categories: list[str]) -> list[int]:
    """Counts per baseline category, then one "other" bin for values the baseline never saw."""
    position = {c: i for i, c in enumerate(categories)}
    counts = [0] * (len(categories) + 1)
    for value in values:
        counts[position.get(value, len(categories))] += 1
    return counts


def psi(base: np.ndarray, window: np.ndarray) -> np.ndarray:
    """PSI between count vectors (last axis = bins), each smoothed by half a count a bin."""
    p = (base + SMOOTHING) / (base.sum(axis=-1, keepdims=True) + SMOOTHING * base.shape[-1])
    q = (window + SMOOTHING) / (window.sum(axis=-1, keepdims=True) + SMOOTHING * window.shape[-1])
    return ((q - p) * np.log(q / p)).sum(axis=-1)


def _seed(feature: str, n: int) -> int:
    return zlib.crc32(f"{feature}:{n}".encode())


def _multinomial(rng: np.random.Generator, n: int, shares: np.ndarray, size: int) -> np.ndarray:
    """`size` multinomial count vectors, bin by bin as conditional binomials (vectorised over the draws;
    about 10x faster than Generator.multinomial's per-draw loop)."""
    counts = np.zeros((size, len(shares)), dtype=np.int64)
    remaining = np.full(size, n, dtype=np.int64)
    left = 1.0
    for i, share in enumerate(shares[:-1]):
        prob = min(max(share / left, 0.0), 1.0) if left > 0 else 0.0
        counts[:, i] = rng.binomial(remaining, prob)
        remaining -= counts[:, i]
        left -= share
    counts[:, -1] = remaining
    return counts


def psi_threshold(feature: str, base_counts: list[int], n: int, settings: DriftSettings) -> float:
    """The (1 - alpha) quantile of PSI between two samples of one distribution (sizes m and n)."""
    base = np.asarray(base_counts, dtype=float)
    m = int(base.sum())
    shares = base / m
    rng = np.random.default_rng(_seed(feature, n))
    sim_base = _multinomial(rng, m, shares, settings.simulations)
    sim_window = _multinomial(rng, n, shares, settings.simulations)
    return float(np.quantile(psi(sim_base, sim_window), 1 - settings.alpha))


def check_bins(
    feature: str, base_counts: list[int], window_counts: list[int], settings: DriftSettings
) -> DriftResult:
    n = int(sum(window_counts))
    statistic = float(psi(np.asarray(base_counts, float), np.asarray(window_counts, float)))
    threshold = max(psi_threshold(feature, base_counts, n, settings), settings.min_psi)
    detail = (
        f"PSI {statistic:.3f} vs threshold {threshold:.3f} ({n} records against a baseline of "
        f"{int(sum(base_counts))}; false-positive rate {settings.alpha} per check)"
    )
    return DriftResult(feature, statistic, threshold, statistic > threshold, detail)


def distinct_rate(replies: list[str]) -> float:
    return len(set(replies)) / len(replies) if replies else 0.0


def check_distinct_rate(reply_counts: list[int], replies: list[str], settings: DriftSettings) -> DriftResult:
    """One-sided: the window's distinct-reply rate below the alpha quantile of the baseline's at this size."""
    n = len(replies)
    counts = np.asarray(reply_counts, dtype=float)
    rng = np.random.default_rng(_seed("distinct_reply_rate", n))
    draws = rng.choice(len(counts), size=(settings.simulations, n), p=counts / counts.sum())
    sorted_draws = np.sort(draws, axis=1)
    distinct = 1 + (np.diff(sorted_draws, axis=1) != 0).sum(axis=1)
    threshold = float(np.quantile(distinct / n, settings.alpha))
    observed = distinct_rate(replies)
    detail = (
        f"distinct-reply rate {observed:.3f} vs lower bound {threshold:.3f} ({n} replies; false-positive "
        f"rate {settings.alpha})"
    )
    return DriftResult("distinct_reply_rate", observed, threshold, observed < threshold, detail)


def feature_histogram(values: list[Any], categorical: bool) -> dict[str, Any]:
    """The baseline's bins for a feature: {"edges", "counts"} or {"categories", "counts"}."""
    if categorical:
        categories = sorted({str(v) for v in values})
        return {"categories": categories, "counts": bin_categorical([str(v) for v in values], categories)}
    edges = numeric_edges(values)
    return {"edges": edges, "counts": bin_numeric(values, edges)}


def window_counts(histogram: dict[str, Any], values: list[Any]) -> list[int]:
    """A window's counts on a baseline histogram's bins."""
    if "categories" in histogram:
        return bin_categorical([str(v) for v in values], histogram["categories"])
    return bin_numeric(values, histogram["edges"])

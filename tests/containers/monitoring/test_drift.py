"""The drift checks' false-positive rate, measured at the window sizes the job uses, with fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest

from containers.monitoring.drift import (
    DriftSettings,
    check_bins,
    check_distinct_rate,
    feature_histogram,
    numeric_edges,
    psi,
    psi_threshold,
    window_counts,
)

BASELINE = 300
BASELINES = 50
WINDOWS = 60


def population(size: int, rng: np.random.Generator) -> dict[str, list]:
    """Signals shaped like the endpoints' (discrete counts with ties, rates with many zeros, categories)."""
    return {
        "input_tokens": rng.poisson(8, size).tolist(),
        "oov_rate": (rng.binomial(10, 0.05, size) / 10).tolist(),
        "predicted_label": rng.choice(
            ["home", "lab", "school", "woods"], size, p=[0.4, 0.3, 0.2, 0.1]
        ).tolist(),
    }


@pytest.mark.parametrize("window", [50, 200])
def test_false_positive_rate_is_at_most_alpha_per_check(window: int) -> None:
    """3,000 windows of unchanged traffic (50 baselines of 300 records x 60 windows), seed 7: each check's
    rate of violations stays within Monte Carlo reach of alpha = 0.001 (expected 3 of 3,000; the bound
    allows 9). Many baselines, because one baseline's own luck moves its rate (see drift.py)."""
    settings = DriftSettings()
    rng = np.random.default_rng(7)
    false_alarms = dict.fromkeys(population(1, rng), 0)
    for _ in range(BASELINES):
        base = population(BASELINE, rng)
        hists = {f: feature_histogram(v, f == "predicted_label") for f, v in base.items()}
        thresholds = {
            f: max(psi_threshold(f, h["counts"], window, settings), settings.min_psi)
            for f, h in hists.items()
        }
        for _ in range(WINDOWS):
            sample = population(window, rng)
            for feature, hist in hists.items():
                counts = np.asarray(window_counts(hist, sample[feature]), float)
                false_alarms[feature] += (
                    float(psi(np.asarray(hist["counts"], float), counts)) > thresholds[feature]
                )
    rates = {f: n / (BASELINES * WINDOWS) for f, n in false_alarms.items()}
    assert all(rate <= 0.003 for rate in rates.values()), str(rates)


def test_a_loose_alpha_gives_its_rate_too() -> None:
    """The calibration is not just conservative: at alpha 0.05, windows of 50 flag about 5 % (seed 11)."""
    settings = DriftSettings(alpha=0.05, simulations=4000, min_psi=0.0)
    rng = np.random.default_rng(11)
    hits = trials = 0
    for _ in range(10):
        base = rng.poisson(8, BASELINE).tolist()
        hist = feature_histogram(base, False)
        for _ in range(100):
            result = check_bins(
                "input_tokens", hist["counts"], window_counts(hist, rng.poisson(8, 50).tolist()), settings
            )
            hits += result.drifted
            trials += 1
    assert 0.02 <= hits / trials <= 0.09


def test_a_shifted_window_is_flagged_and_the_message_says_by_how_much() -> None:
    rng = np.random.default_rng(3)
    hist = feature_histogram(rng.poisson(8, BASELINE).tolist(), False)
    result = check_bins(
        "input_tokens", hist["counts"], window_counts(hist, rng.poisson(20, 50).tolist()), DriftSettings()
    )
    assert result.drifted and result.statistic > result.threshold >= 0.1
    assert "50 records against a baseline of 300" in result.detail


def test_thresholds_are_reproducible_and_shrink_with_the_window() -> None:
    counts = [30, 30, 30, 30, 30, 30, 30, 30, 30, 30]
    settings = DriftSettings()
    small = psi_threshold("x", counts, 50, settings)
    assert small == psi_threshold("x", counts, 50, settings)
    assert psi_threshold("x", counts, 500, settings) < small


def test_ties_merge_bins_and_unseen_categories_land_in_other() -> None:
    edges = numeric_edges([0, 0, 0, 0, 1])
    assert edges == [0.0, 1.0]
    assert window_counts({"edges": edges}, [0, 0, 1, 2, 7]) == [2, 1, 2]
    hist = feature_histogram(["en", "en", "es"], True)
    assert hist == {"categories": ["en", "es"], "counts": [2, 1, 0]}
    assert window_counts(hist, ["ru", "en"]) == [1, 0, 1]


def test_distinct_reply_rate_flags_a_model_that_repeats_itself() -> None:
    frequencies = [1] * 200  # 200 different replies in the baseline
    varied = [f"reply {i}" for i in range(60)]
    stuck = ["I don't know."] * 55 + [f"reply {i}" for i in range(5)]
    assert not check_distinct_rate(frequencies, varied, DriftSettings()).drifted
    assert check_distinct_rate(frequencies, stuck, DriftSettings()).drifted


def test_settings_refuse_too_few_simulations_for_alpha() -> None:
    with pytest.raises(ValueError, match="raise simulations"):
        DriftSettings(alpha=0.001, simulations=1000)

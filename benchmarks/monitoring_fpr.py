"""False-positive rate of each drift check, at each window size, for the baselines a real run wrote.

    python benchmarks/monitoring_fpr.py          # the baselines of the last `make run-local` (.local/latest)
    python benchmarks/monitoring_fpr.py --baseline DIR --windows 20 50 200 --baselines 40 --draws 250

A false positive is a violation on traffic with no drift. For each check of a baseline folder
(statistics.json and constraints.json of ComputeChatbotBaseline / ComputeClassifierBaseline), the
baseline's bin shares stand for the true distribution of unchanged traffic; then, `--baselines` times,
a baseline of the real one's size is drawn from it (bins as the real one's, so the job's thresholds are
computed as the job computes them for such a baseline) and `--draws` windows of each size are drawn from
it too; the rate is the share of windows the job's own check (containers/monitoring/drift.py, the
constraints' alpha and simulations) flags. The distinct-reply rate is drawn from the baseline's reply
frequencies. Everything is seeded (`--seed`): the same inputs print the same table. Figures, not a test:
nothing is asserted (tests/containers/monitoring/test_drift.py asserts the bound).

Columns: windows checked, violations, rate, the rate's 95 % upper bound (Clopper-Pearson, so "0 of
10,000" reads "at most 0.0003"), and the worst single baseline's rate (one unlucky baseline flags more).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from containers.monitoring.drift import (  # noqa: E402 - after the path insert, as a script
    _multinomial,
    check_distinct_rate,
    psi,
    psi_threshold,
)
from containers.monitoring.stats_files import histogram_of, settings_from  # noqa: E402


def upper_bound(hits: int, trials: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound of a rate (beta quantile, by bisection on the binomial CDF)."""
    from math import comb

    def cdf(p: float) -> float:
        return sum(comb(trials, k) * p**k * (1 - p) ** (trials - k) for k in range(hits + 1))

    low, high = hits / trials, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if cdf(middle) > 1 - confidence else (low, middle)
    return high


def bins_rates(
    name: str, counts: list[int], windows: list[int], settings: Any, baselines: int, draws: int, seed: int
) -> dict[int, tuple[int, int, float]]:
    """window size -> (windows, violations, worst baseline's rate) for one binned check."""
    base = np.asarray(counts, dtype=float)
    shares, m = base / base.sum(), int(base.sum())
    rng = np.random.default_rng(seed)
    out = {}
    for n in windows:
        hits, worst = 0, 0.0
        for _ in range(baselines):
            fresh = _multinomial(rng, m, shares, 1)[0]
            threshold = max(psi_threshold(name, fresh.tolist(), n, settings), settings.min_psi)
            flagged = int(
                (
                    psi(fresh.astype(float), _multinomial(rng, n, shares, draws).astype(float)) > threshold
                ).sum()
            )
            hits += flagged
            worst = max(worst, flagged / draws)
        out[n] = (baselines * draws, hits, worst)
    return out


def distinct_rates(
    frequencies: list[int], windows: list[int], settings: Any, draws: int, seed: int
) -> dict[int, tuple[int, int, float]]:
    """window size -> (windows, violations, rate) for the distinct-reply rate (one baseline: the real one)."""
    shares = np.asarray(frequencies, dtype=float)
    shares /= shares.sum()
    rng = np.random.default_rng(seed)
    out = {}
    for n in windows:
        replies = [f"r{i}" for i in rng.choice(len(shares), size=n, p=shares)]
        threshold = check_distinct_rate(frequencies, replies, settings).threshold
        draws_ = rng.choice(len(shares), size=(draws, n), p=shares)
        distinct = np.array([len(set(row)) / n for row in draws_])
        hits = int((distinct < threshold).sum())
        out[n] = (draws, hits, hits / draws)
    return out


def measure(folder: Path, windows: list[int], baselines: int, draws: int, seed: int) -> list[dict[str, Any]]:
    statistics = json.loads((folder / "statistics.json").read_text(encoding="utf-8"))
    settings = settings_from(json.loads((folder / "constraints.json").read_text(encoding="utf-8")))
    rows = []
    for index, feature in enumerate(statistics["features"]):
        counts = histogram_of(feature)["counts"]
        rates = bins_rates(feature["name"], counts, windows, settings, baselines, draws, seed + index)
        rows += [{"check": feature["name"], "baseline": sum(counts), "window": n, "alpha": settings.alpha,
                  "windows": t, "violations": h, "worst": w} for n, (t, h, w) in rates.items()]  # fmt: skip
    frequencies = statistics.get("reply_frequencies")
    if frequencies:
        rates = distinct_rates(frequencies, windows, settings, baselines * draws, seed + 99)
        rows += [{"check": "distinct_reply_rate", "baseline": sum(frequencies), "window": n,
                  "alpha": settings.alpha, "windows": t, "violations": h, "worst": w}
                 for n, (t, h, w) in rates.items()]  # fmt: skip
    return rows


def latest_baselines(home: Path) -> list[Path]:
    folders = sorted(
        {p.parent for p in (home / "latest" / "s3").rglob("Compute*Baseline/baseline/statistics.json")}
    )
    if not folders:
        raise SystemExit(
            f"no baseline under {home / 'latest'}: run `make run-local` first, or pass --baseline"
        )
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, action="append", help="a baseline folder (repeatable)")
    parser.add_argument("--home", type=Path, default=ROOT / ".local", help="the local runner's home")
    parser.add_argument("--windows", type=int, nargs="+", default=[20, 50, 200])
    parser.add_argument("--baselines", type=int, default=40, help="baselines drawn per check and size")
    parser.add_argument("--draws", type=int, default=250, help="windows drawn per baseline")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    folders = args.baseline or latest_baselines(args.home)
    print(
        "| baseline | check | baseline records | window | alpha | windows | violations | rate | 95 % upper"
        " | worst baseline |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for folder in folders:
        model = folder.parent.name.removeprefix("Compute").removesuffix("Baseline")
        for row in measure(folder, args.windows, args.baselines, args.draws, args.seed):
            rate = row["violations"] / row["windows"]
            print(f"| {model} | {row['check']} | {row['baseline']} | {row['window']} | {row['alpha']} | "
                  f"{row['windows']} | {row['violations']} | {rate:.4f} | "
                  f"{upper_bound(row['violations'], row['windows']):.4f} | {row['worst']:.4f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

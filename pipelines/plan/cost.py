"""The estimated cost of the steps a plan recomputes: instances x count x duration x the price table.

The table is conf/prices.yaml (per region, per instance type, USD per hour); the duration is the step's
from the previous run where known, else the table's default for its type; spot training takes the
configured discount off. An estimate to compare plans by, not a bill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.plan.cache_plan import RECOMPUTE, RUNS, StepPlan
from project.bundle import REPO_ROOT

PRICES_FILE = REPO_ROOT / "conf" / "prices.yaml"


class PriceTableError(ValueError):
    """conf/prices.yaml is missing a section the estimate needs; the message names it."""


@dataclass(frozen=True)
class PriceTable:
    hourly: Mapping[str, float]  # instance type -> USD per hour in the region
    spot_discount: float
    default_minutes: Mapping[str, float]

    @classmethod
    def load(cls, region: str, path: Path = PRICES_FILE) -> PriceTable:
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        regions = data.get("regions", {})
        if region not in regions:
            raise PriceTableError(f"{path}: no prices for region {region!r} (add regions.{region})")
        return cls(
            hourly={k: float(v) for k, v in regions[region].items()},
            spot_discount=float(data.get("spot_discount", 0.0)),
            default_minutes={k: float(v) for k, v in data.get("default_minutes", {}).items()},
        )


@dataclass(frozen=True)
class StepCost:
    step: str
    minutes: float
    usd: float | None  # None: the instance type has no price in the table
    measured: bool  # the duration comes from a previous run (not the default)


def estimate(plan: StepPlan, durations: Mapping[str, float], table: PriceTable) -> StepCost | None:
    """The cost of running `plan`'s step once; None when it will not run a job (hit, or no job)."""
    if plan.status not in (RECOMPUTE, RUNS):
        return None
    seconds = durations.get(plan.name)
    minutes = seconds / 60 if seconds else table.default_minutes.get(plan.type, 0.0)
    rate = table.hourly.get(plan.instance_type or "")
    if rate is None:
        return StepCost(plan.name, minutes, None, bool(seconds))
    if plan.spot:
        rate *= 1 - table.spot_discount
    return StepCost(plan.name, minutes, rate * plan.instance_count * minutes / 60, bool(seconds))

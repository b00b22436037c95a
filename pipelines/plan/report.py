"""The plan as text: one row per job step (what happens, why, where, what it costs) and a total."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipelines.plan.cache_plan import HIT, NO_JOB, StepPlan
from pipelines.plan.cost import PriceTable, estimate

HEADER = ("Step", "Next run", "Instance", "Est. cost", "Why")


def plan_table(plans: Sequence[StepPlan], durations: Mapping[str, float], table: PriceTable | None) -> str:
    """A fixed-width table of the job steps and a last line with the totals."""
    rows: list[tuple[str, ...]] = []
    total, unpriced, recomputed = 0.0, 0, 0
    for plan in plans:
        if plan.status == NO_JOB:
            continue
        cost = estimate(plan, durations, table) if table is not None else None
        price = "-"
        if cost is not None:
            recomputed += 1
            if cost.usd is None:
                price, unpriced = "no price", unpriced + 1
            else:
                total += cost.usd
                amount = f"${cost.usd:.2f}" if cost.usd >= 0.01 else "<$0.01"
                price = f"{amount} ({cost.minutes:.1f} min{'' if cost.measured else ', default'})"
        instance = f"{plan.instance_count} x {plan.instance_type}" if plan.instance_type else "-"
        if plan.spot:
            instance += " spot"
        reasons = "; ".join(plan.reasons)
        rows.append((plan.name, plan.status, instance, price if plan.status != HIT else "-", reasons))
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in [HEADER, *rows]
    ]
    hits = sum(1 for row in rows if row[1] == HIT)
    summary = f"{hits} step(s) hit the cache, {recomputed} run"
    if table is not None:
        summary += f"; estimated ${total:.2f}"
        if unpriced:
            summary += f" + {unpriced} step(s) with no price in conf/prices.yaml"
    return "\n".join([*lines, summary])

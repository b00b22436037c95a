"""Models tab logic: registry versions as table rows, two versions compared, the confirm-then-review step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from model_registry.cards import render_card
from model_registry.metrics import compare
from model_registry.types import ApprovalStatus, ModelVersion

REVIEW_ACTIONS = {"approve": ApprovalStatus.APPROVED, "reject": ApprovalStatus.REJECTED}


def version_rows(versions: list[ModelVersion], live: dict[str, str]) -> list[dict[str, Any]]:
    """One row a version: number, status, live endpoint, metrics (one column each), created, note."""
    names = sorted({name for v in versions for name in v.metrics})
    rows = []
    for v in sorted(versions, key=lambda v: -v.version):
        rows.append(
            {
                "version": v.version,
                "status": v.status,
                "live on": live.get(v.arn, ""),
                **{name: round(v.metrics[name], 4) if name in v.metrics else None for name in names},
                "created": v.created_at[:19],
                "note": v.status_note,
            }
        )
    return rows


def live_version(versions: list[ModelVersion], live: dict[str, str]) -> str:
    """'v<N> on <endpoint>' for the group's live version, or a sentence saying none is live."""
    for v in versions:
        if v.arn in live:
            return f"v{v.version} on {live[v.arn]}"
    return "no version of this group is live"


def comparison_rows(a: ModelVersion, b: ModelVersion) -> list[dict[str, Any]]:
    """The registry's own comparison (model_registry.metrics.compare) as rows, b - a per metric."""
    return [
        {
            "metric": row.metric,
            f"v{a.version}": row.a,
            f"v{b.version}": row.b,
            "change": None if row.delta is None else round(row.delta, 4),
        }
        for row in compare(a, b)
    ]


def card_text(version: ModelVersion, card: dict[str, Any] | None = None) -> str:
    """What the registry holds about a version, as Markdown, with its model card when it has one."""
    lines = [
        f"**{version.group} v{version.version}**: {version.status}",
        f"- artifact: `{version.model_data_url}`",
        f"- evaluation report: `{version.evaluation_uri or 'none recorded'}`",
        f"- image: `{version.image_uri or 'none recorded'}`",
    ]
    if version.environment:
        lines.append(
            "- serving environment: "
            + ", ".join(f"`{k}={v}`" for k, v in sorted(version.environment.items()))
        )
    if version.description:
        lines.append(f"- description: {version.description}")
    if card is None:
        lines.append(
            "\n_Model card: none was registered with this version (it predates model cards); "
            "the fields above are what the registry records._"
        )
    else:
        lines += [
            "",
            render_card(card, f"{version.group} v{version.version}").replace(
                "# Model card", "### Model card", 1
            ),
        ]
    return "\n".join(lines)


@dataclass(frozen=True)
class PendingReview:
    """A review the user asked for and must confirm: nothing changes until they do."""

    group: str
    version: int
    action: str  # approve | reject
    note: str
    warning: str = ""  # approving below the live version: what it loses (model_registry.review)

    @property
    def status(self) -> ApprovalStatus:
        return REVIEW_ACTIONS[self.action]

    def question(self) -> str:
        effect = (
            "deploys it to the endpoint"
            if self.action == "approve"
            else "rolls a live version back to the previous approved one"
        )
        question = f"{self.action.capitalize()} **{self.group} v{self.version}**? This {effect}."
        return f"{question}\n\n**Warning:** {self.warning}" if self.warning else question


def pending_review(group: str | None, version: Any, action: str, note: str) -> PendingReview:
    """Check the selection before asking for confirmation; ValueError says what is missing."""
    if action not in REVIEW_ACTIONS:
        raise ValueError(f"unknown review action {action!r}")
    if not group:
        raise ValueError("choose a model group first")
    if version in (None, ""):
        raise ValueError("choose a version first")
    return PendingReview(group, int(version), action, note or "")

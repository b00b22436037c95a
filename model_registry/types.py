"""Plain records shared by both registry backends, the deploy handler and the CLI.

Stdlib only: the deploy handler's Lambda bundle imports this module without pydantic or yaml.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class ApprovalStatus(StrEnum):
    """A model package's approval status, spelled as SageMaker spells it (members compare equal to it)."""

    APPROVED = "Approved"
    REJECTED = "Rejected"
    PENDING = "PendingManualApproval"


APPROVAL_STATUSES: tuple[str, ...] = tuple(status.value for status in ApprovalStatus)

# SageMaker's own rule for model package group and endpoint names.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version (a SageMaker model package) with its review state and metrics."""

    group: str
    version: int
    arn: str
    status: str
    model_data_url: str
    image_uri: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    evaluation_uri: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    description: str = ""
    created_at: str = ""
    status_updated_at: str = ""
    status_note: str = ""


@dataclass(frozen=True)
class Endpoint:
    """A live endpoint and the model version it serves."""

    name: str
    group: str
    version: int
    model_package_arn: str
    status: str = "InService"
    model_dir: Path | None = None
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class Variant:
    """A variant beside an endpoint's live one: an A/B challenger with its share, or a shadow.

    The live variant's share is `live_weight` (SageMaker routes by weight / sum of weights)."""

    endpoint: str
    name: str
    group: str
    version: int
    model_package_arn: str
    weight: float
    live_weight: float
    shadow: bool = False
    model_dir: Path | None = None
    updated_at: str = ""


def check_status(status: str) -> str:
    """Return `status` when it is a model approval status; else raise naming the valid ones."""
    if status not in APPROVAL_STATUSES:
        raise ValueError(f"approval status {status!r} is not one of {', '.join(APPROVAL_STATUSES)}")
    return status


def check_name(name: str, what: str) -> str:
    """Return `name` when SageMaker would accept it for `what` (a group or an endpoint)."""
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"{what} name {name!r} is invalid: use 1-63 letters, digits and single hyphens, "
            "starting and ending with a letter or digit"
        )
    return name


def check_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """Metrics as {name: finite float}; a NaN, an infinity or a non-number raises ValueError."""
    clean: dict[str, float] = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"metric {name!r} is {value!r}; metrics must be finite numbers")
        clean[str(name)] = float(value)
    return clean

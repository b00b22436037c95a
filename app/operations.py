"""Operations tab logic: the endpoints, the serving side's figures and this app's own calls, as tables.

Serving-side figures come from the backend (local: serve-local's /metrics, app/local_metrics.py; AWS:
CloudWatch, app/cloudwatch.py), in the same columns as this app's call log (app/calls.py), so the two
tables can be read side by side. A backend that cannot answer gives a note, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.backend import AppBackend, BackendError
from app.local_metrics import COLUMNS as SERVING_COLUMNS

ENDPOINT_COLUMNS = ["model", "name", "status", "group", "version"]
__all__ = ["ENDPOINT_COLUMNS", "SERVING_COLUMNS", "OperationsView", "operations_view", "problem"]


@dataclass(frozen=True)
class OperationsView:
    """What the tab shows: notes (Markdown), endpoint rows, serving-side rows, this app's call rows."""

    notes: str
    endpoints: list[dict[str, Any]]
    serving: list[dict[str, Any]]
    calls: list[dict[str, Any]]


def problem(error: Exception) -> str:
    return f"**Problem:** {error}"


def operations_view(backend: AppBackend) -> OperationsView:
    """Everything the Operations tab shows, read now; what cannot be read is a note saying what to do."""
    lines: list[str] = [f"Backend: {backend.describe()}"]
    try:
        infos = [vars(info) for info in backend.endpoints()]
    except BackendError as error:
        infos = []
        lines.append(problem(error))
    try:
        rows, missing = backend.endpoint_figures()
        lines += [f"- {m}" for m in missing]
    except BackendError as error:
        rows = []
        lines.append(problem(error))
    calls = backend.calls.rows()
    if not calls:
        lines.append("- No calls from this app yet: chat or classify to fill the last table.")
    return OperationsView("\n".join(lines), infos, rows, calls)

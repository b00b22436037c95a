"""The app's own call log: percentiles and per-endpoint rows."""

from __future__ import annotations

import pytest

from app.calls import CallLog, percentile


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 50) == 10.0
    assert percentile(values, 95) == 19.0
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_rows_count_calls_and_errors_per_endpoint() -> None:
    log = CallLog()
    for ms in (100.0, 200.0, 300.0):
        log.record("chat", ms)
    log.record("chat", 50.0, error="RequestRejected")
    log.record("classifier", 20.0)
    assert log.rows() == [
        {"endpoint": "chat", "invocations": 4, "errors": 1, "error kinds": "RequestRejected=1",
         "p50 ms": 100.0, "p95 ms": 300.0},
        {"endpoint": "classifier", "invocations": 1, "errors": 0, "error kinds": "-",
         "p50 ms": 20.0, "p95 ms": 20.0},
    ]  # fmt: skip

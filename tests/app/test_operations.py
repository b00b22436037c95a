"""The Operations tab against serve-local's real /metrics: the server's own code (make_app, ServerMetrics)
over the finished run's endpoints, requests sent through the app's backend, and the tab's figures compared
with what was sent. The server's clock is scripted so each request takes a known time; nothing else of
the server is replaced."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import operations
from app.backend import LocalBackend, RequestRejected, open_backend
from model_registry.local import LocalRegistry
from model_registry.local_endpoints import EndpointPool
from pipelines.local.server import LocalServer, bind, make_app
from pipelines.local.server_metrics import ServerMetrics

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CHATBOT = "stranger-things-nlp-local-chatbot"
CLASSIFIER = "stranger-things-nlp-local-classifier"
HELLO = {"messages": [{"role": "user", "content": "Where is Will?"}], "parameters": {"max_new_tokens": 4}}
TEXTS = {"inputs": ["They hide in the lab corridor"], "parameters": {"top_k": 1}}


class ScriptedClock(ServerMetrics):
    """ServerMetrics whose clock reads the times the test queued: a request's start, then its end."""

    def __init__(self) -> None:
        super().__init__()
        self.times: deque[float] = deque()

    def clock(self) -> float:  # type: ignore[override]
        return self.times.popleft()


@pytest.fixture
def served(app_home: Path, tmp_path: Path) -> Iterator[tuple[LocalBackend, ScriptedClock]]:
    """serve-local's ASGI app and server over the finished run's registry; the app's backend on it."""
    metrics = ScriptedClock()
    pool = EndpointPool(LocalRegistry(app_home / "registry.db"))
    server = LocalServer(make_app(pool, metrics), bind("127.0.0.1", 0)).start()
    backend = open_backend("local", home=app_home, cache_dir=tmp_path / "app", serve_url=server.url)
    assert isinstance(backend, LocalBackend)
    yield backend, metrics
    server.shutdown()
    server.server_close()


def send(
    backend: LocalBackend, metrics: ScriptedClock, model: str, payload: Any, took_ms: float, ok: bool = True
) -> None:
    metrics.times.extend([100.0, 100.0 + took_ms / 1000])
    if ok:
        backend.invoke(model, payload)
    else:  # counted by both sides: the tab shows it as an error
        with pytest.raises(RequestRejected):
            backend.invoke(model, payload)
    assert not metrics.times, "the server read its clock other than once at each end of a request"


def test_the_tab_shows_what_serve_local_counted_for_the_requests_sent(
    served: tuple[LocalBackend, ScriptedClock],
) -> None:
    backend, metrics = served
    for took in (40, 10, 30, 50):
        send(backend, metrics, "chatbot", HELLO, took)
    send(backend, metrics, "chatbot", {"messages": []}, 5, ok=False)  # the handler refuses it: 400
    for took in (7, 3, 11):
        send(backend, metrics, "classifier", TEXTS, took)
    metrics.times.extend([100.0, 100.001])
    with pytest.raises(urllib.error.HTTPError):  # an endpoint that does not exist: counted under "-"
        urllib.request.urlopen(
            urllib.request.Request(f"{backend.serve_url}/endpoints/nothing-here/invocations", b"{}")
        )

    view = operations.operations_view(backend)
    # chatbot: 40, 10, 30, 50, 5 ms -> sorted 5, 10, 30, 40, 50: p50 30, p95 50; classifier: 3, 7, 11.
    assert view.serving == [
        {"endpoint": "(no endpoint named)", "invocations": 1, "errors": 1, "error kinds": "404=1",
         "p50 ms": 1.0, "p95 ms": 1.0},
        {"endpoint": CHATBOT, "invocations": 5, "errors": 1, "error kinds": "400=1",
         "p50 ms": 30.0, "p95 ms": 50.0},
        {"endpoint": CLASSIFIER, "invocations": 3, "errors": 0, "error kinds": "-",
         "p50 ms": 7.0, "p95 ms": 11.0},
    ]  # fmt: skip
    assert list(view.serving[0]) == operations.SERVING_COLUMNS
    mine = {row["endpoint"]: row for row in view.calls}  # the app's own count of the same calls
    assert (mine[CHATBOT]["invocations"], mine[CHATBOT]["errors"]) == (5, 1)
    assert (mine[CLASSIFIER]["invocations"], mine[CLASSIFIER]["errors"]) == (3, 0)
    assert "no /metrics route" not in view.notes and "Problem" not in view.notes


def test_the_serve_local_process_reports_in_the_shape_the_tab_reads(local_backend: LocalBackend) -> None:
    """The same reading against `python -m pipelines serve-local` itself (shared with other tests, so
    its figures are compared before and after)."""

    def chatbot_row() -> dict[str, Any]:
        rows = {row["endpoint"]: row for row in operations.operations_view(local_backend).serving}
        return rows.get(CHATBOT, {"invocations": 0, "errors": 0})

    before = chatbot_row()
    local_backend.invoke("chatbot", HELLO)
    with pytest.raises(RequestRejected):
        local_backend.invoke("chatbot", {"messages": []})
    after = chatbot_row()
    assert after["invocations"] - before["invocations"] == 2
    assert after["errors"] - before["errors"] == 1 and "400=" in after["error kinds"]
    assert 0 < after["p50 ms"] <= after["p95 ms"]
    raw = json.loads(urllib.request.urlopen(f"{local_backend.serve_url}/metrics").read())
    assert set(raw["endpoints"][CHATBOT]["latency_ms"]) >= {"p50", "p95", "p99"}

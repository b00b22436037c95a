"""Record the MLflow REST calls containers/common/tracking.py makes, against a real MLflow server app.

The job's client talks REST to the tracking server (SageMaker managed MLflow in dev/prod, through the
sagemaker-mlflow plugin's SigV4 auth). Here the same client (RestStore) talks to MLflow's own server
app in process, through Flask's test client instead of a socket, backed by a SQLite store: nothing
leaves the process. Each call's request message is recorded by name: RestStore sends the protobuf
message of the MLflow REST API (`CreateRun`, `LogBatch`, ...), and IAM names the sagemaker-mlflow
actions after those messages (Service Authorization Reference, "Actions defined by Amazon SageMaker
with MLflow": `sagemaker-mlflow:CreateRun`, `sagemaker-mlflow:LogBatch`, ...).

Artifacts do not go through the server: the client writes them to the experiment's artifact location
itself (S3 in dev/prod, as the job role: s3:PutObject), so they are recorded as files written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

TRACKING_URI = "http://mlflow.test"  # never resolved: every request goes to the in-process app


@dataclass
class Recorded:
    """What one logging session asked of the server, and the artifact files it wrote."""

    api_calls: list[str] = field(default_factory=list)
    artifact_root: Path = Path()

    def artifacts(self) -> list[Path]:
        return sorted(p for p in self.artifact_root.rglob("*") if p.is_file())


@contextmanager
def recording_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    """An MLflow server app in process; every REST call a client makes in the block is recorded."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    import requests
    from mlflow.server import app, handlers
    from mlflow.store.tracking.rest_store import RestStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.tracking._tracking_service import utils as tracking_utils
    from mlflow.utils import rest_utils

    recorded = Recorded(artifact_root=tmp_path / "artifacts")
    store = SqlAlchemyStore(f"sqlite:///{tmp_path / 'server.db'}", str(recorded.artifact_root))
    monkeypatch.setattr(handlers, "_tracking_store", store)
    client = app.test_client()

    def http_request(
        host_creds: Any, endpoint: str, method: str, params: Any = None, json: Any = None, **_: Any
    ) -> requests.Response:
        answer = client.open(endpoint, method=method, query_string=params, json=json)
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.data
        response.headers.update(dict(answer.headers))
        return response

    call_endpoint = RestStore._call_endpoint

    def recording_call(self: RestStore, api: Any, *args: Any, **kwargs: Any) -> Any:
        recorded.api_calls.append(api.__name__)
        return call_endpoint(self, api, *args, **kwargs)

    # The client sets the process-wide tracking URI, and mlflow.set_tracking_uri also exports it as
    # MLFLOW_TRACKING_URI: put both back afterwards, or every later job subprocess of the session
    # inherits an unreachable server and spends minutes in MLflow's retries.
    monkeypatch.setattr(tracking_utils, "_tracking_uri", tracking_utils._tracking_uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", TRACKING_URI)
    monkeypatch.setattr(rest_utils, "http_request", http_request)
    monkeypatch.setattr(RestStore, "_call_endpoint", recording_call)
    yield recorded

"""serve-local on the demo endpoint: the SageMaker container contract over real HTTP on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from model_registry.local import LocalRegistry
from pipelines.local.server import make_server
from tests.pipelines.local import demo_project
from tests.pipelines.local.conftest import DemoRunner


def call(base: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, parsed JSON body) of one request; HTTP errors are returned, not raised."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def serve(registry: LocalRegistry) -> Iterator[str]:
    server = make_server(registry, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def base_url(demo: DemoRunner) -> Iterator[str]:
    result, output = demo.run()
    assert result.ok, output
    yield from serve(LocalRegistry(demo.home / "registry.db"))


def test_ping_and_endpoint_list(base_url: str) -> None:
    assert call(base_url, "/ping") == (200, {"status": "Healthy", "endpoints": [demo_project.ENDPOINT]})
    status, endpoints = call(base_url, "/endpoints")
    assert status == 200
    assert [(e["name"], e["group"], e["version"]) for e in endpoints] == [
        (demo_project.ENDPOINT, "demo-group", 1)
    ]


def test_invocations_run_the_models_own_handler(base_url: str) -> None:
    path = f"/endpoints/{demo_project.ENDPOINT}/invocations"
    assert call(base_url, path, {"text": "hello"}) == (200, {"echo": "hello", "words": 5})
    # One endpoint deployed: the container path /invocations reaches it without naming it.
    assert call(base_url, "/invocations", {"text": "hi"}) == (200, {"echo": "hi", "words": 5})
    assert call(base_url, "/invocations", {"text": "x"}, {"X-Endpoint-Name": demo_project.ENDPOINT})[0] == 200


def test_client_errors_get_4xx_with_the_handlers_message(base_url: str) -> None:
    path = f"/endpoints/{demo_project.ENDPOINT}/invocations"
    assert call(base_url, path, {"txt": "hello"}) == (400, {"error": 'send {"text": ...}'})
    status, body = call(base_url, path, b"{not json")
    assert status == 400 and "Expecting property name" in body["error"]
    assert call(base_url, path, {"text": "x"}, {"Content-Type": "text/plain"}) == (
        415,
        {"error": "send application/json, not text/plain"},
    )
    status, body = call(base_url, "/endpoints/nope/invocations", {"text": "x"})
    assert (status, body["error"]) == (404, f"no endpoint named 'nope'; deployed: {demo_project.ENDPOINT}")


def test_ping_without_endpoints_is_unavailable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for base in serve(LocalRegistry(tmp_path / "registry.db")):
        assert call(base, "/ping") == (503, {"status": "NoEndpoints", "endpoints": []})


def test_served_invocations_are_captured_as_sagemaker_captures_them(demo: DemoRunner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What serve-local writes (its CaptureWriter) reads back as SageMaker capture, in its layout."""
    from containers.monitoring.capture import CaptureWriter, capture_files, read_events

    result, output = demo.run()
    assert result.ok, output
    server = make_server(
        LocalRegistry(demo.home / "registry.db"), "127.0.0.1", 0, capture=CaptureWriter(tmp_path)
    ).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert call(base, f"/endpoints/{demo_project.ENDPOINT}/invocations", {"text": "hello"})[0] == 200
        assert call(base, f"/endpoints/{demo_project.ENDPOINT}/invocations", {"txt": "bad"})[0] == 400
    finally:
        server.shutdown()
        server.server_close()
    [file] = capture_files(tmp_path)
    assert file.relative_to(tmp_path).parts[:2] == (demo_project.ENDPOINT, "AllTraffic")
    events, errors = read_events([file])
    assert errors == [] and [(e.request, e.response) for e in events] == [
        ({"text": "hello"}, {"echo": "hello", "words": 5})
    ]

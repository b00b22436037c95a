"""Loading and invoking a local endpoint in-process, as the inference toolkit would (no HTTP)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from containers.monitoring.capture import CaptureWriter
from model_registry.local import LocalRegistry
from model_registry.local_endpoints import EndpointPool, RequestError, load_handler, model_environment

HANDLER = """
import json
import os


def model_fn(model_dir):
    return {"greeting": os.environ["GREETING"], "limit": os.environ["MAX_NEW_TOKENS"]}


def input_fn(body, content_type):
    data = json.loads(body)
    if "name" not in data:
        raise ValueError("send {\\"name\\": ...}")
    return data


def predict_fn(data, model):
    reply = f"{model['greeting']}, {data['name']}"
    return {"reply": reply, "limit": model["limit"], "at_request": os.environ.get("MAX_NEW_TOKENS")}
"""


def model_folder(root: Path) -> Path:
    (root / "code").mkdir(parents=True)
    (root / "code" / "inference.py").write_text(HANDLER, encoding="utf-8")
    return root


def test_the_models_environment_applies_while_it_loads_then_goes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MAX_NEW_TOKENS", raising=False)
    with model_environment({"MAX_NEW_TOKENS": "12", "SAGEMAKER_PROGRAM": "inference.py"}):
        assert os.environ["MAX_NEW_TOKENS"] == "12"
        assert "SAGEMAKER_PROGRAM" not in os.environ  # the toolkit's own keys are not the model's
    assert "MAX_NEW_TOKENS" not in os.environ


def test_a_model_folder_without_a_handler_is_a_server_error(tmp_path: Path) -> None:
    with pytest.raises(RequestError, match="has no inference handler") as caught:
        load_handler(tmp_path, "no_handler")
    assert caught.value.status == 500


def test_the_pool_serves_a_deployed_version_and_maps_client_errors(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "registry.db")
    model_dir = model_folder(tmp_path / "model")
    version = registry.register(
        "hawkins-greeter",
        model_data_url=str(model_dir),
        approval_status="Approved",
        environment={"GREETING": "Hello", "MAX_NEW_TOKENS": "8"},
    )
    registry.deploy("hawkins-greeter-endpoint", version.group, version.version, model_dir)
    pool = EndpointPool(registry)

    answer, content_type = pool.get("hawkins-greeter-endpoint").invoke(
        json.dumps({"name": "Dustin"}).encode(), "application/json", "application/json"
    )
    # The environment was there when the model loaded, and is not applied per request (no global lock).
    assert json.loads(answer) == {"reply": "Hello, Dustin", "limit": "8", "at_request": None}
    assert content_type == "application/json"
    with pytest.raises(RequestError, match="send") as caught:
        pool.get("hawkins-greeter-endpoint").invoke(b"{}", "application/json", "application/json")
    assert caught.value.status == 400
    with pytest.raises(RequestError, match="nested too deeply") as nested:
        pool.get("hawkins-greeter-endpoint").invoke(b"[" * 100_000, "application/json", "application/json")
    assert nested.value.status == 400
    with pytest.raises(RequestError, match="no endpoint named 'upside-down'") as missing:
        pool.get("upside-down")
    assert missing.value.status == 404


def test_a_redeploy_is_served_on_the_next_request_and_one_endpoint_loads_once(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "registry.db")
    pool = EndpointPool(registry)
    for n, greeting in ((1, "Hello"), (2, "Howdy")):
        model_dir = model_folder(tmp_path / f"model{n}")
        version = registry.register(
            "hawkins-greeter",
            model_data_url=str(model_dir),
            approval_status="Approved",
            environment={"GREETING": greeting, "MAX_NEW_TOKENS": "8"},
        )
        registry.deploy("hawkins-greeter-endpoint", version.group, version.version, model_dir)
        first = pool.get("hawkins-greeter-endpoint")  # straight after the deploy: no wait
        answer, _ = first.invoke(b'{"name": "Will"}', "application/json", "application/json")
        assert json.loads(answer)["reply"] == f"{greeting}, Will"
        assert pool.get("hawkins-greeter-endpoint") is first  # unchanged registry: not loaded again
    assert pool.names() == ["hawkins-greeter-endpoint"]


def test_answered_invocations_are_captured_in_sagemakers_layout_and_refused_ones_are_not(
    tmp_path: Path,
) -> None:
    from containers.monitoring.capture import capture_files, read_events

    registry = LocalRegistry(tmp_path / "registry.db")
    model_dir = model_folder(tmp_path / "model")
    version = registry.register(
        "hawkins-greeter", model_data_url=str(model_dir), approval_status="Approved",
        environment={"GREETING": "Hi", "MAX_NEW_TOKENS": "8"},
    )  # fmt: skip
    registry.deploy("hawkins-greeter-endpoint", version.group, version.version, model_dir)
    pool = EndpointPool(registry, capture=CaptureWriter(tmp_path / "capture"))
    endpoint = pool.get("hawkins-greeter-endpoint")
    answer, _ = endpoint.invoke(json.dumps({"name": "Max"}).encode(), "application/json", "application/json")
    with pytest.raises(RequestError):
        endpoint.invoke(b"{}", "application/json", "application/json")

    files = capture_files(tmp_path / "capture")
    assert len(files) == 1
    assert files[0].relative_to(tmp_path / "capture").parts[:2] == ("hawkins-greeter-endpoint", "AllTraffic")
    events, errors = read_events(files)
    assert errors == []
    assert [(e.request, e.response) for e in events] == [({"name": "Max"}, json.loads(answer))]
    assert json.loads(answer)["reply"] == "Hi, Max"
    line = json.loads(files[0].read_text().splitlines()[0])
    assert line["captureData"]["endpointInput"]["encoding"] == "JSON" and line["eventVersion"] == "0"

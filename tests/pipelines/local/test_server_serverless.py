"""serve-local honours a serverless endpoint's MaxConcurrency: one request more is throttled as AWS does.

The endpoint's handler holds each request until the test opens a gate (a file), so the number of requests
in flight is exact: no timing is asserted, only what arrives while the gate is shut.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from model_registry.local import LocalRegistry
from model_registry.serverless import THROTTLING_CODE
from pipelines.local import server as server_module
from pipelines.local.cli import serverless_limits
from pipelines.local.server import make_server

SERVERLESS = "st-serverless-classifier"
ON_INSTANCES = "st-instance-classifier"
HANDLER = """
import json, time
from pathlib import Path

def model_fn(model_dir):
    return Path(model_dir)

def input_fn(body, content_type):
    return json.loads(body)

def predict_fn(data, model_dir):
    (model_dir / "arrived" / data["id"]).touch()
    deadline = time.monotonic() + 60  # a broken test fails instead of hanging
    while not (model_dir / "gate").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"id": data["id"]}
"""


def model_folder(root: Path) -> Path:
    (root / "code").mkdir(parents=True)
    (root / "arrived").mkdir()
    (root / "code" / "inference.py").write_text(HANDLER, encoding="utf-8")
    return root


def post(base: str, name: str, request_id: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        f"{base}/endpoints/{name}/invocations",
        data=f'{{"id": "{request_id}"}}'.encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=90) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path, Path]]:
    # Two handler threads per endpoint, so both admitted requests reach predict_fn and say so.
    monkeypatch.setattr(server_module, "ENDPOINT_THREADS", 2)
    registry = LocalRegistry(tmp_path / "registry.db")
    folders = {}
    for name in (SERVERLESS, ON_INSTANCES):
        group = f"{name}-group"
        registry.register(group, model_data_url=str(tmp_path), metrics={}, approval_status="Approved")
        folders[name] = model_folder(tmp_path / name)
        registry.deploy(name, group, 1, folders[name])
    server = make_server(registry, "127.0.0.1", 0, max_concurrency={SERVERLESS: 2}).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folders[SERVERLESS], folders[ON_INSTANCES]
    finally:
        for folder in folders.values():
            (folder / "gate").touch()
        server.shutdown()
        server.server_close()


def wait_for(folder: Path, count: int) -> None:
    arrived = threading.Event()
    for _ in range(6000):
        if len(list((folder / "arrived").iterdir())) >= count:
            return
        arrived.wait(0.01)
    raise AssertionError(f"{count} requests never reached {folder.name}'s handler")


def test_a_request_above_max_concurrency_gets_the_throttling_error(served) -> None:  # type: ignore[no-untyped-def]
    base, folder, _ = served
    answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
    threads = [
        threading.Thread(target=lambda i=i: answers.__setitem__(i, post(base, SERVERLESS, i))) for i in "ab"
    ]
    for thread in threads:
        thread.start()
    wait_for(folder, 2)  # both admitted requests are inside the model, holding the endpoint's 2 slots

    status, headers, body = post(base, SERVERLESS, "c")

    assert status == 429
    assert headers["x-amzn-errortype"] == THROTTLING_CODE
    assert THROTTLING_CODE.encode() in body and b"MaxConcurrency 2" in body
    assert not (folder / "arrived" / "c").exists()  # refused before it reached the model
    (folder / "gate").touch()
    for thread in threads:
        thread.join(timeout=90)
    assert {k: v[0] for k, v in answers.items()} == {"a": 200, "b": 200}
    # The slots are free again once the answers are out.
    assert post(base, SERVERLESS, "d")[0] == 200


def test_an_endpoint_on_instances_takes_requests_beyond_that(served) -> None:  # type: ignore[no-untyped-def]
    base, _, folder = served
    answers: dict[str, int] = {}
    threads = [
        threading.Thread(target=lambda i=i: answers.__setitem__(i, post(base, ON_INSTANCES, i)[0]))
        for i in "abc"
    ]
    for thread in threads:
        thread.start()
    wait_for(folder, 2)  # two run (ENDPOINT_THREADS), the third waits its turn instead of failing
    (folder / "gate").touch()
    for thread in threads:
        thread.join(timeout=90)
    assert answers == {"a": 200, "b": 200, "c": 200}


def test_throttling_is_what_botocore_retries_as_throttling() -> None:
    """The code and status serve-local answers with are those botocore's standard retries treat as
    throttling (so a client's backoff behaves as it would against the serverless endpoint)."""
    from botocore.retries.standard import ThrottledRetryableChecker, ThrottlingStatusCodeChecker

    assert THROTTLING_CODE in ThrottledRetryableChecker._THROTTLED_ERROR_CODES
    assert server_module.THROTTLING_STATUS in ThrottlingStatusCodeChecker._THROTTLING_STATUS_CODES


def test_limits_come_from_the_environments_configs() -> None:
    # dev serves the classifier serverless (conf/dev.yaml); local and prod serve it on instances.
    assert serverless_limits() == {"stranger-things-nlp-dev-classifier": 5}

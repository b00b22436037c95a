"""Suite-wide guards: no network, one thread, no AWS credentials from the developer's machine.

Any socket connection outside loopback fails the test that made it, so a test can never reach AWS, a
model hub or the internet by accident. moto intercepts boto3 below the socket layer, so it still works.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# Fake credentials: boto3 never finds a developer's real ones, and moto accepts these.
for key, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}.items():
    os.environ[key] = value
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("MLFLOW_TRACKING_URI", None)  # the tests never log to a user's tracking server

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the pipeline-only tests do not need torch
    pass


class NetworkBlockedError(RuntimeError):
    """Raised when a test tries to open a connection outside loopback."""


def _is_loopback(address: object) -> bool:
    if isinstance(address, str):  # AF_UNIX paths are local by definition
        return True
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost would need DNS: not allowed


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: object) -> object:
    if not _is_loopback(address):
        raise NetworkBlockedError(f"network access blocked in tests: connect to {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> object:
    if not _is_loopback(address):
        raise NetworkBlockedError(f"network access blocked in tests: connect to {address!r}")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if host not in (None, "localhost") and not _is_loopback((host,)):
        raise NetworkBlockedError(f"network access blocked in tests: DNS lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _no_tracking_uri_leaks() -> Iterator[None]:
    """A test that leaves MLFLOW_TRACKING_URI in the environment hands every later job subprocess an
    MLflow server to log to (tests/iam/mlflow_recorder.py's fake one once did: minutes of retries)."""
    yield
    assert "MLFLOW_TRACKING_URI" not in os.environ, "a test left MLFLOW_TRACKING_URI set"


@pytest.fixture(scope="session")
def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def full_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The whole local DAG run once per session on a copy of data/sample (about a minute), shared by the
    e2e modules (tests/pipelines/local) and the app's tests (tests/app). Yields (FullRun, RunResult, output).

    Defined here, at the root, so both folders see one fixture (a fixture imported into two conftests
    would run twice); the imports stay inside so the rest of the suite does not load the runner.
    """
    from tests.pipelines.local.conftest import FullRun

    runner = FullRun(
        tmp_path_factory.mktemp("local-run-home"),
        tmp_path_factory.mktemp("local-run-code"),
        tmp_path_factory.mktemp("local-run-data"),
    )
    result, output = runner.run()
    yield runner, result, output

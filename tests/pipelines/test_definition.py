"""The definition builds with no network at all, and identically every time (in and out of process)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conf import load_config
from tests.pipelines.conftest import definition_text

REPO = Path(__file__).resolve().parents[2]


class SocketUsed(RuntimeError):
    pass


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stricter than the suite guard: no socket may even be created, loopback included, no DNS."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise SocketUsed(f"socket use during the definition build: {args!r}")

    monkeypatch.setattr(socket.socket, "__init__", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_definition_builds_without_any_socket_and_is_identical_twice(env: str, no_sockets: None) -> None:
    from pipelines.definition import definition_json

    first = definition_json(load_config(env))
    second = definition_json(load_config(env))
    assert first == second
    assert first == definition_text(env)  # and equal to the build other tests inspect


def test_fresh_interpreter_writes_the_same_bytes_without_credentials(tmp_path: Path) -> None:
    out = tmp_path / "definition-dev.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PYTHONHASHSEED="12345",
        HOME=str(tmp_path),
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
    )
    # A proxy that does not exist: any HTTP attempt would fail loudly instead of reaching the internet.
    env.update(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "definition", "--env", "dev", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == definition_text("dev")


def test_definitions_differ_between_environments() -> None:
    assert definition_text("dev") != definition_text("prod")

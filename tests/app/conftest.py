"""Fixtures of the app's tests: a finished local run (the session's `full_run`), copied so the app may
approve and reject in it, chatbot versions pending review, and serve-local started by the app's own
backend on a free port.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.offline import seal

CHATBOT_GROUP = "stranger-things-chatbot"
CLASSIFIER_GROUP = "stranger-things-location-classifier"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def app_home(full_run: tuple[Any, Any, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the finished run's home (runs, registry, deployed models): the app may review in it."""
    runner, result, output = full_run
    assert result.ok, output
    home = tmp_path_factory.mktemp("app") / "home"
    shutil.copytree(runner.home, home, ignore=shutil.ignore_patterns("cache"))
    seal(home / "app" / "gradio")
    return home


def register_pending(home: Path) -> int:
    """Register chatbot v1's artifact again, PendingManualApproval, as a second pipeline run with approval
    required would; returns the new version's number (each reviewing test approves its own)."""
    from model_registry.local import LocalRegistry

    registry = LocalRegistry(home / "registry.db")
    v1 = registry.get(CHATBOT_GROUP, 1)
    return registry.register(
        CHATBOT_GROUP,
        model_data_url=v1.model_data_url,
        image_uri=v1.image_uri,
        metrics={name: value + 1.0 for name, value in v1.metrics.items()},
        evaluation_uri=v1.evaluation_uri,
        environment=dict(v1.environment),
        description="v1's artifact again, pending review",
    ).version


@pytest.fixture(scope="session")
def local_backend(app_home: Path) -> Iterator[Any]:
    """The app's local backend on the copied home; it starts serve-local itself, as `make app` does."""
    from app.backend import open_backend

    backend = open_backend("local", home=app_home, serve_url=f"http://127.0.0.1:{free_port()}")
    backend.ensure_server()
    yield backend
    backend.stop_server()

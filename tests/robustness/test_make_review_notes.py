"""`make approve-model` / `make reject-model` with hostile user text: it stays text, nothing runs.

The targets run for real (GNU make, the project's Makefile, the local registry in a temporary folder):
each hostile value tries to create a file, and the test asserts that no file appeared and that the
registry kept the note byte for byte.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model_registry.local import LocalRegistry
from tests.model_registry.test_local_deploy import make_tarball

REPO = Path(__file__).resolve().parents[2]
CHATBOT = "stranger-things-chatbot"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project's Makefile, a .venv whose python is this one, and a registry of two versions."""
    (tmp_path / "Makefile").write_text((REPO / "Makefile").read_text(encoding="utf-8"), encoding="utf-8")
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)
    (tmp_path / ".venv" / ".installed").touch()
    registry = LocalRegistry(tmp_path / ".local" / "registry.db")
    for n in (1, 2):
        registry.register(CHATBOT, model_data_url=str(make_tarball(tmp_path / "artifacts", f"m{n}", f"v{n}")))
    return tmp_path


def make(project: Path, target: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """`make -o .venv/.installed <target> NAME=value ...` in the project folder (never reinstalls)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = ["make", "--no-print-directory", "-o", ".venv/.installed", target]
    argv += [f"{name}={value}" for name, value in variables.items()]
    return subprocess.run(
        argv, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def hostile_notes(folder: Path) -> dict[str, str]:
    """Notes that would create folder/<name> if the shell or make ever ran them."""
    return {
        "quote": f'ok"; touch {folder}/quote; echo "',
        "backtick": f"looks good `touch {folder}/backtick`",
        "dollar": f"fine $(touch {folder}/dollar) and ${{HOME}}",
        "make_shell": f"fine $(shell touch {folder}/make_shell)",
        "single": f"it's ok'; touch {folder}/single; echo '",
    }


def test_hostile_notes_are_stored_verbatim_and_never_run(project: Path, tmp_path: Path) -> None:
    traps = tmp_path / "traps"
    traps.mkdir()
    notes = hostile_notes(traps)
    registry = LocalRegistry(project / ".local" / "registry.db")
    for target, version in (("approve-model", "2"), ("reject-model", "1")):
        for name, note in notes.items():
            done = make(project, target, GROUP="chatbot", VERSION=version, NOTE=note)
            assert done.returncode == 0, (target, name, done.stdout, done.stderr)
            assert registry.status_history(CHATBOT, int(version))[-1]["note"] == note, (target, name)
    assert sorted(p.name for p in traps.iterdir()) == []
    assert registry.get(CHATBOT, 2).status == "Approved" and registry.get(CHATBOT, 1).status == "Rejected"


def test_hostile_group_and_version_fail_as_text(project: Path, tmp_path: Path) -> None:
    done = make(project, "approve-model", GROUP=f"chatbot; touch {tmp_path}/group", VERSION="2")
    assert done.returncode != 0 and not (tmp_path / "group").exists()
    done = make(project, "reject-model", GROUP="chatbot", VERSION=f"1`touch {tmp_path}/version`")
    assert done.returncode != 0 and not (tmp_path / "version").exists()
    assert LocalRegistry(project / ".local" / "registry.db").get(CHATBOT, 1).status == "PendingManualApproval"


def test_missing_group_or_version_prints_the_usage(project: Path) -> None:
    done = make(project, "approve-model", VERSION="2")
    assert done.returncode != 0
    assert "usage: make approve-model GROUP=<model package group> VERSION=<n>" in done.stderr

"""The app's package boundary and its promise to stay on the machine: analytics off before any Blocks
exist, and listening on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.offline import OFFLINE_ENV, seal
from tests.app.conftest import free_port


def test_seal_turns_analytics_off_even_when_the_user_turned_them_on(tmp_path: Path) -> None:
    environ = {"GRADIO_ANALYTICS_ENABLED": "True", "HF_HUB_OFFLINE": "0"}
    seal(tmp_path / "gradio", environ)
    assert environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert environ["HF_HUB_OFFLINE"] == "1"
    assert environ["GRADIO_TEMP_DIR"] == str(tmp_path / "gradio")
    assert (tmp_path / "gradio").is_dir()
    assert set(OFFLINE_ENV) <= set(environ)


def test_the_app_never_imports_the_sagemaker_sdk(repo_root: str) -> None:
    code = (
        "import sys, app.__main__, app.backend, app.ui\n"
        "sdk = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sagemaker', 'sagemaker_core', 'sagemaker_train', 'sagemaker_serve', 'sagemaker_mlops'))\n"
        "print(sdk)\n"
        "assert not sdk, sdk\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_main_turns_analytics_off_before_any_blocks_are_built_and_binds_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's GRADIO_ANALYTICS_ENABLED=True loses: main() seals the environment before the first
    Blocks exist, nothing is sent, and the app is launched on 127.0.0.1 without a share link."""
    import gradio as gr
    import gradio.analytics

    from app.__main__ import build_parser, main

    for name in (*OFFLINE_ENV, "GRADIO_TEMP_DIR"):  # restored after the test: main() seals os.environ
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # main() would take over SIGTERM here
    seen: list[tuple[str | None, bool]] = []
    sent: list[object] = []
    launched: dict[str, object] = {}
    real_init = gr.Blocks.__init__

    def init(self: gr.Blocks, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)
        seen.append((os.environ.get("GRADIO_ANALYTICS_ENABLED"), self.analytics_enabled))

    monkeypatch.setattr(gr.Blocks, "__init__", init)
    monkeypatch.setattr(gradio.analytics, "_do_analytics_request", lambda **kwargs: sent.append(kwargs))
    monkeypatch.setattr(gradio.analytics, "version_check", lambda: sent.append("version check"))
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kwargs: launched.update(kwargs))

    argv = ["--home", str(tmp_path), "--no-start-server", "--serve-url", f"http://127.0.0.1:{free_port()}"]
    assert main(build_parser().parse_args(argv)) == 0
    assert seen and all(state == ("False", False) for state in seen), seen
    assert sent == []
    assert (launched["server_name"], launched["share"]) == ("127.0.0.1", False)


def listening(port: int) -> set[str]:
    """The IPv4 addresses with a socket listening on `port` (Linux's /proc/net/tcp: state 0A)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/net/tcp").is_file(), reason="reads Linux's /proc/net/tcp")
def test_the_started_app_listens_on_127_0_0_1_only(tmp_path: Path, repo_root: str) -> None:
    port = free_port()
    command = [sys.executable, "-m", "app", "--home", str(tmp_path), "--port", str(port), "--no-start-server",
               "--serve-url", f"http://127.0.0.1:{free_port()}"]  # fmt: skip
    app = subprocess.Popen(command, cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    give_up = time.monotonic() + 600  # a hang guard for a stuck start, not a speed limit
    try:
        while not listening(port):
            assert app.poll() is None, app.communicate()[0].decode()[-2000:]
            assert time.monotonic() < give_up, "the app neither listened nor exited"
            time.sleep(0.2)
        assert listening(port) == {"127.0.0.1"}
    finally:
        app.terminate()  # SIGTERM: the app exits as on Ctrl-C
        output = app.communicate(timeout=60)[0].decode()
    assert app.returncode == 0, output[-2000:]

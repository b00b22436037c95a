"""serve-local under load and abuse, on loopback: a 200-request burst, stalled clients, bad Content-Length,
deeply nested JSON, a busy port, and two endpoints that must not wait for each other.

The endpoints are tiny handlers registered and deployed straight into a local registry (no run needed):
`echo` answers at once; `slow` holds each request until the test creates a release file.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from model_registry.local import LocalRegistry
from pipelines.local import server as server_module
from pipelines.local.server import LocalServer, make_server

ECHO = """
import json

def model_fn(model_dir):
    return {"model_dir": model_dir}

def input_fn(body, content_type):
    return json.loads(body)

def predict_fn(data, model):
    return {"echo": data}
"""

SLOW = """
import json, os, time
from pathlib import Path

def model_fn(model_dir):
    return {"release": os.environ["RELEASE_FILE"]}

def input_fn(body, content_type):
    return json.loads(body)

def predict_fn(data, model):
    while not Path(model["release"]).exists():
        time.sleep(0.01)
    return {"slow": data}
"""
BURST = 200
WAIT_S = 60.0  # upper bound on any one wait, so a broken server fails the test instead of hanging it


def deploy(registry: LocalRegistry, root: Path, name: str, handler: str, environment: dict[str, str]) -> None:
    model_dir = root / name
    (model_dir / "code").mkdir(parents=True)
    (model_dir / "code" / "inference.py").write_text(handler)
    version = registry.register(
        f"{name}-group", model_data_url=str(model_dir), approval_status="Approved", environment=environment
    )
    registry.deploy(name, version.group, version.version, model_dir)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    registry = LocalRegistry(tmp_path / "home" / "registry.db")
    deploy(registry, tmp_path / "models", "echo", ECHO, {})
    deploy(registry, tmp_path / "models", "slow", SLOW, {"RELEASE_FILE": str(tmp_path / "release")})
    return tmp_path / "home"


@pytest.fixture
def served(home: Path) -> Iterator[LocalServer]:
    server = make_server(LocalRegistry(home / "registry.db"), "127.0.0.1", 0, preload=True).start()
    try:
        yield server
    finally:
        (home.parent / "release").touch()  # let a slow request finish, so shutdown does not wait on it
        server.shutdown()
        server.server_close()


def post(port: int, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_S)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def raw(port: int, request: bytes) -> bytes:
    """Send `request` as is and read the answer until the server closes or stops sending."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's RSS from /proc")
def test_a_burst_of_200_concurrent_requests_is_answered_without_reset_and_memory_stays_bounded(
    home: Path,
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "serve-local", "--home", str(home), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    try:
        assert process.stderr is not None
        line = ""
        while "serving" not in line:
            line = process.stderr.readline()
            assert line, "serve-local exited before serving"
        port = int(line.rsplit(":", 1)[1].split()[0])
        threading.Thread(target=process.stderr.read, daemon=True).start()  # keep its pipe drained

        def burst() -> list[object]:
            barrier = threading.Barrier(BURST)
            results: list[object] = [None] * BURST

            def one(i: int) -> None:
                barrier.wait()
                try:
                    results[i] = post(port, "/endpoints/echo/invocations", json.dumps({"i": i}).encode())
                except OSError as exc:  # a reset or refused connection: what the stdlib server did
                    results[i] = exc

            threads = [threading.Thread(target=one, args=(i,)) for i in range(BURST)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return results

        burst()  # warm-up: threads, buffers and caches the server keeps
        before = rss_kib(process.pid)
        results = burst()
        after = rss_kib(process.pid)

        assert [r for r in results if not (isinstance(r, tuple) and r[0] == 200)] == []
        assert sorted(r[1]["echo"]["i"] for r in results) == list(range(BURST))  # type: ignore[index]
        assert after - before < 32 * 1024, f"RSS grew {after - before} KiB over one burst"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_S)
        connection.request("GET", "/metrics")
        metrics = json.loads(connection.getresponse().read())
        connection.close()
        assert metrics["endpoints"]["echo"]["requests"] == 2 * BURST
        assert metrics["endpoints"]["echo"]["errors"] == 0
    finally:
        process.terminate()
        process.wait(timeout=WAIT_S)


def test_stalled_clients_hold_no_thread_and_are_timed_out(
    served: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "HEAD_TIMEOUT_S", 1.0)
    monkeypatch.setattr(server_module, "BODY_TIMEOUT_S", 1.0)
    port = served.server_address[1]
    threads_before = threading.active_count()
    head_stalled = [socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) for _ in range(40)]
    body_stalled = [socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) for _ in range(40)]
    try:
        for sock in head_stalled:
            sock.sendall(b"POST /endpoints/echo/invocations HTTP/1.1\r\nHost: x\r\n")  # no end of head
        for sock in body_stalled:
            sock.sendall(
                b"POST /endpoints/echo/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n{"  # 1 byte of 100
            )
        # While 80 clients stall, others are served, and the stalled ones cost no thread each.
        assert post(port, "/endpoints/echo/invocations", b'{"ok": 1}') == (200, {"echo": {"ok": 1}})
        assert threading.active_count() - threads_before < 10

        for sock in head_stalled:
            assert sock.recv(100) == b""  # closed by the server after HEAD_TIMEOUT_S
        for sock in body_stalled:
            assert sock.recv(100).startswith(b"HTTP/1.1 408")
    finally:
        for sock in head_stalled + body_stalled:
            sock.close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (b"", 411),  # no Content-Length at all
        (b"Transfer-Encoding: chunked\r\n", 411),
        (b"Content-Length: abc\r\n", 400),
        (b"Content-Length: -5\r\n", 400),
        (b"Content-Length: 99999999999\r\n", 413),
        (b"Content-Length: 209715200\r\n", 413),  # 200 MB announced: refused before a byte is read
    ],
    ids=["missing", "chunked", "not-a-number", "negative", "absurd", "200MB"],
)
def test_content_length_is_checked_before_the_body_is_read(
    served: LocalServer, headers: bytes, status: int
) -> None:
    answer = raw(
        served.server_address[1],
        b"POST /endpoints/echo/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + headers
        + b"\r\n",
    )
    assert answer.startswith(f"HTTP/1.1 {status}".encode()), answer[:200]


def test_every_client_mistake_is_a_4xx(served: LocalServer) -> None:
    port = served.server_address[1]
    nested = b"[" * 50_000 + b"]" * 50_000
    assert post(port, "/endpoints/echo/invocations", nested)[0] == 400
    assert post(port, "/endpoints/echo/invocations", b"{not json")[0] == 400
    assert post(port, "/endpoints/nope/invocations", b"{}")[0] == 404
    assert post(port, "/endpoints/bad%20name!/invocations", b"{}")[0] == 404
    assert post(port, "/invocations", b"{}")[0] == 400  # two endpoints: name one
    assert post(port, "/elsewhere", b"{}")[0] == 404
    assert raw(port, b"GET /endpoints/echo/invocations HTTP/1.1\r\nHost: x\r\n\r\n").startswith(
        b"HTTP/1.1 405"
    )
    assert raw(port, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_S)
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    status, metrics = response.status, json.loads(response.read())
    assert status == 200
    assert metrics["endpoints"]["echo"]["client_errors"] == 2
    assert metrics["endpoints"]["echo"]["server_errors"] == 0
    connection.request("GET", "/metrics?format=prometheus")
    text = connection.getresponse().read().decode()
    assert 'serve_local_requests_total{endpoint="echo",status="400"} 2' in text
    assert 'serve_local_latency_seconds_count{endpoint="echo"} 2' in text


def test_a_busy_endpoint_does_not_hold_up_another(served: LocalServer, home: Path) -> None:
    port = served.server_address[1]
    slow_results: list[tuple[int, dict]] = []

    def slow_call() -> None:
        slow_results.append(post(port, "/endpoints/slow/invocations", b'{"n": 1}'))

    slow_threads = [threading.Thread(target=slow_call) for _ in range(6)]  # more than its thread quota
    for thread in slow_threads:
        thread.start()
    time.sleep(0.2)  # let them reach the handler; the echo call below must not wait for them

    assert post(port, "/endpoints/echo/invocations", b'{"fast": true}') == (200, {"echo": {"fast": True}})
    assert slow_results == []  # the slow endpoint is still holding every one of its requests

    (home.parent / "release").touch()
    for thread in slow_threads:
        thread.join(timeout=WAIT_S)
    assert slow_results == [(200, {"slow": {"n": 1}})] * 6


def test_a_busy_port_is_one_line_before_any_model_loads(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "pipelines", "serve-local", "--home", str(home), "--port", str(port)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path.cwd())},
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"serve-local: port {port} on 127.0.0.1 is in use (another serve-local?): stop it, or pick another "
        f"port (make serve-local PORT={port + 1})"
    ]


def test_the_listening_socket_is_tcp_so_responses_are_not_held_by_nagle() -> None:
    # asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto says TCP; with proto 0 every
    # keep-alive response waited for the client's delayed ACK (ping p50 44 ms instead of 3 ms).
    sock = server_module.bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()

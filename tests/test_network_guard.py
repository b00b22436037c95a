"""The suite's network guard itself: outside loopback fails, loopback works."""

from __future__ import annotations

import socket
import threading

import pytest

from tests.conftest import NetworkBlockedError


def test_connection_outside_loopback_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkBlockedError):
        sock.connect(("93.184.216.34", 443))


def test_dns_lookup_of_a_public_host_is_refused() -> None:
    with pytest.raises(NetworkBlockedError, match=r"huggingface\.co"):
        socket.getaddrinfo("huggingface.co", 443)


def test_loopback_connection_still_works() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        accepted.append(conn.recv(5))
        conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.sendall(b"hello")
    thread.join(timeout=5)
    server.close()
    assert accepted == [b"hello"]

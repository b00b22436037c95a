"""Latency and throughput of `make serve-local` per endpoint: sequential, concurrent, chatbot busy.

    .venv/bin/python benchmarks/serving.py [--home .local] [--requests 200] [--clients 8]

Serves the endpoints deployed in HOME (a finished `make run-local` deploys the chatbot and the location
classifier) with `python -m pipelines serve-local` in a process of its own, as a person runs it, and
drives it over loopback from this process with keep-alive connections:
- sequential: one client, one request after another;
- concurrent: CLIENTS clients at once;
- busy: the same, while two other clients keep the chatbot generating without pause (the case where one
  global lock used to serialise every endpoint: classifier p50 2.5 ms -> 51 ms).
Prints p50/p99 latency (ms) and requests/s per endpoint and case, and the server's own /metrics.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BODIES = {
    "classifier": {"inputs": "They hide in the lab corridor while the lights flicker."},
    "chatbot": {
        "messages": [{"role": "user", "content": "Where is Will?"}],
        "parameters": {"max_new_tokens": 24},
    },
}


def start_server(home: Path, repo: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "serve-local", "--home", str(home), "--port", "0"],
        cwd=repo,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": str(repo),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        },
    )
    assert process.stderr is not None
    line = ""
    while "serving" not in line:
        line = process.stderr.readline()
        if not line:
            raise SystemExit("serve-local exited before serving")
    threading.Thread(target=process.stderr.read, daemon=True).start()
    return process, int(line.rsplit(":", 1)[1].split()[0])


def kind_of(name: str) -> str:
    return "chatbot" if "chatbot" in name else "classifier"


class Client:
    """One keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def post(self, endpoint: str) -> tuple[int, float]:
        body = json.dumps(BODIES[kind_of(endpoint)]).encode()
        started = time.perf_counter()
        self.connection.request(
            "POST", f"/endpoints/{endpoint}/invocations", body, {"Content-Type": "application/json"}
        )
        response = self.connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started

    def get(self, path: str) -> dict:
        self.connection.request("GET", path)
        return json.loads(self.connection.getresponse().read())


def measure(port: int, endpoint: str, requests: int, clients: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_client = max(1, requests // clients)

    def work() -> None:
        nonlocal errors
        client = Client(port)
        for _ in range(per_client):
            status, took = client.post(endpoint)
            with lock:
                latencies.append(took)
                errors += status != 200

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "n": len(ordered),
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
        "rps": len(ordered) / wall,
        "errors": errors,
    }


class BusyChatbot:
    """Two clients keeping the chatbot generating until stopped."""

    def __init__(self, port: int, endpoint: str) -> None:
        self.stop = threading.Event()
        self.done = 0
        self.threads = [threading.Thread(target=self._loop, args=(port, endpoint)) for _ in range(2)]

    def _loop(self, port: int, endpoint: str) -> None:
        client = Client(port)
        while not self.stop.is_set():
            client.post(endpoint)
            self.done += 1

    def __enter__(self) -> BusyChatbot:
        for thread in self.threads:
            thread.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=REPO / ".local", help="folder holding registry.db")
    parser.add_argument("--requests", type=int, default=200, help="requests per case (classifier)")
    parser.add_argument("--chatbot-requests", type=int, default=24, help="requests per case (chatbot)")
    parser.add_argument("--clients", type=int, default=8, help="clients of the concurrent cases")
    parser.add_argument(
        "--server-repo",
        type=Path,
        default=REPO,
        help="checkout whose serve-local runs (compare an older one)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)  # a copy of the registry: serving never writes to the user's home
        shutil.copy2(args.home / "registry.db", home / "registry.db")
        process, port = start_server(home, args.server_repo)
        try:
            endpoints = [e["name"] for e in Client(port).get("/endpoints")]
            chatbot = next((e for e in endpoints if kind_of(e) == "chatbot"), None)
            print(f"serve-local on 127.0.0.1:{port}: {', '.join(endpoints)}; {os.cpu_count()} CPUs")
            print(
                f"{'endpoint':40} {'case':24} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'req/s':>8} {'errors':>6}"
            )
            for endpoint in endpoints:
                n = args.chatbot_requests if kind_of(endpoint) == "chatbot" else args.requests
                cases = [("sequential", 1), (f"concurrent x{args.clients}", args.clients)]
                for case, clients in cases:
                    row = measure(port, endpoint, n, clients)
                    _print(endpoint, case, row)
                if chatbot and endpoint != chatbot:
                    with BusyChatbot(port, chatbot) as busy:
                        for case, clients in cases:
                            row = measure(port, endpoint, n, clients)
                            _print(endpoint, f"{case}, chatbot busy", row)
                    print(f"{'':40} (the busy chatbot answered {busy.done} requests meanwhile)")
            try:
                print("server /metrics:", json.dumps(Client(port).get("/metrics")["endpoints"], indent=1))
            except (ValueError, KeyError):  # an older serve-local has no /metrics
                print("server /metrics: not served by this checkout")
        finally:
            process.terminate()
            process.wait(timeout=60)
    return 0


def _print(endpoint: str, case: str, row: dict[str, float]) -> None:
    print(
        f"{endpoint:40} {case:24} {row['n']:>5} {row['p50_ms']:>9.1f} {row['p99_ms']:>9.1f} "
        f"{row['rps']:>8.1f} {row['errors']:>6}"
    )


if __name__ == "__main__":
    sys.exit(main())

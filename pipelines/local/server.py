"""`make serve-local`: the local endpoints over HTTP, with the SageMaker container contract.

    GET  /ping                              200 when at least one endpoint is deployed
    GET  /endpoints                         the endpoints and the model versions they serve
    GET  /metrics                           requests, errors and latency per endpoint (JSON; Prometheus
                                            text with ?format=prometheus or Accept: text/plain)
    POST /endpoints/<name>/invocations      invoke one endpoint (the SageMaker Runtime path)
    POST /invocations                       invoke the endpoint named in the X-Endpoint-Name header
                                            (the header may be left out when only one is deployed)

Variants as SageMaker Runtime has them: a request goes to the production variant named in the
X-Amzn-SageMaker-Target-Variant header (InvokeEndpoint's TargetVariant), else to one drawn by weight
(seeded: `make serve-local SEED=...`); the answer names it in x-Amzn-Invoked-Production-Variant. A
shadow variant gets a copy of each request after the answer has gone (the client never waits for it or
sees its answer); its status and latency are recorded under its variant in /metrics.

Why uvicorn and starlette rather than the standard library's http.server: under a burst the stdlib
server listens with a backlog of 5 (connections are reset), spends a thread per connection (stalled
clients hold threads), has no timeouts and parses HTTP loosely. uvicorn (h11 parser) answers malformed
requests with 400 itself, keeps a stalled client as a cheap coroutine instead of a thread, takes the
backlog we give it, and shuts down gracefully on SIGINT/SIGTERM; the web app already depends on both
(gradio), at the versions pinned in requirements/constraints.txt. What they leave to us is here:
- the request body is never read before its Content-Length is checked: missing 411, not a number 400,
  over MAX_BODY_BYTES 413; a body that does not arrive within BODY_TIMEOUT_S is 408;
- a client that connects and sends no complete request head within HEAD_TIMEOUT_S is disconnected;
- every client mistake is a 4xx with a message (the handlers' own, see model_registry.local_endpoints);
- each endpoint runs its handler in threads of its own (`ENDPOINT_THREADS` at once), so a busy chatbot
  does not hold up the classifier; nothing is serialised across endpoints (a Model's environment is
  applied when it loads, not per request);
- a port in use is reported in one line before any model loads (`bind`);
- a serverless endpoint takes at most its MaxConcurrency requests at once (`max_concurrency`, from the
  environments' configs): one more is answered at once with the throttling error a serverless endpoint
  returns (429, ThrottlingException: model_registry/serverless.py), counted in /metrics like any error.
Loading and invoking the endpoints is model_registry/local_endpoints.py; this module only does HTTP.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from containers.monitoring.capture import CaptureWriter
from model_registry.local import LocalRegistry
from model_registry.local_endpoints import EndpointPool, RequestError
from model_registry.serverless import THROTTLING_CODE, THROTTLING_STATUS
from pipelines.local.server_metrics import ServerMetrics

LOG = logging.getLogger("pipelines.local.server")
ENDPOINT_HEADER = "X-Endpoint-Name"
# InvokeEndpoint's TargetVariant and InvokedProductionVariant (botocore's sagemaker-runtime model).
TARGET_VARIANT_HEADER = "X-Amzn-SageMaker-Target-Variant"
INVOKED_VARIANT_HEADER = "x-Amzn-Invoked-Production-Variant"
BACKLOG = 1024  # pending connections the kernel queues for us (Linux caps it at net.core.somaxconn)
MAX_BODY_BYTES = 1024 * 1024  # the handlers refuse more than 256 KiB themselves, with their own message
BODY_TIMEOUT_S = 30.0
HEAD_TIMEOUT_S = 15.0
KEEP_ALIVE_S = 5
MAX_CONNECTIONS = 2048  # beyond this, new requests get 503 instead of memory
ENDPOINT_THREADS = 1  # calls of one endpoint at once: tiny models are GIL-bound, more threads contend
_NAME = re.compile(r"^[A-Za-z0-9-]+$")


class PortInUseError(OSError):
    """The port is taken (another serve-local, the web app, ...)."""


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, made before any model loads, so a busy port costs nothing to find out."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and
    # without it each response's body waits for the client's delayed ACK (40 ms a request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} on {host} is in use (another serve-local?): stop it, or pick another port "
                f"(make serve-local PORT={port + 1})"
            ) from None
        raise
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for the first request head of a connection.

    uvicorn times out a keep-alive connection only after a response; a client that connects and never
    completes a request would otherwise keep its socket forever."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.loop.call_later(HEAD_TIMEOUT_S, self._head_timeout)

    def _head_timeout(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.transport.close()


def _content_length(request: Request) -> int:
    """The declared body size, checked before the body is read (411, 400, 413 otherwise)."""
    raw = request.headers.get("content-length")
    if raw is None:
        raise RequestError(411, "send a Content-Length header (chunked request bodies are not accepted)")
    if not raw.isdigit() or len(raw) > 12:
        raise RequestError(400, f"Content-Length {raw[:40]!r} is not a byte count")
    length = int(raw)
    if length > MAX_BODY_BYTES:
        raise RequestError(413, f"request body of {length} bytes; the limit is {MAX_BODY_BYTES}")
    return length


async def _read_body(request: Request, length: int) -> bytes:
    try:
        body = await asyncio.wait_for(request.body(), BODY_TIMEOUT_S)
    except TimeoutError:
        raise RequestError(408, f"the request body did not arrive within {BODY_TIMEOUT_S:.0f} s") from None
    if len(body) != length:
        raise RequestError(400, f"Content-Length says {length} bytes but the body has {len(body)}")
    return body


class Throttled(RequestError):
    """More requests at once than a serverless endpoint's MaxConcurrency."""

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(
            THROTTLING_STATUS,
            f"{name} is serverless with MaxConcurrency {limit}: {limit} request(s) are in flight; retry "
            "with backoff (AWS throttles the same way)",
        )


def _error(exc: RequestError) -> JSONResponse:
    if isinstance(exc, Throttled):
        # The AWS JSON protocol names the error in x-amzn-ErrorType; botocore reads the code from it.
        return JSONResponse(
            {"error": str(exc), "code": THROTTLING_CODE},
            status_code=exc.status,
            headers={"x-amzn-ErrorType": THROTTLING_CODE},
        )
    return JSONResponse({"error": str(exc)}, status_code=exc.status)


class InFlight:
    """Requests in flight per endpoint, refused above each serverless endpoint's MaxConcurrency.

    Counted from arrival to answer, queued ones included: on AWS each of them is a concurrent invocation.
    Only the event loop touches it (no lock needed)."""

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = dict(limits)
        self.counts: dict[str, int] = {}

    @contextmanager
    def slot(self, name: str) -> Iterator[None]:
        limit = self.limits.get(name)
        count = self.counts.get(name, 0)
        if limit is not None and count >= limit:
            raise Throttled(name, limit)
        self.counts[name] = count + 1
        try:
            yield
        finally:
            self.counts[name] -= 1


def make_app(
    pool: EndpointPool, metrics: ServerMetrics | None = None, max_concurrency: dict[str, int] | None = None
) -> Starlette:
    """The ASGI app over `pool`: the routes of the module docstring. `max_concurrency`: endpoint name ->
    its serverless MaxConcurrency (endpoints not named take any number of requests)."""
    metrics = metrics or ServerMetrics()
    limiters: dict[str, anyio.CapacityLimiter] = {}
    in_flight = InFlight(max_concurrency or {})

    def limiter(name: str) -> anyio.CapacityLimiter:
        if name not in limiters:
            limiters[name] = anyio.CapacityLimiter(ENDPOINT_THREADS)
        return limiters[name]

    async def ping(_request: Request) -> Response:
        names = pool.names()  # a SQLite read, well under a millisecond: not worth a thread hop
        status = 200 if names else 503
        return JSONResponse({"status": "Healthy" if names else "NoEndpoints", "endpoints": names}, status)

    async def endpoints(_request: Request) -> Response:
        listed = pool.registry.list_endpoints()
        return JSONResponse(
            [
                {
                    "name": e.name,
                    "group": e.group,
                    "version": e.version,
                    "model_dir": str(e.model_dir),
                    "updated_at": e.updated_at,
                }
                for e in listed
            ]
        )

    async def metrics_route(request: Request) -> Response:
        wants_text = request.query_params.get(
            "format"
        ) == "prometheus" or "text/plain" in request.headers.get("accept", "")
        if wants_text:
            return PlainTextResponse(metrics.prometheus(), media_type="text/plain; version=0.0.4")
        return JSONResponse(metrics.snapshot())

    async def invoke(request: Request, name: str | None) -> Response:
        started = metrics.clock()
        label = name or "-"
        routed: list[Any] = []  # (variant, model, shadows) once chosen: errors count under the variant
        try:
            length = _content_length(request)
            if name is None:
                label = name = _named_endpoint(request)
            body = await _read_body(request, length)
            content_type = request.headers.get("content-type", "application/json")
            accept = request.headers.get("accept", "application/json")
            target = request.headers.get(TARGET_VARIANT_HEADER)

            def call() -> tuple[bytes, str]:
                # One hop to a worker thread per request (the model may take seconds, and loading it on
                # first use longer; the event loop must not wait). A hop is a thread wake-up each way:
                # ~0.05 ms on an idle machine, a few ms on a loaded one.
                routed[:] = pool.route(name, target)
                return routed[1].invoke(body, content_type, accept)

            with in_flight.slot(name):
                payload, answer_type = await anyio.to_thread.run_sync(call, limiter=limiter(name))
        except RequestError as exc:
            variant, version = (routed[0], routed[1].endpoint.version) if routed else (None, None)
            metrics.record(label if exc.status != 404 else "-", exc.status, started, variant, version=version)
            return _error(exc)
        variant, loaded, shadows = routed
        metrics.record(name, 200, started, variant, version=loaded.endpoint.version)
        copies = BackgroundTask(shadow, name, shadows, body, content_type, accept) if shadows else None
        return Response(
            payload, 200, media_type=answer_type, headers={INVOKED_VARIANT_HEADER: variant}, background=copies
        )

    async def shadow(name: str, shadows: list[Any], body: bytes, content_type: str, accept: str) -> None:
        """Each shadow variant answers a copy of the request; the answer is recorded, then dropped."""
        for variant, loaded in shadows:
            started = metrics.clock()
            status = 200
            try:
                await anyio.to_thread.run_sync(
                    loaded.invoke, body, content_type, accept, limiter=limiter(f"{name}/{variant}")
                )
            except RequestError as exc:
                status = exc.status
            metrics.record(name, status, started, variant, shadow=True, version=loaded.endpoint.version)

    def _named_endpoint(request: Request) -> str:
        named = request.headers.get(ENDPOINT_HEADER)
        if named:
            return named
        names = pool.names()
        if len(names) == 1:
            return names[0]
        raise RequestError(
            400,
            f"several endpoints are deployed ({', '.join(names) or 'none'}): "
            f"name one in the {ENDPOINT_HEADER} header or POST /endpoints/<name>/invocations",
        )

    async def invoke_named(request: Request) -> Response:
        name = request.path_params["name"]
        if not _NAME.match(name):
            return _error(RequestError(404, f"no endpoint named {name!r}"))
        return await invoke(request, name)

    async def invoke_default(request: Request) -> Response:
        return await invoke(request, None)

    async def not_found(request: Request, _exc: Exception) -> Response:
        return JSONResponse(
            {
                "error": f"no route {request.method} {request.url.path}; try GET /ping, GET /endpoints, "
                "GET /metrics or POST /endpoints/<name>/invocations"
            },
            status_code=404,
        )

    async def not_allowed(request: Request, _exc: Exception) -> Response:
        return JSONResponse({"error": f"{request.method} is not allowed on {request.url.path}"}, 405)

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/endpoints", endpoints, methods=["GET"]),
            Route("/metrics", metrics_route, methods=["GET"]),
            Route("/invocations", invoke_default, methods=["POST"]),
            Route("/endpoints/{name}/invocations", invoke_named, methods=["POST"]),
        ],
        exception_handlers={404: not_found, 405: not_allowed},
    )


class LocalServer:
    """uvicorn serving `make_app` on an already bound socket; `serve_forever` in this thread or
    `start` in a background thread (tests, benchmarks), `shutdown` to stop."""

    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        self.socket = sock
        self.server_address: tuple[str, int] = sock.getsockname()[:2]
        config = uvicorn.Config(
            app,
            http=TimedH11Protocol,
            backlog=BACKLOG,
            timeout_keep_alive=KEEP_ALIVE_S,
            limit_concurrency=MAX_CONNECTIONS,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._serving = threading.Event()
        self._done = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        """Serve until SIGINT/SIGTERM (uvicorn finishes the requests in flight, then returns)."""
        self._serving.set()
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._done.set()

    def start(self) -> LocalServer:
        self._thread = threading.Thread(target=self.serve_forever, name="serve-local", daemon=True)
        self._thread.start()
        pause = threading.Event()
        while not self._server.started and self._thread.is_alive():
            pause.wait(0.01)  # uvicorn has no started event to wait on
        return self

    def shutdown(self) -> None:
        """Stop serving (from another thread) and wait until the server has finished."""
        self._server.should_exit = True
        if self._serving.is_set():
            self._done.wait()

    def server_close(self) -> None:
        self.socket.close()


def make_server(
    registry: LocalRegistry,
    host: str = "127.0.0.1",
    port: int = 8080,
    preload: bool = False,
    max_concurrency: dict[str, int] | None = None,
    capture: CaptureWriter | None = None,
    seed: int | None = None,
) -> LocalServer:
    """A server (not yet serving) over the registry's endpoints; port 0 picks a free port.

    The port is bound first (PortInUseError, in one line, before anything loads). `preload` then loads
    every endpoint's model, so the first request is not the slow one and a broken model folder shows up
    at start (logged; the other endpoints still serve). With `capture`, every answered invocation is
    recorded as SageMaker's data capture records it (serve-local: `<home>/capture`, what
    `make monitor-local` reads), under the variant that answered. `seed` seeds the weighted choice of a
    variant.
    """
    sock = bind(host, port)
    pool = EndpointPool(registry, capture=capture, seed=seed)
    if preload:
        for name in pool.names():
            try:
                pool.get(name)
            except RequestError as exc:
                LOG.error("endpoint %s cannot load: %s", name, exc)
    return LocalServer(make_app(pool, max_concurrency=max_concurrency), sock)


__all__ = ["LocalServer", "PortInUseError", "bind", "make_app", "make_server"]

"""`make serve-local`: the local endpoints over HTTP, with the SageMaker container contract.

    GET  /ping                              200 when at least one endpoint is deployed
    GET  /endpoints                         the endpoints and the model versions they serve
    POST /endpoints/<name>/invocations      invoke one endpoint (the SageMaker Runtime path)
    POST /invocations                       invoke the endpoint named in the X-Endpoint-Name header
                                            (the header may be left out when only one is deployed)

Each endpoint loads its model folder's `code/inference.py` as the SageMaker inference toolkit does:
`model_fn(model_dir)`, then per request `input_fn(body, content_type)`, `predict_fn(data, model)`,
`output_fn(prediction, accept)`. The Model's environment (e.g. MAX_NEW_TOKENS) is applied while the
handler runs. An error that carries a 4xx `status_code` (the handlers' ClientError), or a ValueError
from `input_fn`, is the client's: its status (400 by default) and the message. Anything else is a 500.
A redeploy (a new row in the registry's endpoints table) is picked up on the next request.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from model_registry.local import LocalRegistry
from model_registry.types import Endpoint

LOG = logging.getLogger("pipelines.local.server")
ENDPOINT_HEADER = "X-Endpoint-Name"
_INVOKE_PATH = re.compile(r"^/endpoints/([A-Za-z0-9-]+)/invocations/?$")
_ENV_LOCK = threading.Lock()  # environment variables are per process: one handler call at a time


class RequestError(Exception):
    """An error to answer with `status` and `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@contextmanager
def model_environment(environment: dict[str, str]) -> Iterator[None]:
    """Apply a Model's environment variables while its handler runs, then restore them."""
    keys = {k: v for k, v in environment.items() if not k.startswith("SAGEMAKER_")}
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in keys}
        os.environ.update(keys)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def load_handler(model_dir: Path, module_name: str) -> ModuleType:
    """Import `<model_dir>/code/inference.py` under a name of its own (two endpoints never collide)."""
    script = model_dir / "code" / "inference.py"
    if not script.is_file():
        raise RequestError(500, f"{script} is missing: the model folder has no inference handler")
    spec = importlib.util.spec_from_file_location(module_name, script)
    if spec is None or spec.loader is None:
        raise RequestError(500, f"cannot import {script}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    if not hasattr(module, "model_fn"):
        raise RequestError(500, f"{script} has no model_fn")
    return module


def _status_of(exc: BaseException, default: int) -> int:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) and 400 <= status < 500 else default


@dataclass
class LoadedEndpoint:
    endpoint: Endpoint
    handler: ModuleType
    model: Any
    environment: dict[str, str]

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        """Run the handler chain on one request; raise RequestError with the right status."""
        h = self.handler
        with model_environment(self.environment):
            try:
                data = h.input_fn(body, content_type) if hasattr(h, "input_fn") else json.loads(body)
            except Exception as exc:  # the client's input: 4xx with the handler's own message
                raise RequestError(
                    _status_of(exc, 400 if isinstance(exc, ValueError) else 500), str(exc)
                ) from exc
            try:
                prediction = h.predict_fn(data, self.model) if hasattr(h, "predict_fn") else self.model(data)
                output = (
                    h.output_fn(prediction, accept) if hasattr(h, "output_fn") else json.dumps(prediction)
                )
            except Exception as exc:
                status = _status_of(exc, 500)
                if status == 500:
                    LOG.exception("endpoint %s failed", self.endpoint.name)
                raise RequestError(status, str(exc)) from exc
        if isinstance(output, tuple):  # output_fn may return (body, content type)
            output, accept = output[0], output[1]
        payload = output if isinstance(output, bytes) else str(output).encode("utf-8")
        return payload, accept if accept and accept != "*/*" else "application/json"


class EndpointPool:
    """The registry's endpoints, each loaded on first use and reloaded when redeployed."""

    def __init__(self, registry: LocalRegistry) -> None:
        self.registry = registry
        self._loaded: dict[str, LoadedEndpoint] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return [e.name for e in self.registry.list_endpoints()]

    def get(self, name: str) -> LoadedEndpoint:
        endpoint = self.registry.endpoint(name)
        if endpoint is None:
            known = ", ".join(self.names()) or "none (run `make run-local` first)"
            raise RequestError(404, f"no endpoint named {name!r}; deployed: {known}")
        with self._lock:
            loaded = self._loaded.get(name)
            if loaded is None or loaded.endpoint.updated_at != endpoint.updated_at:
                loaded = self._load(endpoint)
                self._loaded[name] = loaded
        return loaded

    def _load(self, endpoint: Endpoint) -> LoadedEndpoint:
        if endpoint.model_dir is None or not endpoint.model_dir.is_dir():
            raise RequestError(500, f"endpoint {endpoint.name}: model folder {endpoint.model_dir} is missing")
        version = self.registry.get(endpoint.group, endpoint.version)
        module_name = f"local_endpoint_{re.sub(r'[^A-Za-z0-9]', '_', endpoint.name)}_{endpoint.version}"
        handler = load_handler(endpoint.model_dir, module_name)
        LOG.info(
            "loading %s (%s v%s) from %s", endpoint.name, endpoint.group, endpoint.version, endpoint.model_dir
        )
        with model_environment(version.environment):
            model = handler.model_fn(str(endpoint.model_dir))
        return LoadedEndpoint(endpoint, handler, model, version.environment)


def make_handler(pool: EndpointPool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "stranger-things-local/1"

        def log_message(self, format: str, *args: Any) -> None:
            LOG.info("%s %s", self.address_string(), format % args)

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data).encode("utf-8"))

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/ping":
                names = pool.names()
                status = HTTPStatus.OK if names else HTTPStatus.SERVICE_UNAVAILABLE
                self._json(status, {"status": "Healthy" if names else "NoEndpoints", "endpoints": names})
            elif path == "/endpoints":
                self._json(
                    200,
                    [
                        {
                            "name": e.name,
                            "group": e.group,
                            "version": e.version,
                            "model_dir": str(e.model_dir),
                            "updated_at": e.updated_at,
                        }
                        for e in pool.registry.list_endpoints()
                    ],
                )
            else:
                self._json(404, {"error": f"no route GET {path}; try /ping or /endpoints"})

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            try:
                name = self._endpoint_name(path)
                loaded = pool.get(name)
                payload, content_type = loaded.invoke(
                    body,
                    self.headers.get("Content-Type", "application/json"),
                    self.headers.get("Accept", "application/json"),
                )
            except RequestError as exc:
                self._json(exc.status, {"error": str(exc)})
                return
            self._send(200, payload, content_type)

        def _endpoint_name(self, path: str) -> str:
            match = _INVOKE_PATH.match(path)
            if match:
                return match.group(1)
            if path.rstrip("/") != "/invocations":
                raise RequestError(404, f"no route POST {path}; use /endpoints/<name>/invocations")
            named = self.headers.get(ENDPOINT_HEADER)
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

    return Handler


def make_server(
    registry: LocalRegistry, host: str = "127.0.0.1", port: int = 8080, preload: bool = False
) -> ThreadingHTTPServer:
    """A server (not yet serving) over the registry's endpoints; port 0 picks a free port.

    `preload` loads every endpoint's model first, so the first request is not the slow one and a
    broken model folder shows up at start (logged; the other endpoints still serve).
    """
    pool = EndpointPool(registry)
    if preload:
        for name in pool.names():
            try:
                pool.get(name)
            except RequestError as exc:
                LOG.error("endpoint %s cannot load: %s", name, exc)
    return ThreadingHTTPServer((host, port), make_handler(pool))

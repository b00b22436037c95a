"""`make serve-local`: the local endpoints over HTTP, with the SageMaker container contract.

    GET  /ping                              200 when at least one endpoint is deployed
    GET  /endpoints                         the endpoints and the model versions they serve
    POST /endpoints/<name>/invocations      invoke one endpoint (the SageMaker Runtime path)
    POST /invocations                       invoke the endpoint named in the X-Endpoint-Name header
                                            (the header may be left out when only one is deployed)

HTTP only: loading and invoking the endpoints (the inference toolkit's contract, status codes of
handler errors, reload on redeploy) is model_registry/local_endpoints.py.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from model_registry.local import LocalRegistry
from model_registry.local_endpoints import EndpointPool, RequestError

LOG = logging.getLogger("pipelines.local.server")
ENDPOINT_HEADER = "X-Endpoint-Name"
_INVOKE_PATH = re.compile(r"^/endpoints/([A-Za-z0-9-]+)/invocations/?$")


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

"""The local endpoints as the SageMaker inference toolkit runs them: load, invoke, reload on redeploy.

Each endpoint loads its model folder's `code/inference.py` as the toolkit does: `model_fn(model_dir)`,
then per request `input_fn(body, content_type)`, `predict_fn(data, model)`, `output_fn(prediction,
accept)`. The Model's environment (e.g. MAX_NEW_TOKENS) is applied while `model_fn` loads the model:
the handlers read it there (environment variables are per process, so applying them per request would
serialise every endpoint behind one lock; a SageMaker container has one model and sets them once). An
error that carries a 4xx `status_code` (the handlers' ClientError), or a ValueError or RecursionError
(JSON nested too deeply) from `input_fn`, is the client's: its status (400 by default) and the message.
Anything else is a 500. A redeploy (a new row in the registry's endpoints table) is picked up on the
next request; endpoints load and reload independently of each other.

With a CaptureWriter, every answered invocation is recorded as SageMaker's data capture records it
(containers/monitoring/capture.py: `<capture>/<endpoint>/<variant>/YYYY/MM/DD/HH/*.jsonl`), which is
what the drift monitoring job reads (`make monitor-local`). Refused requests (4xx/5xx) are not
captured: they never reached the model's output.

Variants (model_registry/variants.py): an endpoint may have a challenger beside its live variant
(`LIVE_VARIANT`). `route` picks the variant of a request as SageMaker does: the one named by the
TargetVariant header, else by weight (a seeded random draw, so a run is repeatable); a shadow variant
takes no request of its own but is returned with each, for the server to send it a copy. Each variant
captures under its own name.

Used by the HTTP server (`make serve-local`, pipelines/local/server.py) and by the notebooks' workspace,
which invokes an endpoint in-process.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import random
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from containers.monitoring.capture import CaptureWriter
from model_registry.local import LocalRegistry
from model_registry.naming import LIVE_VARIANT
from model_registry.types import Endpoint, Variant
from model_registry.variants import choose_variant

LOG = logging.getLogger("model_registry.local_endpoints")
_ENV_LOCK = threading.Lock()  # environment variables are per process: one model load at a time


class RequestError(Exception):
    """An error to answer with `status` and `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@contextmanager
def model_environment(environment: dict[str, str]) -> Iterator[None]:
    """Apply a Model's environment variables while its model loads, then restore them."""
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
    capture: CaptureWriter | None = None
    variant: str = LIVE_VARIANT  # the variant it answers as: its capture folder

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        """Run the handler chain on one request; raise RequestError with the right status."""
        h = self.handler
        try:
            data = h.input_fn(body, content_type) if hasattr(h, "input_fn") else json.loads(body)
        except RecursionError as exc:  # json.loads of [[[[...]]]]: the client's, not the server's
            raise RequestError(400, "the JSON body is nested too deeply") from exc
        except Exception as exc:  # the client's input: 4xx with the handler's own message
            raise RequestError(
                _status_of(exc, 400 if isinstance(exc, ValueError) else 500), str(exc)
            ) from exc
        try:
            prediction = h.predict_fn(data, self.model) if hasattr(h, "predict_fn") else self.model(data)
            output = h.output_fn(prediction, accept) if hasattr(h, "output_fn") else json.dumps(prediction)
        except Exception as exc:
            status = _status_of(exc, 500)
            if status == 500:
                LOG.exception("endpoint %s failed", self.endpoint.name)
            raise RequestError(status, str(exc)) from exc
        if isinstance(output, tuple):  # output_fn may return (body, content type)
            output, accept = output[0], output[1]
        payload = output if isinstance(output, bytes) else str(output).encode("utf-8")
        answer_type = accept if accept and accept != "*/*" else "application/json"
        if self.capture is not None:
            self.capture.write(self.endpoint.name, body, content_type, payload, answer_type, self.variant)
        return payload, answer_type


MAX_TABLE_AGE_S = 1.0  # re-read the endpoints table at least this often, even when its files look unchanged


class EndpointPool:
    """The registry's endpoints, each loaded on first use and reloaded when redeployed.

    The endpoints table is re-read only when the registry's files changed (`LocalRegistry.change_stamp`:
    one stat of the database and its WAL) or after MAX_TABLE_AGE_S: opening SQLite on every request cost
    the server milliseconds per request on a loaded machine. A redeploy shows on the next request, or
    within MAX_TABLE_AGE_S when two writes fall in one tick of the file clock with the same WAL size.
    """

    def __init__(
        self, registry: LocalRegistry, capture: CaptureWriter | None = None, seed: int | None = None
    ) -> None:
        self.registry = registry
        self.capture = capture
        self._rng = random.Random(seed)  # the weighted choice of a variant; seeded: a repeatable run
        self._variants: dict[str, Variant] = {}
        self._loaded_variants: dict[tuple[str, str], LoadedEndpoint] = {}
        self._loaded: dict[str, LoadedEndpoint] = {}
        self._lock = threading.Lock()  # guards _locks and the table snapshot
        self._locks: dict[str, threading.Lock] = {}  # one per endpoint: loading one never blocks another
        self._table: dict[str, Endpoint] = {}
        self._stamp: tuple[int, ...] | None = None
        self._read_at = 0.0

    def endpoints(self) -> dict[str, Endpoint]:
        """The endpoints table by name, read again when the registry changed."""
        stamp, now = self.registry.change_stamp(), time.monotonic()
        with self._lock:
            if stamp == self._stamp and now - self._read_at < MAX_TABLE_AGE_S:
                return self._table
        # Stamp taken before the read: a write in between leaves a stale stamp, so the next call re-reads.
        table = {e.name: e for e in self.registry.list_endpoints()}
        variants = {v.endpoint: v for v in self.registry.list_variants()}
        with self._lock:
            self._table, self._variants, self._stamp, self._read_at = table, variants, stamp, now
        return table

    def variant_of(self, name: str) -> Variant | None:
        """The challenger or shadow beside endpoint `name`, as of the last table read."""
        self.endpoints()
        with self._lock:
            return self._variants.get(name)

    def route(
        self, name: str, target: str | None = None
    ) -> tuple[str, LoadedEndpoint, list[tuple[str, LoadedEndpoint]]]:
        """(variant, its loaded model, [(shadow variant, its model)]) for one request to endpoint `name`.

        `target` is the TargetVariant header: that production variant, or 400 naming the ones there are
        (a shadow variant takes no request of its own: its answers are never returned)."""
        live = self.get(name)  # 404 for an unknown endpoint
        other = self.variant_of(name)
        production = [(LIVE_VARIANT, other.live_weight if other else 1.0)]
        if other is not None and not other.shadow:
            production.append((other.name, other.weight))
        if target is not None:
            if target not in dict(production):
                names = ", ".join(n for n, _ in production)
                raise RequestError(
                    400, f"endpoint {name} has no production variant {target!r} to target; it has {names}"
                )
            chosen = target
        else:
            with self._lock:
                draw = self._rng.random()
            chosen = choose_variant(production, draw)
        shadows = [(other.name, self._get_variant(other))] if other is not None and other.shadow else []
        loaded = live if chosen == LIVE_VARIANT else self._get_variant(other)  # type: ignore[arg-type]
        return chosen, loaded, shadows

    def _get_variant(self, variant: Variant) -> LoadedEndpoint:
        key = (variant.endpoint, variant.name)
        with self._lock:
            lock = self._locks.setdefault(f"{variant.endpoint}/{variant.name}", threading.Lock())
        with lock:
            loaded = self._loaded_variants.get(key)
            if loaded is None or (loaded.endpoint.version, loaded.endpoint.model_dir) != (
                variant.version,
                variant.model_dir,
            ):
                record = Endpoint(
                    variant.endpoint,
                    variant.group,
                    variant.version,
                    variant.model_package_arn,
                    model_dir=variant.model_dir,
                    updated_at=variant.updated_at,
                )
                loaded = self._load(record, variant.name)
                self._loaded_variants[key] = loaded
        return loaded

    def names(self) -> list[str]:
        return sorted(self.endpoints())

    def get(self, name: str) -> LoadedEndpoint:
        endpoint = self.endpoints().get(name)
        if endpoint is None:
            known = ", ".join(self.names()) or "none (run `make run-local` first)"
            raise RequestError(404, f"no endpoint named {name!r}; deployed: {known}")
        with self._lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            loaded = self._loaded.get(name)
            if loaded is None or loaded.endpoint.updated_at != endpoint.updated_at:
                loaded = self._load(endpoint)
                self._loaded[name] = loaded
        return loaded

    def _load(self, endpoint: Endpoint, variant: str = LIVE_VARIANT) -> LoadedEndpoint:
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
        return LoadedEndpoint(endpoint, handler, model, version.environment, self.capture, variant)

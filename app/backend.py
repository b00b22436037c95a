"""The app's one door to the project: endpoints, registry, run outputs and endpoint figures.

    backend = open_backend("local", home=Path(".local"))   # serve-local over HTTP, .local/registry.db, runs
    backend = open_backend("dev")                          # SageMaker Runtime, the SageMaker registry, S3

Two implementations of one small interface, as the registry has (model_registry/backend.py):
- LocalBackend talks to serve-local's HTTP API (GET /ping, GET /endpoints, POST
  /endpoints/<name>/invocations), starting `python -m pipelines serve-local` when nothing answers, and
  reads the local registry and the run folders under `.local/runs/`.
- AwsBackend calls SageMaker Runtime InvokeEndpoint, the SageMaker registry backend, S3 and CloudWatch
  through boto3, with credentials from the usual AWS chain only.
Both review versions through `model_registry.review` (what `make approve-model` runs) via the
workspace, so an approval from the browser deploys exactly as one from the command line.

Every failure a person can act on is a BackendError whose message says what to do; the tabs show it
instead of a stack trace. The rest of the app imports nothing else from the project's internals.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from app import local_metrics
from app.calls import CallLog
from app.drift import aws_drift_notes, local_drift_notes
from conf import load_config
from conf.schema import Config
from containers.inference import lmi_adapter
from model_registry.backend import RegistryBackend
from model_registry.cli import live_versions
from model_registry.deploy_logic import NothingToRollBackTo
from model_registry.naming import monitoring_schedule_name
from model_registry.review import WorseThanLive, check_against_live
from model_registry.settings import group_of
from model_registry.types import ModelVersion
from project.bundle import REPO_ROOT
from project.defaults import LOCAL_HOME
from workspace import LocalWorkspace, SageMakerWorkspace, Workspace

LOG = logging.getLogger("app.backend")
MODELS = ("chatbot", "classifier")
DEFAULT_SERVE_URL = "http://127.0.0.1:8080"
SERVER_START_TIMEOUT_S = 180.0


class BackendError(Exception):
    """A failure to show in the tab as it is: the message says what happened and what to do."""


class EndpointUnavailable(BackendError):
    """The endpoint is down, missing or unreachable."""


class RequestRejected(BackendError):
    """The endpoint refused the request (a 4xx): the message is the handler's own."""


class OutputMissing(BackendError):
    """A run output the tab needs is not there (no run yet, or a step that did not write it)."""


@dataclass(frozen=True)
class EndpointInfo:
    """An endpoint of the environment and what it serves (version None when unknown or not deployed)."""

    model: str
    name: str
    status: str
    group: str
    version: int | None


@dataclass(frozen=True)
class RunOutput:
    """A file of a run's step output, copied into the app's cache so the browser can be served it."""

    run: str
    path: Path


class AppBackend:
    """What both backends share: names, the registry through the workspace, outputs, the call log."""

    kind = "base"

    def __init__(self, workspace: Workspace, cache_dir: Path) -> None:
        self.workspace = workspace
        self.cache_dir = cache_dir
        self.calls = CallLog()

    # ---- names and config ----------------------------------------------------------------------

    @property
    def cfg(self) -> Config:
        return self.workspace.cfg

    @property
    def env(self) -> str:
        return self.workspace.cfg.env

    def endpoint_name(self, model: str) -> str:
        return self.workspace.endpoint_name(model)

    def group(self, model: str) -> str:
        return group_of(self.cfg, model)

    # ---- endpoints -----------------------------------------------------------------------------

    def invoke(self, model: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST one JSON request to the environment's endpoint of `model`; the answer as JSON.

        Each call is timed and counted in `self.calls` (the app's own view of the endpoint).
        """
        name = self.endpoint_name(model)
        started = time.perf_counter()
        try:
            answer = self._invoke(name, payload)
        except BackendError as error:
            self.calls.record(name, (time.perf_counter() - started) * 1000, error=type(error).__name__)
            raise
        self.calls.record(name, (time.perf_counter() - started) * 1000)
        return answer

    def _invoke(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def endpoints(self) -> list[EndpointInfo]:
        raise NotImplementedError

    def endpoint(self, model: str) -> EndpointInfo:
        for info in self.endpoints():
            if info.model == model:
                return info
        raise EndpointUnavailable(f"no {model} endpoint in {self.env}")

    def endpoint_figures(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Rows of per-endpoint figures from the serving side, and notes on what is missing."""
        raise NotImplementedError

    # ---- registry ------------------------------------------------------------------------------

    @property
    def registry(self) -> RegistryBackend:
        return self.workspace.registry

    def groups(self) -> list[str]:
        return [self.group(model) for model in MODELS]

    def versions(self, group: str) -> list[ModelVersion]:
        return self.registry.list_versions(group)

    def version(self, group: str, version: int) -> ModelVersion:
        try:
            return self.registry.get(group, version)
        except KeyError as error:
            raise BackendError(f"{group} has no version {version}") from error

    def live(self) -> dict[str, str]:
        """Model package ARN -> the endpoint serving it (the registry CLI's own reading)."""
        return live_versions(self.workspace.backend, self.cfg)

    def card(self, group: str, version: int) -> dict[str, Any] | None:
        """The version's model card content, or None when it was registered without one."""
        try:
            return self.registry.card(group, version)
        except KeyError as error:
            raise BackendError(f"{group} has no version {version}") from error

    def shortfall(self, group: str, version: int) -> str:
        """Why approving `version` needs a second thought ('' when it scores no worse than the live one)."""
        try:
            check_against_live(self.workspace.backend, self.cfg, group, version)
        except WorseThanLive as worse:
            return str(worse).replace(" Approve anyway with --force (the app asks you to confirm)", "")
        except KeyError as error:
            raise BackendError(f"{group} has no version {version}") from error
        return ""

    def review(
        self, group: str, version: int, status: str, note: str, reviewer: str, force: bool = False
    ) -> str:
        """Approve or reject as `make approve-model` does; the reviewer's name goes into the note.

        A version below the live one is refused (BackendError naming the difference) unless `force`:
        the UI passes it once the reviewer confirmed a question that showed the difference."""
        recorded = (
            f"{note.strip()} (by {reviewer} in the app)" if note.strip() else f"by {reviewer} in the app"
        )
        try:
            result = self.workspace.review(group, version, status, note=recorded, force=force)
        except NothingToRollBackTo as error:
            raise BackendError(
                f"{group} v{version} is now {status}, but nothing was deployed: {error}"
            ) from error
        except (KeyError, ValueError) as error:
            raise BackendError(str(error.args[0] if error.args else error)) from error
        return result.summary()

    # ---- run outputs ---------------------------------------------------------------------------

    def runs(self) -> Iterator[str]:
        """Execution ids to read outputs from, newest first."""
        raise NotImplementedError

    def output(self, step: str, output: str, filename: str, run: str | None = None) -> RunOutput:
        """The newest run's file `filename` of `step`'s `output` (or run `run`'s: files that belong
        together come from one run), copied under the cache folder."""
        tried: list[str] = []
        for candidate in [run] if run else self.runs():
            target = self.cache_dir / "runs" / _safe(candidate) / step / output / filename
            if target.is_file():
                return RunOutput(candidate, target)
            try:
                data = self.workspace.read_output(candidate, step, output, filename)
            except (KeyError, FileNotFoundError, LookupError) as error:
                tried.append(f"{candidate}: {error}")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            return RunOutput(candidate, target)
        detail = f" (looked in {'; '.join(tried[:3])})" if tried else ""
        if run:
            raise OutputMissing(f"run {run} has no {step}'s {output}/{filename}{detail}")
        raise OutputMissing(
            f"no run has {step}'s {output}/{filename} yet: run the pipeline first "
            f"(`make run-local`, or `make start-pipeline ENV={self.env}`){detail}"
        )

    def describe(self) -> str:
        raise NotImplementedError


def _safe(run: str) -> str:
    return run.rsplit("/", 1)[-1].replace(":", "_")


class LocalBackend(AppBackend):
    """serve-local over HTTP, the local registry and the run folders under `home`."""

    kind = "local"

    workspace: LocalWorkspace

    def __init__(
        self,
        workspace: LocalWorkspace,
        cache_dir: Path,
        serve_url: str = DEFAULT_SERVE_URL,
        timeout_s: float = 120.0,
    ) -> None:
        super().__init__(workspace, cache_dir)
        self.serve_url = serve_url.rstrip("/")
        self.timeout_s = timeout_s
        self._server: subprocess.Popen[bytes] | None = None

    def describe(self) -> str:
        return f"local: serve-local at {self.serve_url}, runs and registry under {self.workspace.home}"

    # ---- serve-local ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            self.serve_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout or self.timeout_s) as response:
            return json.loads(response.read())

    def ping(self) -> bool:
        """True when serve-local answers /ping with 200 (at least one endpoint deployed)."""
        try:
            self._request("GET", "/ping", timeout=2)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return True

    def _answers(self) -> bool:
        """True when something answers HTTP at serve_url (even 503: serving, nothing deployed)."""
        try:
            self._request("GET", "/ping", timeout=2)
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return True

    def ensure_server(self, wait_s: float = SERVER_START_TIMEOUT_S) -> str:
        """Start `python -m pipelines serve-local` when nothing answers at a loopback serve_url.

        Returns what happened, for the log. serve-local loads every model before it listens, so
        the wait covers the model loading (about 10 s on 2 cores for the tiny models).
        """
        if self._answers():
            return f"serve-local already answers at {self.serve_url}"
        parsed = urlparse(self.serve_url)
        if parsed.hostname not in ("127.0.0.1", "localhost"):
            raise EndpointUnavailable(f"nothing answers at {self.serve_url}; start serve-local there")
        command = [
            sys.executable, "-m", "pipelines", "serve-local",
            "--port", str(parsed.port or 80), "--home", str(self.workspace.home),
        ]  # fmt: skip
        log_path = self.cache_dir / "serve-local.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self._server = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise EndpointUnavailable(
                    f"serve-local exited with status {self._server.returncode}; see {log_path}"
                )
            if self._answers():
                return f"started serve-local (pid {self._server.pid}) at {self.serve_url}; log {log_path}"
            time.sleep(0.5)
        raise EndpointUnavailable(f"serve-local did not answer within {wait_s:.0f} s; see {log_path}")

    def stop_server(self) -> None:
        """Stop the serve-local this backend started (never one it found running)."""
        if self._server is not None and self._server.poll() is None:
            self._server.terminate()
            self._server.wait(timeout=30)
        self._server = None

    def _unreachable(self, error: BaseException) -> EndpointUnavailable:
        return EndpointUnavailable(
            f"serve-local does not answer at {self.serve_url} ({error}): start it with "
            "`make serve-local` (the app starts it itself when it launches)"
        )

    def _invoke(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(self._request("POST", f"/endpoints/{name}/invocations", payload))
        except urllib.error.HTTPError as error:
            message = _error_message(error)
            if error.code == 404:
                raise EndpointUnavailable(f"{message} (run `make run-local` to deploy it)") from None
            if 400 <= error.code < 500:
                raise RequestRejected(message) from None
            raise EndpointUnavailable(f"endpoint {name} failed ({error.code}): {message}") from None
        except (urllib.error.URLError, OSError) as error:
            raise self._unreachable(error) from None

    def endpoints(self) -> list[EndpointInfo]:
        try:
            served = {e["name"]: e for e in self._request("GET", "/endpoints", timeout=10)}
        except (urllib.error.URLError, OSError) as error:
            raise self._unreachable(error) from None
        infos = []
        for model in MODELS:
            name = self.endpoint_name(model)
            entry = served.get(name)
            infos.append(
                EndpointInfo(
                    model,
                    name,
                    "InService" if entry else "NotDeployed",
                    entry["group"] if entry else self.group(model),
                    int(entry["version"]) if entry else None,
                )
            )
        return infos

    def endpoint_figures(self) -> tuple[list[dict[str, Any]], list[str]]:
        notes = []
        try:
            metrics = self._request("GET", "/metrics", timeout=5)
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise EndpointUnavailable(f"serve-local /metrics failed: {_error_message(error)}") from None
            metrics = None
        except (urllib.error.URLError, OSError) as error:
            raise self._unreachable(error) from None
        if metrics is None:
            notes.append(
                "serve-local has no /metrics route yet: the figures below are the app's own calls only."
            )
            rows: list[dict[str, Any]] = []
        else:
            try:
                rows = local_metrics.endpoint_rows(metrics)
            except local_metrics.MetricsFormatError as error:
                raise BackendError(str(error)) from None
        notes += local_drift_notes(self.workspace.home, [self.endpoint_name(m) for m in MODELS])
        return rows, notes

    def runs(self) -> Iterator[str]:
        root = self.workspace.home / "runs"
        done = sorted((p for p in root.glob("*") if (p / "state.json").is_file()), reverse=True)
        if not done:
            raise OutputMissing(f"no local runs under {root}: run `make run-local` first")
        yield from (p.name for p in done)


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read())["error"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {error.code} {error.reason}"


class AwsBackend(AppBackend):
    """SageMaker Runtime, the SageMaker registry, S3 and CloudWatch of `cfg.env` through boto3."""

    kind = "aws"
    workspace: SageMakerWorkspace

    def describe(self) -> str:
        region, pipeline = self.cfg.project.region, self.workspace.pipeline_name
        return f"AWS ({region}): environment {self.env}, pipeline {pipeline}"

    def _client(self, service: str) -> Any:
        return self.workspace.session.client(service)

    def _invoke(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        # An LMI-served chatbot (chatbot.serving.engine: lmi) speaks Chat Completions: the adapter keeps
        # the project's {"messages", "parameters"} -> {"reply", "usage"} contract for the app.
        lmi = name == self.endpoint_name("chatbot") and self.cfg.chatbot.serving.engine == "lmi"
        if lmi:
            try:
                payload = lmi_adapter.to_lmi_request(payload, self.cfg.chatbot.serving.max_new_tokens)
            except lmi_adapter.LmiContractError as error:
                raise RequestRejected(str(error)) from None
        try:
            response = self._client("sagemaker-runtime").invoke_endpoint(
                EndpointName=name,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps(payload).encode("utf-8"),
            )
        except ClientError as error:
            raise aws_error(name, error) from None
        except BotoCoreError as error:  # no credentials, no network: the message says which
            raise EndpointUnavailable(f"cannot reach SageMaker Runtime for {name}: {error}") from None
        answer = dict(json.loads(response["Body"].read()))
        return lmi_adapter.from_lmi_response(answer) if lmi else answer

    def endpoints(self) -> list[EndpointInfo]:
        from botocore.exceptions import BotoCoreError, ClientError

        live = {endpoint: arn for arn, endpoint in self.live().items()}
        infos = []
        for model in MODELS:
            name = self.endpoint_name(model)
            try:
                status = self._client("sagemaker").describe_endpoint(EndpointName=name)["EndpointStatus"]
            except ClientError:
                status = "NotDeployed"
            except BotoCoreError as error:
                raise EndpointUnavailable(f"cannot reach SageMaker: {error}") from None
            arn = live.get(name, "")
            version = int(arn.rsplit("/", 1)[-1]) if arn.rsplit("/", 1)[-1].isdigit() else None
            infos.append(EndpointInfo(model, name, str(status), self.group(model), version))
        return infos

    def endpoint_figures(self) -> tuple[list[dict[str, Any]], list[str]]:
        from app.cloudwatch import endpoint_rows, variant_figure_rows

        names = [self.endpoint_name(m) for m in MODELS]
        rows = endpoint_rows(self._client("cloudwatch"), names)
        for name in names:  # an endpoint with a challenger or shadow: a row per variant, side by side
            rows += variant_figure_rows(self._client("sagemaker"), self._client("cloudwatch"), name)
        schedules = {
            self.endpoint_name(m): monitoring_schedule_name(self.cfg.project.name, self.cfg.env, m)
            for m in MODELS
        }
        return rows, aws_drift_notes(
            self._client("cloudwatch"), self.cfg.monitoring.metric_namespace, schedules
        )

    def runs(self) -> Iterator[str]:
        try:
            yield self.workspace.latest_execution()
        except LookupError as error:
            raise OutputMissing(str(error)) from None


def aws_error(name: str, error: Any) -> BackendError:
    """A botocore ClientError of InvokeEndpoint as the app's error.

    InvokeEndpoint answers ModelError when the container returned 4xx/5xx (its message in
    OriginalMessage), ValidationError when the endpoint does not exist, ServiceUnavailable when it has
    no capacity: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
    """
    info = error.response.get("Error", {})
    code, message = info.get("Code", ""), info.get("Message", str(error))
    if code == "ModelError":
        original = error.response.get("OriginalMessage") or message
        status = int(error.response.get("OriginalStatusCode") or 500)
        if 400 <= status < 500:
            with contextlib.suppress(ValueError, AttributeError):  # a plain-text message stays as it is
                original = json.loads(original).get("error", original)
            return RequestRejected(str(original))
        return EndpointUnavailable(f"endpoint {name} failed ({status}): {original}")
    if code == "ValidationError" and ("not found" in message.lower() or "could not find" in message.lower()):
        return EndpointUnavailable(f"endpoint {name} does not exist yet: approve a version to deploy it")
    return EndpointUnavailable(f"endpoint {name}: {code} {message}")


def open_backend(
    env: str,
    home: Path | None = None,
    cache_dir: Path | None = None,
    serve_url: str = DEFAULT_SERVE_URL,
) -> AppBackend:
    """The backend for ENV: `local` -> LocalBackend, any other environment -> AwsBackend."""
    home = Path(home) if home is not None else REPO_ROOT / LOCAL_HOME
    cache = Path(cache_dir) if cache_dir is not None else home / "app"
    if env == "local":
        return LocalBackend(LocalWorkspace(load_config("local"), home), cache, serve_url)
    return AwsBackend(SageMakerWorkspace(load_config(env)), cache)


def reviewer_name() -> str:
    """Who approves from this app: APP_REVIEWER, else the login name (recorded with the status note)."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name for this uid (a container): say so
        login = "unknown"
    return os.environ.get("APP_REVIEWER") or login

"""The contract between the scheduler and the step handlers: one call in, one `Outcome` out.

Every step type has one handler, `handler(call: StepCall) -> Outcome`, and one row (`StepKind`) in the
table `step_types.STEP_KINDS`. The call carries the step's resolved Arguments and everything a handler
may use (the run's storage, cache, registry, the expression scope); the outcome is what the scheduler
records. Handlers never touch the run's state; an exception a handler raises becomes the step's failure,
with its traceback in the step's log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_registry.local import LocalRegistry
from pipelines.local.cache import StepCache, cache_key
from pipelines.local.container import sagemaker_job_name
from pipelines.local.expressions import Scope
from pipelines.local.processes import JobControl
from pipelines.local.sources import Source, find_source
from pipelines.local.storage import Digests, RunStorage, StorageError
from project.defaults import LOCAL_ARN_PREFIX

LOCAL_ACCOUNT = LOCAL_ARN_PREFIX  # ARNs of local jobs: project/defaults.py


@dataclass
class Outcome:
    """The result of one step, as the scheduler records it."""

    status: str
    cache: str = "-"
    properties: dict[str, Any] = field(default_factory=dict)
    property_files: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    key: str | None = None
    decision: dict[str, Any] | None = None
    data_inputs: dict[str, str] = field(default_factory=dict)  # see StepRecord.data_inputs


@dataclass
class Services:
    """What handlers share: the run's storage, the cache (None when off), the registry, its jobs."""

    storage: RunStorage
    repo_root: Path
    cache: StepCache | None
    registry: LocalRegistry
    models_dir: Path
    execution: dict[str, str]
    digests: Digests = field(default_factory=Digests)
    jobs: JobControl = field(default_factory=JobControl)
    workers: int = 1  # --workers: a Tuning step runs at most this many trials at once
    tuning_dir: Path = Path(".local/tuning")  # <home>/tuning: each tuning job's trials (warm starts)

    @property
    def masks(self) -> dict[str, str]:
        """Run-specific strings and the names they take in cache keys."""
        return {value: "{" + name + "}" for name, value in self.execution.items() if len(value) >= 6}

    def locate(self, uri: str) -> Source:
        return find_source(uri, self.storage, self.repo_root)

    def digest_of(self, uri: str) -> str:
        try:
            return self.locate(uri).digest(self.digests)
        except StorageError:
            return "missing"

    def data_digests(self, uris: Sequence[str]) -> dict[str, str]:
        """The digests of the inputs among `uris` that are the user's data: neither the code bundle nor
        anything under this run's folder (an earlier step's output, which --resume keeps as it is)."""
        found: dict[str, str] = {}
        run_dir = self.storage.run_dir.resolve()
        for uri in uris:
            try:
                source = self.locate(uri)
            except StorageError:
                found[uri] = "missing"
                continue
            if source.is_code or source.path is None or source.path.resolve().is_relative_to(run_dir):
                continue
            found[uri] = source.digest(self.digests)
        return found


@dataclass(frozen=True)
class StepCall:
    """One step about to run: its definition, its resolved Arguments and what the handler may use."""

    name: str
    kind: StepKind
    definition: dict[str, Any]  # the step's entry in the definition JSON (CacheConfig, PropertyFiles)
    args: dict[str, Any]  # resolved, unless its kind has resolve_arguments=False
    services: Services
    scope: Scope  # the properties of the steps finished so far, parameters, execution variables
    log_path: Path
    use_cache: bool

    @property
    def job_name(self) -> str:
        """The SageMaker-shaped name of what this step creates (a job, a model): unique per execution."""
        return sagemaker_job_name(self.services.execution["PipelineExecutionId"], self.name)

    @property
    def expire_after(self) -> str | None:
        """The step's CacheConfig ExpireAfter (ISO 8601 duration), if any."""
        return self.definition.get("CacheConfig", {}).get("ExpireAfter")

    def cache_key(self, extra_inputs: Sequence[str] = ()) -> str | None:
        """The step's cache key over its arguments and `extra_inputs`; None when caching is off."""
        if not self.use_cache:
            return None
        svc = self.services
        return cache_key(
            self.name,
            self.kind.type,
            self.args,
            svc.masks,
            svc.digest_of,
            extra_inputs,
            self.kind.destinations,
        )


Handler = Callable[[StepCall], Outcome]


@dataclass(frozen=True)
class StepKind:
    """One row of the step-type table (`step_types.STEP_KINDS`): how the runner treats one Type."""

    type: str  # the definition's "Type"
    handler: Handler
    # True: a container job, run in the worker pool (at most --workers at once). False: a quick step run
    # on the scheduler's thread.
    is_job: bool = False
    # False: the handler gets the Arguments unresolved and evaluates what it needs itself (a Condition
    # step's branches hold whole steps, which must not be resolved before they run).
    resolve_arguments: bool = True
    # Where the step writes, as argument paths ("A.B[*].C": every item of the list A.B). The cache key
    # leaves them out: where a result is written does not change what it is.
    destinations: tuple[str, ...] = ()
    # True: the step uses the cache only when its CacheConfig enables it (SageMaker's rule). False: a
    # type with no CacheConfig (RegisterModel reuses an identical registration) uses it unless the run
    # is started with --no-cache.
    follows_cache_config: bool = True


def arn(kind: str, name: str) -> str:
    return f"{LOCAL_ACCOUNT}:{kind}/{name}"

"""Processing and Training steps as local subprocesses, set up the way SageMaker sets up the container.

A `JobPlan` is everything one job needs: the command, its environment, the inputs to download into
its `/opt/ml` folders and the outputs to upload afterwards. `processing_plan` and `training_plan` build
it from the step's resolved Arguments (the CreateProcessingJob / CreateTrainingJob request);
`run_plan` executes it, logging stdout and stderr to the step's log file.

Training follows the DLC training toolkit: hyperparameters are JSON-decoded where they parse
(`"true"` becomes True, printed `True`), the `sagemaker_*` ones configure the toolkit, the rest reach
the script as `--key value` in sorted order, and SM_* variables describe the container. At the end the
model folder is packed into `model.tar.gz` (its contents at the archive root) and the output-data
folder into `output.tar.gz`, under `<S3OutputPath>/<TrainingJobName>/output/`.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.local.sources import Source
from pipelines.local.storage import OPT_ML, RunStorage, copy_into, fresh_dir

HOST = "algo-1"
CHILD_ENVIRONMENT = {
    # One BLAS thread per job: two jobs share two cores, and oversubscription slows tiny models 10x.
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
# Jobs running now, so that Ctrl-C (or any error in the scheduler) can stop them all.
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()
METRIC_LINE = re.compile(r"^.*?METRIC ([A-Za-z0-9_.:/-]+)=([-+0-9.eE]+|nan|inf)(?:\s+step=(\d+))?")


class JobError(RuntimeError):
    """A job could not be set up or did not succeed; the message says which and why."""


@dataclass
class JobPlan:
    """One container job: what to download, what to run, what to upload."""

    step: str
    command: list[str]
    environment: dict[str, str]
    cwd: Path
    inputs: list[tuple[Source, Path]]
    outputs: list[tuple[Path, str]]  # (local folder, destination URI)
    timeout_s: float | None = None
    metric_patterns: dict[str, re.Pattern[str]] = field(default_factory=dict)
    files: dict[Path, str] = field(default_factory=dict)  # config files written into the container
    pack: Callable[[], None] | None = None  # training: model.tar.gz / output.tar.gz after success
    restore: list[tuple[Path, Path]] = field(default_factory=list)  # (checkpoint store, local folder)
    failure_file: Path | None = None  # where the script may explain a failure (/opt/ml/output/failure)


def python_command(entrypoint: list[str]) -> list[str]:
    """Run `python3 x.py` with the interpreter running this runner (the project's environment)."""
    head = Path(entrypoint[0]).name if entrypoint else ""
    if head in ("python", "python3") or head.startswith("python3."):
        return [sys.executable, *entrypoint[1:]]
    return list(entrypoint)


def _base_environment(extra: dict[str, Any]) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(CHILD_ENVIRONMENT)
    environment.update({key: str(value) for key, value in extra.items()})
    return environment


def _resource_config(instance_type: str) -> dict[str, Any]:
    return {
        "current_host": HOST,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": [HOST],
        "instance_groups": [
            {"instance_group_name": "homogeneousCluster", "instance_type": instance_type, "hosts": [HOST]}
        ],
        "network_interface_name": "eth0",
    }


# -- Processing -------------------------------------------------------------------------------------


def processing_plan(
    step: str, args: dict[str, Any], storage: RunStorage, locate: Callable[[str], Source]
) -> JobPlan:
    """The plan of a Processing step from its resolved CreateProcessingJob arguments."""
    app = args.get("AppSpecification", {})
    entrypoint = list(app.get("ContainerEntrypoint") or [])
    if not entrypoint:
        raise JobError(
            f"{step}: AppSpecification has no ContainerEntrypoint; the local runner runs scripts only"
        )
    command = [storage.map_text(step, str(part)) for part in python_command(entrypoint)]
    command += [storage.map_text(step, str(arg)) for arg in app.get("ContainerArguments") or []]
    inputs: list[tuple[Source, Path]] = []
    for item in args.get("ProcessingInputs", []):
        s3, input_name = item.get("S3Input"), item.get("InputName")
        if s3 is None:
            raise JobError(
                f"{step}: input {input_name!r} is not an S3Input (dataset inputs do not run locally)"
            )
        if s3.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise JobError(
                f"{step}: input {input_name!r} is {s3.get('S3DataType')}; only S3Prefix runs locally"
            )
        inputs.append((locate(str(s3["S3Uri"])), storage.container_path(step, s3["LocalPath"])))
    outputs = [
        (storage.container_path(step, out["S3Output"]["LocalPath"]), str(out["S3Output"]["S3Uri"]))
        for out in args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    ]
    cluster = args.get("ProcessingResources", {}).get("ClusterConfig", {})
    instance_type = str(cluster.get("InstanceType", "local"))
    config_dir = storage.container_path(step, "/opt/ml/config")
    files = {
        config_dir / "resourceconfig.json": json.dumps(_resource_config(instance_type)),
        config_dir / "processingjobconfig.json": json.dumps(args, default=str),
    }
    return JobPlan(
        step=step,
        command=command,
        environment=_base_environment(args.get("Environment") or {}),
        cwd=storage.step_dir(step),
        inputs=inputs,
        outputs=outputs,
        timeout_s=args.get("StoppingCondition", {}).get("MaxRuntimeInSeconds"),
        files=files,
    )


# -- Training ---------------------------------------------------------------------------------------


def decode_hyperparameters(raw: dict[str, Any]) -> dict[str, Any]:
    """As the training toolkit reads hyperparameters.json: JSON-decode each value where it parses."""
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            decoded[key] = value
    return decoded


def to_cmd_args(hyperparameters: dict[str, Any]) -> list[str]:
    """`--key value` pairs in sorted key order, values printed with str() (the toolkit's rule)."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        value = hyperparameters[key]
        args.append(f"--{key}" if len(key) > 1 else f"-{key}")
        if isinstance(value, dict):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append(str(value))
    return args


def sagemaker_job_name(execution_id: str, step: str) -> str:
    """A SageMaker-shaped job name (at most 63 characters): pipelines-<execution>-<step>."""
    return re.sub(r"[^a-zA-Z0-9-]", "-", f"pipelines-{execution_id}-{step}")[:63].strip("-")


def training_artifact_uri(args: dict[str, Any], job_name: str) -> str:
    """ModelArtifacts.S3ModelArtifacts: <S3OutputPath>/<job name>/output/model.tar.gz."""
    return f"{str(args['OutputDataConfig']['S3OutputPath']).rstrip('/')}/{job_name}/output/model.tar.gz"


def submit_source(step: str, submit: str, args: dict[str, Any]) -> str:
    """Where the training code comes from: its S3 URI, or (network isolation) the URI of the input
    channel whose container folder `sagemaker_submit_directory` points into."""
    match = re.match(r"^/opt/ml/input/data/([^/]+)/", submit)
    if match is None:
        return submit
    for channel in args.get("InputDataConfig", []):
        if channel["ChannelName"] == match.group(1):
            return str(channel["DataSource"]["S3DataSource"]["S3Uri"])
    raise JobError(
        f"{step}: sagemaker_submit_directory {submit} names channel {match.group(1)!r}, which is missing"
    )


def training_plan(
    step: str, args: dict[str, Any], storage: RunStorage, locate: Callable[[str], Source], job_name: str
) -> JobPlan:
    """The plan of a Training step from its resolved CreateTrainingJob arguments."""
    hyperparameters = decode_hyperparameters(args.get("HyperParameters") or {})
    program = hyperparameters.get("sagemaker_program")
    submit = hyperparameters.get("sagemaker_submit_directory")
    if not program or not submit:
        raise JobError(
            f"{step}: the local runner runs script-mode training only "
            "(hyperparameters sagemaker_program and sagemaker_submit_directory)"
        )
    user_hps = {k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_")}
    path = lambda container: storage.container_path(step, container)  # noqa: E731 - local shorthand
    code_dir, model_dir, output_dir = path("/opt/ml/code"), path("/opt/ml/model"), path("/opt/ml/output")
    data_dir, config_dir = path("/opt/ml/input/data"), path("/opt/ml/input/config")
    inputs: list[tuple[Source, Path]] = [(locate(submit_source(step, str(submit), args)), code_dir)]
    channels: dict[str, dict[str, Any]] = {}
    for channel in args.get("InputDataConfig", []):
        name = channel["ChannelName"]
        s3 = channel.get("DataSource", {}).get("S3DataSource")
        if s3 is None:
            raise JobError(f"{step}: channel {name!r} is not an S3 data source")
        inputs.append((locate(str(s3["S3Uri"])), data_dir / name))
        channels[name] = {
            "ContentType": channel.get("ContentType", ""),
            "TrainingInputMode": channel.get("InputMode", "File"),
            "S3DistributionType": s3.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": "None",
        }
    resources = args.get("ResourceConfig", {})
    instance_type = str(resources.get("InstanceType", "local"))
    checkpoint = args.get("CheckpointConfig") or {}
    restore: list[tuple[Path, Path]] = []
    outputs: list[tuple[Path, str]] = []
    extra_args: list[str] = []
    if checkpoint.get("S3Uri"):
        local = path(checkpoint.get("LocalPath") or "/opt/ml/checkpoints")
        restore.append((storage.local_path(str(checkpoint["S3Uri"])), local))
        outputs.append((local, str(checkpoint["S3Uri"])))
        # SageMaker sets no variable for the checkpoint folder (scripts default to its LocalPath), so the
        # mapped folder is passed as a flag: otherwise the job would write to the real /opt/ml.
        extra_args = ["--checkpoint_dir", str(local)]
    container_env = {
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DIR": str(output_dir),
        "SM_OUTPUT_DATA_DIR": str(output_dir / "data"),
        "SM_OUTPUT_INTERMEDIATE_DIR": str(output_dir / "intermediate"),
        "SM_INPUT_DIR": str(path("/opt/ml/input")),
        "SM_INPUT_CONFIG_DIR": str(config_dir),
        "SM_CHANNELS": json.dumps(sorted(channels)),
        "SM_HPS": json.dumps(user_hps, sort_keys=True),
        "SM_CURRENT_HOST": HOST,
        "SM_CURRENT_INSTANCE_TYPE": instance_type,
        "SM_HOSTS": json.dumps([HOST]),
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_NUM_GPUS": "0",
        "SM_NUM_NEURONS": "0",
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_LOG_LEVEL": "20",
        "SM_USER_ENTRY_POINT": str(program),
        "SM_MODULE_NAME": Path(str(program)).stem,
        "SM_MODULE_DIR": str(submit),
        "SM_USER_ARGS": json.dumps(to_cmd_args(user_hps)),
        "SM_FRAMEWORK_MODULE": "",
        "SM_RESOURCE_CONFIG": json.dumps(_resource_config(instance_type)),
        "SM_INPUT_DATA_CONFIG": json.dumps(channels, sort_keys=True),
        "SM_TRAINING_ENV": json.dumps(
            {
                "job_name": job_name,
                "hyperparameters": user_hps,
                "channel_input_dirs": {c: str(data_dir / c) for c in channels},
            }
        ),
    }
    for name in channels:
        container_env[f"SM_CHANNEL_{name.upper()}"] = str(data_dir / name)
    for key, value in user_hps.items():
        container_env[f"SM_HP_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    artifact_dir = storage.local_path(training_artifact_uri(args, job_name)).parent

    def pack() -> None:
        pack_tarball(model_dir, artifact_dir / "model.tar.gz")
        pack_tarball(output_dir / "data", artifact_dir / "output.tar.gz")

    files = {
        config_dir / "hyperparameters.json": json.dumps(args.get("HyperParameters") or {}),
        config_dir / "inputdataconfig.json": json.dumps(channels),
        config_dir / "resourceconfig.json": json.dumps(_resource_config(instance_type)),
    }
    patterns = {
        d["Name"]: re.compile(d["Regex"])
        for d in args.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])
    }
    return JobPlan(
        step=step,
        command=[sys.executable, str(program), *to_cmd_args(user_hps), *extra_args],
        environment=_base_environment({**(args.get("Environment") or {}), **container_env}),
        cwd=code_dir,
        inputs=inputs,
        outputs=outputs,
        timeout_s=args.get("StoppingCondition", {}).get("MaxRuntimeInSeconds"),
        metric_patterns=patterns,
        files=files,
        pack=pack,
        restore=restore,
        failure_file=output_dir / "failure",
    )


def pack_tarball(folder: Path, target: Path) -> Path:
    """Pack a folder's contents (at the archive root) as SageMaker packs /opt/ml/model.

    Fixed metadata (sorted names, mtime 0, uid 0): the same files give the same bytes, so the cache
    of every step downstream of a retrained-but-identical model still hits.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
        for file in files:
            info = tarfile.TarInfo(file.relative_to(folder).as_posix())
            info.size = file.stat().st_size
            info.mtime = 0
            info.mode = 0o644
            with file.open("rb") as handle:
                archive.addfile(info, handle)
    with target.open("wb") as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return target


# -- running ----------------------------------------------------------------------------------------


@dataclass
class JobOutcome:
    returncode: int
    duration_s: float
    metrics: dict[str, float]
    message: str = ""


def prepare(plan: JobPlan, step_dir: Path) -> None:
    """Lay out the container folders: fresh /opt/ml, inputs downloaded, config files, checkpoints."""
    fresh_dir(step_dir / "opt_ml")
    for source, target in plan.inputs:
        target.mkdir(parents=True, exist_ok=True)
        source.materialize(target)
    for stored, local in plan.restore:
        local.mkdir(parents=True, exist_ok=True)
        if stored.is_dir():
            copy_into(stored, local)
    for local, _uri in plan.outputs:
        local.mkdir(parents=True, exist_ok=True)
    for path, text in plan.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    plan.cwd.mkdir(parents=True, exist_ok=True)


def run_plan(plan: JobPlan, log_path: Path) -> JobOutcome:
    """Run the job's command, its output appended to `log_path`; returns its exit code and metrics."""
    started = time.monotonic()
    real_opt_ml = Path(OPT_ML).exists()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write("$ " + " ".join(plan.command) + "\n")
        log.flush()
        process = subprocess.Popen(
            plan.command, cwd=plan.cwd, env=plan.environment, stdout=log, stderr=subprocess.STDOUT
        )
        with _LIVE_LOCK:
            _LIVE.add(process)
        try:
            returncode = process.wait(timeout=plan.timeout_s)
            message = "" if returncode == 0 else f"exited with status {returncode}"
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            returncode = -9
            message = f"stopped after MaxRuntimeInSeconds={plan.timeout_s}"
        except BaseException:
            process.kill()  # Ctrl-C or an error in the runner: never leave the job running
            process.wait()
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(process)
    failure = plan.failure_file
    if returncode != 0 and failure is not None and failure.is_file():
        message += ": " + failure.read_text(encoding="utf-8").strip()[:500]
    if not real_opt_ml and Path(OPT_ML).exists():
        # A script used a container default path the definition does not pass: locally that lands in
        # this machine's /opt/ml, shared by every job. Say so loudly; SageMaker would hide the bug.
        message = (message + "; " if message else "") + (
            f"warning: {OPT_ML} appeared on this machine while the job ran: a script wrote to a container "
            "default path that its arguments or SM_* variables do not set"
        )
    return JobOutcome(
        returncode, time.monotonic() - started, parse_metrics(log_path, plan.metric_patterns), message
    )


def kill_running_jobs() -> None:
    """Stop every job this process started that is still running."""
    with _LIVE_LOCK:
        for process in list(_LIVE):
            process.kill()


def parse_metrics(log_path: Path, patterns: dict[str, re.Pattern[str]]) -> dict[str, float]:
    """Last value of each metric in the log: the definitions' regexes, else `METRIC name=value` lines."""
    found: dict[str, float] = {}
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if patterns:
            for name, pattern in patterns.items():
                match = pattern.search(line)
                if match:
                    found[name] = float(match.group(1))
        else:
            match = METRIC_LINE.match(line)
            if match:
                found[match.group(1)] = float(match.group(2))
    return found

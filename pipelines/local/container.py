"""A job's container as SageMaker sets it up, written down as a `JobPlan` (run by `processes`).

`processing_plan` and `training_plan` read the step's resolved Arguments (the CreateProcessingJob /
CreateTrainingJob request) and map every `/opt/ml` path into the step's folder of the run.

Training follows the DLC training toolkit: hyperparameters are JSON-decoded where they parse
(`"true"` becomes True, printed `True`), the `sagemaker_*` ones configure the toolkit, the rest reach
the script as `--key value` in sorted order, and SM_* variables describe the container. At the end the
model folder is packed into `model.tar.gz` (its contents at the archive root) and the output-data
folder into `output.tar.gz`, under `<S3OutputPath>/<TrainingJobName>/output/`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.local.processes import JobError, JobPlan, child_environment, python_command
from pipelines.local.sources import Source
from pipelines.local.storage import RunStorage

HOST = "algo-1"
DEFAULT_CHECKPOINT_DIR = "/opt/ml/checkpoints"


def resource_config(instance_type: str) -> dict[str, Any]:
    """/opt/ml/input/config/resourceconfig.json of a one-host cluster."""
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


def sagemaker_job_name(execution_id: str, step: str) -> str:
    """A SageMaker-shaped job name (at most 63 characters): pipelines-<execution>-<step>."""
    return re.sub(r"[^a-zA-Z0-9-]", "-", f"pipelines-{execution_id}-{step}")[:63].strip("-")


def _timeout(args: dict[str, Any]) -> float | None:
    return args.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")


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
        config_dir / "resourceconfig.json": json.dumps(resource_config(instance_type)),
        config_dir / "processingjobconfig.json": json.dumps(args, default=str),
    }
    return JobPlan(
        step=step,
        command=command,
        environment=child_environment(args.get("Environment") or {}),
        cwd=storage.step_dir(step),
        inputs=inputs,
        outputs=outputs,
        timeout_s=_timeout(args),
        files=files,
    )


# -- Training: the toolkit's rules ------------------------------------------------------------------


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


@dataclass(frozen=True)
class ScriptMode:
    """Script mode: the program that runs, where its code comes from, the user's hyperparameters."""

    program: str
    submit_directory: str
    hyperparameters: dict[str, Any]  # without the sagemaker_* ones

    @classmethod
    def of(cls, step: str, raw: dict[str, Any]) -> ScriptMode:
        decoded = decode_hyperparameters(raw)
        program, submit = decoded.get("sagemaker_program"), decoded.get("sagemaker_submit_directory")
        if not program or not submit:
            raise JobError(
                f"{step}: the local runner runs script-mode training only "
                "(hyperparameters sagemaker_program and sagemaker_submit_directory)"
            )
        user = {k: v for k, v in decoded.items() if not k.startswith("sagemaker_")}
        return cls(str(program), str(submit), user)


@dataclass(frozen=True)
class TrainingFolders:
    """The training container's /opt/ml folders, mapped into the step's folder of the run."""

    code: Path
    model: Path
    output: Path
    input: Path
    data: Path
    config: Path

    @classmethod
    def of(cls, step: str, storage: RunStorage) -> TrainingFolders:
        def path(container: str) -> Path:
            return storage.container_path(step, container)

        return cls(
            code=path("/opt/ml/code"),
            model=path("/opt/ml/model"),
            output=path("/opt/ml/output"),
            input=path("/opt/ml/input"),
            data=path("/opt/ml/input/data"),
            config=path("/opt/ml/input/config"),
        )


def training_channels(
    step: str, args: dict[str, Any], locate: Callable[[str], Source], data_dir: Path
) -> tuple[list[tuple[Source, Path]], dict[str, dict[str, Any]]]:
    """The input channels: what to download into input/data/<channel>, and inputdataconfig.json."""
    inputs: list[tuple[Source, Path]] = []
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
    return inputs, channels


def checkpoint_folders(step: str, args: dict[str, Any], storage: RunStorage) -> list[tuple[Path, str]]:
    """CheckpointConfig as (local folder, S3 URI): restored before the job and kept after it."""
    checkpoint = args.get("CheckpointConfig") or {}
    if not checkpoint.get("S3Uri"):
        return []
    local = storage.container_path(step, checkpoint.get("LocalPath") or DEFAULT_CHECKPOINT_DIR)
    return [(local, str(checkpoint["S3Uri"]))]


def sm_environment(
    folders: TrainingFolders,
    script: ScriptMode,
    channels: dict[str, dict[str, Any]],
    instance_type: str,
    job_name: str,
) -> dict[str, str]:
    """The SM_* variables the training toolkit sets in the container."""
    user_hps = script.hyperparameters
    environment = {
        "SM_MODEL_DIR": str(folders.model),
        "SM_OUTPUT_DIR": str(folders.output),
        "SM_OUTPUT_DATA_DIR": str(folders.output / "data"),
        "SM_OUTPUT_INTERMEDIATE_DIR": str(folders.output / "intermediate"),
        "SM_INPUT_DIR": str(folders.input),
        "SM_INPUT_CONFIG_DIR": str(folders.config),
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
        "SM_USER_ENTRY_POINT": script.program,
        "SM_MODULE_NAME": Path(script.program).stem,
        "SM_MODULE_DIR": script.submit_directory,
        "SM_USER_ARGS": json.dumps(to_cmd_args(user_hps)),
        "SM_FRAMEWORK_MODULE": "",
        "SM_RESOURCE_CONFIG": json.dumps(resource_config(instance_type)),
        "SM_INPUT_DATA_CONFIG": json.dumps(channels, sort_keys=True),
        "SM_TRAINING_ENV": json.dumps(
            {
                "job_name": job_name,
                "hyperparameters": user_hps,
                "channel_input_dirs": {c: str(folders.data / c) for c in channels},
            }
        ),
    }
    for name in channels:
        environment[f"SM_CHANNEL_{name.upper()}"] = str(folders.data / name)
    for key, value in user_hps.items():
        environment[f"SM_HP_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return environment


def metric_patterns(args: dict[str, Any]) -> dict[str, re.Pattern[str]]:
    """The MetricDefinitions' regexes, by metric name (SageMaker reads them from the job's log)."""
    return {
        d["Name"]: re.compile(d["Regex"])
        for d in args.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])
    }


def training_plan(
    step: str, args: dict[str, Any], storage: RunStorage, locate: Callable[[str], Source], job_name: str
) -> JobPlan:
    """The plan of a Training step from its resolved CreateTrainingJob arguments."""
    script = ScriptMode.of(step, args.get("HyperParameters") or {})
    folders = TrainingFolders.of(step, storage)
    code = locate(submit_source(step, script.submit_directory, args))
    channel_inputs, channels = training_channels(step, args, locate, folders.data)
    instance_type = str(args.get("ResourceConfig", {}).get("InstanceType", "local"))
    checkpoints = checkpoint_folders(step, args, storage)
    # SageMaker sets no variable for the checkpoint folder (scripts default to its LocalPath), so the
    # mapped folder is passed as a flag: otherwise the job would write to the real /opt/ml.
    checkpoint_args = [arg for local, _uri in checkpoints for arg in ("--checkpoint_dir", str(local))]
    container_env = sm_environment(folders, script, channels, instance_type, job_name)
    artifact_dir = training_artifact_uri(args, job_name).rsplit("/", 1)[0]
    return JobPlan(
        step=step,
        command=[sys.executable, script.program, *to_cmd_args(script.hyperparameters), *checkpoint_args],
        environment=child_environment({**(args.get("Environment") or {}), **container_env}),
        cwd=folders.code,
        inputs=[(code, folders.code), *channel_inputs],
        outputs=[],
        timeout_s=_timeout(args),
        metric_patterns=metric_patterns(args),
        files={
            folders.config / "hyperparameters.json": json.dumps(args.get("HyperParameters") or {}),
            folders.config / "inputdataconfig.json": json.dumps(channels),
            folders.config / "resourceconfig.json": json.dumps(resource_config(instance_type)),
        },
        archives=[
            (folders.model, f"{artifact_dir}/model.tar.gz"),
            (folders.output / "data", f"{artifact_dir}/output.tar.gz"),
        ],
        checkpoints=checkpoints,
        failure_file=folders.output / "failure",
    )

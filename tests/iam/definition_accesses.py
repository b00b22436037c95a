"""The accesses a pipeline's definition implies, per role, derived offline from the definition JSON.

moto runs no pipeline step, so what SageMaker does on the pipeline's behalf (pipeline role) and what
the jobs do (job role) is read off the steps instead:

- pipeline role: CreateProcessingJob / CreateTrainingJob (named `pipelines-<id>-...` by the service)
  with the tags it adds, DescribeX while it polls, iam:PassRole of each job's RoleArn, CreateModelPackage
  into the step's group, lambda:InvokeFunction of each Lambda step, s3:GetObject of the property files
  the conditions read, kms:CreateGrant when a job names a volume or output key; the Tuning, Transform
  and Model (batch transform) steps alike: their jobs/model, the role they pass;
- job role: s3:GetObject/ListBucket of every input (code bundle included), s3:PutObject under every
  output and checkpoint prefix, the ECR pulls of its image, its log streams, KMS data keys for its
  outputs; the served model (the job role is the models' ExecutionRoleArn): its artifact and image.

Expressions are resolved as the service would at run time: Parameters take their defaults, the
execution id a placeholder, a step property the value its step's Arguments give it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipelines.local.expressions import parse_path, walk
from tests.iam.policy_eval import Access, resource_arns

EXECUTION_ID = "abc123def456"
UNKNOWN = "x"


def flat_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from flat_steps(step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"])


class Resolver:
    """Resolve a definition's expressions to the values they take in one execution."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
        self.steps = {s["Name"]: s for s in flat_steps(definition["Steps"])}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            kind, body = next(iter(value.items()))
            if kind == "Get":
                return self._get(body)
            if kind == "Std:Join":
                return body["On"].join(str(self(part)) for part in body["Values"])
            if kind == "Std:JsonGet":
                return UNKNOWN
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value

    def _get(self, reference: str) -> Any:
        head, _, rest = reference.partition(".")
        if head == "Parameters":
            return self.defaults[rest]
        if head == "Execution":
            return EXECUTION_ID if rest == "PipelineExecutionId" else UNKNOWN
        step, _, path = rest.partition(".")
        if path == "ModelArtifacts.S3ModelArtifacts":
            output = self(self.steps[step]["Arguments"]["OutputDataConfig"]["S3OutputPath"])
            return f"{output}/pipelines-{EXECUTION_ID}-{step}/output/model.tar.gz"
        try:
            return self(walk(self.steps[step]["Arguments"], parse_path(path), reference))
        except Exception:
            return UNKNOWN


def _s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def s3_read(principal: str, uri: str, region: str, account: str, source: str) -> list[Access]:
    """Read an S3 prefix: list it (condition s3:prefix) and get an object under it."""
    bucket, key = _s3(uri)
    prefix = key.rstrip("/")
    obj = f"{prefix}/part-0000" if not key.endswith((".gz", ".json", ".jsonl")) else key
    return [
        Access(principal, "s3:ListBucket", f"arn:aws:s3:::{bucket}", (("s3:prefix", prefix),), source),
        Access(principal, "s3:GetObject", f"arn:aws:s3:::{bucket}/{obj}", source=source),
    ]


def s3_write(principal: str, uri: str, source: str) -> list[Access]:
    bucket, key = _s3(uri)
    return [
        Access(principal, action, f"arn:aws:s3:::{bucket}/{key.rstrip('/')}/part-0000", source=source)
        for action in ("s3:PutObject", "s3:AbortMultipartUpload")
    ]


def ecr_pull(principal: str, image: str, source: str) -> list[Access]:
    registry, _, rest = image.partition("/")
    account, region = registry.split(".")[0], registry.split(".")[3]
    repository = rest.split(":")[0].split("@")[0]
    arn = f"arn:aws:ecr:{region}:{account}:repository/{repository}"
    return [
        Access(principal, f"ecr:{a}", arn, source=source)
        for a in ("BatchCheckLayerAvailability", "BatchGetImage", "GetDownloadUrlForLayer")
    ] + [Access(principal, "ecr:GetAuthorizationToken", "*", source=source)]


def job_logs(principal: str, kind: str, region: str, account: str, source: str) -> list[Access]:
    group = f"/aws/sagemaker/{kind}"
    stream = f"pipelines-{EXECUTION_ID}-{source}/algo-1"
    out: list[Access] = []
    for action in ("CreateLogStream", "PutLogEvents"):
        values = {"LogGroupName": group, "LogStreamName": stream}
        out += [
            Access(principal, f"logs:{action}", a, source=source)
            for a in resource_arns("logs", action, values, region, account)
        ]
    return out


def kms_use(
    principal: str, key: str, actions: tuple[str, ...], region: str, account: str, source: str
) -> list[Access]:
    if key.startswith("arn:"):
        return [Access(principal, f"kms:{a}", key, source=source) for a in actions]
    if key.startswith("alias/"):
        arn = f"arn:aws:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        return [Access(principal, f"kms:{a}", arn, (("kms:ResourceAliases", key),), source) for a in actions]
    return [
        Access(principal, f"kms:{a}", f"arn:aws:kms:{region}:{account}:key/{key}", source=source)
        for a in actions
    ]


def definition_accesses(definition: dict[str, Any], region: str, account: str) -> list[Access]:
    """Every access of the pipeline role ("pipeline") and the job role ("job") the definition implies."""
    resolve = Resolver(definition)
    out: list[Access] = []
    for step in flat_steps(definition["Steps"]):
        name, kind = step["Name"], step["Type"]
        args = resolve(step.get("Arguments", {}))
        if kind in ("Processing", "Training"):
            job_kind = "processing-job" if kind == "Processing" else "training-job"
            api = "ProcessingJob" if kind == "Processing" else "TrainingJob"
            job_name = f"pipelines-{EXECUTION_ID}-{name.lower()}"
            job = f"arn:aws:sagemaker:{region}:{account}:{job_kind}/{job_name}"
            out += [
                Access("pipeline", f"sagemaker:{a}{api}", job, source=name)
                for a in ("Create", "Describe", "Stop")
            ]
            out.append(Access("pipeline", "sagemaker:AddTags", job, source=name))
            out.append(
                Access(
                    "pipeline",
                    "iam:PassRole",
                    args["RoleArn"],
                    (("iam:PassedToService", "sagemaker.amazonaws.com"),),
                    name,
                )
            )
            out += job_logs("job", f"{api}s", region, account, name)
        if kind == "Processing":
            for item in args.get("ProcessingInputs", []):
                out += s3_read("job", item["S3Input"]["S3Uri"], region, account, name)
            for item in args["ProcessingOutputConfig"]["Outputs"]:
                out += s3_write("job", item["S3Output"]["S3Uri"], name)
            out += ecr_pull("job", args["AppSpecification"]["ImageUri"], name)
            keys = [
                args["ProcessingResources"]["ClusterConfig"].get("VolumeKmsKeyId"),
                args["ProcessingOutputConfig"].get("KmsKeyId"),
            ]
        elif kind == "Training":
            for channel in args.get("InputDataConfig", []):
                out += s3_read("job", channel["DataSource"]["S3DataSource"]["S3Uri"], region, account, name)
            code = args.get("HyperParameters", {}).get("sagemaker_submit_directory")
            if code:
                out += s3_read("job", code, region, account, name)
            out += s3_write("job", args["OutputDataConfig"]["S3OutputPath"], name)
            if "CheckpointConfig" in args:
                out += s3_read("job", args["CheckpointConfig"]["S3Uri"], region, account, name)
                out += s3_write("job", args["CheckpointConfig"]["S3Uri"], name)
            out += ecr_pull("job", args["AlgorithmSpecification"]["TrainingImage"], name)
            keys = [args["ResourceConfig"].get("VolumeKmsKeyId"), args["OutputDataConfig"].get("KmsKeyId")]
        elif kind == "Transform":
            # The batch model runs as its ExecutionRoleArn (the job role): reads the input, writes the output.
            out += _job_control(name, "transform-job", "TransformJob", region, account)
            source = args["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
            out += s3_read("job", source, region, account, name)
            out += s3_write("job", args["TransformOutput"]["S3OutputPath"], name)
            keys = [
                args.get("TransformResources", {}).get("VolumeKmsKeyId"),
                args["TransformOutput"].get("KmsKeyId"),
            ]
        elif kind == "Tuning":
            tuning = "hyper-parameter-tuning-job"
            out += _job_control(name, tuning, "HyperParameterTuningJob", region, account)
            job = f"arn:aws:sagemaker:{region}:{account}:{tuning}/pipelines-{EXECUTION_ID}-{name.lower()}"
            out.append(
                Access("pipeline", "sagemaker:ListTrainingJobsForHyperParameterTuningJob", job, source=name)
            )
            definition_ = args["TrainingJobDefinition"]
            out.append(_pass_role(definition_["RoleArn"], name))
            out += job_logs("job", "TrainingJobs", region, account, name)
            for channel in definition_.get("InputDataConfig", []):
                out += s3_read("job", channel["DataSource"]["S3DataSource"]["S3Uri"], region, account, name)
            out += s3_write("job", definition_["OutputDataConfig"]["S3OutputPath"], name)
            out += ecr_pull("job", definition_["AlgorithmSpecification"]["TrainingImage"], name)
            keys = [
                definition_["ResourceConfig"].get("VolumeKmsKeyId"),
                definition_["OutputDataConfig"].get("KmsKeyId"),
            ]
        else:
            keys = []
        if kind == "Model":
            # CreateClassifierBatchModel: named by the service like the jobs; runs as the job role.
            model = f"arn:aws:sagemaker:{region}:{account}:model/pipelines-{EXECUTION_ID}-{name.lower()}"
            out += [
                Access("pipeline", f"sagemaker:{a}", model, source=name) for a in ("CreateModel", "AddTags")
            ]
            out.append(_pass_role(args["ExecutionRoleArn"], name))
            container = args["PrimaryContainer"]
            out += s3_read("job", container["ModelDataUrl"], region, account, f"{name} (served)")
            out += ecr_pull("job", container["Image"], f"{name} (served)")
        for key in filter(None, keys):
            out += kms_use("pipeline", key, ("CreateGrant", "DescribeKey"), region, account, name)
            out += kms_use("job", key, ("Decrypt", "GenerateDataKey"), region, account, name)
        if kind == "RegisterModel":
            group = args["ModelPackageGroupName"]
            values = {"ModelPackageGroupName": group, "ModelPackageName": f"{group}/1"}
            out += [
                Access("pipeline", "sagemaker:CreateModelPackage", a, source=name)
                for a in resource_arns("sagemaker", "CreateModelPackage", values, region, account)
            ]
            for container in args["InferenceSpecification"]["Containers"]:
                # The served model runs as the job role: it reads its artifact and pulls its image.
                out += s3_read("job", container["ModelDataUrl"], region, account, f"{name} (served)")
                out += ecr_pull("job", container["Image"], f"{name} (served)")
        if kind == "Lambda":
            out.append(Access("pipeline", "lambda:InvokeFunction", step["FunctionArn"], source=name))
        for prop in step.get("PropertyFiles", []):
            output = next(
                o for o in args["ProcessingOutputConfig"]["Outputs"] if o["OutputName"] == prop["OutputName"]
            )
            bucket, key = _s3(output["S3Output"]["S3Uri"])
            obj = f"arn:aws:s3:::{bucket}/{key.rstrip('/')}/{prop['FilePath']}"
            out.append(Access("pipeline", "s3:GetObject", obj, source=f"{name} property file"))
    return out


def _pass_role(role: str, source: str) -> Access:
    return Access(
        "pipeline", "iam:PassRole", role, (("iam:PassedToService", "sagemaker.amazonaws.com"),), source
    )


def _job_control(name: str, job_kind: str, api: str, region: str, account: str) -> list[Access]:
    """Create/Describe/Stop and AddTags of a job the service names `pipelines-<id>-<step>`."""
    job = f"arn:aws:sagemaker:{region}:{account}:{job_kind}/pipelines-{EXECUTION_ID}-{name.lower()}"
    out = [
        Access("pipeline", f"sagemaker:{a}{api}", job, source=name) for a in ("Create", "Describe", "Stop")
    ]
    return [*out, Access("pipeline", "sagemaker:AddTags", job, source=name)]

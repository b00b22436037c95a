"""A tiny project for the runner's own tests: four stdlib scripts and a hand-written definition.

It has the shape of the real pipeline (Processing -> Training -> Processing with a property file ->
Condition -> RegisterModel / Model / EndpointConfig / Endpoint, else Fail) with jobs that take tens of
milliseconds, so scheduling, caching, resume and serving are tested without training anything.

    CountA (input a/) ──┐
                        ├─► Train ─► Evaluate ─► Gate ─┬─ if: Register ─► Model ─► Config ─► Deploy
    CountB (input b/) ──┘                              └─ else: BelowThreshold (Fail)

Scripts append their name to the file named by DEMO_CALLS (to count runs) and fail on request when
DEMO_FAIL names them. When DEMO_HANG names one, it starts a child of its own, writes "<its pid> <the
child's pid>" to the file named by DEMO_HANG_PIDS and sleeps (the interrupt tests stop it mid-step).

`SHOUT` is a toy step type of the project's own (a job that upper-cases its input), added to the runner
the documented way, one handler and one row in `step_types.STEP_KINDS`; `with_shout` adds a step of
that type to the definition.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pipelines.local.handlers import Outcome, StepCall, StepKind
from pipelines.local.job_steps import Job, run_job
from pipelines.local.processes import JobPlan, child_environment

BUCKET = "s3://demo-bucket/demo"
CODE_URI = f"{BUCKET}/code/0123456789ab/"
ENDPOINT = "demo-endpoint"
GROUP = "demo-group"

_PRELUDE = """
import json, os, sys
from pathlib import Path

def _called(name):
    calls = os.environ.get("DEMO_CALLS")
    if calls:
        with open(calls, "a") as handle:
            handle.write(name + "\\n")
    if os.environ.get("DEMO_FAIL") == name:
        print(f"demo failure requested for {name}")
        sys.exit(3)
    if os.environ.get("DEMO_HANG") == name:
        import subprocess, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        pids = Path(os.environ["DEMO_HANG_PIDS"])
        pids.with_suffix(".tmp").write_text(f"{os.getpid()} {child.pid}")
        pids.with_suffix(".tmp").replace(pids)
        time.sleep(600)
"""

SCRIPTS = {
    "containers/demo/count.py": _PRELUDE
    + """
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--input"); parser.add_argument("--output"); parser.add_argument("--name")
args = parser.parse_args()
_called(args.name)
words = sum(len(f.read_text().split()) for f in sorted(Path(args.input).rglob("*")) if f.is_file())
Path(args.output).mkdir(parents=True, exist_ok=True)
(Path(args.output) / "counts.json").write_text(json.dumps({"words": words}))
""",
    "containers/demo/train.py": _PRELUDE
    + """
import argparse
parser = argparse.ArgumentParser()
for flag in ("--epochs", "--scale", "--use_bias", "--checkpoint_dir"):
    parser.add_argument(flag)
args = parser.parse_args()
_called("Train")
words = json.loads((Path(os.environ["SM_CHANNEL_TRAIN"]) / "counts.json").read_text())["words"]
extra = json.loads((Path(os.environ["SM_CHANNEL_EXTRA"]) / "counts.json").read_text())["words"]
model = Path(os.environ["SM_MODEL_DIR"])
(model / "code").mkdir(parents=True, exist_ok=True)
(model / "model.json").write_text(json.dumps({"words": words, "epochs": args.epochs}))
(model / "code" / "inference.py").write_text((Path(__file__).parent / "handler.py").read_text())
seen = {"argv": sys.argv[1:], "extra_words": extra,
        "env": {k: v for k, v in os.environ.items() if k.startswith("SM_") or k == "OMP_NUM_THREADS"}}
out = Path(os.environ["SM_OUTPUT_DATA_DIR"]); out.mkdir(parents=True, exist_ok=True)
(out / "seen.json").write_text(json.dumps(seen))
Path(args.checkpoint_dir).mkdir(parents=True, exist_ok=True)
(Path(args.checkpoint_dir) / "last.txt").write_text("epoch 3")
print("METRIC loss=0.25 step=3")
print(f"METRIC fit={-abs(float(args.epochs) - 7):.6f}")  # what a tuning of the epochs maximises
""",
    "containers/demo/evaluate.py": _PRELUDE
    + """
import argparse, tarfile
parser = argparse.ArgumentParser()
parser.add_argument("--model"); parser.add_argument("--output")
args = parser.parse_args()
_called("Evaluate")
with tarfile.open(Path(args.model) / "model.tar.gz") as archive:
    model = json.load(archive.extractfile("model.json"))
score = round(model["words"] / 10, 2)
Path(args.output).mkdir(parents=True, exist_ok=True)
(Path(args.output) / "evaluation.json").write_text(json.dumps({"demo_metrics": {"score": {"value": score}}}))
""",
    "containers/demo/shout.py": _PRELUDE
    + """
source, target = Path(sys.argv[1]), Path(sys.argv[2])
_called("Shout")
for file in sorted(f for f in source.rglob("*") if f.is_file()):
    (target / file.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
    (target / file.relative_to(source)).write_text(file.read_text().upper())
""",
    "containers/demo/handler.py": """
import json
from pathlib import Path

class ClientError(ValueError):
    status_code = 400

def model_fn(model_dir):
    return json.loads((Path(model_dir) / "model.json").read_text())

def input_fn(body, content_type):
    if content_type == "application/jsonlines":  # a batch transform's MultiRecord request
        return {"lines": [json.loads(line) for line in body.splitlines() if line.strip()]}
    if content_type != "application/json":
        error = ClientError(f"send application/json, not {content_type}")
        error.status_code = 415
        raise error
    data = json.loads(body)
    if "text" not in data:
        raise ClientError("send {\\"text\\": ...}")
    return data

def predict_fn(data, model):
    if "lines" in data:
        return [{"echo": line["text"].upper(), "epochs": model["epochs"]} for line in data["lines"]]
    return {"echo": data["text"], "words": model["words"]}

def output_fn(prediction, accept):
    if accept == "application/jsonlines":
        return "".join(json.dumps(p) + "\\n" for p in prediction)
    return json.dumps(prediction)
""",
    "conf/characters.yaml": "characters: []\n",
    "conf/themes.yaml": "themes: []\n",
}


def write_project(root: Path) -> Path:
    """The demo repository (scripts and conf files) under `root`."""
    for name, text in SCRIPTS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip(), encoding="utf-8")
    return root


def write_data(folder: Path) -> Path:
    """Input data: a/ (5 words) and b/ (3 words)."""
    (folder / "a").mkdir(parents=True, exist_ok=True)
    (folder / "b").mkdir(parents=True, exist_ok=True)
    (folder / "a" / "one.txt").write_text("the quick brown fox jumps")
    (folder / "b" / "two.txt").write_text("over lazy dogs")
    return folder


def _get(ref: str) -> dict[str, str]:
    return {"Get": ref}


def _run_uri(step: str, output: str) -> dict[str, Any]:
    return {
        "Std:Join": {
            "On": "/",
            "Values": [BUCKET, "runs", _get("Execution.PipelineExecutionId"), step, output],
        }
    }


def _input(name: str, uri: Any, local: str | None = None) -> dict[str, Any]:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local or f"/opt/ml/processing/input/{name}",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
        },
    }


def _processing(
    name: str, script: str, args: list[Any], inputs: list[dict[str, Any]], output: str, **extra: Any
) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
            },
            "AppSpecification": {
                "ImageUri": "demo-image",
                "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/containers/demo/{script}"],
                "ContainerArguments": args,
            },
            "RoleArn": "arn:aws:iam::123456789012:role/demo",
            "ProcessingInputs": [*inputs, _input("code", CODE_URI, "/opt/ml/processing/input/code")],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": output,
                        "AppManaged": False,
                        "S3Output": {
                            "S3Uri": _run_uri(name, output),
                            "LocalPath": f"/opt/ml/processing/output/{output}",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        },
        "CacheConfig": {"Enabled": True, "ExpireAfter": "P30D"},
        **extra,
    }


def _count(name: str, folder: str) -> dict[str, Any]:
    source = {"Std:Join": {"On": "/", "Values": [_get("Parameters.InputDataUri"), folder]}}
    return _processing(
        name,
        "count.py",
        [
            "--input",
            "/opt/ml/processing/input/data",
            "--output",
            "/opt/ml/processing/output/counts",
            "--name",
            name,
        ],
        [_input("data", source)],
        "counts",
    )


def _counts_of(step: str) -> dict[str, str]:
    return _get(f"Steps.{step}.ProcessingOutputConfig.Outputs['counts'].S3Output.S3Uri")


def _channel(name: str, uri: Any) -> dict[str, Any]:
    return {"ChannelName": name, "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}


TRAIN = {
    "Name": "Train",
    "Type": "Training",
    "Arguments": {
        "AlgorithmSpecification": {
            "TrainingImage": "demo-image",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "loss", "Regex": "METRIC loss=([-+0-9.eE]+)"}],
        },
        "HyperParameters": {
            "sagemaker_program": "containers/demo/train.py",
            "sagemaker_submit_directory": CODE_URI + "sourcedir.tar.gz",
            "epochs": "3",
            "use_bias": "true",
            "scale": {"Std:Join": {"On": "", "Values": [_get("Parameters.Scale")]}},
        },
        "InputDataConfig": [_channel("train", _counts_of("CountA")), _channel("extra", _counts_of("CountB"))],
        "OutputDataConfig": {"S3OutputPath": _run_uri("Train", "model")},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "CheckpointConfig": {"S3Uri": f"{BUCKET}/checkpoints/Train", "LocalPath": "/opt/ml/checkpoints"},
    },
    "CacheConfig": {"Enabled": True, "ExpireAfter": "P30D"},
}

SCORE = {
    "Std:JsonGet": {
        "PropertyFile": _get("Steps.Evaluate.PropertyFiles.Report"),
        "Path": "demo_metrics.score.value",
    }
}
MODEL_DATA = _get("Steps.Train.ModelArtifacts.S3ModelArtifacts")

IF_STEPS = [
    {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": GROUP,
            "ModelApprovalStatus": _get("Parameters.ApprovalStatus"),
            "InferenceSpecification": {
                "Containers": [
                    {"Image": "demo-image", "ModelDataUrl": MODEL_DATA, "Environment": {"GREETING": "hi"}}
                ]
            },
            "ModelMetrics": {
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": {
                            "Std:Join": {
                                "On": "/",
                                "Values": [
                                    _get(
                                        "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"
                                    ),
                                    "evaluation.json",
                                ],
                            }
                        },
                    }
                }
            },
        },
    },
    {
        "Name": "CreateModel",
        "Type": "Model",
        "Arguments": {
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/demo",
            "PrimaryContainer": {"Image": "demo-image", "ModelDataUrl": MODEL_DATA},
        },
        "DependsOn": ["Register"],
    },
    {
        "Name": "Config",
        "Type": "EndpointConfig",
        "Arguments": {
            "EndpointConfigName": {
                "Std:Join": {"On": "-", "Values": ["demo", _get("Execution.PipelineExecutionId")]}
            },
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": _get("Steps.CreateModel.ModelName"),
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        },
    },
    {
        "Name": "Deploy",
        "Type": "Endpoint",
        "Arguments": {
            "EndpointName": ENDPOINT,
            "EndpointConfigName": _get("Steps.Config.EndpointConfigName"),
        },
    },
]

ELSE_STEPS = [
    {
        "Name": "BelowThreshold",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {
                "Std:Join": {
                    "On": "",
                    "Values": ["score ", SCORE, " is below ", _get("Parameters.Threshold")],
                }
            }
        },
    }
]


def definition(data_dir: Path) -> dict[str, Any]:
    """The demo pipeline's definition JSON, reading its inputs from `data_dir`."""
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [
            {"Name": "InputDataUri", "Type": "String", "DefaultValue": str(data_dir)},
            {"Name": "Scale", "Type": "Float", "DefaultValue": 0.5},
            {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.3},
            {
                "Name": "ApprovalStatus",
                "Type": "String",
                "DefaultValue": "Approved",
                "EnumValues": ["Approved", "Rejected", "PendingManualApproval"],
            },
        ],
        "Steps": [
            _count("CountA", "a"),
            _count("CountB", "b"),
            TRAIN,
            _processing(
                "Evaluate",
                "evaluate.py",
                [
                    "--model",
                    "/opt/ml/processing/input/model",
                    "--output",
                    "/opt/ml/processing/output/evaluation",
                ],
                [_input("model", MODEL_DATA)],
                "evaluation",
                PropertyFiles=[
                    {"PropertyFileName": "Report", "OutputName": "evaluation", "FilePath": "evaluation.json"}
                ],
            ),
            {
                "Name": "Gate",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "GreaterThanOrEqualTo",
                            "LeftValue": SCORE,
                            "RightValue": _get("Parameters.Threshold"),
                        }
                    ],
                    "IfSteps": IF_STEPS,
                    "ElseSteps": ELSE_STEPS,
                },
            },
        ],
    }


# -- a step type of the demo's own --------------------------------------------------------------------


def run_shout(call: StepCall) -> Outcome:
    """The handler of the toy type: a container job that upper-cases every file under its Input."""
    args, storage = call.args, call.services.storage
    text = storage.container_path(call.name, "/opt/ml/input/text")
    shouted = storage.container_path(call.name, "/opt/ml/output/shout")
    script = call.services.repo_root / "containers" / "demo" / "shout.py"
    plan = JobPlan(
        step=call.name,
        command=[sys.executable, str(script), str(text), str(shouted)],
        environment=child_environment({}),
        cwd=storage.step_dir(call.name),
        inputs=[(call.services.locate(str(args["Input"])), text)],
        outputs=[(shouted, str(args["Output"]))],
    )
    job = Job(
        plan=plan,
        what="shout job",
        inputs=[str(args["Input"])],
        results={"output": storage.local_path(str(args["Output"]))},
        properties=lambda _metrics: {**args, "ShoutStatus": "Completed"},
    )
    return run_job(call, job)


SHOUT = StepKind("Shout", run_shout, is_job=True, destinations=("Output",))


def with_shout(definition: dict[str, Any]) -> dict[str, Any]:
    """The demo definition plus a Shout step of CountA's counts, written under the ShoutFolder parameter."""
    output = {"Std:Join": {"On": "/", "Values": [BUCKET, "shout", _get("Parameters.ShoutFolder")]}}
    shout = {"Name": "Shout", "Type": "Shout", "Arguments": {"Input": _counts_of("CountA"), "Output": output}}
    return {
        **definition,
        "Parameters": [
            *definition["Parameters"],
            {"Name": "ShoutFolder", "Type": "String", "DefaultValue": "one"},
        ],
        "Steps": [*definition["Steps"], {**shout, "CacheConfig": {"Enabled": True, "ExpireAfter": "P1D"}}],
    }

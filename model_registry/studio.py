"""What the notebooks call: one API over SageMaker (in Studio) and the local backend (anywhere else).

    ws = Workspace.open()                      # backend from STNLP_BACKEND, else detected
    run = ws.start_execution({"ChatbotEpochs": "1"})
    ws.execution_steps(run)                    # [{"name", "status", ...}, ...]
    ws.read_output(run, "ExtractEntities", "entities", "graph.json")
    ws.invoke("chatbot", {"messages": [{"role": "user", "content": "Where is Will?"}]})

Environment variables: STNLP_BACKEND (local | sagemaker), STNLP_ENV (config environment; default
local for the local backend, dev for SageMaker), STNLP_HOME (local runs and registry; default .local).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from conf import load_config
from conf.schema import Config
from model_registry.backend import RegistryBackend, open_registry
from model_registry.naming import endpoint_name, pipeline_name
from model_registry.review import ReviewResult, review

REPO_ROOT = Path(__file__).resolve().parents[1]
STUDIO_METADATA = Path("/opt/ml/metadata/resource-metadata.json")


def choose_backend(environ: Mapping[str, str] = os.environ, studio_metadata: Path = STUDIO_METADATA) -> str:
    """STNLP_BACKEND when set; else 'sagemaker' inside SageMaker Studio (its metadata file exists)."""
    chosen = environ.get("STNLP_BACKEND")
    if chosen:
        if chosen not in ("local", "sagemaker"):
            raise ValueError(f"STNLP_BACKEND={chosen!r}: use local or sagemaker")
        return chosen
    return "sagemaker" if studio_metadata.is_file() else "local"


def output_uri(step_properties: dict[str, Any], output: str) -> str:
    """The S3 URI of a processing step's named output (DescribeProcessingJob's shape)."""
    outputs = step_properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for entry in outputs:
        if entry.get("OutputName") == output:
            return str(entry["S3Output"]["S3Uri"])
    names = ", ".join(str(e.get("OutputName")) for e in outputs) or "none"
    raise KeyError(f"the step has no output {output!r} (outputs: {names})")


def step_rows(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ListPipelineExecutionSteps entries as the notebooks show them: started steps first, by start time."""

    def order(step: dict[str, Any]) -> tuple[bool, str]:
        started = step.get("StartTime")
        return started is None, started.isoformat() if started is not None else step["StepName"]

    return [
        {
            "name": step["StepName"],
            "status": step["StepStatus"],
            "cache": "hit" if step.get("CacheHitResult") else "-",
            "message": step.get("FailureReason", ""),
        }
        for step in sorted(steps, key=order)
    ]


@dataclass
class Workspace:
    """The registry, the pipeline's executions and the endpoints of one environment."""

    backend: str
    cfg: Config
    home: Path = Path(".local")
    session: Any = None
    _registry: RegistryBackend | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls, backend: str | None = None, env: str | None = None, home: Path | str | None = None
    ) -> Workspace:
        backend = backend or choose_backend()
        env = env or os.environ.get("STNLP_ENV") or ("local" if backend == "local" else "dev")
        home = Path(home or os.environ.get("STNLP_HOME") or REPO_ROOT / ".local")
        cfg = load_config(env)
        session = None
        if backend == "sagemaker":
            import boto3

            session = boto3.session.Session(region_name=cfg.project.region)
        return cls(backend, cfg, home, session)

    @property
    def registry(self) -> RegistryBackend:
        if self._registry is None:
            if self.backend == "local":
                self._registry = open_registry("local", db_path=self.home / "registry.db")
            else:
                from model_registry.sagemaker_backend import SageMakerRegistry

                self._registry = SageMakerRegistry(
                    self.session.client("sagemaker"), self.session.client("s3")
                )
        return self._registry

    @property
    def pipeline_name(self) -> str:
        return pipeline_name(self.cfg.project.name, self.cfg.env)

    def endpoint_name(self, model: str) -> str:
        return endpoint_name(self.cfg.project.name, model, self.cfg.env)

    # ---- executions ---------------------------------------------------------------------------

    def start_execution(self, parameters: Mapping[str, str] | None = None) -> str:
        """Start the pipeline with `parameters`; returns the execution's id (local run folder name or ARN).

        Locally this runs the whole DAG in a subprocess (`python -m pipelines run-local`) and returns
        when it ends; on SageMaker it returns at once.
        """
        params = {k: str(v) for k, v in (parameters or {}).items()}
        if self.backend == "local":
            command = [
                sys.executable,
                "-m",
                "pipelines",
                "run-local",
                "--env",
                self.cfg.env,
                "--home",
                str(self.home),
            ]
            command += [arg for name, value in params.items() for arg in ("--param", f"{name}={value}")]
            completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
            print(completed.stdout[-4000:])
            if completed.returncode not in (0, 1):  # 1: the run itself failed, its steps say why
                raise RuntimeError(f"run-local failed to start: {completed.stderr[-2000:]}")
            return self.latest_execution()
        answer = self.session.client("sagemaker").start_pipeline_execution(
            PipelineName=self.pipeline_name,
            PipelineParameters=[{"Name": k, "Value": v} for k, v in params.items()],
        )
        return str(answer["PipelineExecutionArn"])

    def latest_execution(self) -> str:
        if self.backend == "local":
            runs = sorted(p for p in (self.home / "runs").glob("*") if (p / "state.json").is_file())
            if not runs:
                raise FileNotFoundError(
                    f"no local runs under {self.home / 'runs'}: run `make run-local` first"
                )
            return runs[-1].name
        answer = self.session.client("sagemaker").list_pipeline_executions(
            PipelineName=self.pipeline_name, SortBy="CreationTime", SortOrder="Descending", MaxResults=1
        )
        summaries = answer["PipelineExecutionSummaries"]
        if not summaries:
            raise LookupError(f"pipeline {self.pipeline_name} has no executions yet")
        return str(summaries[0]["PipelineExecutionArn"])

    def _local_state(self, execution: str) -> dict[str, Any]:
        return json.loads((self.home / "runs" / execution / "state.json").read_text(encoding="utf-8"))

    def execution_status(self, execution: str) -> str:
        if self.backend == "local":
            return str(self._local_state(execution)["status"])
        answer = self.session.client("sagemaker").describe_pipeline_execution(PipelineExecutionArn=execution)
        return str(answer["PipelineExecutionStatus"])

    def execution_steps(self, execution: str) -> list[dict[str, Any]]:
        """Each step: name, status, and a message (failure reason or what it did)."""
        if self.backend == "local":
            steps = self._local_state(execution)["steps"]
            return [
                {
                    "name": name,
                    "status": s["status"],
                    "cache": s.get("cache", "-"),
                    "message": s.get("message", ""),
                }
                for name, s in steps.items()
            ]
        return step_rows(self._sagemaker_steps(execution))

    # ---- outputs ------------------------------------------------------------------------------

    def _sagemaker_steps(self, execution: str) -> list[dict[str, Any]]:
        client = self.session.client("sagemaker")
        pages = client.get_paginator("list_pipeline_execution_steps").paginate(PipelineExecutionArn=execution)
        return [s for page in pages for s in page["PipelineExecutionSteps"]]

    def _step_properties(self, execution: str, step: str) -> dict[str, Any]:
        """The step's processing job as DescribeProcessingJob shows it (locally: its resolved request)."""
        if self.backend == "local":
            steps = self._local_state(execution)["steps"]
            if step not in steps:
                raise KeyError(f"no step {step!r} in run {execution}")
            return dict(steps[step]["properties"])
        for row in self._sagemaker_steps(execution):
            if row["StepName"] == step:
                job = row["Metadata"]["ProcessingJob"]["Arn"].split("/")[-1]
                return self.session.client("sagemaker").describe_processing_job(ProcessingJobName=job)
        raise KeyError(f"no step {step!r} in execution {execution}")

    def read_output(self, execution: str, step: str, output: str, filename: str) -> bytes:
        """One file of a processing step's output, from the run folder or from S3."""
        uri = output_uri(self._step_properties(execution, step), output).rstrip("/") + "/" + filename
        parsed = urlparse(uri)
        if self.backend == "local":
            path = self.home / "runs" / execution / "s3" / parsed.netloc / parsed.path.lstrip("/")
            return path.read_bytes()
        body = self.session.client("s3").get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"]
        return body.read()

    # ---- review and endpoints -----------------------------------------------------------------

    def review(self, group: str, version: int, status: str, note: str = "") -> ReviewResult:
        """Approve or reject; locally the deploy handler runs at once (see model_registry.review)."""
        return review(self.backend, self.cfg, self.registry, group, version, status, note)

    def invoke(self, model: str, payload: dict[str, Any]) -> Any:
        """Send one JSON request to the environment's endpoint of `model`; returns the JSON answer."""
        name = self.endpoint_name(model)
        body = json.dumps(payload).encode("utf-8")
        if self.backend == "local":
            from model_registry.local import LocalRegistry
            from model_registry.local_endpoints import EndpointPool

            pool = EndpointPool(LocalRegistry(self.home / "registry.db"))
            answer, _ = pool.get(name).invoke(body, "application/json", "application/json")
            return json.loads(answer)
        runtime = self.session.client("sagemaker-runtime")
        response = runtime.invoke_endpoint(
            EndpointName=name, ContentType="application/json", Accept="application/json", Body=body
        )
        return json.loads(response["Body"].read())

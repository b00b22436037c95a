"""The workspace over AWS: the pipeline's executions, S3 outputs and endpoints through boto3."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from conf.schema import Config
from model_registry.backend import SageMakerBackend
from workspace.base import Workspace, output_uri


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


class SageMakerWorkspace(Workspace):
    """Executions are SageMaker pipeline executions (ARNs); outputs are read from S3."""

    backend: SageMakerBackend

    def __init__(self, cfg: Config, session: Any | None = None) -> None:
        super().__init__(cfg, SageMakerBackend.open(cfg, session))
        self.session = self.backend.session

    def start_execution(self, parameters: Mapping[str, str] | None = None) -> str:
        """Start the pipeline; returns its execution ARN at once."""
        params = {k: str(v) for k, v in (parameters or {}).items()}
        answer = self.session.client("sagemaker").start_pipeline_execution(
            PipelineName=self.pipeline_name,
            PipelineParameters=[{"Name": k, "Value": v} for k, v in params.items()],
        )
        return str(answer["PipelineExecutionArn"])

    def latest_execution(self) -> str:
        answer = self.session.client("sagemaker").list_pipeline_executions(
            PipelineName=self.pipeline_name, SortBy="CreationTime", SortOrder="Descending", MaxResults=1
        )
        summaries = answer["PipelineExecutionSummaries"]
        if not summaries:
            raise LookupError(f"pipeline {self.pipeline_name} has no executions yet")
        return str(summaries[0]["PipelineExecutionArn"])

    def execution_status(self, execution: str) -> str:
        answer = self.session.client("sagemaker").describe_pipeline_execution(PipelineExecutionArn=execution)
        return str(answer["PipelineExecutionStatus"])

    def execution_steps(self, execution: str) -> list[dict[str, Any]]:
        return step_rows(self._steps(execution))

    def _steps(self, execution: str) -> list[dict[str, Any]]:
        client = self.session.client("sagemaker")
        pages = client.get_paginator("list_pipeline_execution_steps").paginate(PipelineExecutionArn=execution)
        return [s for page in pages for s in page["PipelineExecutionSteps"]]

    def _step_properties(self, execution: str, step: str) -> dict[str, Any]:
        """The step's processing job as DescribeProcessingJob shows it."""
        for row in self._steps(execution):
            if row["StepName"] == step:
                job = row["Metadata"]["ProcessingJob"]["Arn"].split("/")[-1]
                return self.session.client("sagemaker").describe_processing_job(ProcessingJobName=job)
        raise KeyError(f"no step {step!r} in execution {execution}")

    def read_output(self, execution: str, step: str, output: str, filename: str) -> bytes:
        uri = output_uri(self._step_properties(execution, step), output).rstrip("/") + "/" + filename
        parsed = urlparse(uri)
        body = self.session.client("s3").get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"]
        return body.read()

    def invoke(self, model: str, payload: dict[str, Any]) -> Any:
        response = self.session.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=self.endpoint_name(model),
            ContentType="application/json",
            Accept="application/json",
            Body=json.dumps(payload).encode("utf-8"),
        )
        return json.loads(response["Body"].read())

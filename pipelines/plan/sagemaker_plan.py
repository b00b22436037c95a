"""`make plan ENV=...`: the definition this tree builds against the deployed one, and the next execution.

Read-only AWS calls (DescribePipeline, ListPipelineExecutions, ListPipelineExecutionSteps,
DescribeProcessingJob, S3 ListObjectsV2/GetObject); without credentials or network, or with no pipeline
deployed, it says so in one line and plans against nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from conf.schema import Config
from containers.processing.fingerprint_data import DEFAULT_FOLDERS
from model_registry.naming import pipeline_name
from pipelines.plan.cache_plan import Execution, plan_execution
from pipelines.plan.cost import PriceTable
from pipelines.plan.deployed import deployed_definition, last_execution, previous_execution, s3_fingerprints
from pipelines.plan.diff import diff_definitions
from pipelines.plan.report import plan_table

LOG = logging.getLogger(__name__)


def sagemaker_plan(
    cfg: Config, boto_session: Any | None = None, definition: dict[str, Any] | None = None
) -> str:
    """The plan's text for `cfg`'s environment (see the module docstring)."""
    if definition is None:
        from pipelines.definition import definition_json

        definition = json.loads(definition_json(cfg))
    name = pipeline_name(cfg.project.name, cfg.env)
    header, deployed, last, fingerprints = "", None, None, None
    try:
        import boto3

        session = boto_session or boto3.session.Session(region_name=cfg.project.region)
        sm, s3 = session.client("sagemaker"), session.client("s3")
        deployed = deployed_definition(sm, name)
        if deployed is None:
            header = f"pipeline {name} is not deployed: planning against nothing"
        else:
            header = f"plan against the deployed pipeline {name}"
            last = last_execution(sm, s3, name)
            parameters = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
            fingerprints = s3_fingerprints(s3, str(parameters["InputDataUri"]), DEFAULT_FOLDERS, last)
    except (BotoCoreError, ClientError) as exc:
        # The outer boundary of a read-only preview: any AWS failure means "nothing known", said once.
        header = f"no AWS access ({type(exc).__name__}): planning against nothing"
    parameters = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
    current = Execution(definition, parameters, fingerprints)
    previous = previous_execution(deployed, last) if deployed is not None else None
    changes = diff_definitions(deployed, definition)
    table = PriceTable.load(cfg.project.region)
    durations = dict(previous.durations) if previous is not None else {}
    return "\n".join(
        [
            header,
            "",
            "Definition changes (deployed -> this tree):",
            *(f"  {line}" for line in changes or ["none"]),
            "",
            "Next execution with the current data:",
            plan_table(plan_execution(current, previous), durations, table),
        ]
    )

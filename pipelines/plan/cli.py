"""The plan's commands, registered into `python -m pipelines` by `add_commands` (as the local runner's are):

python -m pipelines plan --env dev                  # make plan ENV=dev: diff, cache hits/recomputes, cost
python -m pipelines upsert --env dev [--yes]        # prints the plan and asks first (make upsert-pipeline)
python -m pipelines run-local --plan                # make run-local ARGS="--plan": the local run's plan

This layer sits above the local runner (it shares its cache-key rules), so it wraps the commands below it
instead of being imported by them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Command = Callable[[argparse.Namespace], int]
REFUSAL = "upsert: not applied: stdin is not a terminal to confirm on; rerun with YES=1"


def add_commands(subparsers: Any) -> None:
    """Give `plan` its handler; make `upsert` ask first and `run-local` accept --plan."""
    choices = subparsers.choices
    if "plan" in choices:
        choices["plan"].set_defaults(func=cmd_plan)
    if "upsert" in choices:
        upsert = choices["upsert"]
        upsert.add_argument(
            "--yes", action="store_true", help="apply without asking (make upsert-pipeline YES=1)"
        )
        upsert.set_defaults(func=confirming(upsert.get_default("func")))
    if "run-local" in choices:
        run = choices["run-local"]
        run.add_argument(
            "--plan",
            action="store_true",
            help="print which steps would hit the cache and which would recompute, and why; run nothing",
        )
        run.set_defaults(func=planning(run.get_default("func")))


def cmd_plan(args: argparse.Namespace) -> int:
    from pipelines.commands import _config
    from pipelines.plan.sagemaker_plan import sagemaker_plan

    # Read-only, and it degrades to "planning against nothing": placeholders need not be refused here.
    print(sagemaker_plan(_config(args)))
    return 0


def confirming(apply: Command) -> Command:
    """`apply` (the upsert) after the plan and a yes; --yes skips the question, a non-terminal refuses."""

    def upsert(args: argparse.Namespace) -> int:
        if not getattr(args, "yes", False):
            from pipelines.commands import _config
            from pipelines.plan.sagemaker_plan import sagemaker_plan

            print(sagemaker_plan(_config(args, for_aws=True)))
            if not sys.stdin.isatty():
                print(REFUSAL, file=sys.stderr)
                return 2
            if input("Apply this plan? [y/N] ").strip().lower() not in ("y", "yes"):
                print("upsert: not applied", file=sys.stderr)
                return 1
        return apply(args)

    return upsert


def planning(run: Command) -> Command:
    """run-local, or with --plan its plan against the last local run."""

    def run_local(args: argparse.Namespace) -> int:
        if not getattr(args, "plan", False):
            return run(args)
        from pipelines.local.cli import data_override
        from pipelines.local.dag import DefinitionError, load_definition, parse_assignments
        from pipelines.local.definition_source import build_definition
        from project.bundle import REPO_ROOT

        try:
            overrides = parse_assignments(args.param)
            if args.data:
                overrides["InputDataUri"] = data_override(Path(args.data))
            definition = (
                load_definition(args.definition)
                if args.definition
                else build_definition(args.env, args.home, REPO_ROOT)
            )
            print(local_plan(definition, overrides, args.home, args.env))
        except (DefinitionError, FileNotFoundError, ValueError) as exc:
            print(f"run-local --plan: {exc}", file=sys.stderr)
            return 2
        return 0

    return run_local


def local_plan(definition: dict[str, Any], overrides: dict[str, str], home: Path, env: str) -> str:
    """The plan of the next local run against the last run under `home` (none yet: everything runs)."""
    from conf import load_config
    from pipelines.local.runner import latest_run
    from pipelines.plan.cache_plan import plan_execution
    from pipelines.plan.cost import PriceTable
    from pipelines.plan.local_baseline import next_local_run, previous_local_run
    from pipelines.plan.report import plan_table

    current = next_local_run(definition, overrides)
    try:
        run_dir = latest_run(home)
    except FileNotFoundError:
        previous, header = None, f"no previous run under {home / 'runs'}: planning against nothing"
    else:
        previous, header = previous_local_run(run_dir), f"plan against the last run {run_dir}"
    durations = dict(previous.durations) if previous else {}
    table = PriceTable.load(load_config(env).project.region)
    body = plan_table(plan_execution(current, previous), durations, table)
    note = "(costs: what these steps would cost on SageMaker; locally they run on this machine)"
    return f"{header}\n{note}\n{body}"

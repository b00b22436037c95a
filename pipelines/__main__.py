"""`python -m pipelines <command> --env ENV`: the pipeline's CLI (the Makefile's targets call it).

    python -m pipelines definition --env dev --out build/definition-dev.json   # offline, deterministic
    python -m pipelines validate --env prod             # botocore shapes + enums + documented service rules
    python -m pipelines upsert --env dev                                       # uploads code, prints the ARN
    python -m pipelines start --env dev --param ChatbotEpochs=1
    python -m pipelines diagram --env dev
    python -m pipelines iam-policy --env dev
    python -m pipelines build-containers --env dev [--dry-run]

The SageMaker SDK is imported only by the commands that need it (it takes seconds to import). The local
runner's commands (run-local, serve-local) are registered by pipelines/local/cli.py when it is present.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from conf import CONF_DIR, ENVIRONMENTS, ConfigError
from pipelines import commands
from project.aws_errors import explain

LOCAL_CLI = "pipelines.local.cli"
PLAN_CLI = "pipelines.plan.cli"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument(
            "--env", default="dev", choices=ENVIRONMENTS, help="configuration overlay (conf/<env>.yaml)"
        )
        command.add_argument(
            "--conf-dir", default=str(CONF_DIR), help="configuration folder (default: the repository's conf/)"
        )
        return command

    definition = add("definition", "write the pipeline definition JSON (offline, deterministic)")
    definition.add_argument("--out", help="file to write (default: standard output)")
    definition.set_defaults(func=commands.cmd_definition)

    validate = add(
        "validate",
        "check every step against botocore's SageMaker service model (enums included) and the documented "
        "service rules (pipelines/service_rules.py)",
    )
    validate.add_argument("--definition", help="a definition JSON file (default: build the one of --env)")
    validate.set_defaults(func=commands.cmd_validate)

    add("plan", "diff against the deployed pipeline; predict cache hits, recomputes and cost (read-only)")
    # Its handler, and upsert's confirmation, come from pipelines.plan (above the local runner, whose
    # cache rules it shares): registered by _add_layer_commands, like run-local.

    upsert = add(
        "upsert", "print the plan, ask, then upload the code bundles and create or update the pipeline"
    )
    upsert.set_defaults(func=commands.cmd_upsert)

    start = add("start", "start an execution, overriding parameters with --param Name=value")
    start.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="repeatable")
    start.add_argument("--display-name", help="execution display name")
    start.set_defaults(func=commands.cmd_start)

    smoke = add(
        "smoke-aws", "preflight, upsert and run a CPU/tiny-model smoke variant, report cost, clean up"
    )
    smoke.add_argument(
        "--keep", action="store_true", help="keep the smoke pipeline and its registered versions"
    )
    smoke.add_argument("--poll-s", type=float, default=30.0, help="seconds between progress polls")
    smoke.set_defaults(func=commands.cmd_smoke_aws)

    diagram = add("diagram", "draw the DAG as mermaid (docs/pipeline.mmd and the README block)")
    diagram.add_argument("--out", default="docs/pipeline.mmd", help="mermaid file to write")
    diagram.add_argument(
        "--readme", default="README.md", help="README whose mermaid block to refresh ('' to skip)"
    )
    diagram.set_defaults(func=commands.cmd_diagram)

    iam = add("iam-policy", "print a role's least-privilege policy (JSON): the job role or the pipeline role")
    iam.add_argument(
        "--role", choices=("job", "pipeline"), default="job", help="job: what job code runs as (default)"
    )
    iam.set_defaults(func=commands.cmd_iam_policy)

    build = add("build-containers", "build the project images (FROM the AWS DLCs) and push them to ECR")
    build.add_argument(
        "--dry-run", action="store_true", help="print the docker commands without running them"
    )
    build.add_argument("--no-push", action="store_true", help="build only")
    build.set_defaults(func=commands.cmd_build_containers)

    for cli in (LOCAL_CLI, PLAN_CLI):  # the plan wraps run-local and upsert: it goes last
        _add_layer_commands(sub, cli)
    return parser


def _add_layer_commands(sub: argparse._SubParsersAction, cli: str) -> None:
    """Let a layer above this one (the local runner: run-local / serve-local; the plan: plan, upsert's
    confirmation, run-local --plan) register its commands, if it is installed in this tree."""
    if importlib.util.find_spec(cli.rsplit(".", 1)[0]) is None:
        return
    try:
        spec = importlib.util.find_spec(cli)
    except ModuleNotFoundError:
        return
    if spec is None:
        return
    module = importlib.import_module(cli)
    module.add_commands(sub)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # The SDK logs at INFO, on every run, which config files it did not find and that telemetry is on
    # (pipelines/session.py turns the sender off), and botocore where it found the credentials and each
    # endpoint: not news to a person reading the one line that matters.
    for name in ("sagemaker", "sagemaker.config", "botocore"):  # sagemaker.config has its own level if unset
        logging.getLogger(name).setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        line = explain(exc, env=getattr(args, "env", "dev"))
        if line is None:
            raise
        print(f"error: {args.command}: {line}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())

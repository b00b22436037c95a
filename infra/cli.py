"""`python -m infra <command> --env ENV`: the stacks of one environment (the Makefile's infra targets).

python -m infra params  --env dev            # build/infra/dev/<stack>.json from conf (offline)
python -m infra diff    --env dev            # change sets only: what a deploy would change
python -m infra deploy  --env dev [--yes]    # change set, confirm, execute, wait, outputs
python -m infra outputs --env dev            # stack outputs -> conf/outputs/dev.yaml
python -m infra destroy --env dev [--yes] [--delete-data]
python -m infra dashboard [--write]          # operations.yaml's dashboard body is model_registry's

diff, deploy, outputs and destroy call AWS: they refuse base.yaml's placeholder account and bucket
(conf/refusals.py) before the first call, naming the conf key to set. params and dashboard are offline.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from botocore.exceptions import ClientError, NoCredentialsError

from conf import CONF_DIR, ENVIRONMENTS, ConfigError, load_config
from infra.apply import (
    AccountMismatch,
    BucketHoldsData,
    deploy_environment,
    destroy_environment,
    write_environment_outputs,
)
from infra.deploy import Change, ChangeSetFailed, StackResult, StackStateError
from infra.parameters import STACKS, InfraConfigError, write_parameter_files

CLOUD_ENVIRONMENTS = tuple(e for e in ENVIRONMENTS if e != "local")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--env", default="dev", choices=CLOUD_ENVIRONMENTS, help="conf/<env>.yaml")
        command.add_argument("--conf-dir", type=Path, default=CONF_DIR, help="configuration folder")
        return command

    params = add("params", "write each stack's parameters, generated from conf, as JSON files")
    params.add_argument("--out", type=Path, help="folder (default build/infra/<env>)")
    for name, text in (
        ("diff", "create and describe each stack's change set, then delete it"),
        ("deploy", "create each stack's change set, show it, execute it once confirmed"),
    ):
        command = add(name, text)
        command.add_argument("--stack", action="append", choices=STACKS, help="only these (repeatable)")
        command.add_argument("--role-arn", help="CloudFormation service role (the delivery stack's)")
        if name == "deploy":
            command.add_argument("--yes", action="store_true", help="execute without asking")
    add("outputs", "write the stacks' outputs into conf/outputs/<env>.yaml")
    destroy = add("destroy", "delete the stacks (refuses while the bucket holds data)")
    destroy.add_argument("--yes", action="store_true", help="delete without asking")
    destroy.add_argument("--delete-data", action="store_true", help="empty the bucket, then delete it")
    dashboard = add("dashboard", "check (or --write) the dashboard body in templates/operations.yaml")
    dashboard.add_argument("--write", action="store_true", help="rewrite it from model_registry/dashboard.py")
    return parser


def _ask(question: str) -> bool:
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def show_changes(stack: str, changes: list[Change]) -> None:
    print(f"\n{stack}: {len(changes)} change(s)")
    for change in changes:
        print(f"  {change.line()}")


def confirm_changes(yes: bool) -> Callable[[str, list[Change]], bool]:
    def confirm(stack: str, changes: list[Change]) -> bool:
        show_changes(stack, changes)
        return yes or _ask(f"execute the change set of {stack}?")

    return confirm


def summary(results: list[StackResult]) -> str:
    lines = []
    for result in results:
        if result.change_set_type == "FAILED":
            state = "change set failed (see the warning above)"
        elif not result.changes:
            state = "no changes"
        else:
            state = f"{len(result.changes)} change(s) {'executed' if result.executed else 'not executed'}"
        lines.append(f"{result.stack}: {state}")
        lines += [f"  {key} = {value}" for key, value in sorted(result.outputs.items())]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.command == "params":
        out = args.out or Path("build") / "infra" / args.env
        for path in write_parameter_files(load_config(args.env, args.conf_dir), out):
            print(path)
        return 0
    if args.command == "dashboard":
        from infra.dashboard import update_template

        # One template for every environment: written from dev's config, its names as parameters.
        if update_template(load_config("dev"), write=args.write):
            print("templates/operations.yaml: the dashboard body is current")
            return 0
        print(
            "templates/operations.yaml: the dashboard body is out of date: python -m infra dashboard --write"
        )
        return 1
    import boto3

    # Every command below calls AWS: the placeholders are refused here, before a session exists.
    cfg = load_config(args.env, args.conf_dir, for_aws=True)
    session = boto3.session.Session(region_name=cfg.project.region)
    if args.command in ("diff", "deploy"):
        execute = args.command == "deploy"
        confirm = confirm_changes(getattr(args, "yes", False))  # a preview never asks
        results = deploy_environment(
            args.env,
            session,
            confirm,
            execute=execute,
            only=args.stack or (),
            role_arn=args.role_arn,
            conf_dir=args.conf_dir,
        )
        if not execute:
            for result in results:
                if result.changes:
                    show_changes(result.stack, result.changes)
        print("\n" + summary(results))
        return 0
    if args.command == "outputs":
        written = write_environment_outputs(args.env, session, args.conf_dir)
        print(f"wrote {written}: review and commit it" if written else "conf outputs already up to date")
        return 0
    deleted = destroy_environment(
        args.env,
        session,
        lambda stacks: args.yes or _ask(f"delete {', '.join(stacks)}?"),
        delete_data=args.delete_data,
        conf_dir=args.conf_dir,
    )
    print("\n".join(f"deleted {name}" for name in deleted) or "nothing deleted")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("botocore").setLevel(logging.WARNING)  # where it found credentials: noise around errors
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (ConfigError, InfraConfigError, AccountMismatch, BucketHoldsData) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ChangeSetFailed, StackStateError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except NoCredentialsError:
        print(
            f"error: {args.command} talks to AWS and found no credentials (AWS_PROFILE, SSO, ...)",
            file=sys.stderr,
        )
        return 2
    except ClientError as error:  # outer boundary: AWS refused; its message says why
        print(f"error: {error}", file=sys.stderr)
        return 1

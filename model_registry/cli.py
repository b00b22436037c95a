"""python -m model_registry --backend local|sagemaker --env ENV <command>

Review and ship model versions, on SageMaker or on the local registry the local runner writes:

    list [GROUP]                       versions with status, metrics and where they are live
    show GROUP VERSION                 one version in full
    approve GROUP VERSION [--note] [--force]
                                       approve; locally this also runs the deploy handler. A version
                                       that scores below the live one asks first (refused when not on
                                       a terminal) unless --force
    reject GROUP VERSION [--note]      reject; a live version rolls back to the previous approved one
    compare GROUP A B                  metrics of two versions side by side
    latest GROUP                       the latest approved version
    card GROUP VERSION                 the version's model card (intended use, data, figures, limits)
    endpoints                          the environment's endpoints and what they serve
    challenger add GROUP VERSION [--weight W | --shadow]
                                       A/B or shadow: a version under review beside the live one
    challenger weight GROUP W          move the A/B split (W: the challenger's share, 0 < W < 1)
    challenger promote GROUP           approve the challenger: deployed alone, blue/green
    challenger abort GROUP [--reject]  remove the challenger (and reject it)
    variants [GROUP] [--server URL]    invocations, errors and latency per variant, side by side
    list-schedules                     (sagemaker) the project's retraining schedules, as deployed

The approval handler, its rules and alarms, and the retraining schedule are created by the operations
stack (`make deploy-infra ENV=...`, infra/), not by this CLI.

GROUP is a model package group name, or `chatbot` / `classifier` for the project's groups. --env
defaults to `local` with the local backend (the config the local runner registers with), else `dev`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from conf import ConfigError, load_config
from conf.schema import Config
from model_registry.backend import BACKENDS, DEFAULT_ENV, Backend, SageMakerBackend, open_backend
from model_registry.cards import render_card
from model_registry.deploy_logic import NothingToRollBackTo
from model_registry.metrics import compare
from model_registry.review import SAGEMAKER_NOTE, WorseThanLive, check_against_live, review
from model_registry.settings import group_of, handler_settings
from model_registry.types import ApprovalStatus, ModelVersion
from model_registry.variant_cli import HandlerRequestFailed, add_parsers, run_variant_command
from project.aws_errors import explain
from project.defaults import LOCAL_HOME, REGISTRY_DB_NAME

LOG = logging.getLogger("model_registry")
AWS_ONLY = ("list-schedules",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model_registry",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--backend", choices=BACKENDS, default="local", help="registry backend (default: local)"
    )
    parser.add_argument(
        "--env", default=None, help="config environment (default: local for the local backend, else dev)"
    )
    parser.add_argument("--conf-dir", default=None, help="configuration folder (default: conf/)")
    parser.add_argument(
        "--db", type=Path, default=LOCAL_HOME / REGISTRY_DB_NAME, help="local registry database"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="versions with status and metrics")
    listing.add_argument("group", nargs="?", help="one group (default: all of the project's groups)")
    for name in ("show", "approve", "reject"):
        command = sub.add_parser(name, help=f"{name} one version")
        command.add_argument("group")
        command.add_argument("version", type=int)
        if name != "show":
            command.add_argument("--note", default="", help="why (kept with the status)")
        if name == "approve":
            command.add_argument(
                "--force", action="store_true", help="approve even when it scores below the live version"
            )
    carding = sub.add_parser("card", help="one version's model card")
    carding.add_argument("group")
    carding.add_argument("version", type=int)
    comparing = sub.add_parser("compare", help="two versions' metrics side by side")
    comparing.add_argument("group")
    comparing.add_argument("a", type=int)
    comparing.add_argument("b", type=int)
    latest = sub.add_parser("latest", help="the latest approved version")
    latest.add_argument("group")
    sub.add_parser("endpoints", help="the environment's endpoints and what they serve")
    add_parsers(sub)
    for name in AWS_ONLY:
        sub.add_parser(name, help=f"(sagemaker backend) {name.replace('-', ' ')}")
    return parser


# ---- presentation -------------------------------------------------------------------------------


def format_metrics(metrics: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.4g}" for name, value in sorted(metrics.items())) or "-"


def format_versions(versions: list[ModelVersion], live: dict[str, str]) -> str:
    """One line a version: number, status, metrics, creation time, where it is live, the review note."""
    lines = []
    for v in versions:
        where = f" LIVE on {live[v.arn]}" if v.arn in live else ""
        note = f"  note: {v.status_note}" if v.status_note else ""
        metrics = format_metrics(v.metrics)
        lines.append(f"  v{v.version:<3} {v.status:<22} {metrics:<40} {v.created_at[:19]}{where}{note}")
    return "\n".join(lines)


def format_version(v: ModelVersion) -> str:
    fields = asdict(v)
    fields["metrics"] = format_metrics(v.metrics)
    return "\n".join(f"{key:>18}: {value}" for key, value in fields.items())


def format_comparison(a: ModelVersion, b: ModelVersion) -> str:
    lines = [f"{'metric':<14} {'v' + str(a.version):>12} {'v' + str(b.version):>12} {'change':>12}"]
    for row in compare(a, b):
        cells = ["-" if x is None else f"{x:.4f}" for x in (row.a, row.b)]
        change = "-" if row.delta is None else f"{row.delta:+.4f}"
        lines.append(f"{row.metric:<14} {cells[0]:>12} {cells[1]:>12} {change:>12}")
    return "\n".join(lines)


# ---- commands -----------------------------------------------------------------------------------


def resolve_group(cfg: Config, group: str) -> str:
    """`chatbot` / `classifier` name the project's groups; anything else is a group name."""
    return group_of(cfg, group) if group in ("chatbot", "classifier") else group


def live_versions(backend: Backend, cfg: Config) -> dict[str, str]:
    """Model package ARN -> endpoint name, for the environment's endpoints that exist."""
    live: dict[str, str] = {}
    for target in handler_settings(cfg).targets.values():
        try:
            arn = backend.deployer.live_package_arn(target.endpoint_name)
        except RuntimeError as error:  # EndpointBusy or Failed: say so, list the rest
            LOG.warning("%s", error)
            continue
        if arn:
            live[arn] = target.endpoint_name
    return live


def confirm(question: str) -> bool:
    """Ask on the terminal; without one (a script, CI) the answer is no: pass --force instead."""
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def review_command(args: argparse.Namespace, cfg: Config, backend: Backend) -> tuple[Any, str, int]:
    status = ApprovalStatus.APPROVED if args.command == "approve" else ApprovalStatus.REJECTED
    group = resolve_group(cfg, args.group)
    force = bool(getattr(args, "force", False))
    if status == ApprovalStatus.APPROVED and not force:
        try:
            check_against_live(backend, cfg, group, args.version)
        except WorseThanLive as worse:
            if not confirm(f"{worse}\nApprove anyway?"):
                text = f"not approved: {worse}"
                data = {
                    "approved": False,
                    "reason": str(worse),
                    "shortfalls": [asdict(s) for s in worse.shortfalls],
                }
                return data, text, 1
            force = True
    try:
        result = review(backend, cfg, group, args.version, status, note=args.note, force=force)
    except NothingToRollBackTo as error:
        LOG.error("%s", error)
        version = backend.registry.get(group, args.version)
        text = f"{group} v{args.version} -> {version.status}\nnothing deployed: {error}"
        return {"version": asdict(version), "deploy": {"action": "none", "reason": str(error)}}, text, 1
    deploy = asdict(result.decision) if result.decision is not None else SAGEMAKER_NOTE
    return {"version": asdict(result.version), "deploy": deploy}, result.summary(), 0


def run_registry_command(args: argparse.Namespace, cfg: Config, backend: Backend) -> tuple[Any, str, int]:
    """Run a registry command: (data for --json, text for people, exit code)."""
    registry = backend.registry
    if args.command == "list":
        groups = [resolve_group(cfg, args.group)] if args.group else backend.groups(cfg)
        live = live_versions(backend, cfg)
        versions = {g: registry.list_versions(g) for g in groups}
        data = {g: [asdict(v) for v in found] for g, found in versions.items()}
        text = "\n".join(
            f"{g}\n{format_versions(found, live) or '  (no versions)'}" for g, found in versions.items()
        )
        return data, text or "no model package groups yet: run `make run-local` (or the pipeline) first", 0
    if args.command == "show":
        version = registry.get(resolve_group(cfg, args.group), args.version)
        return asdict(version), format_version(version), 0
    if args.command in ("approve", "reject"):
        return review_command(args, cfg, backend)
    if args.command == "compare":
        group = resolve_group(cfg, args.group)
        a, b = registry.get(group, args.a), registry.get(group, args.b)
        return [asdict(row) | {"delta": row.delta} for row in compare(a, b)], format_comparison(a, b), 0
    if args.command == "latest":
        found = registry.latest_approved(resolve_group(cfg, args.group))
        if found is None:
            return None, f"no approved version in {args.group}", 1
        return asdict(found), format_version(found), 0
    if args.command == "card":
        group = resolve_group(cfg, args.group)
        content = registry.card(group, args.version)
        if content is None:
            return None, f"{group} v{args.version} was registered without a model card", 1
        return content, render_card(content, f"{group} v{args.version}").rstrip("\n"), 0
    if args.command in ("challenger", "variants"):
        return run_variant_command(args, cfg, backend)
    if args.command == "endpoints":
        live = live_versions(backend, cfg)
        data = {endpoint: arn for arn, endpoint in live.items()}
        return data, "\n".join(f"{e}: {a}" for e, a in data.items()) or "no endpoints yet", 0
    raise ValueError(f"unknown command {args.command!r}")


def run_aws_command(args: argparse.Namespace, cfg: Config, session: Any) -> tuple[Any, str, int]:
    """The AWS-only commands (list-schedules), over the SageMaker backend's boto3 session."""
    from model_registry.scheduling import list_schedules

    found = {"schedules": list_schedules(cfg, session)}
    return found, json.dumps(found, indent=2, default=str), 0


def main(args: argparse.Namespace) -> int:
    if args.command in AWS_ONLY and args.backend != SageMakerBackend.name:
        raise SystemExit(f"{args.command} talks to AWS: pass --backend {SageMakerBackend.name}")
    # Against AWS, base.yaml's placeholder account and bucket are refused (conf/refusals.py).
    on_aws = args.backend == SageMakerBackend.name
    try:
        cfg = load_config(args.env or DEFAULT_ENV[args.backend], args.conf_dir, for_aws=on_aws)
    except ConfigError as error:
        raise SystemExit(f"error: {error}") from None
    backend = open_backend(args.backend, cfg, db_path=args.db)
    if isinstance(backend, SageMakerBackend) and args.command in AWS_ONLY:
        data, text, code = run_aws_command(args, cfg, backend.session)
    else:
        try:
            data, text, code = run_registry_command(args, cfg, backend)
        except (KeyError, ValueError, HandlerRequestFailed) as error:
            raise SystemExit(f"error: {error.args[0] if error.args else error}") from None
    print(json.dumps(data, indent=2, default=str) if args.json else text)
    return code


def cli(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("botocore").setLevel(logging.WARNING)  # where it found credentials: noise around errors
    args = build_parser().parse_args(argv)
    try:
        return main(args)
    except (BotoCoreError, ClientError) as error:  # the outer boundary: AWS errors as one line
        line = explain(error, env=args.env or DEFAULT_ENV[args.backend])
        if line is None:
            raise
        raise SystemExit(f"error: {args.command}: {line}") from None

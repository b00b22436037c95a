"""The CLI's commands: each parses nothing, takes the argparse Namespace, and returns an exit status."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from conf import load_config
from conf.schema import Config
from project.bundle import REPO_ROOT


def _config(args: argparse.Namespace, for_aws: bool = False) -> Config:
    """The environment's config; `for_aws` for commands that call AWS (placeholders refused)."""
    return load_config(args.env, getattr(args, "conf_dir", None), for_aws=for_aws)


def cmd_definition(args: argparse.Namespace) -> int:
    from pipelines.definition import write_definition

    out = Path(args.out) if args.out else None
    text = write_definition(_config(args), out)
    if out is None:
        sys.stdout.write(text)
    else:
        print(f"wrote {out} ({len(text)} bytes)", file=sys.stderr)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Shapes and enums (botocore), then the documented service rules; exit 1 on any finding."""
    from model_registry.settings import handler_settings
    from pipelines.deploy_rules import deploy_request_violations
    from pipelines.service_rules import RuleContext, check_service_rules
    from pipelines.validation import validate_definition

    cfg = _config(args)
    if args.definition:
        definition = json.loads(Path(args.definition).read_text(encoding="utf-8"))
    else:
        from pipelines.definition import definition_json

        definition = json.loads(definition_json(cfg))
    problems = validate_definition(definition)
    for problem in problems:
        print(problem, file=sys.stderr)
    violations = check_service_rules(definition, RuleContext.of(cfg))
    # The endpoints are the deploy handler's, not the definition's: its requests get the same checks.
    violations += deploy_request_violations(handler_settings(cfg), cfg.project.region, cfg.project.account_id)
    for violation in violations:
        print(f"{violation}\n    source: {violation.source}", file=sys.stderr)
    checked = sum(1 for _ in definition["Steps"])
    print(
        f"{len(problems)} shape problem(s), {len(violations)} service-rule violation(s) "
        f"in {checked} top-level steps",
        file=sys.stderr,
    )
    return 1 if problems or violations else 0


def cmd_upsert(args: argparse.Namespace) -> int:
    from pipelines.aws import upsert_pipeline

    result = upsert_pipeline(_config(args, for_aws=True))
    print(f"code: {result.code_uri}", file=sys.stderr)
    print(result.pipeline_arn)
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    from pipelines.aws import aws_session, parse_params, refuse_overrides, start_pipeline

    cfg = _config(args, for_aws=True)
    session = aws_session(cfg)
    overrides = parse_params(args.param)
    refuse_overrides(cfg, overrides)
    arn = start_pipeline(cfg, overrides, display_name=args.display_name, boto_session=session)
    print(arn)
    return 0


def cmd_smoke_aws(args: argparse.Namespace) -> int:
    import boto3

    from pipelines.smoke import run_smoke, smoke_config

    cfg = smoke_config(args.env, Path(args.conf_dir), for_aws=True)
    session = boto3.session.Session(region_name=cfg.project.region)
    return run_smoke(cfg, session, say=print, keep=args.keep, poll_s=args.poll_s)


def cmd_diagram(args: argparse.Namespace) -> int:
    from pipelines.definition import definition_json
    from pipelines.diagram import mermaid, update_readme

    text = mermaid(json.loads(definition_json(_config(args))))
    out = REPO_ROOT / args.out if not Path(args.out).is_absolute() else Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    if args.readme:
        readme = REPO_ROOT / args.readme if not Path(args.readme).is_absolute() else Path(args.readme)
        changed = update_readme(readme, text)
        print(f"{'updated' if changed else 'unchanged'}: {readme}", file=sys.stderr)
    return 0


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from pipelines.iam import execution_role_policy, pipeline_role_policy

    generate = pipeline_role_policy if args.role == "pipeline" else execution_role_policy
    print(json.dumps(generate(_config(args)), indent=2))
    return 0


def cmd_build_containers(args: argparse.Namespace) -> int:
    from pipelines.containers import build_commands, run_commands

    pushes = not args.no_push and not args.dry_run
    commands = build_commands(_config(args, for_aws=pushes), push=not args.no_push)
    return run_commands(commands, dry_run=args.dry_run)

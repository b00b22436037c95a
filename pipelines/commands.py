"""The CLI's commands: each parses nothing, takes the argparse Namespace, and returns an exit status."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from conf import load_config
from project.bundle import REPO_ROOT


def cmd_definition(args: argparse.Namespace) -> int:
    from pipelines.definition import write_definition

    out = Path(args.out) if args.out else None
    text = write_definition(args.env, out)
    if out is None:
        sys.stdout.write(text)
    else:
        print(f"wrote {out} ({len(text)} bytes)", file=sys.stderr)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from pipelines.validation import validate_definition

    if args.definition:
        definition = json.loads(Path(args.definition).read_text(encoding="utf-8"))
    else:
        from pipelines.definition import definition_json

        definition = json.loads(definition_json(load_config(args.env)))
    problems = validate_definition(definition)
    for problem in problems:
        print(problem, file=sys.stderr)
    checked = sum(1 for _ in definition["Steps"])
    print(f"{len(problems)} problem(s) in {checked} top-level steps", file=sys.stderr)
    return 1 if problems else 0


def cmd_upsert(args: argparse.Namespace) -> int:
    from pipelines.aws import upsert_pipeline

    result = upsert_pipeline(load_config(args.env))
    print(f"code: {result.code_uri}", file=sys.stderr)
    print(result.pipeline_arn)
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    from pipelines.aws import parse_params, start_pipeline

    cfg = load_config(args.env)
    arn = start_pipeline(cfg, parse_params(args.param), display_name=args.display_name)
    print(arn)
    return 0


def cmd_diagram(args: argparse.Namespace) -> int:
    from pipelines.definition import definition_json
    from pipelines.diagram import mermaid, update_readme

    text = mermaid(json.loads(definition_json(load_config(args.env))))
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
    from pipelines.iam import execution_role_policy

    print(json.dumps(execution_role_policy(load_config(args.env)), indent=2))
    return 0


def cmd_build_containers(args: argparse.Namespace) -> int:
    from pipelines.containers import build_commands, run_commands

    commands = build_commands(load_config(args.env), push=not args.no_push)
    return run_commands(commands, dry_run=args.dry_run)

"""The registry CLI's A/B and shadow commands (wired into `python -m model_registry`, model_registry/cli.py).

    challenger add GROUP VERSION [--weight W | --shadow]   a challenger beside the live version
    challenger weight GROUP W                              move the A/B split (W: the challenger's share)
    challenger promote GROUP [--note] [--force]            approve it: deployed as the only variant
    challenger abort GROUP [--reject] [--note]             remove it (and reject it with --reject)
    variants [GROUP] [--server URL]                        per-variant figures side by side

With the local backend the requests run here, on the local endpoints (serve-local routes by them at
once); with the SageMaker backend they go to the deploy handler (the one deployer, with its role and
guardrails) as direct Lambda requests, and the figures come from CloudWatch's VariantName dimension.
"""

from __future__ import annotations

import argparse
import json
import logging
import urllib.error
import urllib.request
from dataclasses import asdict
from typing import Any

from conf.schema import Config
from model_registry.backend import Backend, LocalBackend
from model_registry.local_variants import LocalVariants
from model_registry.naming import LIVE_VARIANT, handler_function_name
from model_registry.review import review
from model_registry.settings import endpoint_targets, group_of, handler_settings
from model_registry.types import ApprovalStatus
from model_registry.variant_metrics import variant_figures
from model_registry.variants import (
    ABORT,
    ADD,
    STATUS,
    WEIGHT,
    ChallengerError,
    VariantState,
    handle_variant_request,
)

LOG = logging.getLogger("model_registry")
DEFAULT_SERVER = "http://127.0.0.1:8080"


class HandlerRequestFailed(RuntimeError):
    """The deploy handler refused or failed a challenger request; the message is the handler's."""


def add_parsers(sub: Any) -> None:
    """The `challenger` and `variants` subcommands."""
    challenger = sub.add_parser("challenger", help="A/B or shadow: add, weight, promote, abort a challenger")
    actions = challenger.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="put a version under review beside the live one")
    add.add_argument("group")
    add.add_argument("version", type=int)
    mode = add.add_mutually_exclusive_group()
    mode.add_argument("--weight", type=float, default=None, help="its share of the traffic (default 0.1)")
    mode.add_argument("--shadow", action="store_true", help="a copy of every request; answers discarded")
    weight = actions.add_parser("weight", help="move the A/B split")
    weight.add_argument("group")
    weight.add_argument("weight", type=float)
    promote = actions.add_parser("promote", help="approve the challenger: it becomes the only variant")
    promote.add_argument("group")
    promote.add_argument("--note", default="promoted after A/B", help="why (kept with the status)")
    promote.add_argument(
        "--force", action="store_true", help="promote even when it scores below the live one"
    )
    abort = actions.add_parser("abort", help="remove the challenger; the live version takes all traffic")
    abort.add_argument("group")
    abort.add_argument("--reject", action="store_true", help="also reject the challenger version")
    abort.add_argument("--note", default="", help="why (kept with the status when --reject)")
    figures = sub.add_parser("variants", help="per-variant invocations, errors and latency side by side")
    figures.add_argument("group", nargs="?", help="one group (default: the project's two)")
    figures.add_argument("--server", default=DEFAULT_SERVER, help="serve-local's URL (local backend)")


def send(backend: Backend, cfg: Config, event: dict[str, Any]) -> dict[str, Any]:
    """One challenger request: here on the local endpoints, or to the deploy handler on AWS."""
    if isinstance(backend, LocalBackend):
        with backend.review_lock():
            return handle_variant_request(
                event, handler_settings(cfg), backend.registry, LocalVariants(backend.deployer)
            )
    return invoke_handler(backend.session, cfg, event)  # type: ignore[attr-defined]


def invoke_handler(session: Any, cfg: Config, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke the deploy handler Lambda synchronously with a direct request; its outputs, or its error."""
    name = handler_function_name(cfg.project.name, cfg.env)
    answer = session.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    payload = json.loads(answer["Payload"].read() or b"{}")
    if answer.get("FunctionError"):
        message = payload.get("errorMessage", payload) if isinstance(payload, dict) else payload
        raise HandlerRequestFailed(f"{name}: {message}")
    return dict(payload)


def variant_states(backend: Backend, cfg: Config, group: str) -> list[VariantState]:
    answer = send(backend, cfg, {"request": STATUS, "group": group})
    return [VariantState(**v) for v in json.loads(answer["variants"])]


def _version_of(backend: Backend, group: str, state: VariantState) -> int | None:
    if state.version is not None:
        return state.version
    for found in backend.registry.list_versions(group):
        if found.arn == state.model_package_arn:
            return found.version
    return None


def run_challenger(
    args: argparse.Namespace, cfg: Config, backend: Backend, group: str
) -> tuple[Any, str, int]:
    if args.action == "add":
        event: dict[str, Any] = {"request": ADD, "group": group, "version": args.version}
        if args.shadow:
            event["shadow"] = True
        elif args.weight is not None:
            event["weight"] = args.weight
        out = send(backend, cfg, event)
        share = (
            "a copy of every request (answers discarded)"
            if out["mode"] == "shadow"
            else f"{out['weight']} of the traffic"
        )
        text = (
            f"{out['endpoint_name']}: v{out['challenger_version']} added as {out['mode']} variant "
            f"{out['variant']} beside live v{out['live_version']} ({LIVE_VARIANT}); it takes {share}"
        )
        return out, text, 0
    if args.action == "weight":
        out = send(backend, cfg, {"request": WEIGHT, "group": group, "weight": args.weight})
        return out, f"{out['endpoint_name']}: {out['variant']} now takes {out['weight']} of the traffic", 0
    if args.action == "abort":
        states = variant_states(backend, cfg, group)
        out = send(backend, cfg, {"request": ABORT, "group": group})
        text = (
            f"{out['endpoint_name']}: {out['variant']} removed; live v{out['live_version']} takes all traffic"
        )
        challenger = next((s for s in states if s.name != LIVE_VARIANT), None)
        version = _version_of(backend, group, challenger) if challenger else None
        if args.reject and version is not None:
            result = review(backend, cfg, group, version, ApprovalStatus.REJECTED, note=args.note, force=True)
            out["rejected"] = str(version)
            text += f"\n{result.summary()}"
        return out, text, 0
    if args.action == "promote":
        challenger = next((s for s in variant_states(backend, cfg, group) if s.name != LIVE_VARIANT), None)
        if challenger is None:
            raise ChallengerError(f"{group} has no challenger to promote: add one first")
        version = _version_of(backend, group, challenger)
        if version is None:
            raise ChallengerError(
                f"challenger {challenger.name} serves {challenger.model_package_arn}, "
                f"not a version of {group}"
            )
        result = review(
            backend, cfg, group, version, ApprovalStatus.APPROVED, note=args.note, force=args.force
        )
        data = {
            "version": asdict(result.version),
            "deploy": asdict(result.decision) if result.decision else None,
        }
        return data, f"promote {challenger.name}: {result.summary()}", 0
    raise ValueError(f"unknown challenger action {args.action!r}")


# ---- per-variant figures ---------------------------------------------------------------------------


def local_figures(server: str) -> dict[str, Any]:
    """serve-local's /metrics (JSON)."""
    try:
        with urllib.request.urlopen(f"{server.rstrip('/')}/metrics", timeout=10) as answer:
            return dict(json.loads(answer.read()).get("endpoints", {}))
    except (urllib.error.URLError, OSError) as error:
        raise ChallengerError(
            f"serve-local is not answering at {server} ({error}): start it with `make serve-local`"
        ) from None


def variant_rows(
    endpoint: str,
    states: list[VariantState],
    figures: dict[str, dict[str, Any]],
    versions: dict[str, int | None],
) -> list[dict[str, Any]]:
    """One row per variant: what it serves, its share, and its figures (None where it has none yet)."""
    total = sum(s.weight for s in states if not s.shadow) or 1.0
    rows = []
    for state in states:
        got = figures.get(state.name, {})
        if got.get("version", versions.get(state.name)) != versions.get(state.name):
            got = {}  # figures of the version this variant served before a promotion
        latency = got.get("latency_ms", {})
        rows.append(
            {
                "endpoint": endpoint,
                "variant": state.name,
                "version": versions.get(state.name),
                "role": "shadow"
                if state.shadow
                else ("live" if state.name == LIVE_VARIANT else "challenger"),
                "share": "copy" if state.shadow else f"{state.weight / total:.0%}",
                "invocations": got.get("requests", 0),
                "errors": got.get("errors", 0),
                "p50 ms": latency.get("p50"),
                "p99 ms": latency.get("p99"),
            }
        )
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no endpoints yet"
    keys = list(rows[0])
    cells = [[("-" if r[k] is None else str(r[k])) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def run_variants(
    args: argparse.Namespace, cfg: Config, backend: Backend, groups: list[str]
) -> tuple[Any, str, int]:
    targets = endpoint_targets(cfg)
    rows: list[dict[str, Any]] = []
    served = local_figures(args.server) if isinstance(backend, LocalBackend) else None
    for group in groups:
        endpoint = targets[group].endpoint_name
        states = variant_states(backend, cfg, group)
        if not states:
            continue
        versions = {s.name: _version_of(backend, group, s) for s in states}
        if served is not None:
            figures = served.get(endpoint, {}).get("variants", {})
        else:
            figures = variant_figures(
                backend.session.client("cloudwatch"), endpoint, [s.name for s in states]
            )  # type: ignore[attr-defined]
        rows += variant_rows(endpoint, states, figures, versions)
    return rows, format_rows(rows), 0


def run_variant_command(args: argparse.Namespace, cfg: Config, backend: Backend) -> tuple[Any, str, int]:
    """`challenger ...` or `variants`: (data for --json, text for people, exit code)."""
    if args.command == "variants":
        names = [args.group] if args.group else ["chatbot", "classifier"]
        groups = [group_of(cfg, n) if n in ("chatbot", "classifier") else n for n in names]
        return run_variants(args, cfg, backend, groups)
    group = group_of(cfg, args.group) if args.group in ("chatbot", "classifier") else args.group
    return run_challenger(args, cfg, backend, group)

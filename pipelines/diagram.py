"""The DAG as a mermaid flowchart, drawn from the definition JSON itself (so it cannot drift).

Edges come from what SageMaker uses to order steps: `DependsOn`, property references
(`{"Get": "Steps.X...."}`) and JsonGet property files; a condition's branches are labelled pass / fail.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

START, END = "<!-- pipeline-diagram:start -->", "<!-- pipeline-diagram:end -->"
STEP_REF = re.compile(r"^Steps\.([A-Za-z0-9-]+)\.")
SHAPES = {
    "Processing": ("[", "]"),
    "Training": ("[[", "]]"),
    "Condition": ("{", "}"),
    "Fail": ("[/", "/]"),
    "RegisterModel": ("[(", ")]"),
    "Model": ("(", ")"),
    "EndpointConfig": ("(", ")"),
    "Endpoint": ("([", "])"),
}


def flatten(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step, with a condition's branch steps after it."""
    out: list[dict[str, Any]] = []
    for step in steps:
        out.append(step)
        if step["Type"] == "Condition":
            out += flatten(step["Arguments"].get("IfSteps", []) + step["Arguments"].get("ElseSteps", []))
    return out


def references(node: Any) -> set[str]:
    """Names of the steps an argument tree refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        get = node.get("Get")
        if isinstance(get, str) and (match := STEP_REF.match(get)):
            found.add(match.group(1))
        for value in node.values():
            found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


def all_edges(definition: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Every ordering edge SageMaker sees: (upstream, downstream) -> label ('' or 'pass' / 'fail')."""
    result: dict[tuple[str, str], str] = {}
    for step in flatten(definition["Steps"]):
        name = step["Name"]
        arguments = step.get("Arguments", {})
        if step["Type"] == "Condition":
            arguments = {"Conditions": arguments.get("Conditions", [])}
            for label, key in (("pass", "IfSteps"), ("fail", "ElseSteps")):
                for child in step["Arguments"].get(key, []):
                    result[(name, child["Name"])] = label
        for source in references(arguments) | set(step.get("DependsOn", [])):
            if source != name:
                result.setdefault((source, name), "")
    return result


def edges(definition: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The edges worth drawing: the transitive reduction (no edge that a longer path already implies)."""
    full = all_edges(definition)
    children: dict[str, set[str]] = {}
    for source, target in full:
        children.setdefault(source, set()).add(target)

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        stack = list(children.get(start, ()))
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(children.get(node, ()))
        return seen

    reach = {node: reachable(node) for node in children}
    kept = [
        (source, target, label)
        for (source, target), label in full.items()
        if not any(target in reach.get(middle, set()) for middle in children[source] if middle != target)
    ]
    return sorted(kept)


def mermaid(definition: dict[str, Any]) -> str:
    lines = ["flowchart TD"]
    for step in flatten(definition["Steps"]):
        left, right = SHAPES.get(step["Type"], ("[", "]"))
        lines.append(f'    {step["Name"]}{left}"{step["Name"]}<br/><small>{step["Type"]}</small>"{right}')
    for source, target, label in edges(definition):
        arrow = f"-- {label} -->" if label else "-->"
        lines.append(f"    {source} {arrow} {target}")
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, diagram: str) -> bool:
    """Replace the mermaid block between the diagram markers; returns whether the file changed."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"{readme} has no {START} ... {END} markers for the pipeline diagram")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n```mermaid\n{diagram}```\n{END}{tail}"
    if new == text:
        return False
    readme.write_text(new, encoding="utf-8")
    return True

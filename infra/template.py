"""Read CloudFormation YAML (short-form tags too) and evaluate the intrinsics the project's templates use.

The tests compare what a template grants with what the project's Python generates (pipelines/iam.py,
model_registry/iam_policies.py, endpoint_spec.alarm_requests), so the evaluator covers exactly the
functions used in infra/templates: Ref, Fn::Sub, Fn::GetAtt, Fn::ImportValue, Fn::If, Fn::Join,
Fn::Split, Fn::Select, Fn::Equals, Fn::Not and AWS::NoValue. Anything else raises UnsupportedIntrinsic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
_SUB = re.compile(r"\$\{([^}!]+)\}")
_NO_VALUE = object()


class UnsupportedIntrinsic(ValueError):
    """A template uses an intrinsic function or a name the evaluator cannot resolve."""


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref x` into {"Ref": x}, `!GetAtt a.b` into {"Fn::GetAtt": [a, b]}, ..."""


def _tag_constructor(tag: str):  # type: ignore[no-untyped-def]
    name = "Ref" if tag == "Ref" else f"Fn::{tag}"

    def construct(loader: _CfnLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in ("Ref", "Sub", "GetAtt", "ImportValue", "If", "Join", "Split", "Select", "Equals", "Not",
             "And", "Or", "Condition", "FindInMap", "Base64", "GetAZs"):  # fmt: skip
    _CfnLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))


def load_template_text(text: str) -> dict[str, Any]:
    """The template as plain data, intrinsics in their long form."""
    return yaml.load(text, Loader=_CfnLoader)  # a SafeLoader subclass


def load_template(path: Path | str) -> dict[str, Any]:
    return load_template_text(Path(path).read_text(encoding="utf-8"))


def template_path(stack: str) -> Path:
    return TEMPLATES_DIR / f"{stack}.yaml"


class Resolver:
    """Evaluate intrinsics against parameter values, pseudo parameters, imports and resource attributes.

    `refs` maps names (parameters, pseudo parameters such as AWS::Region, logical ids) to values;
    `attributes` maps "LogicalId.Attribute" to values; `imports` maps export names to values;
    `conditions` are evaluated from the template's Conditions with the same values.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        refs: Mapping[str, Any],
        attributes: Mapping[str, Any] | None = None,
        imports: Mapping[str, Any] | None = None,
    ) -> None:
        self.refs = dict(refs)
        self.attributes = dict(attributes or {})
        self.imports = dict(imports or {})
        self.conditions = {
            name: bool(self._eval(body)) for name, body in template.get("Conditions", {}).items()
        }

    def resolve(self, node: Any) -> Any:
        value = self._eval(node)
        return None if value is _NO_VALUE else value

    def _eval(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self._eval(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, arg)] = node.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._function(key, arg)
        return {k: v for k, v in ((k, self._eval(v)) for k, v in node.items()) if v is not _NO_VALUE}

    def _lookup(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.refs:
            return self.refs[name]
        if "." in name and name in self.attributes:
            return self.attributes[name]
        raise UnsupportedIntrinsic(f"no value for {name!r}: pass it in refs or attributes")

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Ref":
            return self._lookup(arg)
        if key == "Fn::GetAtt":
            return self._lookup(".".join(arg))
        if key == "Fn::ImportValue":
            name = self._eval(arg)
            if name not in self.imports:
                raise UnsupportedIntrinsic(f"no export {name!r} among {sorted(self.imports)}")
            return self.imports[name]
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            local = {name: self._eval(value) for name, value in variables.items()}
            return _SUB.sub(lambda m: str(local[m[1]] if m[1] in local else self._lookup(m[1])), text)
        if key == "Fn::Join":
            return arg[0].join(str(v) for v in self._eval(arg[1]))
        if key == "Fn::Split":
            return self._eval(arg[1]).split(arg[0])
        if key == "Fn::Select":
            return self._eval(arg[1])[int(self._eval(arg[0]))]
        if key == "Fn::If":
            return self._eval(arg[1] if self.conditions[arg[0]] else arg[2])
        if key == "Fn::Equals":
            return self._eval(arg[0]) == self._eval(arg[1])
        if key == "Fn::Not":
            return not self._eval(arg[0])
        raise UnsupportedIntrinsic(f"{key} is not evaluated by infra.template (used in a template?)")


def parameter_refs(template: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """Parameter values as Ref sees them: defaults filled in, CommaDelimitedList split on commas."""
    refs: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        if name in values:
            value: Any = values[name]
        elif "Default" in spec:
            value = str(spec["Default"])
        else:
            raise UnsupportedIntrinsic(f"parameter {name} has no value and no default")
        refs[name] = value.split(",") if spec["Type"] == "CommaDelimitedList" else value
    return refs

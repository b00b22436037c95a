"""Layered, validated configuration: conf/base.yaml, then conf/<env>.yaml on top.

    from conf import load_config
    cfg = load_config("dev")          # typed, frozen, validated
    cfg = load_config("dev", for_aws=True)   # and fit to send to AWS (no placeholder account/bucket)

An unknown key, a wrong type or a key given twice in one file raises ConfigError naming the key and the
file, before anything runs; so does a setting AWS or the jobs would refuse (conf/refusals.py). What only
exists once the stacks are deployed (the KMS key's ARN) is written by `make infra-outputs` to
conf/outputs/<env>.yaml, read last when present: review and commit it. characters.yaml and themes.yaml are
data for the jobs: they travel in the code bundle and the processing scripts that read them validate them
(containers/processing/characters.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from conf.refusals import (
    Refusal,
    aws_refusals,
    isolation_refusals,
    rollout_refusals,
    serverless_refusals,
    serving_refusals,
)
from conf.schema import Config

CONF_DIR = Path(__file__).resolve().parent
ENVIRONMENTS = ("dev", "prod", "local")
OUTPUTS_DIR = "outputs"  # conf/outputs/<env>.yaml: stack outputs, written by `python -m infra outputs`

__all__ = ["CONF_DIR", "ENVIRONMENTS", "OUTPUTS_DIR", "Config", "ConfigError", "load_config", "read_yaml"]


class ConfigError(ValueError):
    """A configuration file is wrong; the message names the file and the key."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(
                f"{node.start_mark.name}: key {key!r} appears twice (line {key_node.start_mark.line + 1})"
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML mapping, refusing duplicate keys."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    with path.open(encoding="utf-8") as handle:
        try:
            data = yaml.load(handle, Loader=_UniqueKeyLoader)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, not {type(data).__name__}")
    return data


def _merge(
    base: dict[str, Any], overlay: dict[str, Any], origin: dict[str, Path], file: Path, path: str = ""
) -> None:
    """Deep-merge overlay into base in place, remembering which file set each dotted key."""
    for key, value in overlay.items():
        dotted = f"{path}{key}"
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, origin, file, f"{dotted}.")
        else:
            base[key] = value
            origin[dotted] = file


def _record_origin(data: dict[str, Any], origin: dict[str, Path], file: Path, path: str = "") -> None:
    for key, value in data.items():
        dotted = f"{path}{key}"
        origin[dotted] = file
        if isinstance(value, dict):
            _record_origin(value, origin, file, f"{dotted}.")


def _file_for(loc: tuple[Any, ...], origin: dict[str, Path], default: Path) -> Path:
    parts = [str(p) for p in loc]
    while parts:
        found = origin.get(".".join(parts))
        if found is not None:
            return found
        parts.pop()
    return default


def _refused(lines: list[str]) -> ConfigError:
    """One line for one problem; a header and one line each for several."""
    if len(lines) == 1:
        return ConfigError(lines[0])
    return ConfigError("invalid configuration:\n  " + "\n  ".join(lines))


def load_config(
    env: str,
    conf_dir: Path | str | None = None,
    overrides: dict[str, Any] | None = None,
    for_aws: bool = False,
) -> Config:
    """Load base.yaml + <env>.yaml (+ optional overrides) into a validated, frozen Config.

    `for_aws=True` (the commands that call AWS) also refuses the placeholders of base.yaml outside
    ENV=local; building the definition offline accepts them.
    """
    folder = Path(conf_dir) if conf_dir is not None else CONF_DIR
    base_file = folder / "base.yaml"
    env_file = folder / f"{env}.yaml"
    if not env_file.is_file():
        known = sorted(
            p.stem for p in folder.glob("*.yaml") if p.stem not in {"base", "characters", "themes"}
        )
        raise ConfigError(f"{env_file}: no overlay for environment {env!r} (known: {', '.join(known)})")
    origin: dict[str, Path] = {}
    data = read_yaml(base_file)
    _record_origin(data, origin, base_file)
    _merge(data, read_yaml(env_file), origin, env_file)
    outputs_file = folder / OUTPUTS_DIR / f"{env}.yaml"
    if outputs_file.is_file():
        _merge(data, read_yaml(outputs_file), origin, outputs_file)
    if overrides:
        _merge(data, overrides, origin, Path("<overrides>"))
    data["env"] = env
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"])
            file = _file_for(error["loc"], origin, env_file)
            kind = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            lines.append(f"{file}: {key}: {kind}")
        raise _refused(lines) from None
    refusals: list[Refusal] = (
        rollout_refusals(cfg) + serving_refusals(cfg) + isolation_refusals(cfg) + serverless_refusals(cfg)
    )
    if for_aws:
        refusals += aws_refusals(cfg)
    if refusals:
        raise _refused(
            [
                f"{_file_for(tuple(r.key.split('.')), origin, env_file)}: {r.key}: {r.message}"
                for r in refusals
            ]
        )
    return cfg

"""Imports go one way: a package imports only the layers below it (read from the source with ast).

    conf, containers -> project -> model_registry -> steps, infra -> pipelines -> pipelines.local
    -> pipelines.plan -> workspace -> app

conf and containers import none of the project's packages (containers are the code bundle the jobs run:
no config package, no SDK); project/ holds the bundle, the images and the shared defaults; model_registry
never imports steps/ or pipelines/ (the deploy handler ships without them); only workspace/ (the
notebooks' API) and pipelines.plan (which shares the runner's cache-key rules) may import the
local runner; infra/ (the stacks' CLI) sits beside steps/, neither
importing the other, and never imports the SDK. A function-level import counts like a top-level one: hiding
an upward import inside a function is how cycles start. `make lint` runs this file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Layer -> rank; a module may import its own layer or a layer of lower rank. Equal ranks are siblings
# that must not import each other.
RANKS: dict[str, int] = {
    "conf": 0,
    "containers": 0,
    "project": 1,
    "model_registry": 2,
    "steps": 3,
    "infra": 3,
    "pipelines": 4,
    "pipelines.local": 5,
    "pipelines.plan": 6,
    "workspace": 7,
    "app": 8,
}
PACKAGES = (
    "conf",
    "containers",
    "project",
    "model_registry",
    "steps",
    "infra",
    "pipelines",
    "workspace",
    "app",
)
# The SageMaker SDK takes seconds to import and is absent from the job images and the Lambda: never
# in containers/, and not at module top level below steps/. The web app talks to AWS through boto3 only.
SDK = "sagemaker"
NO_SDK_ANYWHERE = ("containers", "infra", "app")
NO_SDK_AT_TOP = ("conf", "project", "model_registry")


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to (the longest matching layer name), or None."""
    found = [name for name in RANKS if module == name or module.startswith(name + ".")]
    return max(found, key=len) if found else None


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        return [node.module or ""]
    # A relative import: resolve it against the importing module's package.
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return [".".join([*base, node.module] if node.module else base)]


def upward_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every import in `source` (the text of `module`) that breaks the order, as readable lines."""
    own = layer_of(module)
    if own is None:
        raise ValueError(f"{module!r} is in none of the layers {', '.join(RANKS)}")
    tree = ast.parse(source)
    top_level = {id(node) for node in tree.body}
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        for target in _imported(node, module, is_package):
            where = f"{module}:{node.lineno} imports {target}"
            theirs = layer_of(target)
            if theirs is not None and theirs != own and RANKS[theirs] >= RANKS[own]:
                problems.append(f"{where}: {own} may not import {theirs} (the order is {' -> '.join(RANKS)})")
            is_sdk = target == SDK or target.startswith(SDK + ".")
            if is_sdk and own.split(".")[0] in NO_SDK_ANYWHERE:
                problems.append(f"{where}: {own} never imports the SageMaker SDK")
            if is_sdk and own.split(".")[0] in NO_SDK_AT_TOP and id(node) in top_level:
                problems.append(f"{where}: {own} imports the SageMaker SDK only inside the function using it")
    return problems


def project_modules() -> list[tuple[str, Path]]:
    modules = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules.append((name, path))
    return modules


def test_every_import_in_the_tree_goes_down() -> None:
    problems = [
        problem
        for name, path in project_modules()
        for problem in upward_imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
    ]
    assert problems == []


def test_the_tree_was_read() -> None:
    names = {name for name, _ in project_modules()}
    expected = {"conf", "project.bundle", "steps.train", "pipelines.local.runner", "workspace.local"}
    assert expected | {"infra.apply"} <= names


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("steps.train", "from pipelines.pipeline import get_pipeline\n", "steps may not import pipelines"),
        ("project.bundle", "import steps.names\n", "project may not import steps"),
        ("pipelines.pipeline", "def f():\n    from pipelines.local import runner\n", "pipelines.local"),
        ("model_registry.studio", "from pipelines.local.server import EndpointPool\n", "model_registry may"),
        ("containers.processing.ner", "from conf import load_config\n", "containers may not import conf"),
        ("conf.schema", "from containers.common import io\n", "conf may not import containers"),
        ("pipelines.local.server", "from workspace import open_workspace\n", "may not import workspace"),
        ("steps.context", "from ..pipelines import bundle\n", "steps may not import pipelines"),
        ("infra.parameters", "from steps.names import group_name\n", "infra may not import steps"),
        ("steps.register", "import infra.parameters\n", "steps may not import infra"),
        ("infra.apply", "def f():\n    import sagemaker\n", "infra never imports the SageMaker SDK"),
        ("containers.common.cli", "from sagemaker.core import image_uris\n", "never imports the SageMaker"),
        ("model_registry.backend", "import sagemaker\n", "only inside the function"),
    ],
)
def test_an_upward_import_is_caught(module: str, source: str, expected: str) -> None:
    problems = upward_imports(source, module)
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("pipelines.local.runner", "from project.bundle import REPO_ROOT\nfrom steps import names\n"),
        ("workspace.local", "from pipelines.local.state import RunState\n"),
        ("steps.deploy", "from model_registry import naming\n"),
        ("project.images", "def base():\n    from sagemaker.core import image_uris\n"),
        ("containers.processing.ner", "from . import devices\nimport torch\n"),
    ],
)
def test_imports_downward_or_within_a_layer_pass(module: str, source: str) -> None:
    assert upward_imports(source, module) == []

"""`make build-containers`: build the project images FROM the AWS DLCs and push them to ECR.

The commands are plain shell lines so that `--dry-run` shows exactly what would run (and tests check
them): log in to the DLC registry (to pull the base) and to the project's registry, create each ECR
repository if missing, build with the role's Dockerfile, push. Images whose URI is configured
(`images.<role>_uri`) are yours to build and are skipped.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from pathlib import Path

from conf.schema import Config
from model_registry.serverless import MAX_IMAGE_BYTES
from project.bundle import REPO_ROOT
from project.images import (
    ROLE_REQUIREMENTS,
    ImageSpec,
    dockerfile,
    image_spec,
    registry,
    repository,
    serving_image_spec,
)

LOG = logging.getLogger(__name__)


def required_images(cfg: Config, root: Path = REPO_ROOT) -> list[ImageSpec]:
    """Every distinct image the pipeline of `cfg` runs (role x device), in a stable order."""
    wanted = [
        ("processing", cfg.processing.instance_type),
        ("training", cfg.chatbot.training.instance_type),
        ("training", cfg.classifier.training.instance_type),
        ("training", cfg.chatbot.serving.instance_type),  # EvaluateChatbot
        ("training", cfg.processing.instance_type),  # EvaluateClassifier
    ]
    specs: dict[str, ImageSpec] = {}
    for role, instance_type in wanted:
        spec = image_spec(cfg, role, instance_type, root)
        specs.setdefault(spec.uri, spec)
    for model in ("chatbot", "classifier"):  # the endpoints' images (LMI is AWS's, not built here)
        spec = serving_image_spec(cfg, model, root)
        specs.setdefault(spec.uri, spec)
    return list(specs.values())


def _login(region: str, host: str) -> str:
    return (
        f"aws ecr get-login-password --region {shlex.quote(region)}"
        f" | docker login --username AWS --password-stdin {shlex.quote(host)}"
    )


def build_commands(cfg: Config, push: bool = True, root: Path = REPO_ROOT) -> list[str]:
    """The shell commands that build (and push) the project images of `cfg`."""
    region = cfg.project.region
    specs = [spec for spec in required_images(cfg, root) if spec.project_built]
    for spec in specs:
        missing = [name for name in ROLE_REQUIREMENTS[spec.role] if not (root / name).is_file()]
        if not dockerfile(spec.role, root).is_file():
            missing.append(str(dockerfile(spec.role, root)))
        if missing:
            raise FileNotFoundError(f"cannot build the {spec.role} image: missing {', '.join(missing)}")
    commands = sorted({_login(region, spec.base.split("/")[0]) for spec in specs})
    if push:
        commands.append(_login(region, registry(cfg)))
        for repo in sorted({repository(cfg, spec.role) for spec in specs}):
            commands.append(
                f"aws ecr describe-repositories --region {region} --repository-names {repo} >/dev/null 2>&1"
                f" || aws ecr create-repository --region {region} --repository-name {repo}"
                " --image-scanning-configuration scanOnPush=true"
            )
    for spec in specs:
        recipe = dockerfile(spec.role, root).relative_to(root).as_posix()
        commands.append(
            shlex.join(
                [
                    "docker",
                    "build",
                    "-f",
                    recipe,
                    "--build-arg",
                    f"BASE_IMAGE={spec.base}",
                    "-t",
                    spec.uri,
                    "containers",
                ]
            )
        )
        if spec.uri in serverless_images(cfg, root):
            commands.append(image_size_check(spec.uri))
        if push:
            commands.append(shlex.join(["docker", "push", spec.uri]))
    return commands


def serverless_images(cfg: Config, root: Path = REPO_ROOT) -> set[str]:
    """The inference images that serve a serverless endpoint (conf <model>.serving.serverless)."""
    return {
        image_spec(cfg, "inference", serving.instance_type, root).uri
        for serving in (cfg.chatbot.serving, cfg.classifier.serving)
        if serving.serverless is not None
    }


def image_size_check(uri: str) -> str:
    """A shell line that fails when the built image is over what a serverless endpoint takes (checked
    before the push: an image SageMaker would refuse at CreateEndpoint never reaches ECR)."""
    limit = MAX_IMAGE_BYTES
    quoted = shlex.quote(uri)
    return (
        f"size=$(docker image inspect -f '{{{{.Size}}}}' {quoted}) && if [ \"$size\" -gt {limit} ]; then "
        f'echo "{uri} is $size bytes; a serverless endpoint takes images of at most {limit} bytes '
        f'(see model_registry/serverless.py): slim the image or serve on instances" >&2; exit 1; fi'
    )


def run_commands(commands: list[str], dry_run: bool = False, root: Path = REPO_ROOT) -> int:
    """Run each command in `root` (stop at the first failure); with dry_run, print them instead."""
    for command in commands:
        if dry_run:
            print(command)  # noqa: T201 (the dry run of `make build-containers` prints the commands)
            continue
        LOG.info("$ %s", command)
        result = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=root, check=False)
        if result.returncode != 0:
            LOG.error("failed (exit %d): %s", result.returncode, command)
            return result.returncode
    return 0

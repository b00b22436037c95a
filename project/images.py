"""Container images: the project's images (AWS Deep Learning Containers plus our requirements).

The DLCs lack what the scripts need (transformers 5, peft, pysubs2, networkx...), so every job runs a
project image built by `make build-containers` from containers/docker/<role>.Dockerfile `FROM` the DLC.
Its tag is content-addressed (`<device>-<sha12 of Dockerfile + requirements + base>`), so the definition
names the right image without asking ECR, and a new image appears only when its recipe changes. An
explicit `images.<role>_uri` in config wins (bring your own image). Because the definition never asks
ECR, `upsert` and `make smoke-aws` do (`missing_images`) before anything runs on a tag nobody pushed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from conf.schema import Config
from project.bundle import REPO_ROOT

ROLES = ("processing", "training", "inference")
# Requirements baked into each role's image (evaluation runs in the training image: its needs go there).
ROLE_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "processing": ("containers/processing/requirements.txt",),
    "training": ("containers/training/requirements.txt", "containers/evaluation/requirements.txt"),
    "inference": ("containers/inference/requirements.txt",),
}
GPU_FAMILY = re.compile(r"^(p|g)\d")
# The DLC scope each role extends (the inference DLC carries the model_fn/predict_fn serving toolkit).
DLC_SCOPE = {"processing": "training", "training": "training", "inference": "inference"}


def device_of(instance_type: str) -> str:
    """'gpu' for NVIDIA families (ml.g5.xlarge, ml.p4d.24xlarge), else 'cpu' (ml.m5.xlarge, ml.c5.2xlarge)."""
    parts = instance_type.split(".")
    if len(parts) != 3:
        raise ValueError(f"{instance_type!r} is not an instance type such as ml.m5.xlarge")
    return "gpu" if GPU_FAMILY.match(parts[1]) else "cpu"


def dockerfile(role: str, root: Path = REPO_ROOT) -> Path:
    if role not in ROLES:
        raise ValueError(f"unknown image role {role!r}; known: {', '.join(ROLES)}")
    return root / "containers" / "docker" / f"{role}.Dockerfile"


def recipe_files(role: str, root: Path = REPO_ROOT) -> list[Path]:
    """The files whose bytes define the image: its Dockerfile and the requirements it installs."""
    files = [dockerfile(role, root)] + [root / name for name in ROLE_REQUIREMENTS[role]]
    return [path for path in files if path.is_file()]


def base_image(cfg: Config, role: str, device: str) -> str:
    """The DLC this role's image extends, resolved offline from the SDK's bundled URI tables."""
    from sagemaker.core import image_uris

    images = cfg.images
    instance_type = "ml.g5.xlarge" if device == "gpu" else "ml.m5.xlarge"
    if images.framework == "huggingface":
        return image_uris.retrieve(
            "huggingface",
            region=cfg.project.region,
            version=images.transformers_version,
            base_framework_version=f"pytorch{images.pytorch_version}",
            py_version=images.py_version,
            instance_type=instance_type,
            image_scope=DLC_SCOPE[role],
        )
    return image_uris.retrieve(
        "pytorch",
        region=cfg.project.region,
        version=images.pytorch_version,
        py_version=images.py_version,
        instance_type=instance_type,
        image_scope=DLC_SCOPE[role],
    )


def image_tag(role: str, device: str, base: str, root: Path = REPO_ROOT) -> str:
    """`<device>-<sha12>` over the base image URI and the recipe files (path and bytes)."""
    digest = hashlib.sha256(base.encode("utf-8"))
    for path in recipe_files(role, root):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0" + path.read_bytes())
    return f"{device}-{digest.hexdigest()[:12]}"


def repository(cfg: Config, role: str) -> str:
    """The ECR repository name of a role's image, e.g. 'stranger-things-nlp-training'."""
    return f"{cfg.project.name}-{role}"


def registry(cfg: Config) -> str:
    return f"{cfg.project.account_id}.dkr.ecr.{cfg.project.region}.amazonaws.com"


@dataclass(frozen=True)
class ImageSpec:
    """One image to use (and, for project images, to build): role, device, base DLC and final URI."""

    role: str
    device: str
    base: str
    uri: str
    project_built: bool


def image_spec(cfg: Config, role: str, instance_type: str, root: Path = REPO_ROOT) -> ImageSpec:
    """The image a job of `role` on `instance_type` runs: the configured override or the project image."""
    device = device_of(instance_type)
    override = getattr(cfg.images, f"{role}_uri")
    base = base_image(cfg, role, device)
    if override:
        return ImageSpec(role, device, base, override, project_built=False)
    uri = f"{registry(cfg)}/{repository(cfg, role)}:{image_tag(role, device, base, root)}"
    return ImageSpec(role, device, base, uri, project_built=True)


# ---- which images exist (ECR) ----------------------------------------------------------------------
# The codes ECR's DescribeImages answers when the image is absent (ECR API reference, DescribeImages:
# Errors). Anything else (access denied, throttling) is not an answer about the image and propagates.
NOT_IN_ECR = frozenset({"ImageNotFoundException", "RepositoryNotFoundException"})
ECR_HOST = re.compile(r"(\d{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com")
IMAGE_KEYS = ("ImageUri", "TrainingImage", "Image")  # where a SageMaker request names a container image


def image_id(uri: str) -> tuple[str, dict[str, str]]:
    """'<registry>/<repository>:<tag>' (or '@sha256:...') -> (repository, DescribeImages imageId)."""
    path = uri.split("/", 1)[1] if "/" in uri else uri
    if "@" in path:
        repository, _, digest = path.partition("@")
        return repository, {"imageDigest": digest}
    repository, _, tag = path.partition(":")
    return repository, {"imageTag": tag or "latest"}


def missing_images(ecr: Any, uris: Iterable[str]) -> dict[str, str]:
    """The images among `uris` that ECR does not hold, each with ECR's error code (ImageNotFoundException:
    the repository lacks the tag; RepositoryNotFoundException: no repository).

    One DescribeImages call per image (the caller needs ecr:DescribeImages on each repository). Used by
    `upsert` (refuse a definition whose project images are not pushed) and by `make smoke-aws`'s preflight.
    """
    missing: dict[str, str] = {}
    for uri in sorted(set(uris)):
        repository, identifier = image_id(uri)
        request: dict[str, Any] = {"repositoryName": repository, "imageIds": [identifier]}
        registry_host = ECR_HOST.fullmatch(uri.split("/", 1)[0])
        if registry_host:  # the registry the URI names, not the caller's default one
            request["registryId"] = registry_host.group(1)
        try:
            ecr.describe_images(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in NOT_IN_ECR:
                raise
            missing[uri] = code
    return missing


def definition_images(definition: Any) -> set[str]:
    """Every literal container image URI a pipeline definition names (processing, training, models)."""
    found: set[str] = set()
    if isinstance(definition, dict):
        for key, value in definition.items():
            if key in IMAGE_KEYS and isinstance(value, str):
                found.add(value)
            else:
                found |= definition_images(value)
    elif isinstance(definition, list):
        for item in definition:
            found |= definition_images(item)
    return found


def project_images(cfg: Config, definition: dict[str, Any]) -> list[str]:
    """The project-built, content-addressed images a definition runs (`make build-containers` pushes
    them to the project's repositories); a bring-your-own `images.<role>_uri` is not among them."""
    ours = {repository(cfg, role) for role in ROLES}
    in_registry = f"{registry(cfg)}/"
    named = definition_images(definition)
    return sorted(uri for uri in named if uri.startswith(in_registry) and image_id(uri)[0] in ours)


def lmi_image(cfg: Config) -> str:
    """AWS's Large Model Inference container (djl-inference, vLLM inside) of `chatbot.serving.lmi_version`,
    resolved offline from the SDK's bundled table (sagemaker/core/image_uri_config/djl-lmi.json), e.g.
    763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.36.0-lmi27.0.0-cu130."""
    from sagemaker.core import image_uris

    return image_uris.retrieve("djl-lmi", region=cfg.project.region, version=cfg.chatbot.serving.lmi_version)


def serving_image_spec(cfg: Config, model: str, root: Path = REPO_ROOT) -> ImageSpec:
    """The image `model`'s endpoint runs: the project's inference image, or LMI for `engine: lmi`
    (AWS's image as is: nothing of ours to build into it; the model folder carries what it loads)."""
    serving = getattr(cfg, model).serving
    if serving.engine == "lmi":
        uri = lmi_image(cfg)
        return ImageSpec("inference", "gpu", uri, uri, project_built=False)
    return image_spec(cfg, "inference", serving.instance_type, root)

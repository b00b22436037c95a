"""Carries the deploy handler's decisions out on the local endpoints (the SQLite endpoint table).

The same `deploy_logic.handle` that runs in the Lambda runs here, so approving a version with the local
backend deploys it to the local endpoint exactly by the rules SageMaker endpoints follow.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
from pathlib import Path

from model_registry.deploy_logic import EndpointTarget
from model_registry.deploy_requests import DeploymentState
from model_registry.local import LocalRegistry
from model_registry.types import ModelVersion

STAMP = ".unpacked-from"


def local_path(model_data_url: str, base_dir: Path) -> Path:
    """The filesystem path of a local registry's model_data_url (a path or a file:// URI)."""
    if model_data_url.startswith("file://"):
        return Path(model_data_url.removeprefix("file://"))
    if "://" in model_data_url:
        raise ValueError(
            f"model_data_url {model_data_url!r} is not local: the local backend deploys files on this machine"
        )
    path = Path(model_data_url)
    return path if path.is_absolute() else base_dir / path


def _tarball_id(tarball: Path) -> str:
    stat = tarball.stat()
    return hashlib.sha256(f"{tarball.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()


def unpack_model(source: Path, dest: Path) -> Path:
    """A model folder as-is, or a model.tar.gz (or a folder holding one) unpacked into `dest`.

    Unpacking goes to a temporary sibling first and is renamed into place, so a server reading `dest`
    never sees half a model; an unchanged tarball is not unpacked twice.
    """
    tarball = source / "model.tar.gz" if source.is_dir() else source
    if source.is_dir() and not tarball.is_file():
        return source
    if not tarball.is_file():
        raise FileNotFoundError(f"model artifact {source} does not exist; was the run folder removed?")
    stamp = _tarball_id(tarball)
    if (dest / STAMP).is_file() and (dest / STAMP).read_text() == stamp:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            archive.extractall(scratch, filter="data")
        (scratch / STAMP).write_text(stamp)
    except (tarfile.TarError, OSError, EOFError) as error:
        # A refused or truncated tarball leaves nothing behind: the half-unpacked scratch folder goes.
        shutil.rmtree(scratch, ignore_errors=True)
        raise ValueError(f"cannot unpack model artifact {tarball}: {error}") from error
    if dest.exists():
        shutil.rmtree(dest)
    scratch.rename(dest)
    return dest


class LocalDeployer:
    """Points local endpoints at registered versions, unpacking their artifacts under `deploy_root`."""

    def __init__(
        self, registry: LocalRegistry, deploy_root: Path | None = None, base_dir: Path | None = None
    ):
        self.registry = registry
        self.deploy_root = deploy_root if deploy_root is not None else registry.db_path.parent / "deployed"
        self.base_dir = base_dir if base_dir is not None else Path.cwd()

    def live_package_arn(self, endpoint_name: str) -> str | None:
        endpoint = self.registry.endpoint(endpoint_name)
        return endpoint.model_package_arn if endpoint is not None else None

    def deployment_state(self, endpoint_name: str) -> DeploymentState:
        """Local endpoints switch at once: never busy."""
        endpoint = self.registry.endpoint(endpoint_name)
        if endpoint is None:
            return DeploymentState(exists=False)
        return DeploymentState(True, serving=endpoint.model_package_arn, status=endpoint.status)

    def deploy(self, target: EndpointTarget, version: ModelVersion) -> None:
        source = local_path(version.model_data_url, self.base_dir)
        model_dir = unpack_model(source, self.deploy_root / version.group / f"v{version.version}")
        self.registry.deploy(target.endpoint_name, version.group, version.version, model_dir)

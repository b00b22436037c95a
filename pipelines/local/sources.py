"""Where a job input comes from: a folder or file on this machine, or the code bundle in the working tree.

SageMaker downloads each input from S3 into the container. Locally an input is either something an
earlier step of this run wrote (under the run's `s3/` folder), a local folder given as a URI (the
InputDataUri of `make run-local DATA=DIR`), or the code bundle `s3://.../code/<sha12>/`, which
`project.bundle` maps back to the working tree: the run executes the code you are editing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.local.storage import Digests, RunStorage, StorageError, copy_into
from project.bundle import SOURCEDIR_TARBALL, bundle_files, hash_files, parse_code_uri, step_bundles


@dataclass(frozen=True)
class Source:
    """One input's origin: a path, or (when `bundle_root` is set) the bundle files under `inner`."""

    uri: str
    path: Path | None = None
    bundle_root: Path | None = None
    inner: str = ""
    sha12: str = ""  # the code key in the URI: selects that step's bundle (its script's closure)

    @property
    def is_code(self) -> bool:
        return self.bundle_root is not None

    def digest(self, digests: Digests) -> str:
        """The content digest the step cache keys on."""
        if self.bundle_root is not None:
            files = self._bundle_selection()
            return hash_files(self.bundle_root, files)
        assert self.path is not None
        return digests.tree(self.path)

    def _bundle_selection(self) -> list[str]:
        assert self.bundle_root is not None
        # The step's own bundle when the working tree has one under this hash; otherwise (a definition
        # built from other code) the whole bundle: the jobs run the working tree's code.
        files = step_bundles(self.bundle_root).get(self.sha12) or bundle_files(self.bundle_root)
        if self.inner in ("", SOURCEDIR_TARBALL):
            return files
        chosen = [f for f in files if f == self.inner or f.startswith(self.inner.rstrip("/") + "/")]
        if not chosen:
            raise StorageError(f"{self.uri}: the code bundle has no {self.inner!r}")
        return chosen

    def materialize(self, target_dir: Path) -> int:
        """Copy the input into `target_dir` (a job's input folder) as SageMaker would download it."""
        if self.bundle_root is None:
            assert self.path is not None
            return copy_into(self.path, target_dir, keep_symlinks=True)
        files = self._bundle_selection()
        prefix = "" if self.inner in ("", SOURCEDIR_TARBALL) else self.inner.rstrip("/")
        for name in files:
            # S3 semantics: a prefix keeps paths below it; a single object lands under its own name.
            if not prefix:
                relative = name
            elif name == prefix:
                relative = Path(name).name
            else:
                relative = name[len(prefix) + 1 :]
            destination = target_dir / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes((self.bundle_root / name).read_bytes())
        return len(files)


def find_source(uri: str, storage: RunStorage, repo_root: Path) -> Source:
    """Locate an input URI for this run; raise StorageError naming the URI when nothing is there."""
    if "/code/" in uri and uri.startswith("s3://"):
        try:
            sha12, inner = parse_code_uri(uri)
        except ValueError:
            sha12 = ""
        if sha12:
            return Source(uri=uri, bundle_root=repo_root, inner=inner, sha12=sha12)
    path = storage.local_path(uri)
    if not path.exists():
        hint = (
            "an earlier step of this run writes it there; data of your own is a local folder (--data DIR)"
            if uri.startswith("s3://")
            else "a folder or file on this machine"
        )
        raise StorageError(f"input {uri} does not exist: expected it at {path} ({hint})")
    return Source(uri=uri, path=path)


def stale_bundle_note(code_uris: set[str], repo_root: Path) -> str | None:
    """A note when the definition names a code hash other than the working tree's (the tree is what runs)."""
    hashes = set()
    for uri in code_uris:
        try:
            hashes.add(parse_code_uri(uri)[0])
        except ValueError:
            continue
    stale = sorted(hashes - set(step_bundles(repo_root)))
    if not stale:
        return None
    return (
        f"the definition names code bundle {', '.join(stale)}, which the working tree does not have: "
        "the jobs run the working tree's code"
    )

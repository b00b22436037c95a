"""The local model registry and endpoint table: SQLite at `.local/registry.db`.

    reg = LocalRegistry(Path(".local/registry.db"))
    v = reg.register("stranger-things-chatbot", model_data_url=".local/runs/x/model.tar.gz",
                     metrics={"bleu": 12.3}, approval_status="Approved")
    reg.deploy("stranger-things-nlp-local-chatbot", v.group, v.version, model_dir)

It plays the part of the SageMaker Model Registry for the local runner (which registers and deploys
through it), for `make serve-local` (which serves `list_endpoints()`), and for the registry CLI and
notebooks without AWS. Versions are numbered 1, 2, ... per group, as SageMaker numbers model packages.

Two processes may use one database at once (the runner writes while a reviewer approves): the
database runs in WAL mode, each call opens its own short transaction, and writers take the lock up
front (BEGIN IMMEDIATE) so that "read the highest version, insert the next" cannot interleave.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model_registry.cards import CARD_FILE_SUFFIX, model_card_request, parse_content, render_card
from model_registry.types import (
    ApprovalStatus,
    Endpoint,
    ModelVersion,
    Variant,
    check_metrics,
    check_name,
    check_status,
)
from project.defaults import LOCAL_ARN_PREFIX, LOCAL_HOME, REGISTRY_DB_NAME

DEFAULT_DB = LOCAL_HOME / REGISTRY_DB_NAME
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (
    name TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    group_name TEXT NOT NULL REFERENCES groups(name),
    version INTEGER NOT NULL,
    arn TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    model_data_url TEXT NOT NULL,
    image_uri TEXT NOT NULL,
    metrics TEXT NOT NULL,
    evaluation_uri TEXT NOT NULL,
    environment TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status_updated_at TEXT NOT NULL,
    status_note TEXT NOT NULL,
    PRIMARY KEY (group_name, version)
);
CREATE TABLE IF NOT EXISTS model_cards (
    group_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    content TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (group_name, version)
);
CREATE TABLE IF NOT EXISTS status_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY,
    group_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    model_package_arn TEXT NOT NULL,
    model_dir TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS variants (
    endpoint_name TEXT PRIMARY KEY REFERENCES endpoints(name),
    variant TEXT NOT NULL,
    group_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    model_package_arn TEXT NOT NULL,
    model_dir TEXT NOT NULL,
    weight REAL NOT NULL,
    live_weight REAL NOT NULL,
    shadow INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deployments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_name TEXT NOT NULL,
    group_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    model_dir TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def package_arn(group: str, version: int) -> str:
    """The arn-like id of a local model version, shaped like SageMaker's model package ARN."""
    return f"{LOCAL_ARN_PREFIX}:model-package/{group}/{version}"


def group_arn(group: str) -> str:
    return f"{LOCAL_ARN_PREFIX}:model-package-group/{group}"


class LocalRegistry:
    """Model groups, versions and endpoints in one SQLite file (the local stand-in for SageMaker)."""

    def __init__(self, db_path: Path | str = DEFAULT_DB, clock: Callable[[], datetime] = _utc_now) -> None:
        self.db_path = Path(db_path)
        self._clock = clock
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            # WAL lets readers run while one process writes; it is a property of the file, set once.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def change_stamp(self) -> tuple[int, ...]:
        """Changes whenever a write commits (WAL mode: the -wal file grows or the database is rewritten);
        one stat per file, for readers that cache what they read (the endpoint server)."""
        stamp: list[int] = []
        for path in (self.db_path, self.db_path.with_name(self.db_path.name + "-wal")):
            try:
                info = path.stat()
            except FileNotFoundError:
                stamp += [0, 0, 0]
                continue
            stamp += [info.st_mtime_ns, info.st_size, info.st_ino]
        return tuple(stamp)

    @contextmanager
    def review_lock(self) -> Iterator[None]:
        """Held by a review from its status change to the end of the deploy it causes, so an approve and
        a reject of the same version (two `make approve-model` at once) cannot interleave: the endpoint
        ends on the version the registry says is live. An flock beside the database, released by the
        kernel if the holder dies; SQLite's own lock covers one statement's transaction, not this span."""
        path = self.db_path.with_name(self.db_path.name + ".review.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    # -- connection -------------------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA foreign_keys=ON")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; the lock is taken at BEGIN so read-then-write cannot race."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _now(self) -> str:
        # Microseconds: a server that reloads when updated_at changes must see two quick deploys.
        return self._clock().astimezone(UTC).isoformat(timespec="microseconds")

    # -- registry ---------------------------------------------------------------------------------

    def register(
        self,
        group: str,
        model_data_url: str,
        image_uri: str = "",
        metrics: dict[str, float] | None = None,
        evaluation_uri: str = "",
        approval_status: str = ApprovalStatus.PENDING,
        environment: dict[str, str] | None = None,
        description: str = "",
    ) -> ModelVersion:
        """Add the next version of `group` (creating the group when missing) and return it."""
        check_name(group, "model package group")
        check_status(approval_status)
        clean_metrics = check_metrics(metrics or {})
        if not model_data_url:
            raise ValueError("model_data_url is empty: pass the path of the model.tar.gz or model folder")
        now = self._now()
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO groups (name, arn, description, created_at) VALUES (?, ?, ?, ?)",
                (group, group_arn(group), "", now),
            )
            row = conn.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE group_name = ?", (group,)
            ).fetchone()
            version = int(row[0])
            conn.execute(
                "INSERT INTO versions (group_name, version, arn, status, model_data_url, image_uri, metrics,"
                " evaluation_uri, environment, description, created_at, status_updated_at, status_note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    group,
                    version,
                    package_arn(group, version),
                    approval_status,
                    model_data_url,
                    image_uri,
                    json.dumps(clean_metrics, sort_keys=True),
                    evaluation_uri,
                    json.dumps(dict(environment or {}), sort_keys=True),
                    description,
                    now,
                    now,
                    "",
                ),
            )
            self._record_status(conn, group, version, approval_status, "registered", now)
        return self.get(group, version)

    def list_groups(self) -> list[str]:
        with self._connect() as conn:
            return [row["name"] for row in conn.execute("SELECT name FROM groups ORDER BY name")]

    def list_versions(self, group: str, status: str | None = None) -> list[ModelVersion]:
        """Versions of `group`, oldest first; `status` keeps only those in that approval status."""
        query = "SELECT * FROM versions WHERE group_name = ?"
        params: list[Any] = [group]
        if status is not None:
            query += " AND status = ?"
            params.append(check_status(status))
        with self._connect() as conn:
            if conn.execute("SELECT 1 FROM groups WHERE name = ?", (group,)).fetchone() is None:
                raise KeyError(f"no model package group {group!r} in {self.db_path}")
            rows = conn.execute(query + " ORDER BY version", params).fetchall()
        return [_version_from_row(row) for row in rows]

    def get(self, group: str, version: int) -> ModelVersion:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT * FROM versions WHERE group_name = ? AND version = ?", (group, int(version))
            ).fetchone()
        if row is None:
            raise KeyError(f"no version {version} in model package group {group!r} ({self.db_path})")
        return _version_from_row(row)

    def get_by_arn(self, arn: str) -> ModelVersion:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM versions WHERE arn = ?", (arn,)).fetchone()
        if row is None:
            raise KeyError(f"no model version {arn!r} in {self.db_path}")
        return _version_from_row(row)

    def set_status(self, group: str, version: int, status: str, note: str = "") -> ModelVersion:
        """Approve, reject or reset a version; the note and the time are kept, with the history."""
        check_status(status)
        now = self._now()
        with self._write() as conn:
            updated = conn.execute(
                "UPDATE versions SET status = ?, status_note = ?, status_updated_at = ?"
                " WHERE group_name = ? AND version = ?",
                (status, note, now, group, int(version)),
            )
            if updated.rowcount == 0:
                raise KeyError(f"no version {version} in model package group {group!r} ({self.db_path})")
            self._record_status(conn, group, int(version), status, note, now)
        return self.get(group, version)

    def status_history(self, group: str, version: int) -> list[dict[str, str]]:
        """Every status a version has had, oldest first: {"status", "note", "at"}."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT status, note, at FROM status_history WHERE group_name = ? AND version = ?"
                " ORDER BY id",
                (group, int(version)),
            ).fetchall()
        return [dict(row) for row in rows]

    def latest_approved(self, group: str) -> ModelVersion | None:
        """The highest approved version of `group`, or None when none is approved."""
        approved = self.list_versions(group, status=ApprovalStatus.APPROVED)
        return approved[-1] if approved else None

    # -- model cards ------------------------------------------------------------------------------

    def card_path(self, group: str, version: int) -> Path:
        """Where the version's card is kept as text, beside the registry: <home>/model-cards/<group>/vN."""
        return self.db_path.parent / "model-cards" / group / f"v{int(version)}{CARD_FILE_SUFFIX}"

    def set_card(self, group: str, version: int, content_text: str, status: str = "Draft") -> Path:
        """Keep a version's model card (ModelCardContent JSON) and write its text; returns the text file."""
        model_version = self.get(group, version)  # a missing version raises KeyError
        content = parse_content(content_text)
        model_card_request(content_text, status)  # checks the status
        with self._write() as conn:
            conn.execute(
                "INSERT INTO model_cards (group_name, version, content, status) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(group_name, version) DO UPDATE SET content = excluded.content,"
                " status = excluded.status",
                (group, int(version), content_text, status),
            )
        path = self.card_path(group, version)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_card(content, f"{group} v{model_version.version}"), encoding="utf-8")
        return path

    def card(self, group: str, version: int) -> dict[str, Any] | None:
        """The version's model card content, or None when it was registered without one."""
        self.get(group, version)  # a missing version raises KeyError
        with self._connect() as conn:
            row = conn.execute(
                "SELECT content FROM model_cards WHERE group_name = ? AND version = ?", (group, int(version))
            ).fetchone()
        return parse_content(row["content"]) if row is not None else None

    @staticmethod
    def _record_status(
        conn: sqlite3.Connection, group: str, version: int, status: str, note: str, at: str
    ) -> None:
        conn.execute(
            "INSERT INTO status_history (group_name, version, status, note, at) VALUES (?, ?, ?, ?, ?)",
            (group, version, status, note, at),
        )

    # -- endpoints --------------------------------------------------------------------------------

    def deploy(self, endpoint_name: str, group: str, version: int, model_dir: Path | str) -> Endpoint:
        """Point `endpoint_name` at an approved version whose unpacked model lives in `model_dir`.

        Creates the endpoint when missing, else switches it (a server watching `updated_at` reloads).
        A version that is not Approved is refused: only reviewed models go live.
        """
        check_name(endpoint_name, "endpoint")
        model_version = self.get(group, version)
        if model_version.status != ApprovalStatus.APPROVED:
            raise ValueError(
                f"{group} version {version} is {model_version.status}; approve it before deploying"
            )
        folder = Path(model_dir)
        if not folder.is_dir():
            raise FileNotFoundError(f"model_dir {folder} is not a folder; pass the unpacked model folder")
        now = self._now()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO endpoints (name, group_name, version, model_package_arn, model_dir, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
                " group_name = excluded.group_name, version = excluded.version,"
                " model_package_arn = excluded.model_package_arn, model_dir = excluded.model_dir,"
                " updated_at = excluded.updated_at",
                (endpoint_name, group, int(version), model_version.arn, str(folder.resolve()), now, now),
            )
            # A new live version is a new endpoint config with that variant alone, as on SageMaker.
            conn.execute("DELETE FROM variants WHERE endpoint_name = ?", (endpoint_name,))
            conn.execute(
                "INSERT INTO deployments (endpoint_name, group_name, version, model_dir, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (endpoint_name, group, int(version), str(folder.resolve()), now),
            )
        found = self.endpoint(endpoint_name)
        if found is None:  # only if another process deleted the database meanwhile
            raise RuntimeError(f"endpoint {endpoint_name!r} vanished from {self.db_path} right after deploy")
        return found

    def endpoint(self, name: str) -> Endpoint | None:
        """The endpoint called `name`, or None when it was never deployed."""
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone()
        return _endpoint_from_row(row) if row is not None else None

    def list_endpoints(self) -> list[Endpoint]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM endpoints ORDER BY name").fetchall()
        return [_endpoint_from_row(row) for row in rows]

    # -- variants beside the live one (model_registry/variants.py) -----------------------------------

    def set_variant(
        self,
        endpoint_name: str,
        variant: str,
        group: str,
        version: int,
        model_dir: Path | str,
        weight: float,
        live_weight: float,
        shadow: bool = False,
    ) -> Variant:
        """Put a challenger (or shadow) beside the endpoint's live version; one at a time per endpoint.

        Not only approved versions: a challenger is a version under review (variants.py says why)."""
        if self.endpoint(endpoint_name) is None:
            raise KeyError(f"no endpoint {endpoint_name!r} in {self.db_path}: deploy a version first")
        model_version = self.get(group, version)
        now = self._now()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO variants (endpoint_name, variant, group_name, version, model_package_arn,"
                " model_dir, weight, live_weight, shadow, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(endpoint_name) DO UPDATE SET variant = excluded.variant,"
                " group_name = excluded.group_name, version = excluded.version,"
                " model_package_arn = excluded.model_package_arn, model_dir = excluded.model_dir,"
                " weight = excluded.weight, live_weight = excluded.live_weight, shadow = excluded.shadow,"
                " updated_at = excluded.updated_at",
                (
                    endpoint_name,
                    variant,
                    group,
                    int(version),
                    model_version.arn,
                    str(Path(model_dir).resolve()),
                    float(weight),
                    float(live_weight),
                    int(shadow),
                    now,
                ),
            )
        found = self.variant(endpoint_name)
        if found is None:  # only if another process removed it meanwhile
            raise RuntimeError(
                f"variant of {endpoint_name!r} vanished from {self.db_path} right after it was set"
            )
        return found

    def set_variant_weights(self, endpoint_name: str, weight: float, live_weight: float) -> Variant:
        with self._write() as conn:
            updated = conn.execute(
                "UPDATE variants SET weight = ?, live_weight = ?, updated_at = ? WHERE endpoint_name = ?",
                (float(weight), float(live_weight), self._now(), endpoint_name),
            )
            if updated.rowcount == 0:
                raise KeyError(f"{endpoint_name!r} has no challenger in {self.db_path}")
        found = self.variant(endpoint_name)
        assert found is not None  # the row was just updated under the write lock
        return found

    def remove_variant(self, endpoint_name: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM variants WHERE endpoint_name = ?", (endpoint_name,))

    def variant(self, endpoint_name: str) -> Variant | None:
        """The challenger or shadow beside `endpoint_name`'s live version, if any."""
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM variants WHERE endpoint_name = ?", (endpoint_name,)).fetchone()
        return _variant_from_row(row) if row is not None else None

    def list_variants(self) -> list[Variant]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM variants ORDER BY endpoint_name").fetchall()
        return [_variant_from_row(row) for row in rows]

    def deployments(self, endpoint_name: str) -> list[dict[str, Any]]:
        """Every deployment of an endpoint, oldest first: {"group", "version", "model_dir", "at"}."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT group_name, version, model_dir, at FROM deployments WHERE endpoint_name = ?"
                " ORDER BY id",
                (endpoint_name,),
            ).fetchall()
        return [
            {"group": r["group_name"], "version": r["version"], "model_dir": r["model_dir"], "at": r["at"]}
            for r in rows
        ]


def _version_from_row(row: sqlite3.Row) -> ModelVersion:
    return ModelVersion(
        group=row["group_name"],
        version=int(row["version"]),
        arn=row["arn"],
        status=row["status"],
        model_data_url=row["model_data_url"],
        image_uri=row["image_uri"],
        metrics=json.loads(row["metrics"]),
        evaluation_uri=row["evaluation_uri"],
        environment=json.loads(row["environment"]),
        description=row["description"],
        created_at=row["created_at"],
        status_updated_at=row["status_updated_at"],
        status_note=row["status_note"],
    )


def _endpoint_from_row(row: sqlite3.Row) -> Endpoint:
    return Endpoint(
        name=row["name"],
        group=row["group_name"],
        version=int(row["version"]),
        model_package_arn=row["model_package_arn"],
        status="InService",
        model_dir=Path(row["model_dir"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _variant_from_row(row: sqlite3.Row) -> Variant:
    return Variant(
        endpoint=row["endpoint_name"],
        name=row["variant"],
        group=row["group_name"],
        version=int(row["version"]),
        model_package_arn=row["model_package_arn"],
        weight=float(row["weight"]),
        live_weight=float(row["live_weight"]),
        shadow=bool(row["shadow"]),
        model_dir=Path(row["model_dir"]),
        updated_at=row["updated_at"],
    )

"""The A/B flow end to end on serve-local: add a challenger, observe the split, target a variant, shadow,
promote and abort, all through `python -m model_registry` and real HTTP on loopback."""

from __future__ import annotations

import http.client
import json
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from containers.monitoring.capture import CaptureWriter, capture_files, read_events
from model_registry.cli import build_parser, main
from model_registry.local import LocalRegistry
from model_registry.naming import LIVE_VARIANT
from pipelines.local.server import INVOKED_VARIANT_HEADER, TARGET_VARIANT_HEADER, LocalServer, make_server

CHATBOT = "stranger-things-chatbot"
ENDPOINT = "stranger-things-nlp-local-chatbot"
SEED = 1130
HANDLER = """
import json


def model_fn(model_dir):
    with open(f"{model_dir}/version.txt") as handle:
        return int(handle.read())


def predict_fn(data, model):
    if data.get("text") == "boom":
        raise RuntimeError("this version breaks on boom")
    return {"version": model, "echo": data.get("text")}
"""


def model_tarball(folder: Path, n: int) -> Path:
    """A model.tar.gz whose handler answers with its version number."""
    source = folder / f"m{n}"
    (source / "code").mkdir(parents=True)
    (source / "version.txt").write_text(str(n))
    (source / "code" / "inference.py").write_text(HANDLER)
    tarball = folder / f"m{n}.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        for path in sorted(source.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(source)), recursive=False)
    return tarball


def cli(db: Path, *argv: str) -> int:
    return main(build_parser().parse_args(["--db", str(db), *argv]))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "registry.db"
    registry = LocalRegistry(path)
    for n in (1, 2, 3):
        registry.register(
            CHATBOT, str(model_tarball(tmp_path, n)), metrics={"bleu": 4.0 + n, "chrf": 20.0 + n}
        )
    return path


@pytest.fixture
def server(db: Path) -> Iterator[LocalServer]:
    capture = CaptureWriter(db.parent / "capture")
    running = make_server(LocalRegistry(db), "127.0.0.1", 0, seed=SEED, capture=capture).start()
    try:
        yield running
    finally:
        running.shutdown()
        running.server_close()


class Client:
    """One keep-alive connection to serve-local (a shadow copy runs after its answer)."""

    def __init__(self, server: LocalServer) -> None:
        self.conn = http.client.HTTPConnection(*server.server_address, timeout=60)

    def invoke(self, text: str = "hi", variant: str | None = None) -> tuple[int, Any, str | None]:
        headers = {"Content-Type": "application/json"}
        if variant is not None:
            headers[TARGET_VARIANT_HEADER] = variant
        self.conn.request("POST", f"/endpoints/{ENDPOINT}/invocations", json.dumps({"text": text}), headers)
        answer = self.conn.getresponse()
        return answer.status, json.loads(answer.read()), answer.getheader(INVOKED_VARIANT_HEADER)

    def variants(self) -> dict[str, Any]:
        self.conn.request("GET", "/metrics")
        answer = self.conn.getresponse()
        return dict(json.loads(answer.read())["endpoints"][ENDPOINT]["variants"])


def test_ab_split_target_variant_shadow_promote_and_abort(
    db: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(db, "approve", "chatbot", "1") == 0
    client = Client(server)
    assert client.invoke()[1:] == ({"version": 1, "echo": "hi"}, LIVE_VARIANT)

    assert cli(db, "challenger", "add", "chatbot", "2", "--weight", "0.25") == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith(f"v2 added as ab variant v2 beside live v1 ({LIVE_VARIANT}); it takes 0.25 of the traffic")
    )
    assert LocalRegistry(db).get(CHATBOT, 2).status == "PendingManualApproval"  # a challenger is under review

    # The split: N = 400 at p = 0.25, mean 100, variance N p (1 - p) = 75; Bernstein's inequality with
    # a = 40 bounds P(|X - 100| >= 40) by 2 exp(-1600 / (2 (75 + 40 / 3))) < 3e-4 for any seed.
    answers = [client.invoke(f"line {i}") for i in range(400)]
    by_variant = Counter(variant for _, _, variant in answers)
    assert abs(by_variant["v2"] - 100) < 40 and by_variant[LIVE_VARIANT] == 400 - by_variant["v2"]
    # Each variant answers with its own model.
    assert {(v, body["version"]) for _, body, v in answers} == {(LIVE_VARIANT, 1), ("v2", 2)}
    figures = client.variants()
    assert (figures[LIVE_VARIANT]["requests"], figures["v2"]["requests"]) == (
        by_variant[LIVE_VARIANT] + 1,  # the one before the challenger came
        by_variant["v2"],
    )

    # TargetVariant picks the variant; a name the endpoint lacks is the client's error.
    assert {client.invoke("t", "v2")[1]["version"] for _ in range(20)} == {2}
    assert {client.invoke("t", LIVE_VARIANT)[1]["version"] for _ in range(20)} == {1}
    status, body, _ = client.invoke("t", "v9")
    assert status == 400 and "has no production variant 'v9'" in body["error"]
    # Errors count under the variant that answered.
    assert client.invoke("boom", "v2")[0] == 500
    assert client.variants()["v2"]["server_errors"] == 1

    assert cli(db, "variants", "chatbot", "--server", f"http://127.0.0.1:{server.server_address[1]}") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "endpoint",
        "variant",
        "version",
        "role",
        "share",
        "invocations",
        "errors",
        "p50",
        "ms",
        "p99",
        "ms",
    ]
    assert table[1].split()[1:7] == [
        LIVE_VARIANT,
        "1",
        "live",
        "75%",
        str(by_variant[LIVE_VARIANT] + 21),
        "0",
    ]
    assert table[2].split()[1:7] == ["v2", "2", "challenger", "25%", str(by_variant["v2"] + 21), "1"]

    assert cli(db, "challenger", "weight", "chatbot", "0.5") == 0
    assert capsys.readouterr().out.strip() == f"{ENDPOINT}: v2 now takes 0.5 of the traffic"

    # Promote: the challenger is approved and deployed alone, as a normal deploy.
    assert cli(db, "challenger", "promote", "chatbot") == 0
    assert (
        "promote v2: stranger-things-chatbot v2 -> Approved\ndeploy: version 2 approved"
        in capsys.readouterr().out
    )
    assert {client.invoke()[1:] == ({"version": 2, "echo": "hi"}, LIVE_VARIANT) for _ in range(30)} == {True}
    assert LocalRegistry(db).variant(ENDPOINT) is None
    # The live variant keeps its name; its figures are now v2's, v1's count is kept apart.
    live = client.variants()[LIVE_VARIANT]
    assert (live["version"], live["requests"]) == (2, 30)
    assert live["earlier"] == {"1": by_variant[LIVE_VARIANT] + 1 + 20}

    # Shadow: every request is copied to v3, whose answers nobody sees.
    assert cli(db, "challenger", "add", "chatbot", "3", "--shadow") == 0
    capsys.readouterr()
    before = client.variants()[LIVE_VARIANT]["requests"]
    answers = [client.invoke(f"shadowed {i}") for i in range(25)]
    assert {(body["version"], variant) for _, body, variant in answers} == {(2, LIVE_VARIANT)}
    # The copies run after each answer has gone: read /metrics until the last one is in (a bounded
    # number of reads, not a clock).
    figures = client.variants()
    for _ in range(1000):
        if figures["v3"]["requests"] >= 25:
            break
        figures = client.variants()
    assert figures["v3"] == figures["v3"] | {"requests": 25, "errors": 0, "shadow": True}
    assert figures[LIVE_VARIANT]["requests"] == before + 25
    status, body, _ = client.invoke("t", "v3")
    assert status == 400 and "has no production variant 'v3'" in body["error"]

    # Capture per variant, in SageMaker's layout <endpoint>/<variant>/YYYY/MM/DD/HH: each variant's
    # answers under its own name, the shadow's discarded answers too.
    root = db.parent / "capture" / ENDPOINT
    captured = {
        variant: [e.response["version"] for e in read_events(capture_files(root / variant))[0]]
        for variant in (LIVE_VARIANT, "v2", "v3")
    }
    assert set(captured["v2"]) == {2} and len(captured["v2"]) == by_variant["v2"] + 20
    assert set(captured["v3"]) == {3} and len(captured["v3"]) == 25
    assert captured[LIVE_VARIANT].count(1) == by_variant[LIVE_VARIANT] + 1 + 20
    assert captured[LIVE_VARIANT].count(2) == 30 + 25

    # Abort: back to the live version alone; --reject also rejects the challenger.
    assert cli(db, "challenger", "abort", "chatbot", "--reject", "--note", "worse answers") == 0
    assert f"{ENDPOINT}: v3 removed; live v2 takes all traffic" in capsys.readouterr().out
    assert LocalRegistry(db).get(CHATBOT, 3).status == "Rejected"
    assert {client.invoke()[2] for _ in range(10)} == {LIVE_VARIANT}
    assert client.variants()["v3"]["requests"] == 25  # no copy after the abort
    with pytest.raises(SystemExit, match="has no challenger"):
        cli(db, "challenger", "abort", "chatbot")


def test_refusals_come_back_as_one_line(db: Path) -> None:
    with pytest.raises(SystemExit, match="serves no approved version yet"):
        cli(db, "challenger", "add", "chatbot", "2")
    assert cli(db, "approve", "chatbot", "1") == 0
    with pytest.raises(SystemExit, match="has no challenger: add one first"):
        cli(db, "challenger", "abort", "chatbot")
    with pytest.raises(SystemExit, match="v1 is Approved: a challenger is a version under review"):
        cli(db, "challenger", "add", "chatbot", "1")
    with pytest.raises(SystemExit, match="strictly between 0 and 1"):
        cli(db, "challenger", "add", "chatbot", "2", "--weight", "1.5")

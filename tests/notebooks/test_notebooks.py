"""The Studio notebooks, run headless (nbclient) against the local backend.

The fixture is a small local world built by hand, not a full local run: a registry with two chatbot
versions (v1 live, v2 pending) and a live classifier, each with a tiny hand-written inference handler,
and one run folder laid out as the local runner lays it out (state.json + the s3/ mirror).
"""

from __future__ import annotations

import json
import struct
import tarfile
import zlib
from pathlib import Path

import nbformat
import networkx as nx
import pytest
from nbclient import NotebookClient

from model_registry.local import LocalRegistry

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHATBOT, CLASSIFIER = "stranger-things-chatbot", "stranger-things-location-classifier"
EXECUTION = "local-20260105-100000-abcd"
PREFIX = f"s3://stranger-things-nlp-artifacts/stranger-things-nlp/local/runs/{EXECUTION}"

CHAT_HANDLER = """import json
from pathlib import Path


def model_fn(model_dir):
    return (Path(model_dir) / "reply.txt").read_text()


def input_fn(body, content_type):
    return json.loads(body)


def predict_fn(data, model):
    return {"reply": f"{model} (asked: {data['messages'][-1]['content']})"}


def output_fn(prediction, accept):
    return json.dumps(prediction)
"""

CLASSIFIER_HANDLER = """import json


def model_fn(model_dir):
    return "The Upside Down"


def predict_fn(data, model):
    return {"label": model, "text": data["inputs"]}
"""


def tiny_png() -> bytes:
    """A valid 1x1 grey PNG, written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


def model_folder(root: Path, name: str, handler: str, reply: str) -> Path:
    folder = root / name
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "inference.py").write_text(handler)
    (folder / "reply.txt").write_text(reply)
    return folder


def as_tarball(folder: Path) -> Path:
    tarball = folder.with_suffix(".tar.gz")
    with tarfile.open(tarball, "w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return tarball


def processing_step(output: str, step: str) -> dict:
    uri = f"{PREFIX}/{step}/{output}"
    return {
        "name": step,
        "type": "Processing",
        "status": "Succeeded",
        "cache": "miss",
        "message": "",
        "properties": {
            "ProcessingOutputConfig": {"Outputs": [{"OutputName": output, "S3Output": {"S3Uri": uri}}]}
        },
    }


def write_output(run: Path, step: str, output: str, name: str, data: bytes) -> None:
    path = run / "s3" / PREFIX.removeprefix("s3://") / step / output / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / ".local"
    reg = LocalRegistry(home / "registry.db")
    models = tmp_path / "models"
    v1 = model_folder(models, "chat-v1", CHAT_HANDLER, "Eleven v1")
    v2 = as_tarball(model_folder(models, "chat-v2", CHAT_HANDLER, "Eleven v2"))
    reg.register(
        CHATBOT, model_data_url=str(v1), metrics={"bleu": 4.0, "chrf": 20.0}, approval_status="Approved"
    )
    reg.register(CHATBOT, model_data_url=str(v2), metrics={"bleu": 6.5, "chrf": 23.0})
    reg.deploy("stranger-things-nlp-local-chatbot", CHATBOT, 1, v1)
    clf = model_folder(models, "clf-v1", CLASSIFIER_HANDLER, "")
    reg.register(CLASSIFIER, model_data_url=str(clf), metrics={"accuracy": 0.75}, approval_status="Approved")
    reg.deploy("stranger-things-nlp-local-classifier", CLASSIFIER, 1, clf)

    run = home / "runs" / EXECUTION
    steps = {
        "CleanSubtitles": {
            "name": "CleanSubtitles",
            "type": "Processing",
            "status": "Succeeded",
            "cache": "hit",
            "message": "",
        },
        "ExtractEntities": processing_step("entities", "ExtractEntities"),
        "ClassifyThemes": processing_step("themes", "ClassifyThemes"),
    }
    run.mkdir(parents=True)
    state = {
        "execution": {"PipelineExecutionId": EXECUTION},
        "parameters": {},
        "status": "Succeeded",
        "steps": steps,
    }
    (run / "state.json").write_text(json.dumps(state))
    graph = nx.Graph()
    graph.add_edge("Eleven", "Mike", weight=5)
    graph.add_edge("Eleven", "Hopper", weight=3)
    graph.add_edge("Mike", "Dustin", weight=1)
    write_output(
        run,
        "ExtractEntities",
        "entities",
        "graph.json",
        json.dumps(nx.node_link_data(graph, edges="edges")).encode(),
    )
    themes = {
        "method": "lexicon",
        "model_id": None,
        "themes": ["friendship", "fear"],
        "episodes": [
            {"episode_key": "S01E01", "scores": {"friendship": 0.25, "fear": 0.75}},
            {"episode_key": "S01E02", "scores": {"friendship": 0.625, "fear": 0.5}},
            {"episode_key": "S01E03", "scores": {"friendship": 0.0, "fear": 0.0}},
        ],
    }
    write_output(run, "ClassifyThemes", "themes", "themes.json", json.dumps(themes).encode())
    theme_lines = [
        {"theme": "fear", "episode_key": "S01E01", "score": 0.5, "speaker": None, "text": "Run!",
         "matched": ["run"]},
        {"theme": "fear", "episode_key": "S01E01", "score": 0.75, "speaker": "Dustin", "text": "I'm scared.",
         "matched": ["scared"]},
    ]  # fmt: skip
    body = "".join(json.dumps(row) + "\n" for row in theme_lines).encode()
    write_output(run, "ClassifyThemes", "themes", "theme_lines.jsonl", body)
    write_output(run, "ClassifyThemes", "themes", "themes.png", tiny_png())
    return home


def run_notebook(name: str) -> str:
    """Execute a notebook from notebooks/ (as Studio would) and return all its text output."""
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return "".join(texts)


def test_notebooks_are_committed_without_outputs() -> None:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name


def test_notebooks_run_against_the_local_backend(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STNLP_BACKEND", "local")
    monkeypatch.setenv("STNLP_HOME", str(home))

    started = run_notebook("01_start_execution")
    assert "backend=local env=local pipeline=stranger-things-nlp-local" in started
    assert f"execution: {EXECUTION}" in started
    assert "ExtractEntities              Succeeded   cache=miss" in started
    assert "execution status: Succeeded" in started

    monkeypatch.setenv("STNLP_ACTION", "approve")
    monkeypatch.setenv("STNLP_VERSION", "2")
    reviewed = run_notebook("02_review_and_approve")
    assert "bleu         v1=4.0  v2=6.5  change=+2.5000" in reviewed
    assert "stranger-things-chatbot v2 -> Approved\ndeploy: version 2 approved" in reviewed
    assert "latest approved: v2" in reviewed
    reg = LocalRegistry(home / "registry.db")
    assert reg.get(CHATBOT, 2).status_note == "reviewed in notebook 02"
    assert reg.endpoint("stranger-things-nlp-local-chatbot").version == 2

    explored = run_notebook("03_explore_outputs")
    assert "4 characters, 3 links" in explored
    assert "Eleven           weighted degree 8" in explored
    assert "method=lexicon model=None spread=0.750" in explored
    assert (
        "S01E01: fear (0.75; next friendship 0.25)\nS01E02: friendship (0.62; next fear 0.50)\n" in explored
    )
    assert "S01E03: no theme\n" in explored
    assert "fear                   S01E01 0.75 Dustin: I'm scared.  [scared]\nfear " in explored
    # The endpoint answers with the version approved in notebook 02.
    assert "stranger-things-nlp-local-chatbot: Eleven v2 (asked: Where is Will?)" in explored
    assert "'label': 'The Upside Down'" in explored


def test_notebook_03_names_no_theme_when_the_scores_are_flat(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The random tiny NLI model scores every episode and theme about 0.49: that is not a finding."""
    monkeypatch.setenv("STNLP_BACKEND", "local")
    monkeypatch.setenv("STNLP_HOME", str(home))
    flat = {
        "method": "nli",
        "model_id": "tiny:nli",
        "themes": ["friendship", "fear"],
        "episodes": [
            {"episode_key": "S01E01", "scores": {"friendship": 0.49201, "fear": 0.49203}},
            {"episode_key": "S01E02", "scores": {"friendship": 0.49199, "fear": 0.49202}},
        ],
    }
    write_output(
        home / "runs" / EXECUTION, "ClassifyThemes", "themes", "themes.json", json.dumps(flat).encode()
    )
    explored = run_notebook("03_explore_outputs")
    assert "method=nli model=tiny:nli spread=0.000\nflat: every episode scores about the same" in explored
    assert "S01E01:" not in explored

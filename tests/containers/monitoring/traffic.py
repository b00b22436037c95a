"""Traffic for the monitoring tests: the show's own lines (data/sample), and drifted requests written here.

In-distribution: transcript lines of the sample episodes the baseline did not see. Drifted: requests from
another domain (office IT support), in another language (Spanish), and a classifier whose answers have
collapsed onto one label. All text below is original, written for these tests.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from containers.common.io import write_jsonl
from containers.monitoring import baseline, monitor
from containers.monitoring.capture import CaptureWriter

REPO = Path(__file__).resolve().parents[3]
TRANSCRIPTS = REPO / "data" / "sample" / "transcripts"
BASELINE_EPISODES = ("S01E01", "S01E02", "S01E03", "S01E04", "S01E05", "S01E06", "S02E01")
LABELS = ("home", "lab", "school", "woods")
LABEL_SHARES = (0.4, 0.3, 0.2, 0.1)

OTHER_DOMAIN = [
    "My laptop will not connect to the office printer on the third floor.",
    "Please reset the password for the payroll portal before Friday.",
    "The quarterly invoice template is missing the tax column.",
    "Our VPN client crashes whenever the spreadsheet macro runs.",
    "Can you provision a new mailbox for the procurement intern?",
    "The conference room projector shows a firmware update warning.",
    "Which cost centre should the cloud storage subscription be billed to?",
    "The expense report export produces a corrupted attachment.",
    "Schedule a database backup before the accounting migration.",
    "The badge reader at the loading dock rejects contractor badges.",
    "Upgrade the antivirus licences for the marketing department.",
    "The shared drive quota was exceeded by the analytics team.",
    "Forward the vendor onboarding checklist to compliance.",
    "The helpdesk ticket about the docking station was closed by mistake.",
    "Install the statistics package on the finance workstation.",
    "Our monthly budget dashboard refreshes with stale figures.",
]
SPANISH = [
    "¿Dónde está la llave del sótano? La necesito ahora.",
    "No quiero ir a la escuela mañana, tengo miedo.",
    "Mi hermano dice que el bosque es peligroso por la noche.",
    "Vamos a la casa de mi amigo después de la cena.",
    "Ella no sabe qué pasó con las luces de la casa.",
    "¿Por qué nadie contesta el teléfono en la comisaría?",
    "Tenemos que encontrar a nuestro amigo antes del amanecer.",
    "El laboratorio está cerrado y hay guardias en la puerta.",
    "Mi madre cree que algo vive en las paredes de la casa.",
    "Es muy tarde para salir en bicicleta por el bosque.",
    "Yo vi una sombra enorme cerca del lago esta noche.",
    "No digas nada a los adultos, es un secreto.",
]


def transcript_lines(episodes: tuple[str, ...] | None = None, exclude: tuple[str, ...] = ()) -> list[str]:
    lines = []
    for path in sorted(TRANSCRIPTS.glob("*.csv")):
        if (episodes is not None and path.stem not in episodes) or path.stem in exclude:
            continue
        with path.open(encoding="utf-8") as handle:
            lines.extend(row["line"] for row in csv.DictReader(handle) if row["line"].strip())
    return lines


def classifier_answers(count: int, seed: int, collapsed: str | None = None) -> list[dict]:
    """Response bodies: labels at LABEL_SHARES with beta(5, 2) confidence, or all one label at 0.99."""
    rng = np.random.default_rng(seed)
    if collapsed:
        return [{"predictions": [{"label": collapsed, "score": 0.99}]} for _ in range(count)]
    labels = rng.choice(LABELS, count, p=LABEL_SHARES)
    scores = rng.beta(5, 2, count)
    return [
        {"predictions": [{"label": str(label), "score": round(float(score), 6)}]}
        for label, score in zip(labels, scores, strict=True)
    ]


def write_traffic(root: Path, endpoint: str, texts: list[str], answers: list[dict], start: datetime) -> None:
    """One classifier invocation per text, a minute apart from `start`, in SageMaker's capture layout."""
    clock_times = iter(start + timedelta(minutes=i) for i in range(len(texts)))
    writer = CaptureWriter(root, clock=lambda: next(clock_times))
    for text, answer in zip(texts, answers, strict=True):
        writer.write(
            endpoint,
            json.dumps({"inputs": text}).encode(),
            "application/json",
            json.dumps(answer).encode(),
            "application/json",
        )


def sample(texts: list[str], count: int, seed: int) -> list[str]:
    """`count` texts drawn without replacement while they last (with replacement beyond)."""
    rng = np.random.default_rng(seed)
    replace = count > len(texts)
    return [texts[i] for i in rng.choice(len(texts), count, replace=replace)]


START = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def make_baseline(root: Path) -> Path:
    """A classifier baseline under root/out: the training split is seven episodes' lines; the held-out
    split another episode's, answered by `classifier_answers` (seed 1) as a model would answer them."""
    train = [{"text": t, "label": "x"} for t in transcript_lines(BASELINE_EPISODES)]
    held = transcript_lines(("S02E02",))
    write_jsonl(root / "train" / "train.jsonl", train)
    write_jsonl(root / "held" / "validation.jsonl", [{"text": t, "label": "x"} for t in held])
    write_jsonl(root / "responses.jsonl", classifier_answers(len(held), seed=1))
    args = baseline.parse_args(
        [
            "--model", "classifier",
            "--train", str(root / "train"),
            "--held-out", str(root / "held"),
            "--responses", str(root / "responses.jsonl"),
            "--output-dir", str(root / "out"),
        ]
    )  # fmt: skip
    baseline.main(args)
    return root / "out"


def run_window(tmp_path: Path, baseline_dir: Path, texts: list[str], answers: list[dict]) -> dict[str, Any]:
    """Capture the texts as classifier traffic under tmp_path and run the monitoring job over it."""
    capture = tmp_path / "capture"
    write_traffic(capture, "classifier-ep", texts, answers, START)
    args = monitor.parse_args(
        [
            "--model", "classifier",
            "--capture", str(capture),
            "--baseline-dir", str(baseline_dir),
            "--output-dir", str(tmp_path / "out"),
            "--metrics-dir", str(tmp_path / "metrics"),
            "--endpoint-name", "classifier-ep",
        ],
        env={},
    )  # fmt: skip
    return monitor.main(args)

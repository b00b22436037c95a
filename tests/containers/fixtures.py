"""Small hand-written datasets in the prepare_datasets.py output format (docs/contracts.md).

Used when the processing step's own output is not available, and by tests that need exact, tiny inputs.
The replies follow the prompts in learnable patterns, so real learning shows up in BLEU and accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

SYSTEM = "You are Eleven from Stranger Things. Answer in her voice."
NAMES = ["Mike", "Dustin", "Lucas", "Will", "Max", "Hopper", "Joyce", "Steve", "Nancy", "Jonathan"]
TEMPLATES = [
    ("Where is {n}?", "{n} is at the cabin."),
    ("Do you trust {n}?", "Yes. {n} is my friend."),
    ("What did {n} say?", "{n} said friends don't lie."),
    ("Is {n} coming back?", "{n} will come back. I promise."),
    ("Can you find {n}?", "I can find {n} in the void."),
]
PLACES = {
    "Hawkins Lab": [
        "the lab corridor is cold",
        "doctors watch the tank",
        "the lab gate is locked",
        "bad men in the lab",
    ],
    "Byers House": [
        "christmas lights on the wall",
        "joyce paints letters",
        "the byers phone rings",
        "lights blink in the house",
    ],
    "Starcourt Mall": [
        "the mall food court",
        "ice cream at the mall",
        "the mall is crowded",
        "scoops ahoy at the mall",
    ],
}


def chat_rows() -> list[dict]:
    rows = []
    for t, (prompt, reply) in enumerate(TEMPLATES):
        for i, name in enumerate(NAMES):
            rows.append(
                {
                    "messages": [
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": prompt.format(n=name)},
                        {"role": "assistant", "content": reply.format(n=name)},
                    ],
                    "season": 1 + (i % 2),
                    "episode": 1 + t,
                    "character": "Eleven",
                }
            )
    return rows


def classifier_rows() -> list[dict]:
    rows = []
    for place, phrases in PLACES.items():
        for k, phrase in enumerate(phrases):
            for j, name in enumerate(NAMES[:6]):
                rows.append(
                    {"text": f"{name} sees {phrase} {'today' if (j + k) % 2 else 'at night'}", "label": place}
                )
    return rows


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def write_datasets(root: Path) -> Path:
    """Write chatbot_{train,validation,test}/ and classifier_{train,validation,test}/ under `root`."""
    chats = chat_rows()
    splits = {"train": [], "validation": [], "test": []}
    for index, row in enumerate(chats):
        splits["test" if index % 7 == 3 else "validation" if index % 7 == 5 else "train"].append(row)
    for split, rows in splits.items():
        _write(root / f"chatbot_{split}" / f"{split}.jsonl", rows)
    labelled = classifier_rows()
    splits = {"train": [], "validation": [], "test": []}
    for index, row in enumerate(labelled):
        splits["test" if index % 5 == 1 else "validation" if index % 5 == 3 else "train"].append(row)
    for split, rows in splits.items():
        _write(root / f"classifier_{split}" / f"{split}.jsonl", rows)
    labels = sorted(PLACES)
    label2id = {label: i for i, label in enumerate(labels)}
    (root / "classifier_train" / "label_map.json").write_text(
        json.dumps({"label2id": label2id, "id2label": {str(i): label for label, i in label2id.items()}}),
        encoding="utf-8",
    )
    return root

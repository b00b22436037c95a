"""A model's monitoring baseline from its training data: statistics.json, constraints.json, vocabulary.json.

    python containers/monitoring/baseline.py --model classifier \
        --train <classifier_train dir> --held-out <classifier_validation dir> <classifier_test dir> \
        [--model-dir <model folder or model.tar.gz folder>] --output-dir <dir>

Inputs: the texts the endpoint will be asked about, as the training data holds them (classifier: `text`
of each row; chatbot: each conversation's user turns). The vocabulary is the training split's words
(and the chatbot's replies). Out-of-vocabulary rates in the baseline are cross-fitted: each training
row's rate is measured against the vocabulary of the OTHER folds' rows (5 folds, seeded), a held-out
text's against the whole training vocabulary, so that the baseline shows
what unseen in-domain text looks like; measured against a vocabulary that contains it, every training
text would score 0 and ordinary traffic would look like drift.

Outputs: with --model-dir, the model's answers to the held-out texts (the serving handler's own
input_fn/predict_fn, as the endpoint runs them) give the baseline of predicted labels and confidence
(classifier) or reply length, repetition and distinct replies (chatbot); --responses gives the same from
a file of response bodies (one per held-out text, in order), e.g. a batch transform's output. Without
either the baseline has input signals only, and the job checks inputs only.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from containers.common.cli import add_flag
from containers.common.errors import run_main
from containers.common.io import read_jsonl, read_jsonl_dir, resolve_model_dir, setup_logging, write_json
from containers.monitoring.drift import DriftSettings
from containers.monitoring.signals import input_signals, response_signals, training_vocabulary
from containers.monitoring.stats_files import baseline_constraints, baseline_statistics
from containers.processing.characters import Cast, load_cast

LOG = logging.getLogger("baseline")
DEFAULT_CHARACTERS = Path(__file__).resolve().parents[2] / "conf" / "characters.yaml"
FOLDS = 5


@dataclass(frozen=True)
class BaselineArguments:
    """The script's arguments, checked before any data is read."""

    model: str
    train: Path
    output_dir: Path
    held_out: list[Path] = field(default_factory=list)
    model_dir: Path | None = None
    responses: Path | None = None
    characters: Path = DEFAULT_CHARACTERS
    seed: int = 42
    alpha: float = DriftSettings.alpha
    min_window: int = DriftSettings.min_window

    def __post_init__(self) -> None:
        if self.model_dir is not None and self.responses is not None:
            raise ValueError("give --model-dir or --responses, not both: one source of baseline outputs")
        DriftSettings(alpha=self.alpha, min_window=self.min_window)  # raises ValueError naming the setting


def parse_args(argv: list[str] | None = None) -> BaselineArguments:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_flag(parser, "--model", choices=("classifier", "chatbot"), required=True)
    add_flag(parser, "--train", type=Path, default=Path("/opt/ml/processing/input/train"))
    add_flag(parser, "--held-out", type=Path, nargs="*", default=[])
    add_flag(parser, "--model-dir", type=Path, default=None)
    add_flag(
        parser,
        "--responses",
        type=Path,
        default=None,
        help="JSON Lines of response bodies, one per held-out text in order (instead of --model-dir)",
    )
    add_flag(parser, "--characters", type=Path, default=DEFAULT_CHARACTERS)
    add_flag(parser, "--output-dir", type=Path, default=Path("/opt/ml/processing/output/baseline"))
    add_flag(parser, "--seed", type=int, default=42)
    add_flag(parser, "--alpha", type=float, default=DriftSettings.alpha, help="per-check false-positive rate")
    add_flag(parser, "--min-window", type=int, default=DriftSettings.min_window)
    return BaselineArguments(**vars(parser.parse_args(argv)))


def row_texts(model: str, row: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(request texts, texts for the vocabulary) of one training row."""
    if model == "classifier":
        return [str(row["text"])], [str(row["text"])]
    messages = row["messages"]
    users = [m["content"] for m in messages if m["role"] == "user"]
    # The endpoint's traffic signal is the last user message of a request (signals.request_texts).
    return users[-1:], [m["content"] for m in messages]


def cross_fitted_inputs(
    train: list[tuple[list[str], list[str]]], held_out: list[str], cast: Cast, seed: int
) -> list[dict[str, Any]]:
    """Input signals of every request: a training row's OOV rate against the vocabulary of the rows in
    the other folds (rows, not strings: a line the corpus repeats stays in the others' vocabulary, as it
    would be for traffic that repeats it), a held-out text's against the whole training vocabulary."""
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    fold_of = {index: position % FOLDS for position, index in enumerate(order)}
    signals: dict[int, list[dict[str, Any]]] = {}
    for fold in range(FOLDS):
        vocabulary = training_vocabulary(
            t for i, (_, vocab) in enumerate(train) if fold_of[i] != fold for t in vocab
        )
        for i in (i for i in order if fold_of[i] == fold):
            signals[i] = [input_signals(text, vocabulary, cast) for text in train[i][0]]
    full = training_vocabulary(t for _, vocab in train for t in vocab)
    rows = [row for i in range(len(train)) for row in signals[i]]
    return rows + [input_signals(text, full, cast) for text in held_out]


def model_outputs(model: str, model_dir: Path, texts: list[str]) -> list[dict[str, Any]]:
    """The serving handler's answers to the texts, read into output signals."""
    from containers.inference import chatbot, classifier  # torch only when a model is given

    handler = classifier if model == "classifier" else chatbot
    with tempfile.TemporaryDirectory() as scratch:
        loaded = handler.model_fn(str(resolve_model_dir(model_dir, Path(scratch) / "model")))
        signals = []
        for text in texts:
            body = (
                {"inputs": text}
                if model == "classifier"
                else {"messages": [{"role": "user", "content": text}]}
            )
            data = handler.input_fn(json.dumps(body), "application/json")
            answer = json.loads(handler.output_fn(handler.predict_fn(data, loaded), "application/json"))
            signals.extend(response_signals(model, answer))
    return signals


def main(args: BaselineArguments) -> dict[str, Any]:
    """Write statistics.json, constraints.json and vocabulary.json; returns the statistics."""
    cast = load_cast(args.characters)
    train = [row_texts(args.model, row) for row in read_jsonl_dir(args.train)]
    held_requests = [
        text
        for folder in args.held_out
        for row in read_jsonl_dir(folder)
        for text in row_texts(args.model, row)[0]
    ]
    train_requests = [text for requests, _ in train for text in requests]
    if not train_requests:
        raise ValueError(f"no request texts in {args.train}; is it the {args.model} training split?")
    rows = cross_fitted_inputs(train, held_requests, cast, args.seed)
    requests = train_requests + held_requests
    answered = held_requests or train_requests
    outputs: list[dict[str, Any]] = []
    if args.responses is not None:
        outputs = [o for body in read_jsonl(args.responses) for o in response_signals(args.model, body)]
    elif args.model_dir is not None:
        outputs = model_outputs(args.model, args.model_dir, answered)
    if outputs:
        if len(outputs) != len(answered):
            raise ValueError(f"{len(outputs)} responses for {len(answered)} held-out texts; answer each once")
        for row, output in zip(rows[len(requests) - len(answered) :], outputs, strict=True):
            row.update(output)
        LOG.info("baseline outputs on %d held-out texts", len(answered))
    statistics = baseline_statistics(args.model, rows)
    settings = DriftSettings(alpha=args.alpha, min_window=args.min_window)
    write_json(args.output_dir / "statistics.json", statistics)
    write_json(args.output_dir / "constraints.json", baseline_constraints(statistics, settings))
    vocabulary = training_vocabulary(t for _, vocab in train for t in vocab)
    write_json(args.output_dir / "vocabulary.json", {"words": sorted(vocabulary)})
    LOG.info(
        "baseline of %d texts (%d features) in %s", len(rows), len(statistics["features"]), args.output_dir
    )
    return statistics


if __name__ == "__main__":
    setup_logging()
    run_main(main, parse_args, LOG)

"""train_classifier end to end on data/sample with a tiny DistilBERT; weights, label map, seeding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from containers.training import train_classifier
from containers.training.classifier_data import UnlearnableData, load_label_map
from tests.containers.conftest import REPO, classifier_argv


def test_class_weights_balance_the_classes() -> None:
    weights = train_classifier.class_weights([0, 0, 0, 1], num_classes=3)
    assert weights.tolist() == pytest.approx([4 / 9, 4 / 3, 1.0])


def test_label_map_must_know_every_label(tmp_path: Path) -> None:
    (tmp_path / "label_map.json").write_text(json.dumps({"label2id": {"lab": 0}, "id2label": {"0": "lab"}}))
    with pytest.raises(ValueError, match=r"labels \['mall'\] are not in"):
        load_label_map(tmp_path, [{"text": "x", "label": "lab"}, {"text": "y", "label": "mall"}])
    assert load_label_map(
        tmp_path / "missing", [{"text": "x", "label": "b"}, {"text": "y", "label": "a"}]
    ) == {"a": 0, "b": 1}


def test_training_learns_and_keeps_the_best_epoch(classifier_run) -> None:
    metrics = classifier_run["metrics"]
    assert metrics["train_loss_last"] < metrics["train_loss_first"]
    best_f1 = max(e["eval_macro_f1"] for e in metrics["log_history"] if "eval_macro_f1" in e)
    assert metrics["best_validation_macro_f1"] == best_f1


def test_model_folder_deploys_as_is(classifier_run) -> None:
    model_dir = classifier_run["run"] / "model"
    for path in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "label_map.json",
        "classifier_config.json",
        "code/requirements.txt",
    ):
        assert (model_dir / path).is_file(), path
    handler = REPO / "containers" / "inference" / "classifier.py"
    assert (model_dir / "code" / "inference.py").read_text() == handler.read_text()
    label_map = json.loads((model_dir / "label_map.json").read_text())
    expected = json.loads((classifier_run["data"] / "classifier_train" / "label_map.json").read_text())
    assert label_map == expected


def test_same_seed_same_model(hand_datasets: Path, tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        argv = classifier_argv(hand_datasets, tmp_path / name, epochs=2, seed=7)
        runs.append(train_classifier.main(train_classifier.parse_args(argv)))
    assert runs[0]["train_loss_last"] == runs[1]["train_loss_last"]
    from safetensors.torch import load_file

    first, second = (load_file(tmp_path / name / "model" / "model.safetensors") for name in ("a", "b"))
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_rows_need_text_and_label(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text('{"text": "x"}\n')
    with pytest.raises(ValueError, match="needs string 'text' and 'label'"):
        train_classifier.load_examples(tmp_path)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--epochs", "0"], "--epochs 0.0 must be positive"),
        (["--learning-rate", "2"], r"--learning-rate 2.0 must be in \(0, 1\)"),
        (["--per-device-batch-size", "0"], "--per-device-batch-size 0 must be at least 1"),
    ],
)
def test_bad_hyperparameters_fail_before_any_data_is_read(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    missing = str(tmp_path / "not-there")
    with pytest.raises(ValueError, match=message):
        train_classifier.parse_args(["--train", missing, "--validation", missing, *flags])


@pytest.mark.parametrize(
    ("train_lines", "match"),
    [
        ("", r"holds no rows"),
        (
            '{"text": "a lab", "label": "lab"}\n{"text": "the lab", "label": "lab"}\n',
            r"one label only \(lab\)",
        ),
    ],
    ids=["empty", "one-label"],
)
def test_unlearnable_training_split_is_refused_before_a_model_is_built(
    tmp_path: Path, train_lines: str, match: str
) -> None:
    for split in ("train", "validation"):
        (tmp_path / "data" / f"classifier_{split}").mkdir(parents=True)
        (tmp_path / "data" / f"classifier_{split}" / f"{split}.jsonl").write_text(train_lines)
    argv = classifier_argv(tmp_path / "data", tmp_path / "run")
    with pytest.raises(UnlearnableData, match=match):
        train_classifier.main(train_classifier.parse_args(argv))
    assert not (tmp_path / "run" / "model").exists()

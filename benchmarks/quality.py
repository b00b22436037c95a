"""Model quality over several seeds: the figures the gates read, beside their baselines.

    python benchmarks/quality.py                              # data/sample, seeds 1 7 42, conf/local.yaml
    python benchmarks/quality.py --data /path/to/corpus --seeds 1 2 3 --out build/quality.json
    python benchmarks/quality.py --models classifier --locations-limit 93

For each seed, the pipeline's own scripts run as the local pipeline runs them (prepare_datasets.py once,
then train_*.py with conf/<env>.yaml's hyperparameters and --seed, then evaluate_*.py), and the table
shows what the quality gates compare: chatbot chrF and its base's (the same model without its adapter,
on the same prompts), BLEU, distinct replies against the references' own; classifier accuracy against
the majority class of the same test split, macro-F1. The last column says whether the gate of
conf/<env>.yaml passes and, if not, which comparisons fail. Figures, not a test: nothing is asserted.
`--locations-limit N` keeps the first N locations (a small label set, as on a real corpus).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conf import load_config  # noqa: E402
from containers.evaluation import report  # noqa: E402

SCRIPTS = {
    "prepare": ROOT / "containers" / "processing" / "prepare_datasets.py",
    "train_chatbot": ROOT / "containers" / "training" / "train_chatbot.py",
    "train_classifier": ROOT / "containers" / "training" / "train_classifier.py",
    "evaluate_chatbot": ROOT / "containers" / "evaluation" / "evaluate_chatbot.py",
    "evaluate_classifier": ROOT / "containers" / "evaluation" / "evaluate_classifier.py",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT / "data" / "sample", help="transcripts/, locations/"
    )
    parser.add_argument("--env", default="local", help="conf/<env>.yaml: models, hyperparameters, gates")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 7, 42])
    parser.add_argument(
        "--models", nargs="+", choices=("chatbot", "classifier"), default=["chatbot", "classifier"]
    )
    parser.add_argument("--locations-limit", type=int, default=0, help="use only the first N locations")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON")
    return parser.parse_args(argv)


def run(script: str, *flags: Any) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    command = [sys.executable, str(SCRIPTS[script]), *(str(flag) for flag in flags)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{script} failed:\n{result.stderr[-3000:]}")


def flags(settings: dict[str, Any]) -> list[str]:
    """Hyperparameters as the scripts' flags (booleans as true/false), as SageMaker passes them."""
    out: list[str] = []
    for key, value in settings.items():
        out += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    return out


def prepare(args: argparse.Namespace, cfg: Any, work: Path) -> Path:
    locations = args.data / "locations"
    if args.locations_limit:
        locations = work / "locations"
        locations.mkdir(parents=True)
        lines = [
            line
            for path in sorted((args.data / "locations").glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        (locations / "locations.jsonl").write_text("\n".join(lines[: args.locations_limit]) + "\n")
    out = work / "datasets"
    ds = cfg.datasets
    run(
        "prepare",
        "--transcripts-dir",
        args.data / "transcripts",
        "--locations-dir",
        locations,
        "--output-dir",
        out,
        *flags(
            {
                "character": ds.character,
                "min_reply_chars": ds.min_reply_chars,
                "validation_fraction": ds.validation_fraction,
                "test_fraction": ds.test_fraction,
                "seed": ds.seed,
                "datasets": "all" if len(args.models) == 2 else args.models[0],
            }
        ),
    )
    return out


def train_and_evaluate(model: str, cfg: Any, data: Path, run_dir: Path, seed: int) -> dict[str, Any]:
    """One seed of one model: the evaluation report, and how long training and evaluation took."""
    model_cfg = getattr(cfg, model)
    settings = {**model_cfg.hyperparameters.model_dump(), "seed": seed}
    paths = [
        f"--train={data / f'{model}_train'}",
        f"--validation={data / f'{model}_validation'}",
        f"--model-dir={run_dir / 'model'}",
        f"--output-data-dir={run_dir / 'output'}",
        f"--checkpoint-dir={run_dir / 'checkpoints'}",
    ]
    started = time.perf_counter()
    run(f"train_{model}", "--model-id", model_cfg.model_id, *paths, *flags(settings))
    trained = time.perf_counter()
    extra = ["--max-new-tokens", cfg.chatbot.evaluation_max_new_tokens] if model == "chatbot" else []
    run(
        f"evaluate_{model}",
        "--model-dir",
        run_dir / "model",
        "--test",
        data / f"{model}_test",
        "--output-dir",
        run_dir / "evaluation",
        *extra,
    )
    result = json.loads((run_dir / "evaluation" / report.REPORT_FILE).read_text())
    return {
        "report": result,
        "train_s": trained - started,
        "evaluate_s": time.perf_counter() - trained,
    }


def figures(model: str, result: dict[str, Any]) -> dict[str, float]:
    return {name: report.read_metric(result, model, name) for name in report.spec(model).figures}


COLUMNS = {
    "chatbot": (
        "chrf",
        "base_chrf",
        "chrf_lift",
        "bleu",
        "base_bleu",
        "distinct_replies",
        "distinct_references",
    ),
    "classifier": ("accuracy", "majority_class_accuracy", "accuracy_lift", "macro_f1"),
}


def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    cfg = load_config(args.env)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        data = prepare(args, cfg, work)
        for model in args.models:
            gate = getattr(cfg, model).gate
            print(f"\n{model} ({getattr(cfg, model).model_id}, gate {gate}) on {args.data}")
            print("seed  " + "  ".join(f"{c:>12}" for c in COLUMNS[model]) + "   train s   gate")
            for seed in args.seeds:
                outcome = train_and_evaluate(model, cfg, data, work / f"{model}-{seed}", seed)
                values = figures(model, outcome["report"])
                failures = report.gate_failures(model, outcome["report"], gate)
                rows.append(
                    {
                        "model": model,
                        "seed": seed,
                        **values,
                        "gate_failures": failures,
                        "train_s": outcome["train_s"],
                        "evaluate_s": outcome["evaluate_s"],
                    }
                )
                cells = "  ".join(f"{values[c]:>12.4g}" for c in COLUMNS[model])
                verdict = "pass" if not failures else "FAIL: " + "; ".join(failures)
                print(f"{seed:>4}  {cells}  {outcome['train_s']:>8.1f}   {verdict}", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main(parse_args())

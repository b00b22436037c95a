"""Chatbot training throughput: the script's batching against a padded baseline and TRL's packed SFTTrainer.

    python benchmarks/training.py                       # CPU: tiny Qwen2/Llama on data/sample, prints a table
    python benchmarks/training.py --device cuda --out build/bench-training.json
    python benchmarks/training.py --device cuda --models qwen2.5-3b --steps 10

For each model the same LoRA setup (all linear layers, r=16 on GPU / 8 on CPU) trains on the same examples
(data/sample's chat lengths) in these settings:
- script: what train_chatbot.py does with packing: one packed row a step holding a token budget of batch x
  max_seq_length tokens (the memory the padded worst case takes) of whole examples
  (containers/training/token_batches.py), gradient checkpointing `auto` (memory_estimate.py);
- baseline: batch examples a step, each padded to max_seq_length;
- pack-n<batch>, pack-n<big>: packing a fixed number of examples a step (the script before issue #17, and
  --packed-batch-size of them);
- trl-packed: TRL's SFTTrainer with packing on (its default best-fit-decreasing, padding-free), rows of
  max_seq_length, batch rows a step, loss on the replies only (when trl is installed: the `bench` extra).
Reported: real (non-padding) tokens/s, samples/s, peak memory (GPU: torch's peak reserved; CPU: the
worker's peak RSS), and on GPU the MFU. On GPU the models are the real architectures with random weights
built from their configs (no download), in bf16; the fixed-count rows checkpoint as the script used to.
A last "fit" case trains Qwen2.5-3B and Llama-3.2-3B on full-length 1024-token examples at batch 4, the
worst case, and says whether the peak fits the 24 GB of an ml.g5.2xlarge (A10G; 22 GiB usable after the
CUDA context). Each case runs in its own process, so an out-of-memory case is reported as such.
On GPU each chat row also prints the time and on-demand cost of one training run of --run-replies replies
(default 450, the real transcript's size) x 2 epochs on an ml.g5.2xlarge (A10G, price from
conf/prices.yaml), scaled from the measured GPU by the ratio of dense bf16 peaks (same MFU assumed).

MFU counts 4·N + 8·L·H·S FLOPs per trained token (N parameters, L layers, H hidden size, S sequence
length): forward and the activation gradients, as LoRA computes no gradients for the frozen weights;
recomputation by gradient checkpointing is not counted (it is work, not progress).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Architectures of the Hub models, copied from their config.json (no download needed).
HUB_CONFIGS: dict[str, dict[str, Any]] = {
    "llama-3.2-1b": {
        "model_type": "llama",
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "tie_word_embeddings": True,
        "rope_theta": 500000.0,
    },
    "qwen2.5-1.5b": {
        "model_type": "qwen2",
        "hidden_size": 1536,
        "intermediate_size": 8960,
        "num_hidden_layers": 28,
        "num_attention_heads": 12,
        "num_key_value_heads": 2,
        "vocab_size": 151936,
        "tie_word_embeddings": True,
        "rope_theta": 1000000.0,
    },
    "qwen2.5-3b": {
        "model_type": "qwen2",
        "hidden_size": 2048,
        "intermediate_size": 11008,
        "num_hidden_layers": 36,
        "num_attention_heads": 16,
        "num_key_value_heads": 2,
        "vocab_size": 151936,
        "tie_word_embeddings": True,
        "rope_theta": 1000000.0,
    },
    "llama-3.2-3b": {
        "model_type": "llama",
        "hidden_size": 3072,
        "intermediate_size": 8192,
        "num_hidden_layers": 28,
        "num_attention_heads": 24,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "tie_word_embeddings": True,
        "rope_theta": 500000.0,
    },
}
# Dense bf16 tensor-core peaks (FLOP/s) from the vendors' data sheets, by device-name fragment.
PEAK_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 70e12, "L4": 121e12}
A10G_USABLE_GIB = 22.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--models", nargs="*", help="cpu: tiny-qwen2 tiny-llama; cuda: " + " ".join(HUB_CONFIGS)
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="timed optimizer steps per case (after 2 warm-up)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="examples per step (default 8 cpu, 4 cuda)"
    )
    parser.add_argument("--max-seq-length", type=int, default=None, help="default 128 cpu, 1024 cuda")
    parser.add_argument(
        "--packed-batch-size",
        type=int,
        default=32,
        help="also run packing with this many examples a step (what packing's saved memory buys; 0: skip)",
    )
    parser.add_argument("--no-fit", action="store_true", help="skip the 3B worst-case fit check (cuda)")
    parser.add_argument("--no-trl", action="store_true", help="skip TRL's SFTTrainer (packing) rows")
    parser.add_argument("--run-replies", type=int, default=450, help="replies in one training run (cost)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak for MFU when not known")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def sample_lengths(max_length: int, count: int, seed: int = 0) -> list[int]:
    """Token lengths of chat examples: data/sample's conversations in the tiny tokenizer, resampled."""
    from containers.common import tiny_models
    from containers.training.chat_data import corpus_texts, encode_all
    from tests.containers.fixtures import chat_rows

    conversations = [row["messages"] for row in load_sample_rows() or chat_rows()]
    tokenizer = tiny_models.build_tiny_chat_tokenizer(corpus_texts(conversations))
    lengths = [len(f["input_ids"]) for f in encode_all(tokenizer, conversations, max_length)]
    rng = random.Random(seed)
    return [rng.choice(lengths) for _ in range(count)]


def load_sample_rows() -> list[dict]:
    """The chatbot training pairs prepare_datasets.py makes from data/sample (empty when it cannot run)."""
    import tempfile

    try:
        from containers.processing import prepare_datasets
    except ImportError:
        return []
    with tempfile.TemporaryDirectory() as scratch:
        sample = ROOT / "data" / "sample"
        prepare_datasets.main(
            prepare_datasets.parse_args(
                [
                    "--transcripts-dir",
                    str(sample / "transcripts"),
                    "--locations-dir",
                    str(sample / "locations"),
                    "--output-dir",
                    scratch,
                ]
            )
        )
        from containers.common.io import read_jsonl_dir

        return read_jsonl_dir(Path(scratch) / "chatbot_train")


# ----------------------------------------------------------------------------------------------- worker
def build_model(case: dict[str, Any]) -> tuple[Any, Any, int]:
    """(model, tokenizer or None, vocab size) for one case."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from containers.common import tiny_models

    if case["model"].startswith("tiny-"):
        from containers.training.chat_data import corpus_texts
        from tests.containers.fixtures import chat_rows

        tokenizer = tiny_models.build_tiny_chat_tokenizer(corpus_texts([r["messages"] for r in chat_rows()]))
        model = tiny_models.build_tiny_causal_lm(
            case["model"][5:], tokenizer, max_positions=case["max_seq_length"]
        )
        return model, tokenizer, len(tokenizer)
    settings = dict(HUB_CONFIGS[case["model"]])
    config = AutoConfig.for_model(
        settings.pop("model_type"),
        **settings,
        max_position_embeddings=max(4096, case["batch_size"] * case["max_seq_length"]),
    )
    torch.manual_seed(0)
    # Initialised directly on the device: random init of 3B parameters on the CPU would take minutes.
    with torch.device(case["device"]):
        model = AutoModelForCausalLM.from_config(
            config,
            dtype=torch.bfloat16 if case["device"] == "cuda" else torch.float32,
            attn_implementation="sdpa",
        )
    return model, None, config.vocab_size


def make_features(lengths: list[int], vocab: int, seed: int = 0) -> list[dict[str, list[int]]]:
    """Random token ids with the given lengths; the last third of each example is the 'reply' (labels)."""
    rng = random.Random(seed)
    features = []
    for length in lengths:
        ids = [rng.randrange(8, vocab) for _ in range(length)]
        cut = length - max(1, length // 3)
        features.append({"input_ids": ids, "labels": [-100] * cut + ids[cut:]})
    return features


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Train `steps` LoRA steps after 2 warm-up steps; measure throughput and peak memory."""
    import resource

    import torch

    from containers.training import chat_model, token_batches, train_chatbot
    from containers.training.chat_data import PackingCollator, PaddingCollator

    torch.manual_seed(0)
    cuda = case["device"] == "cuda"
    model, _, vocab = build_model(case)
    params = sum(p.numel() for p in model.parameters())
    checkpointing = case["gradient_checkpointing"]
    if checkpointing == "auto":  # as train_chatbot decides, for a step of the budget's tokens
        from containers.training import memory_estimate

        checkpointing = memory_estimate.choose_gradient_checkpointing(
            "auto",
            memory_estimate.ModelShape.of(model.config, params),
            case["token_budget"] or case["batch_size"] * case["max_seq_length"],
            case["lora_r"],
            torch.cuda.get_device_properties(0).total_memory if cuda else None,
            bytes_per_element=2 if cuda else 4,
            lora_dropout=False,
        ).enabled
    model = chat_model.add_lora(model, case["lora_r"], 2 * case["lora_r"], 0.0, checkpointing, False)
    model.train()
    steps = case["steps"] + 2
    lengths = case["lengths"]
    features = make_features(lengths, vocab)
    multiple = train_chatbot.PACK_MULTIPLE if cuda else None  # as the script does
    collate = (
        PackingCollator(0, pad_to_multiple_of=multiple)
        if case["packing"]
        else PaddingCollator(0, pad_to=case["max_seq_length"])
    )
    if case.get("token_budget"):  # train_chatbot's packing: whole examples up to the budget, one row a step
        groups = token_batches.token_budget_groups(lengths, case["token_budget"], seed=0)[:steps]
        chunks = [[features[i] for i in group] for group in groups]
    else:
        chunks = [features[i * case["batch_size"] : (i + 1) * case["batch_size"]] for i in range(steps)]
    batches = [collate(chunk) for chunk in chunks]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    device = torch.device("cuda" if cuda else "cpu")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = 0.0
    for step, batch in enumerate(batches):
        if step == 2:
            if cuda:
                torch.cuda.synchronize()
            started = time.perf_counter()
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    timed = [len(f["input_ids"]) for chunk in chunks[2:] for f in chunk]
    tokens = sum(timed)
    result = {
        "params": params,
        "tokens_per_s": tokens / elapsed,
        "samples_per_s": len(timed) / elapsed,
        "seconds": elapsed,
        "loss": loss.item(),
    }
    if cuda:
        result["peak_gib"] = torch.cuda.max_memory_reserved() / 2**30
        result["peak_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
        result["gpu"] = torch.cuda.get_device_name()
    else:
        result["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    peak = case.get("peak_flops") or next(
        (v for k, v in PEAK_FLOPS.items() if k in result.get("gpu", "")), None
    )
    config = model.get_base_model().config
    mean_length = tokens / len(timed)
    flops_per_token = 4 * params + 8 * config.num_hidden_layers * config.hidden_size * mean_length
    result["mfu"] = tokens / elapsed * flops_per_token / peak if peak else None
    return result


def run_trl_case(case: dict[str, Any]) -> dict[str, Any]:
    """TRL's SFTTrainer, packing on (its default best-fit-decreasing, padding-free), on the same model,
    LoRA and examples: rows of max_seq_length tokens, batch_size rows a step (the same tokens a step as the
    "budget" row), loss on the completion (reply) tokens only. Timed from step 3 as run_case is."""
    import resource
    import tempfile

    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from containers.training import chat_model

    torch.manual_seed(0)
    cuda = case["device"] == "cuda"
    model, tokenizer, vocab = build_model(case)
    if tokenizer is None:  # real architectures: the collator only needs a pad id (0, as run_case pads)
        from containers.common import tiny_models
        from containers.training.chat_data import corpus_texts
        from tests.containers.fixtures import chat_rows

        tokenizer = tiny_models.build_tiny_chat_tokenizer(corpus_texts([r["messages"] for r in chat_rows()]))
    params = sum(p.numel() for p in model.parameters())
    model = chat_model.add_lora(
        model, case["lora_r"], 2 * case["lora_r"], 0.0, case["gradient_checkpointing"], False
    )
    features = make_features(case["lengths"], vocab)
    rows = [
        {"input_ids": f["input_ids"], "completion_mask": [int(label != -100) for label in f["labels"]]}
        for f in features
    ]

    class Timer(TrainerCallback):
        started = 0.0
        tokens_before = 0

        def on_step_begin(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            if state.global_step == 2:
                if cuda:
                    torch.cuda.synchronize()
                self.started = time.perf_counter()
                self.tokens_before = state.num_input_tokens_seen

    timer = Timer()
    with tempfile.TemporaryDirectory() as scratch:
        config = SFTConfig(
            output_dir=scratch,
            max_steps=case["steps"] + 2,
            per_device_train_batch_size=case["batch_size"],
            packing=True,
            max_length=case["max_seq_length"],
            completion_only_loss=True,
            learning_rate=1e-4,
            lr_scheduler_type="constant",
            bf16=cuda,
            use_cpu=not cuda,
            save_strategy="no",
            logging_steps=10**6,
            report_to="none",
            disable_tqdm=True,
            dataloader_num_workers=0,
            include_num_input_tokens_seen="non_padding",
            seed=0,
        )
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        dataset = Dataset.from_list(rows)
        trainer = SFTTrainer(
            model=model, args=config, train_dataset=dataset, processing_class=tokenizer, callbacks=[timer]
        )
        trainer.train()
        if cuda:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - timer.started
        tokens = trainer.state.num_input_tokens_seen - timer.tokens_before
    mean_length = sum(case["lengths"]) / len(case["lengths"])
    result = {
        "params": params,
        "tokens_per_s": tokens / elapsed,
        "samples_per_s": tokens / mean_length / elapsed,  # packed rows hold whole examples: tokens / mean
        "seconds": elapsed,
    }
    if cuda:
        result["peak_gib"] = torch.cuda.max_memory_reserved() / 2**30
        result["gpu"] = torch.cuda.get_device_name()
    else:
        result["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    gpu = result.get("gpu", "")
    peak = case.get("peak_flops") or next((v for k, v in PEAK_FLOPS.items() if k in gpu), None)
    config_ = model.get_base_model().config
    flops_per_token = 4 * params + 8 * config_.num_hidden_layers * config_.hidden_size * mean_length
    result["mfu"] = tokens / elapsed * flops_per_token / peak if peak else None
    return result


def trl_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("trl") is not None


# ----------------------------------------------------------------------------------------------- driver
def plan(args: argparse.Namespace) -> list[dict[str, Any]]:
    cuda = args.device == "cuda"
    models = args.models or (
        ["llama-3.2-1b", "qwen2.5-1.5b", "qwen2.5-3b"] if cuda else ["tiny-qwen2", "tiny-llama"]
    )
    steps = args.steps or (10 if cuda else 30)
    batch = args.batch_size or (4 if cuda else 8)
    max_len = args.max_seq_length or (1024 if cuda else 128)
    big = args.packed_batch_size
    chat = sample_lengths(max_len, (steps + 2) * max(batch, big, batch * max_len // 8))
    common = {
        "device": args.device,
        "steps": steps,
        "batch_size": batch,
        "max_seq_length": max_len,
        "lora_r": 16 if cuda else 8,
        "gradient_checkpointing": cuda,  # the fixed-count rows and the fit case: as the script used to
        "peak_flops": args.peak_tflops * 1e12 if args.peak_tflops else None,
    }
    cases = []
    for model in models:
        for label, packing, size, budget in (
            ("script", True, batch, batch * max_len),
            ("baseline", False, batch, 0),
            (f"pack-n{batch}", True, batch, 0),
            (f"pack-n{big}", True, big, 0),
            *((("trl-packed", True, batch, 0),) if trl_available() and not args.no_trl else ()),
        ):
            if size:
                cases.append(
                    {
                        **common,
                        "model": model,
                        "workload": "chat",
                        "setting": label,
                        "packing": packing,
                        "batch_size": size,
                        "token_budget": budget,
                        "gradient_checkpointing": "auto" if label == "script" else cuda,
                        "lengths": chat,
                    }
                )
    if cuda and not args.no_fit:
        for model in ("qwen2.5-3b", "llama-3.2-3b"):
            cases.append(
                {
                    **common,
                    "model": model,
                    "workload": f"full-{max_len}",
                    "setting": "script",
                    "packing": True,
                    "steps": min(steps, 5),
                    "lengths": [max_len] * ((min(steps, 5) + 2) * batch),
                }
            )
    return cases


def run_worker(case: dict[str, Any]) -> dict[str, Any]:
    """Run one case in a fresh process (clean peak memory; an OOM stays in that process)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(case)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if completed.returncode == 0 and lines:
        return json.loads(lines[-1][len("RESULT ") :])
    error = (
        "out of memory" if "out of memory" in completed.stderr.lower() else completed.stderr.strip()[-400:]
    )
    return {"error": error}


def g5_price(region: str = "us-east-1") -> float:
    """The on-demand USD/hour of an ml.g5.2xlarge from conf/prices.yaml."""
    import yaml

    prices = yaml.safe_load((ROOT / "conf" / "prices.yaml").read_text(encoding="utf-8"))
    return float(prices["regions"][region]["ml.g5.2xlarge"])


def run_cost_line(row: dict[str, Any], replies: int, epochs: int = 2) -> str:
    """Time and cost of one training run of `replies` examples on an A10G, scaled from the measured GPU."""
    result = row["result"]
    peak = next((v for k, v in PEAK_FLOPS.items() if k in result.get("gpu", "")), None)
    label = f"{row['model']} {row['setting']}"
    if peak is None:
        return f"run cost {label}: n/a (needs a GPU run; CPU throughput says nothing about an A10G)"
    mean_tokens = result["tokens_per_s"] / result["samples_per_s"]
    a10g_tokens_per_s = result["tokens_per_s"] * PEAK_FLOPS["A10G"] / peak
    seconds = replies * epochs * mean_tokens / a10g_tokens_per_s
    cost = seconds / 3600 * g5_price()
    return (
        f"run cost {label}: {replies} replies x {epochs} epochs x {mean_tokens:.0f} tokens at "
        f"{a10g_tokens_per_s:.0f} tokens/s on an A10G (measured x {PEAK_FLOPS['A10G'] / 1e12:.0f}/"
        f"{peak / 1e12:.0f} TFLOPS) = {seconds / 60:.1f} min of training, ${cost:.3f} on demand "
        "(plus the job's start-up and model download, not counted)"
    )


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'model':<14} {'workload':<10} {'setting':<10} {'tokens/s':>10} {'samples/s':>10} "
        f"{'peak GiB':>9} {'MFU':>6}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        r = row["result"]
        if "error" in r:
            lines.append(
                f"{row['model']:<14} {row['workload']:<10} {row['setting']:<10} failed: {r['error'][:60]}"
            )
            continue
        mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") else "n/a"
        lines.append(
            f"{row['model']:<14} {row['workload']:<10} {row['setting']:<10} {r['tokens_per_s']:>10.0f} "
            f"{r['samples_per_s']:>10.1f} {r['peak_gib']:>9.2f} {mfu:>6}"
        )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.worker:
        case = json.loads(args.worker)
        if os.environ.get("OMP_NUM_THREADS") == "1":
            import torch

            torch.set_num_threads(1)
        run = run_trl_case if case["setting"] == "trl-packed" else run_case
        print("RESULT " + json.dumps(run(case)), flush=True)
        return []
    rows = []
    for case in plan(args):
        print(
            f"running {case['model']} {case['workload']} {case['setting']} ...", file=sys.stderr, flush=True
        )
        result = run_worker(case)
        rows.append({k: v for k, v in case.items() if k != "lengths"} | {"result": result})
    import torch

    device = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu ({os.cpu_count()} cores, "
    device += "" if args.device == "cuda" else f"{torch.get_num_threads()} torch threads)"
    print(
        f"device: {device}; batch {rows[0]['batch_size']} examples, "
        f"max_seq_length {rows[0]['max_seq_length']}, "
        f"{rows[0]['steps']} timed steps; script = token-budget packed rows (batch x max length tokens), "
        "baseline = padded to max length, pack-nN = N examples packed"
    )
    print(table(rows))
    for model in sorted({row["model"] for row in rows}):
        pair = {
            row["setting"]: row["result"]
            for row in rows
            if row["model"] == model and row["workload"] == "chat"
        }
        if all("tokens_per_s" in pair.get(key, {}) for key in ("script", "baseline")):
            print(
                f"{model}: script/baseline tokens/s = "
                f"{pair['script']['tokens_per_s'] / pair['baseline']['tokens_per_s']:.2f}x"
            )
    for row in rows:
        if row["workload"].startswith("full-") and "peak_gib" in row["result"]:
            fits = row["result"]["peak_gib"] <= A10G_USABLE_GIB
            print(
                f"fit: LoRA {row['model']} at {row['max_seq_length']} tokens x {row['batch_size']}: peak "
                f"{row['result']['peak_gib']:.1f} GiB -> {'fits' if fits else 'does NOT fit'} an A10G (24 GB)"
            )
    if args.device == "cpu":
        print("run cost: n/a on CPU (CPU throughput says nothing about an A10G; run with --device cuda)")
    for row in rows if args.device == "cuda" else []:
        if row["workload"] == "chat" and "tokens_per_s" in row["result"]:
            print(run_cost_line(row, args.run_replies))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"device": device, "rows": rows}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main(parse_args())

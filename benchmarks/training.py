"""Chatbot training throughput: the script's settings (padding-free packing) against a plain padded baseline.

    python benchmarks/training.py                       # CPU: tiny Qwen2/Llama on data/sample, prints a table
    python benchmarks/training.py --device cuda --out build/bench-training.json
    python benchmarks/training.py --device cuda --models qwen2.5-3b --steps 10

A third row packs --packed-batch-size examples a step (default 32): the memory packing saves buys a
larger batch, which is where its speed comes from on short chat examples.

For each model, the same LoRA setup (all linear layers, r=16 on GPU / 8 on CPU) trains on the same examples
twice: "script" batches them as train_chatbot.py does (packing: the batch flattened into one row, no
padding) and "baseline" pads every example to max_seq_length. Reported: real (non-padding) tokens/s,
samples/s, peak memory (GPU: torch's peak reserved; CPU: the worker's peak RSS), and on GPU the MFU.
On GPU the models are the real architectures with random weights built from their configs (no download),
in bf16 with gradient checkpointing. A last "fit" case trains Qwen2.5-3B and Llama-3.2-3B on full-length
1024-token examples at the script's default batch (4), the worst case, and says whether the peak fits
the 24 GB of an ml.g5.2xlarge (A10G; 22 GiB usable after the CUDA context). Each case runs in its own
process, so an out-of-memory case is reported as such and does not stop the others.

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

    from containers.training import chat_model, train_chatbot
    from containers.training.chat_data import PackingCollator, PaddingCollator

    torch.manual_seed(0)
    cuda = case["device"] == "cuda"
    model, _, vocab = build_model(case)
    params = sum(p.numel() for p in model.parameters())
    model = chat_model.add_lora(
        model, case["lora_r"], 2 * case["lora_r"], 0.0, case["gradient_checkpointing"], False
    )
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
    batches = [collate(features[i * case["batch_size"] : (i + 1) * case["batch_size"]]) for i in range(steps)]
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
    timed = lengths[2 * case["batch_size"] : steps * case["batch_size"]]
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
    chat = sample_lengths(max_len, (steps + 2) * max(batch, big))
    common = {
        "device": args.device,
        "steps": steps,
        "batch_size": batch,
        "max_seq_length": max_len,
        "lora_r": 16 if cuda else 8,
        "gradient_checkpointing": cuda,
        "peak_flops": args.peak_tflops * 1e12 if args.peak_tflops else None,
    }
    cases = []
    for model in models:
        for label, packing, size in (
            ("script", True, batch),
            ("baseline", False, batch),
            (f"script-b{big}", True, big),
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


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'model':<14} {'workload':<10} {'setting':<9} {'tokens/s':>10} {'samples/s':>10} "
        f"{'peak GiB':>9} {'MFU':>6}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        r = row["result"]
        if "error" in r:
            lines.append(
                f"{row['model']:<14} {row['workload']:<10} {row['setting']:<9} {'failed: ' + r['error'][:60]}"
            )
            continue
        mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") else "n/a"
        lines.append(
            f"{row['model']:<14} {row['workload']:<10} {row['setting']:<9} {r['tokens_per_s']:>10.0f} "
            f"{r['samples_per_s']:>10.1f} {r['peak_gib']:>9.2f} {mfu:>6}"
        )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.worker:
        case = json.loads(args.worker)
        if os.environ.get("OMP_NUM_THREADS") == "1":
            import torch

            torch.set_num_threads(1)
        print("RESULT " + json.dumps(run_case(case)), flush=True)
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
        f"{rows[0]['steps']} timed steps; script = padding-free packing, baseline = padded to max length"
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
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"device": device, "rows": rows}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main(parse_args())

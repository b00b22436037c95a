"""Evaluation's generation speed: prompts batched in input order (before) against sorted by length (now).

    python benchmarks/generation.py                      # CPU: tiny Qwen2 on data/sample's prompts
    python benchmarks/generation.py --device cuda --model qwen2.5-1.5b --batch-size 16

The same model, prompts, batch size and greedy decoding through evaluate_chatbot.reply_all, once with
`sort_by_length=False` (the batched path before issue #17) and once sorted (longest first, order restored).
Reported: device, new tokens/s, prompts/s, peak memory, and whether the replies are identical (they must
be). On GPU `--model` builds a real architecture with random weights from its config (no download), so
every reply runs to --max-new-tokens; on CPU the tiny model of the tests, warmed up on data/sample.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--model", default="tiny-qwen2", help="tiny-qwen2, or (cuda) a benchmarks/training.py id"
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--prompts", type=int, default=0, help="use the first N prompts (0: all)")
    return parser.parse_args(argv)


def load_prompts() -> list[list[dict[str, str]]]:
    """The chatbot test prompts prepare_datasets.py makes from data/sample (train + test: more lengths)."""
    from benchmarks.training import load_sample_rows
    from containers.evaluation.evaluate_chatbot import split_pairs

    prompts, _ = split_pairs([row["messages"] for row in load_sample_rows()])
    return prompts


def build_bundle(args: argparse.Namespace, prompts: list[list[dict[str, str]]]) -> dict[str, Any]:
    """A serving bundle as load_chat_model returns it: tiny (CPU) or a random real architecture (GPU)."""
    import torch

    from containers.common import tiny_models
    from containers.inference.chatbot import turn_markers
    from containers.training import chat_model

    texts = [m["content"] for c in prompts for m in c]
    tokenizer = tiny_models.build_tiny_chat_tokenizer(texts)
    if args.model == "tiny-qwen2":
        with tempfile.TemporaryDirectory() as folder:
            conversations = [[*c, {"role": "assistant", "content": "Yes."}] for c in prompts]
            tokenizer, model, _ = chat_model.prepare_tiny_base(
                "qwen2", conversations, 100, 3e-3, 16, 128, 0, Path(folder)
            )
    else:
        from transformers import AutoConfig, AutoModelForCausalLM

        from benchmarks.training import HUB_CONFIGS

        settings = dict(HUB_CONFIGS[args.model])
        config = AutoConfig.for_model(settings.pop("model_type"), **settings)
        with torch.device(args.device):
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
        model.generation_config.eos_token_id = None  # random weights: every reply runs to the cap
    tokenizer.padding_side = "left"
    model.to(args.device).eval()
    return {
        "model": model,
        "tokenizer": tokenizer,
        "markers": turn_markers(tokenizer),
        "system_prompt": "You are Eleven.",
        "max_new_tokens": args.max_new_tokens,
        "max_input_tokens": 4096,
    }


def peak_gib(device: str) -> float:
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from containers.evaluation.evaluate_chatbot import length_order, prompt_lengths, reply_all

    if os.environ.get("OMP_NUM_THREADS") == "1":
        torch.set_num_threads(1)
    prompts = load_prompts()
    if args.prompts:
        prompts = prompts[: args.prompts]
    bundle = build_bundle(args, prompts)
    lengths = prompt_lengths(bundle, prompts)
    reply_all(bundle, prompts[: args.batch_size], args.max_new_tokens, args.batch_size)  # warm-up
    results = {}
    for label, ordered in (("input order", False), ("sorted", True)):
        if args.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        generation = reply_all(bundle, prompts, args.max_new_tokens, args.batch_size, sort_by_length=ordered)
        elapsed = time.perf_counter() - started
        order = length_order(lengths) if ordered else list(range(len(prompts)))
        padded = sum(
            max(lengths[i] for i in order[s : s + args.batch_size]) * len(order[s : s + args.batch_size])
            for s in range(0, len(order), args.batch_size)
        )
        results[label] = {
            "tokens_per_s": generation.tokens_per_s,
            "prompts_per_s": len(prompts) / elapsed,
            "new_tokens": generation.new_tokens,
            "prompt_padding": 1 - sum(lengths) / padded,
            "peak_gib": peak_gib(args.device),
            "replies": generation.replies,
        }
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu ({os.cpu_count()} cores)"
    print(
        f"device: {device}; model {args.model}; {len(prompts)} prompts "
        f"({min(lengths)}-{max(lengths)} tokens), "
        f"batch {args.batch_size}, greedy, {args.max_new_tokens} new tokens max"
    )
    head = (
        f"{'batching':<12} {'tokens/s':>9} {'prompts/s':>10} {'new tokens':>11} {'prompt pad':>11} "
        f"{'peak GiB':>9}"
    )
    print(head)
    print("-" * len(head))
    for label, r in results.items():
        print(
            f"{label:<12} {r['tokens_per_s']:>9.0f} {r['prompts_per_s']:>10.1f} {r['new_tokens']:>11d} "
            f"{100 * r['prompt_padding']:>10.0f}% {r['peak_gib']:>9.2f}"
        )
    same = results["input order"]["replies"] == results["sorted"]["replies"]
    speedup = results["sorted"]["tokens_per_s"] / results["input order"]["tokens_per_s"]
    print(f"sorted/input order tokens/s = {speedup:.2f}x; replies identical: {same}")
    return results


if __name__ == "__main__":
    main(parse_args())

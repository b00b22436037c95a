"""Score the chatbot on held-out pairs against its base: chrF and BLEU (sacrebleu), reply diversity.

    python containers/evaluation/evaluate_chatbot.py --model-dir <model folder or model.tar.gz folder> \
        --test <chatbot_test dir> --output-dir <dir> [--max-new-tokens 48]

Replies come from the serving handler's own code (containers/inference/chatbot.py): same template,
same loading, greedy decoding in batches, so the score is the endpoint's score. Prompts are batched
longest first (little left padding per batch) and the replies put back in order; the report's metadata
and the log give the generation speed (new tokens/s of each model). The base model alone (no
adapter) always answers the same prompts too: the gate asks whether fine-tuning helped (`chrf_lift`),
which a constant threshold cannot tell. Distinct replies are counted after folding case, punctuation and
spacing, beside the references' own count, so a model that answers everything alike shows it
(`distinct_reply_ratio`, defined in report.py). A held-out prompt longer than the model's input limit
(a monologue merged into one transcript row) loses its start, as it did in training (chat_data.py:
the words right before the reply stay), rather than failing the job the way an endpoint refuses an
over-long request; the report's metadata counts those prompts. Writes evaluation.json and samples.jsonl.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch

from containers.common import tracking
from containers.common.cli import add_flag
from containers.common.errors import run_main
from containers.common.io import read_json, resolve_model_dir, setup_logging, write_jsonl
from containers.evaluation import report
from containers.inference.chatbot import generate_replies, load_chat_model, with_system_prompt
from containers.training.chat_data import keep_prompt_end, load_conversations

LOG = logging.getLogger("evaluate_chatbot")


@dataclass(frozen=True)
class EvaluateArguments:
    """The script's arguments, checked before the model or the test split is loaded."""

    model_dir: Path
    test: Path
    output_dir: Path
    max_new_tokens: int = 48
    batch_size: int = 16
    max_samples: int = 0

    def __post_init__(self) -> None:
        for flag, value in (("max-new-tokens", self.max_new_tokens), ("batch-size", self.batch_size)):
            if value < 1:
                raise ValueError(f"--{flag} {value} must be at least 1")
        if self.max_samples < 0:
            raise ValueError(f"--max-samples {self.max_samples} is negative (0 scores every pair)")


def parse_args(argv: list[str] | None = None) -> EvaluateArguments:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_flag(parser, "model_dir", type=Path, default=Path("/opt/ml/processing/input/model"))
    add_flag(parser, "test", type=Path, default=Path("/opt/ml/processing/input/test"))
    add_flag(parser, "output_dir", type=Path, default=Path("/opt/ml/processing/output/evaluation"))
    add_flag(parser, "max_new_tokens", type=int, default=48)
    add_flag(parser, "batch_size", type=int, default=16)
    add_flag(parser, "max_samples", type=int, default=0, help="score only the first N pairs (0: all)")
    return EvaluateArguments(**vars(parser.parse_args(argv)))


def split_pairs(conversations: list[list[dict[str, str]]]) -> tuple[list[list[dict[str, str]]], list[str]]:
    """(prompt messages, reference reply) per conversation: the reply is the last assistant message."""
    return [messages[:-1] for messages in conversations], [
        messages[-1]["content"] for messages in conversations
    ]


@dataclass(frozen=True)
class Generation:
    """Replies in the prompts' order, and what producing them cost (for the generation tokens/s figure)."""

    replies: list[str]
    new_tokens: int
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0


def prompt_lengths(bundle: dict[str, Any], prompts: list[list[dict[str, str]]]) -> list[int]:
    """Token length of each prompt as the handler renders it (template and system prompt included)."""
    tokenizer = bundle["tokenizer"]
    texts = [
        tokenizer.apply_chat_template(
            with_system_prompt(messages, bundle["system_prompt"]), tokenize=False, add_generation_prompt=True
        )
        for messages in prompts
    ]
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


def fit_prompts(
    bundle: dict[str, Any], prompts: list[list[dict[str, str]]]
) -> tuple[list[list[dict[str, str]]], int]:
    """Prompts cut from their start to fit max_input_tokens as the handler renders them (with its
    system prompt), and how many were cut."""
    fitted, trimmed = [], 0
    for messages in prompts:
        full = with_system_prompt(messages, bundle["system_prompt"])
        kept, cut = keep_prompt_end(
            bundle["tokenizer"], full, bundle["max_input_tokens"], add_generation_prompt=True
        )
        fitted.append(kept[len(full) - len(messages) :] if cut else messages)  # the handler adds it back
        trimmed += cut
    return fitted, trimmed


def length_order(lengths: list[int]) -> list[int]:
    """Indices from the longest prompt to the shortest (ties in input order).

    Batches of similar lengths carry little left padding, so fewer padded positions go through every
    decoding step; longest first also meets an out-of-memory batch at once rather than at the end.
    """
    return sorted(range(len(lengths)), key=lambda index: (-lengths[index], index))


def reply_all(
    bundle: dict[str, Any],
    prompts: list[list[dict[str, str]]],
    max_new_tokens: int,
    batch_size: int,
    sort_by_length: bool = True,
) -> Generation:
    """Greedy replies in batches (deterministic), returned in the prompts' order, with progress in the log.

    With `sort_by_length` the prompts are batched longest first and the replies put back in order.
    """
    order = length_order(prompt_lengths(bundle, prompts)) if sort_by_length else list(range(len(prompts)))
    replies: list[str | None] = [None] * len(prompts)
    new_tokens = 0
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started = time.perf_counter()
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        batch, _, completion = generate_replies(bundle, [prompts[i] for i in indices], max_new_tokens)
        for index, reply in zip(indices, batch, strict=True):
            replies[index] = reply
        new_tokens += sum(completion)
        LOG.info("replied to %d/%d prompts", min(start + batch_size, len(order)), len(order))
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return Generation([reply for reply in replies if reply is not None], new_tokens, seconds)


def reply_key(text: str) -> str:
    """What makes two replies the same reply: words, ignoring case, punctuation and spacing."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def distinct(texts: list[str]) -> int:
    """How many different replies `texts` holds (see reply_key); an empty reply counts as one."""
    return len({reply_key(text) for text in texts})


def score(replies: list[str], references: list[str]) -> dict[str, Any]:
    """Corpus BLEU and chrF with their sacrebleu signatures (what exactly was computed)."""
    from sacrebleu.metrics import BLEU, CHRF

    bleu, chrf = BLEU(), CHRF()
    return {
        "bleu": bleu.corpus_score(replies, [references]).score,
        "chrf": chrf.corpus_score(replies, [references]).score,
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }


def main(args: EvaluateArguments) -> dict[str, Any]:
    """Write evaluation.json and samples.jsonl to --output-dir; returns the report."""
    if os.environ.get("OMP_NUM_THREADS") == "1":
        torch.set_num_threads(1)
    conversations = load_conversations(args.test)
    if args.max_samples:
        conversations = conversations[: args.max_samples]
    prompts, references = split_pairs(conversations)
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = resolve_model_dir(args.model_dir, Path(scratch) / "model")
        config = read_json(model_dir / "chatbot_config.json")
        tuned_bundle = load_chat_model(model_dir)
        prompts, trimmed = fit_prompts(tuned_bundle, prompts)
        if trimmed:
            LOG.warning(
                "%d of %d prompts were over %d tokens: their start was cut",
                trimmed,
                len(prompts),
                tuned_bundle["max_input_tokens"],
            )
        tuned = reply_all(tuned_bundle, prompts, args.max_new_tokens, args.batch_size)
        base = reply_all(
            load_chat_model(model_dir, use_adapter=False), prompts, args.max_new_tokens, args.batch_size
        )
    replies, base_replies = tuned.replies, base.replies
    scores, base_scores = score(replies, references), score(base_replies, references)
    metrics = {
        "bleu": scores["bleu"],
        "chrf": scores["chrf"],
        "base_bleu": base_scores["bleu"],
        "base_chrf": base_scores["chrf"],
        "distinct_replies": distinct(replies),
        "base_distinct_replies": distinct(base_replies),
        "distinct_references": distinct(references),
    }
    metadata = {
        "bleu_signature": scores["bleu_signature"],
        "chrf_signature": scores["chrf_signature"],
        "test_pairs": len(references),
        "prompts_trimmed": trimmed,
        "max_new_tokens": args.max_new_tokens,
        "decoding": "greedy",
        "base_model_id": config["base_model_id"],
        "batch_size": args.batch_size,
        "batching": "sorted by prompt length",
        "generation_tokens_per_s": round(tuned.tokens_per_s, 2),
        "base_generation_tokens_per_s": round(base.tokens_per_s, 2),
        "generated_tokens": tuned.new_tokens,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    result = report.build_report("chatbot", metrics, metadata)
    report.write_report("chatbot", result, args.output_dir)
    samples = [
        {"prompt": prompt, "reference": reference, "reply": reply, "base_reply": base}
        for prompt, reference, reply, base in zip(prompts, references, replies, base_replies, strict=True)
    ]
    write_jsonl(args.output_dir / "samples.jsonl", samples)
    tracking.track_if_configured(args.output_dir, tracking.experiment_name("chatbot"), "evaluate-chatbot")
    figures = result["chatbot_metrics"]
    LOG.info(
        "chrF %.2f (base %.2f, lift %.2f) BLEU %.2f (base %.2f); %d distinct replies, "
        "references %d (ratio %.2f) on %d pairs",
        metrics["chrf"],
        metrics["base_chrf"],
        figures["chrf_lift"]["value"],
        metrics["bleu"],
        metrics["base_bleu"],
        metrics["distinct_replies"],
        metrics["distinct_references"],
        figures["distinct_reply_ratio"]["value"],
        len(references),
    )
    LOG.info(
        "generation: %d new tokens in %.2f s (%.1f tokens/s; base %.1f tokens/s), batch %d sorted by length",
        tuned.new_tokens,
        tuned.seconds,
        tuned.tokens_per_s,
        base.tokens_per_s,
        args.batch_size,
    )
    for name, entry in figures.items():
        LOG.info("METRIC %s=%.4f step=0", name, entry["value"])
    return result


if __name__ == "__main__":
    setup_logging()
    run_main(main, parse_args, LOG)

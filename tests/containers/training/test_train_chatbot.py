"""train_chatbot end to end on data/sample with a tiny Qwen2; resume after an interruption; flags, errors."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from containers.common import tiny_models
from containers.common.cli import add_flag, str_to_bool
from containers.training import chat_model, train_chatbot
from tests.containers.conftest import REPO, chatbot_argv, requires_gpu

SCRIPT = REPO / "containers" / "training" / "train_chatbot.py"


def test_training_loss_goes_down(chatbot_run) -> None:
    metrics = chatbot_run["metrics"]
    assert metrics["pretrain_loss_last"] < 0.5 * metrics["pretrain_loss_first"]
    assert metrics["train_loss_last"] < metrics["train_loss_first"]
    assert metrics["global_step"] == 160
    assert metrics["resumed_from_step"] == 0
    saved = json.loads((chatbot_run["run"] / "output" / "training_metrics.json").read_text())
    assert saved["train_loss_last"] == metrics["train_loss_last"]
    assert saved["eval_loss"] > 0


def test_model_folder_deploys_as_is(chatbot_run) -> None:
    model_dir = chatbot_run["run"] / "model"
    for path in (
        "adapter/adapter_config.json",
        "merged/config.json",
        "base/config.json",
        "tokenizer.json",
        "chat_template.jinja",
        "chatbot_config.json",
        "code/requirements.txt",
    ):
        assert (model_dir / path).is_file(), path
    handler = REPO / "containers" / "inference" / "chatbot.py"
    assert (model_dir / "code" / "inference.py").read_text() == handler.read_text()
    config = json.loads((model_dir / "chatbot_config.json").read_text())
    assert config["chat_template"] == tiny_models.TINY_CHAT_TEMPLATE
    assert (model_dir / "chat_template.jinja").read_text() == tiny_models.TINY_CHAT_TEMPLATE
    assert config["system_prompt"].startswith("You are Eleven")
    assert config["dtype"] == "float32"


def test_saved_tokenizer_gives_the_training_ids(chatbot_run) -> None:
    model_dir = chatbot_run["run"] / "model"
    saved = chat_model.load_tokenizer(model_dir, tiny=True)
    base = chat_model.load_tokenizer(chatbot_run["run"] / "checkpoints" / chat_model.TINY_BASE, tiny=True)
    text = "Friends don't lie. <|im_start|>assistant\n"
    assert saved(text)["input_ids"] == base(text)["input_ids"]
    assert "<|im_start|>" in saved.convert_ids_to_tokens(saved(text)["input_ids"])  # one special token


def test_resume_continues_from_the_last_checkpoint(hand_datasets: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    quick = {"pretrain_steps": 5, "save_steps": 2, "logging_steps": 1, "merge": "false"}
    first = train_chatbot.main(
        train_chatbot.parse_args(chatbot_argv(hand_datasets, run, max_steps=4, **quick))
    )
    assert first["global_step"] == 4
    assert [e["step"] for e in first["log_history"] if "loss" in e] == [1, 2, 3, 4]
    # The job restarts (spot interruption) with a longer budget: it must go on from step 4, not from 0.
    second = train_chatbot.main(
        train_chatbot.parse_args(chatbot_argv(hand_datasets, run, max_steps=6, **quick))
    )
    assert second["resumed_from_step"] == 4
    assert [e["step"] for e in second["log_history"] if "loss" in e] == [5, 6]
    assert second["global_step"] == 6
    assert second["pretrain_loss_first"] is None  # the tiny base was reused, not rebuilt
    assert not (run / "model" / "merged").exists()
    assert (run / "model" / "base" / "config.json").is_file()


def test_data_parallel_under_torchrun(hand_datasets: Path, tmp_path: Path) -> None:
    """Two CPU processes (gloo) train one model: the way SageMaker launches it on several GPUs."""
    torchrun = Path(sys.executable).with_name("torchrun")
    argv = chatbot_argv(
        hand_datasets, tmp_path, max_steps=6, pretrain_steps=10, save_steps=6, logging_steps=3
    )
    command = [str(torchrun), "--standalone", "--nproc_per_node", "2", str(SCRIPT), *argv]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    metrics = json.loads((tmp_path / "output" / "training_metrics.json").read_text())
    assert (metrics["world_size"], metrics["global_step"]) == (2, 6)
    assert completed.stdout.count("METRIC train_loss=") == 2  # logged once (rank 0), at steps 3 and 6
    assert (tmp_path / "model" / "merged" / "config.json").is_file()


def test_metric_lines_for_sagemaker(caplog: pytest.LogCaptureFixture) -> None:
    callback = train_chatbot.MetricLogCallback()
    state = argparse.Namespace(is_world_process_zero=True, global_step=10)
    with caplog.at_level(logging.INFO, logger="train_chatbot"):
        callback.on_log(None, state, None, logs={"loss": 2.5, "epoch": 1.0})
    assert [r.getMessage() for r in caplog.records] == ["METRIC train_loss=2.5 step=10"]
    assert callback.history == [{"step": 10, "loss": 2.5, "epoch": 1.0}]


def test_flags_accept_both_spellings_and_true_false() -> None:
    parser = argparse.ArgumentParser()
    add_flag(parser, "learning_rate", type=float)
    add_flag(parser, "packing", type=str_to_bool)
    assert parser.parse_args(["--learning-rate", "0.1", "--packing", "false"]).learning_rate == 0.1
    parsed = parser.parse_args(["--learning_rate", "0.2", "--packing", "True"])
    assert (parsed.learning_rate, parsed.packing) == (0.2, True)
    with pytest.raises(argparse.ArgumentTypeError, match="expected true or false"):
        str_to_bool("maybe")


def test_pretrain_steps_are_skipped_for_a_hub_model(
    hand_datasets: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The local config's warm-up does not stop `--param ChatbotModelId=<Hub id>`: it is skipped, said so.

    Offline the Hub load itself then fails, after the warning (no Hub in tests)."""
    args = train_chatbot.parse_args(
        chatbot_argv(hand_datasets, tmp_path, model_id="Qwen/Qwen2.5-0.5B-Instruct")
    )
    with caplog.at_level("WARNING"), pytest.raises(OSError):
        train_chatbot.main(args)
    assert (
        "pretrain_steps=300 warms up tiny bases only; Qwen/Qwen2.5-0.5B-Instruct is pretrained" in caplog.text
    )


def test_unknown_tiny_model_is_refused(hand_datasets: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown tiny model 'tiny:gpt2'; this script builds: llama, qwen2"):
        train_chatbot.main(
            train_chatbot.parse_args(chatbot_argv(hand_datasets, tmp_path, model_id="tiny:gpt2"))
        )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_4bit_needs_a_gpu() -> None:
    with pytest.raises(ValueError, match="load_in_4bit needs a CUDA GPU"):
        chat_model.load_causal_lm("unused", load_in_4bit=True)


def test_tiny_llama_trains_through_the_same_path(hand_datasets: Path, tmp_path: Path) -> None:
    metrics = train_chatbot.main(
        train_chatbot.parse_args(
            chatbot_argv(
                hand_datasets,
                tmp_path,
                model_id="tiny:llama",
                max_steps=20,
                pretrain_steps=40,
                packing="false",
                gradient_checkpointing="true",
                save_steps=20,
                logging_steps=5,
            )
        )
    )
    assert metrics["train_loss_last"] < metrics["train_loss_first"]
    config = json.loads((tmp_path / "model" / "merged" / "config.json").read_text())
    assert config["model_type"] == "llama"


@pytest.mark.gpu
@requires_gpu
def test_bf16_lora_on_gpu_trains_merges_and_serves(hand_datasets: Path, tmp_path: Path) -> None:
    from containers.inference import chatbot

    metrics = train_chatbot.main(
        train_chatbot.parse_args(
            chatbot_argv(
                hand_datasets,
                tmp_path,
                max_steps=30,
                pretrain_steps=50,
                save_steps=30,
                gradient_checkpointing="true",
            )
        )
    )
    assert metrics["train_loss_last"] < metrics["train_loss_first"]
    config = json.loads((tmp_path / "model" / "chatbot_config.json").read_text())
    assert config["dtype"] == "bfloat16"
    bundle = chatbot.load_chat_model(tmp_path / "model")
    assert next(bundle["model"].parameters()).dtype == torch.bfloat16
    replies, _, completion = chatbot.generate_replies(
        bundle, [[{"role": "user", "content": "Where is Mike?"}]], 8
    )
    assert isinstance(replies[0], str) and 1 <= completion[0] <= 8


@pytest.mark.gpu
@requires_gpu
def test_qlora_merges_into_a_bf16_reload(hand_datasets: Path, tmp_path: Path) -> None:
    pytest.importorskip("bitsandbytes")
    metrics = train_chatbot.main(
        train_chatbot.parse_args(
            chatbot_argv(
                hand_datasets, tmp_path, max_steps=10, pretrain_steps=20, save_steps=10, load_in_4bit="true"
            )
        )
    )
    assert metrics["global_step"] == 10
    merged = json.loads((tmp_path / "model" / "merged" / "config.json").read_text())
    assert "quantization_config" not in merged


@pytest.mark.parametrize("merge", ["true", "false"])
def test_a_model_folder_takes_the_hub_path(hand_datasets: Path, tmp_path: Path, merge: str) -> None:
    """A saved model folder as --model-id: no warm-up, AutoTokenizer, the base referenced by id, served."""
    from containers.inference import chatbot
    from containers.training.chat_data import corpus_texts, load_conversations

    texts = corpus_texts(load_conversations(hand_datasets / "chatbot_train"))
    tokenizer = tiny_models.build_tiny_chat_tokenizer(texts)
    base = tmp_path / "hub-like-base"
    tiny_models.build_tiny_causal_lm("llama", tokenizer).save_pretrained(base)
    tokenizer.save_pretrained(base)
    run = tmp_path / "run"
    metrics = train_chatbot.main(
        train_chatbot.parse_args(
            chatbot_argv(
                hand_datasets,
                run,
                model_id=str(base),
                pretrain_steps=0,
                max_steps=4,
                save_steps=4,
                merge=merge,
            )
        )
    )
    assert metrics["pretrain_loss_first"] is None and metrics["global_step"] == 4
    config = json.loads((run / "model" / "chatbot_config.json").read_text())
    assert (config["base_model_id"], config["base_dir"], config["tokenizer_class"]) == (
        str(base),
        None,
        "AutoTokenizer",
    )
    assert (run / "model" / "merged").is_dir() == (merge == "true")
    bundle = chatbot.model_fn(str(run / "model"))
    answer = chatbot.predict_fn(
        {"messages": [{"role": "user", "content": "Where is Mike?"}], "parameters": {"max_new_tokens": 4}},
        bundle,
    )
    assert isinstance(answer["reply"], str) and answer["usage"]["completion_tokens"] <= 4


CONVERSATIONS = [
    [
        {"role": "system", "content": "Be Eleven."},
        {"role": "user", "content": "Who are you?"},
        {"role": "assistant", "content": "Eleven."},
    ],
    [
        {"role": "system", "content": "Be Eleven."},
        {"role": "user", "content": "Are you hungry?"},
        {"role": "assistant", "content": "Yes."},
    ],
    [
        {"role": "system", "content": "Be Eleven."},
        {"role": "user", "content": "Want waffles?"},
        {"role": "assistant", "content": "Waffles."},
    ],
]


def test_warm_up_dialogue_pairs_other_speakers_lines_never_the_characters() -> None:
    assert chat_model.other_speakers_dialogue(CONVERSATIONS) == [
        [
            {"role": "system", "content": "Be Eleven."},
            {"role": "user", "content": "Who are you?"},
            {"role": "assistant", "content": "Are you hungry?"},
        ],
        [
            {"role": "system", "content": "Be Eleven."},
            {"role": "user", "content": "Are you hungry?"},
            {"role": "assistant", "content": "Want waffles?"},
        ],
    ]


def test_warm_up_formats_encode_what_they_say() -> None:
    texts = [m["content"] for c in CONVERSATIONS for m in c] + ["user", "assistant", "system"]
    tokenizer = tiny_models.build_tiny_chat_tokenizer(texts)
    plain = chat_model.encode_warmup(tokenizer, CONVERSATIONS, "plain", 64)
    assert len(plain) == 9
    assert tokenizer.decode(plain[1]["input_ids"]) == "Who are you?</s>"
    dialogue = chat_model.encode_warmup(tokenizer, CONVERSATIONS, "dialogue", 64)
    assert dialogue[:9] == plain and len(dialogue) == 11
    rendered = tokenizer.decode(dialogue[9]["input_ids"])
    assert rendered.endswith("<|im_start|>assistant\nAre you hungry?<|im_end|>\n")
    assert "assistant\nEleven." not in rendered  # the character's reply is never assistant text here
    swapped = tokenizer.decode(
        chat_model.encode_warmup(tokenizer, CONVERSATIONS, "swapped", 64)[1]["input_ids"]
    )
    assert "<|im_start|>user\nYes.<|im_end|>" in swapped
    with pytest.raises(ValueError, match="unknown pretrain format 'lines'"):
        chat_model.encode_warmup(tokenizer, CONVERSATIONS, "lines", 64)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--epochs", "0", "--max-steps", "-1"], "nothing would train"),
        (["--lora-dropout", "1.0"], r"--lora-dropout 1.0 must be in \[0, 1\)"),
        (["--gradient-accumulation-steps", "0"], "--gradient-accumulation-steps 0 must be at least 1"),
        (["--pretrain-learning-rate", "3"], r"--pretrain-learning-rate 3.0 must be in \(0, 1\)"),
    ],
)
def test_bad_hyperparameters_fail_before_any_data_is_read(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    missing = str(tmp_path / "not-there")
    with pytest.raises(ValueError, match=message):
        train_chatbot.parse_args(
            ["--model-id", "tiny:qwen2", "--train", missing, "--validation", missing, *flags]
        )


def test_packing_batches_by_token_budget(
    hand_datasets: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Packing fills one row with a token budget: many examples a step, every row within the budget;
    a budget that leaves few optimizer steps an epoch is said in a warning."""
    caplog.set_level(logging.INFO, logger="train_chatbot")
    metrics = train_chatbot.main(
        train_chatbot.parse_args(
            chatbot_argv(
                hand_datasets,
                tmp_path,
                max_steps=6,
                pretrain_steps=20,
                save_steps=6,
                packing="true",
                tokens_per_batch=512,
                per_device_batch_size=2,
                gradient_checkpointing="auto",
            )
        )
    )
    assert metrics["tokens_per_batch"] == 512
    assert metrics["examples_per_batch"] > 2  # more than the 2 examples a padded batch would hold
    assert 0.5 < metrics["batch_fill"] <= 1.0
    assert metrics["gradient_checkpointing"] is False
    assert metrics["gradient_checkpointing_reason"].startswith("auto: no GPU")
    assert metrics["fused_kernels"] is False
    assert metrics["train_tokens_per_second"] > 0
    assert metrics["global_step"] == 6
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("optimizer steps an epoch" in message for message in warnings), warnings


def test_a_derived_token_budget_is_lowered_to_keep_enough_optimizer_steps(
    hand_datasets: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No --tokens-per-batch: the row of 32 x 128 tokens would hold the hand-made data in one or two rows;
    the script lowers the budget (never below max_seq_length) so an epoch has more packed rows."""
    caplog.set_level(logging.INFO, logger="train_chatbot")
    metrics = train_chatbot.main(
        train_chatbot.parse_args(
            chatbot_argv(hand_datasets, tmp_path, max_steps=2, pretrain_steps=0, save_steps=2, packing="true")
        )
    )
    assert 128 <= metrics["tokens_per_batch"] < 32 * 128
    lowered = [r.getMessage() for r in caplog.records if "token budget lowered" in r.getMessage()]
    assert lowered == [lowered[0]] and f"to {metrics['tokens_per_batch']}:" in lowered[0], lowered


def test_token_budget_flags_are_checked(tmp_path: Path) -> None:
    missing = str(tmp_path / "not-there")
    argv = ["--model-id", "tiny:qwen2", "--train", missing, "--validation", missing]
    with pytest.raises(ValueError, match="--tokens-per-batch needs --packing true"):
        train_chatbot.parse_args([*argv, "--packing", "false", "--tokens-per-batch", "512"])
    with pytest.raises(SystemExit):
        train_chatbot.parse_args([*argv, "--gradient-checkpointing", "sometimes"])
    parsed = train_chatbot.parse_args([*argv, "--gradient-checkpointing", "True"])
    assert parsed.gradient_checkpointing == "true"
    assert train_chatbot.parse_args(argv).gradient_checkpointing == "auto"
    budget = train_chatbot.token_budget(dataclasses.replace(parsed, max_seq_length=1000), bf16=True)
    assert budget == 4032  # 4 x 1000, rounded up to a multiple of 64 on GPU
    with pytest.raises(ValueError, match="below max_seq_length 1024"):
        train_chatbot.token_budget(dataclasses.replace(parsed, tokens_per_batch=512), bf16=False)


def test_fused_kernels_need_a_gpu_when_insisted_on() -> None:
    if torch.cuda.is_available():
        pytest.skip("CPU behaviour")
    assert train_chatbot.use_fused_kernels("auto") is False
    with pytest.raises(ValueError, match="--fused-kernels true needs a CUDA GPU and liger-kernel"):
        train_chatbot.use_fused_kernels("true")


@pytest.mark.gpu
@requires_gpu
def test_liger_fused_loss_matches_the_plain_loss_on_gpu(hand_datasets: Path) -> None:
    """Liger's fused linear cross-entropy gives the plain loss on a packed token-budget row (bf16)."""
    pytest.importorskip("liger_kernel")
    from transformers.integrations.liger import apply_liger_kernel

    from containers.training import token_batches
    from containers.training.chat_data import PackingCollator, corpus_texts, encode_all, load_conversations

    conversations = load_conversations(hand_datasets / "chatbot_train")
    tokenizer = tiny_models.build_tiny_chat_tokenizer(corpus_texts(conversations))
    features = encode_all(tokenizer, conversations, 128)
    group = token_batches.group_features(features, 1024, seed=0)[0]
    row = token_batches.GroupPackingCollator(PackingCollator(tokenizer.pad_token_id, 64))([group])
    row = {k: v.cuda() for k, v in row.items()}
    model = tiny_models.build_tiny_causal_lm("qwen2", tokenizer, seed=1).cuda().to(torch.bfloat16).train()
    model.config.use_cache = False
    plain = model(**row).loss.float().item()
    apply_liger_kernel(model, train_chatbot.LIGER_CONFIG)
    fused = model(**row).loss.float().item()
    assert fused == pytest.approx(plain, rel=2e-2)


@pytest.mark.gpu
@requires_gpu
def test_memory_estimate_is_near_the_measured_peak_on_gpu() -> None:
    """A 0.5B-class Qwen2 from config, LoRA, 4096 packed tokens, bf16: estimate within 35% of the peak."""
    from transformers import AutoModelForCausalLM, Qwen2Config

    from containers.training import memory_estimate

    config = Qwen2Config(
        vocab_size=151936,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        tie_word_embeddings=True,
        max_position_embeddings=4096,
    )
    for checkpointing in (False, True):
        with torch.device("cuda"):
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
        params = sum(p.numel() for p in model.parameters())
        torch.cuda.reset_peak_memory_stats()
        lora = chat_model.add_lora(model, 16, 32, 0.05, checkpointing, False)
        lora.train()
        ids = torch.randint(8, 150000, (1, 4096), device="cuda")
        positions = torch.arange(4096, device="cuda").remainder(64)[None]
        lora(input_ids=ids, labels=ids, position_ids=positions).loss.backward()
        peak = torch.cuda.max_memory_allocated()
        estimate = memory_estimate.estimate_training_memory(
            memory_estimate.ModelShape.of(config, params), 4096, checkpointing, 16, overhead=0
        )
        assert estimate.total == pytest.approx(peak, rel=0.35), (checkpointing, estimate.describe(), peak)
        del model, lora
        torch.cuda.empty_cache()

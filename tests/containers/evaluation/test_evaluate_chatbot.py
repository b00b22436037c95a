"""evaluate_chatbot on the tiny chatbot trained on data/sample: schema, samples, learning shows in BLEU."""

from __future__ import annotations

import json
import shutil
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from conf import load_config
from containers.evaluation import evaluate_chatbot, report

LOCAL_GATE = load_config("local").chatbot.gate


@pytest.fixture(scope="module")
def chatbot_report(chatbot_run, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("chatbot_eval")
    args = evaluate_chatbot.parse_args(
        [
            "--model-dir",
            str(chatbot_run["run"] / "model"),
            "--test",
            str(chatbot_run["data"] / "chatbot_test"),
            "--output-dir",
            str(out),
            "--max-new-tokens",
            "24",
        ]
    )
    return {"report": evaluate_chatbot.main(args), "out": out}


def test_report_validates_and_is_written(chatbot_report) -> None:
    written = json.loads((chatbot_report["out"] / report.REPORT_FILE).read_text())
    report.validate_report("chatbot", written)
    assert written == chatbot_report["report"]
    assert "nrefs:1" in written["metadata"]["bleu_signature"]
    assert written["metadata"]["decoding"] == "greedy"


def test_lora_beats_its_base_on_the_same_test_set(chatbot_report) -> None:
    """Real learning: both metrics clearly above the base's, and replies that depend on the prompt."""
    metrics = {name: entry["value"] for name, entry in chatbot_report["report"]["chatbot_metrics"].items()}
    assert metrics["bleu"] > metrics["base_bleu"] + 3.0
    assert metrics["chrf"] > metrics["base_chrf"] + 5.0
    samples = [
        json.loads(line) for line in (chatbot_report["out"] / "samples.jsonl").read_text().splitlines()
    ]
    replies = [sample["reply"] for sample in samples]
    # A collapsed model answers everything with one line; this one answers different prompts differently.
    assert len(set(replies)) >= 5
    assert sum(reply == sample["reference"] for reply, sample in zip(replies, samples, strict=True)) >= 1


def test_samples_hold_prompt_reference_and_reply(chatbot_report, chatbot_run) -> None:
    samples = [
        json.loads(line) for line in (chatbot_report["out"] / "samples.jsonl").read_text().splitlines()
    ]
    tests = [
        json.loads(line)
        for line in (chatbot_run["data"] / "chatbot_test" / "test.jsonl").read_text().splitlines()
    ]
    assert len(samples) == len(tests) == chatbot_report["report"]["metadata"]["test_pairs"]
    assert samples[0]["reference"] == tests[0]["messages"][-1]["content"]
    assert samples[0]["prompt"] == tests[0]["messages"][:-1]
    assert all(isinstance(s["reply"], str) and isinstance(s["base_reply"], str) for s in samples)


def test_model_tar_gz_gives_the_same_scores(chatbot_run, chatbot_report, tmp_path: Path) -> None:
    """SageMaker mounts the model as a folder holding model.tar.gz: decoding is greedy, so scores match."""
    packed = tmp_path / "input"
    packed.mkdir()
    with tarfile.open(packed / "model.tar.gz", "w:gz") as archive:
        for path in sorted((chatbot_run["run"] / "model").iterdir()):
            archive.add(path, arcname=path.name)
    args = evaluate_chatbot.parse_args(
        [
            "--model-dir",
            str(packed),
            "--test",
            str(chatbot_run["data"] / "chatbot_test"),
            "--output-dir",
            str(tmp_path / "out"),
            "--max-new-tokens",
            "24",
            "--batch-size",
            "7",
        ]
    )
    again = evaluate_chatbot.main(args)["chatbot_metrics"]
    first = chatbot_report["report"]["chatbot_metrics"]
    for name in ("chrf", "base_chrf", "chrf_lift", "distinct_reply_ratio"):
        assert again[name]["value"] == pytest.approx(first[name]["value"])


def test_report_carries_the_derived_figures_the_gate_reads(chatbot_report) -> None:
    body = chatbot_report["report"]["chatbot_metrics"]
    assert body["chrf_lift"]["value"] == pytest.approx(body["chrf"]["value"] - body["base_chrf"]["value"])
    assert body["distinct_reply_ratio"]["value"] == pytest.approx(
        body["distinct_replies"]["value"] / body["distinct_references"]["value"]
    )
    samples = [
        json.loads(line) for line in (chatbot_report["out"] / "samples.jsonl").read_text().splitlines()
    ]
    assert body["distinct_replies"]["value"] == evaluate_chatbot.distinct([s["reply"] for s in samples])
    assert body["distinct_references"]["value"] == evaluate_chatbot.distinct(
        [s["reference"] for s in samples]
    )


def test_replies_that_differ_only_in_case_or_punctuation_are_one_reply() -> None:
    assert evaluate_chatbot.distinct(["Yes.", "yes", " YES!", "No.", "Friends don't lie."]) == 3
    assert evaluate_chatbot.reply_key("Friends  don't LIE!") == "friends don't lie"


def test_score_of_exact_replies_is_100() -> None:
    scores = evaluate_chatbot.score(["Friends don't lie.", "Bad men."], ["Friends don't lie.", "Bad men."])
    assert scores["bleu"] == pytest.approx(100.0)
    assert scores["chrf"] == pytest.approx(100.0)
    assert evaluate_chatbot.score(["a b c d"], ["w x y z"])["bleu"] == 0.0


def test_missing_model_config_is_a_clear_error(chatbot_run, tmp_path: Path) -> None:
    args = evaluate_chatbot.parse_args(
        [
            "--model-dir",
            str(tmp_path),
            "--test",
            str(chatbot_run["data"] / "chatbot_test"),
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )
    with pytest.raises(FileNotFoundError, match=r"chatbot_config\.json"):
        evaluate_chatbot.main(args)


def test_bad_arguments_fail_before_loading_the_model(tmp_path: Path) -> None:
    missing = str(tmp_path / "not-there")
    argv = ["--model-dir", missing, "--test", missing]
    with pytest.raises(ValueError, match="--max-new-tokens 0 must be at least 1"):
        evaluate_chatbot.parse_args([*argv, "--max-new-tokens", "0"])
    with pytest.raises(ValueError, match=r"--max-samples -2 is negative \(0 scores every pair\)"):
        evaluate_chatbot.parse_args([*argv, "--max-samples", "-2"])


def test_fine_tuned_tiny_chatbot_passes_the_local_gate(chatbot_report) -> None:
    assert report.gate_failures("chatbot", chatbot_report["report"], LOCAL_GATE) == []


def test_the_untrained_base_fails_the_local_gate(chatbot_run, tmp_path: Path) -> None:
    """The base served as if it were the fine-tuned model: no lift over itself, so the gate stops it."""
    model = tmp_path / "model"
    shutil.copytree(chatbot_run["run"] / "model", model)
    config = json.loads((model / "chatbot_config.json").read_text())
    shutil.rmtree(model / config["merged_dir"])
    shutil.rmtree(model / config["adapter_dir"])
    shutil.copytree(model / config["base_dir"], model / config["merged_dir"])
    args = evaluate_chatbot.parse_args(
        [
            "--model-dir",
            str(model),
            "--test",
            str(chatbot_run["data"] / "chatbot_test"),
            "--output-dir",
            str(tmp_path / "out"),
            "--max-new-tokens",
            "24",
        ]
    )
    result = evaluate_chatbot.main(args)
    assert report.read_metric(result, "chatbot", "chrf_lift") == pytest.approx(0.0)
    failures = report.gate_failures("chatbot", result, LOCAL_GATE)
    assert any(failure.startswith("chrf_lift = ") for failure in failures), failures


def test_a_one_reply_model_fails_the_local_gate(chatbot_report) -> None:
    """Answering every test prompt with the character's most frequent line: the diversity floor stops it,
    whatever its chrF (it matches every reference that is that line)."""
    samples = [
        json.loads(line) for line in (chatbot_report["out"] / "samples.jsonl").read_text().splitlines()
    ]
    references = [sample["reference"] for sample in samples]
    constant = [Counter(references).most_common(1)[0][0]] * len(references)
    measured = chatbot_report["report"]["chatbot_metrics"]
    metrics = {
        "bleu": evaluate_chatbot.score(constant, references)["bleu"],
        "chrf": evaluate_chatbot.score(constant, references)["chrf"],
        "base_bleu": measured["base_bleu"]["value"],
        "base_chrf": measured["base_chrf"]["value"],
        "distinct_replies": evaluate_chatbot.distinct(constant),
        "base_distinct_replies": measured["base_distinct_replies"]["value"],
        "distinct_references": evaluate_chatbot.distinct(references),
    }
    failures = report.gate_failures("chatbot", report.build_report("chatbot", metrics), LOCAL_GATE)
    assert any(failure.startswith("distinct_reply_ratio = ") for failure in failures), failures


def test_length_order_is_longest_first_with_ties_in_input_order() -> None:
    assert evaluate_chatbot.length_order([3, 9, 3, 12, 9]) == [3, 1, 4, 0, 2]
    assert evaluate_chatbot.length_order([]) == []


@pytest.fixture(scope="module")
def tuned_bundle(chatbot_run) -> dict:
    from containers.inference.chatbot import load_chat_model

    return load_chat_model(chatbot_run["run"] / "model")


@pytest.fixture(scope="module")
def test_prompts(chatbot_run) -> list:
    from containers.training.chat_data import load_conversations

    prompts, _ = evaluate_chatbot.split_pairs(load_conversations(chatbot_run["data"] / "chatbot_test"))
    return prompts


def test_sorted_batches_give_the_unsorted_replies_in_the_prompts_order(tuned_bundle, test_prompts) -> None:
    """Batching by length changes only which prompts share a batch: greedy replies come back the same,
    each in its prompt's place (reference: one prompt at a time, no padding at all)."""
    lengths = evaluate_chatbot.prompt_lengths(tuned_bundle, test_prompts)
    assert len(set(lengths)) > 3, "the test prompts must differ in length for the order to matter"
    assert evaluate_chatbot.length_order(lengths) != list(range(len(lengths)))
    one_by_one = evaluate_chatbot.reply_all(tuned_bundle, test_prompts, 24, 1, sort_by_length=False)
    unsorted = evaluate_chatbot.reply_all(tuned_bundle, test_prompts, 24, 8, sort_by_length=False)
    ordered = evaluate_chatbot.reply_all(tuned_bundle, test_prompts, 24, 8, sort_by_length=True)
    assert ordered.replies == unsorted.replies == one_by_one.replies
    assert len(set(ordered.replies)) > 1  # not a trivial match of one constant reply
    assert ordered.new_tokens == unsorted.new_tokens > 0


def test_report_says_how_fast_replies_were_generated(chatbot_report) -> None:
    metadata = chatbot_report["report"]["metadata"]
    assert metadata["generation_tokens_per_s"] > 0
    assert metadata["base_generation_tokens_per_s"] > 0
    assert metadata["generated_tokens"] > 0
    assert metadata["batching"] == "sorted by prompt length"


def test_a_held_out_prompt_over_the_input_limit_loses_its_start_instead_of_failing_the_job(
    chatbot_run, tuned_bundle, tmp_path: Path
) -> None:
    """A monologue merged into one transcript row was a PayloadTooLarge that failed EvaluateChatbot at real
    size; it is cut from its start as training cut it, and counted."""
    from containers.inference.chatbot import PayloadTooLarge, generate_replies

    monologue = " ".join(["Mike, are you okay? We have to find the gate."] * 40) + " Where is Will?"
    long = [{"role": "user", "content": monologue}]
    short = [{"role": "user", "content": "Are you okay?"}]
    with pytest.raises(PayloadTooLarge):
        generate_replies(tuned_bundle, [long], 4)
    fitted, trimmed = evaluate_chatbot.fit_prompts(tuned_bundle, [long, short])
    assert trimmed == 1 and fitted[1] == short
    assert fitted[0][-1]["content"].endswith("We have to find the gate. Where is Will?")
    assert evaluate_chatbot.prompt_lengths(tuned_bundle, fitted)[0] <= tuned_bundle["max_input_tokens"]
    rows = [
        {"messages": [*prompt, {"role": "assistant", "content": "Here."}]} for prompt in (long, short, short)
    ]
    test = tmp_path / "test"
    test.mkdir()
    (test / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    args = [
        "--model-dir",
        str(chatbot_run["run"] / "model"),
        "--test",
        str(test),
        "--output-dir",
        str(tmp_path / "out"),
    ]
    result = evaluate_chatbot.main(evaluate_chatbot.parse_args([*args, "--max-new-tokens", "4"]))
    assert result["metadata"]["prompts_trimmed"] == 1
    assert result["metadata"]["test_pairs"] == 3

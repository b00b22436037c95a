"""The app's local backend on a finished local run: serve-local started by the app, the registry and the
run folders, as `make app` uses them after `make run-local`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app import chat, explore, locations
from app.backend import (
    BackendError,
    EndpointUnavailable,
    LocalBackend,
    OutputMissing,
    RequestRejected,
    open_backend,
)
from tests.app.conftest import CHATBOT_GROUP, CLASSIFIER_GROUP, free_port, register_pending
from tests.app.test_explore import drawn

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def label_set(home: Path) -> set[str]:
    label_map = home / "deployed" / CLASSIFIER_GROUP / "v1" / "label_map.json"
    return set(json.loads(label_map.read_text())["label2id"])


def test_the_endpoints_and_the_versions_they_serve(local_backend: LocalBackend) -> None:
    infos = {i.model: (i.name, i.status, i.group, i.version) for i in local_backend.endpoints()}
    assert infos == {
        "chatbot": ("stranger-things-nlp-local-chatbot", "InService", CHATBOT_GROUP, 1),
        "classifier": ("stranger-things-nlp-local-classifier", "InService", CLASSIFIER_GROUP, 1),
    }


def test_a_chat_message_gets_a_reply_and_a_bad_one_the_handlers_message(local_backend: LocalBackend) -> None:
    answer = local_backend.invoke(
        "chatbot",
        {"messages": [{"role": "user", "content": "Where is Will?"}], "parameters": {"max_new_tokens": 12}},
    )
    assert isinstance(answer["reply"], str) and 1 <= answer["usage"]["completion_tokens"] <= 12
    with pytest.raises(RequestRejected, match="'messages' must be a non-empty list"):
        local_backend.invoke("chatbot", {"messages": []})


# Exchanges of a chat, written for these tests; repeated (numbered) until they exceed the model's context.
EXCHANGES = [
    ("We rode to the quarry after dark and the walkie-talkie kept crackling.", "The bad men are close."),
    ("Dustin swears the thing in the cellar ate his nougat bars, every single one.", "Not a friend."),
    ("Hopper left waffles on the table and a note that says stay inside.", "I stay. I wait."),
    ("The lights in the Byers house blink whenever someone says his name.", "Will is talking."),
]


def settings() -> chat.GenerationSettings:
    return chat.GenerationSettings(max_new_tokens=8, temperature=0.7, top_p=0.9, do_sample=False)


def context_limit(backend: LocalBackend, home: Path) -> int:
    """The live chatbot's max_input_tokens: its Model's MAX_INPUT_TOKENS, else its chatbot_config.json."""
    live = backend.endpoint("chatbot").version
    assert live is not None
    environment = backend.version(CHATBOT_GROUP, live).environment
    config = home / "deployed" / CHATBOT_GROUP / f"v{live}" / "chatbot_config.json"
    return int(environment.get("MAX_INPUT_TOKENS") or json.loads(config.read_text())["max_input_tokens"])


def long_history(limit: int) -> list[dict[str, str]]:
    """Exchanges of at least 40 tokens each (about 1.6 characters a token here), 1.5 contexts' worth."""
    count = min(limit * 3 // 2 // 40 + 1, (chat.MAX_MESSAGES - 2) // 2)
    history = []
    for i in range(count):
        question, reply = EXCHANGES[i % len(EXCHANGES)]
        history += [{"role": "user", "content": f"{question} ({i})"}, {"role": "assistant", "content": reply}]
    return history


def test_a_chat_longer_than_the_models_context_gets_a_reply_and_the_note(
    local_backend: LocalBackend, app_home: Path
) -> None:
    limit = context_limit(local_backend, app_home)
    conversation = chat.build_conversation(long_history(limit), "Where is Will?", None, settings(), cap=8)
    with pytest.raises(RequestRejected, match=rf"the conversation is \d+ tokens; the limit is {limit}"):
        local_backend.invoke("chatbot", conversation.request())  # whole, the handler refuses it
    sent_requests: list[dict[str, Any]] = []

    def invoke(request: dict[str, Any]) -> dict[str, Any]:
        sent_requests.append(request)
        return local_backend.invoke("chatbot", request)

    answer, sent = chat.answer_within_context(conversation, invoke)
    assert isinstance(answer["reply"], str) and answer["usage"]["prompt_tokens"] <= limit
    assert sent.messages[-1] == {"role": "user", "content": "Where is Will?"}
    assert sent.earlier == conversation.earlier[2 * sent.left_out :]  # the newest turns, in order
    assert 1 <= sent.left_out < len(conversation.earlier) // 2
    assert len(sent_requests) <= 3  # the refusal's numbers spared most retries
    what = f"the {sent.left_out} oldest exchanges were" if sent.left_out > 1 else "the oldest exchange was"
    assert chat.left_out_note(sent) == f"\n\n*({what} left out to fit the model's {limit}-token context)*"


def test_a_single_message_over_the_models_context_gets_the_handlers_refusal(
    local_backend: LocalBackend, app_home: Path
) -> None:
    limit = context_limit(local_backend, app_home)
    long_one = " ".join(question for question, _ in EXCHANGES) * (limit // 100 + 1)
    assert len(long_one) <= chat.MAX_MESSAGE_CHARS
    conversation = chat.build_conversation([], long_one, None, settings(), cap=8)
    calls: list[dict[str, Any]] = []

    def invoke(request: dict[str, Any]) -> dict[str, Any]:
        calls.append(request)
        return local_backend.invoke("chatbot", request)

    with pytest.raises(
        chat.ChatInputError,
        match=rf"your message alone is too long for the model \(the conversation is \d+ tokens; "
        rf"the limit is {limit}: send fewer or shorter messages\); shorten it",
    ):
        chat.answer_within_context(conversation, invoke)
    assert len(calls) == 1  # nothing to leave out: asked once


def test_texts_get_location_labels_from_the_deployed_classifier(
    local_backend: LocalBackend, app_home: Path
) -> None:
    texts = ["The kids ride their bikes through the woods at night", "They hide in the lab corridor"]
    rows = locations.classify(texts, 2, lambda payload: local_backend.invoke("classifier", payload))
    assert [r["text"] for r in rows] == texts
    assert {r["label"] for r in rows} <= label_set(app_home)
    assert all(0 < r["score"] <= 1 and r["top"].count(";") == 1 for r in rows)


def test_run_outputs_are_found_in_the_latest_run_and_cached(local_backend: LocalBackend) -> None:
    page = local_backend.output("ExtractEntities", "entities", "network.html")
    assert page.path.is_relative_to(local_backend.cache_dir)
    assert "vis.Network" in page.path.read_text(encoding="utf-8")
    scores = local_backend.output("ClassifyThemes", "themes", "themes.csv")
    assert scores.run == page.run and scores.path.read_text().startswith("season,episode,episode_key,")
    with pytest.raises(OutputMissing, match=r"no run has ExtractEntities's entities/nothing\.txt yet"):
        local_backend.output("ExtractEntities", "entities", "nothing.txt")


def test_the_season_filter_draws_that_seasons_network_from_the_same_run(local_backend: LocalBackend) -> None:
    whole = explore.character_view(local_backend)
    assert whole.choices == ["All seasons", "Season 1", "Season 2", "Season 3"]  # data/sample's seasons
    season = explore.character_view(local_backend, "Season 2")
    assert season.run == whole.run and season.page.name == "network-season-2.html"
    everyone, all_weights = drawn(whole.page)
    names, weights = drawn(season.page)
    assert {r["name"] for r in season.rows} == names and names < everyone
    assert weights != all_weights and all(weights[pair] <= all_weights[pair] for pair in weights)


def test_without_runs_or_server_the_messages_say_what_to_do(tmp_path: Path) -> None:
    backend = open_backend("local", home=tmp_path, serve_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(OutputMissing, match="run `make run-local` first"):
        backend.output("ExtractEntities", "entities", "network.html")
    with pytest.raises(EndpointUnavailable, match="start it with `make serve-local`"):
        backend.invoke("chatbot", {"messages": [{"role": "user", "content": "Hi"}]})
    assert backend.calls.rows()[0]["error kinds"] == "EndpointUnavailable=1"


def test_operations_notes_carry_each_endpoints_latest_drift_check(local_backend: LocalBackend) -> None:
    """The notes under the figures: monitor-local's latest result per endpoint (app/drift.py)."""
    home = local_backend.workspace.home
    endpoints = [local_backend.endpoint_name(m) for m in ("chatbot", "classifier")]
    latest = home / "monitoring" / endpoints[1] / "latest"
    latest.mkdir(parents=True, exist_ok=True)
    violation = {"feature_name": "predicted_label", "constraint_check_type": "baseline_drift_check"}
    (latest / "constraint_violations.json").write_text(json.dumps({"violations": [violation]}))
    try:
        _, notes = local_backend.endpoint_figures()
    finally:
        (latest / "constraint_violations.json").unlink()
    drift = [note for note in notes if note.startswith(tuple(endpoints))]
    assert drift[0].startswith(f"{endpoints[0]}: no drift check yet")
    assert (
        drift[1].startswith(f"{endpoints[1]}: drift check of ")
        and "1 violation(s): predicted_label" in drift[1]
    )


def live_and_status(backend: LocalBackend) -> dict[int, tuple[str, str | None]]:
    live = backend.live()
    return {v.version: (v.status, live.get(v.arn)) for v in backend.versions(CHATBOT_GROUP)}


def test_approving_deploys_and_rejecting_rolls_back_as_make_approve_model_does(
    local_backend: LocalBackend, app_home: Path
) -> None:
    endpoint = "stranger-things-nlp-local-chatbot"
    pending = register_pending(app_home)
    before = live_and_status(local_backend)
    assert before[pending] == ("PendingManualApproval", None)

    summary = local_backend.review(CHATBOT_GROUP, pending, "Approved", "better chrF", "eleven")
    assert summary.startswith(f"{CHATBOT_GROUP} v{pending} -> Approved\ndeploy")
    assert live_and_status(local_backend)[pending] == ("Approved", endpoint)
    assert local_backend.version(CHATBOT_GROUP, pending).status_note == "better chrF (by eleven in the app)"
    assert local_backend.endpoint("chatbot").version == pending  # serve-local picked the redeploy up
    assert isinstance(
        local_backend.invoke("chatbot", {"messages": [{"role": "user", "content": "Hi"}]})["reply"], str
    )

    local_backend.review(CHATBOT_GROUP, pending, "Rejected", "", "eleven")
    after = live_and_status(local_backend)
    assert after[pending] == ("Rejected", None)
    assert [version for version, (_, where) in after.items() if where == endpoint] == [
        max(v for v, (status, _) in after.items() if status == "Approved")
    ]


def test_approving_below_the_live_version_is_refused_unless_confirmed(
    local_backend: LocalBackend, app_home: Path
) -> None:
    from model_registry.local import LocalRegistry

    registry = LocalRegistry(app_home / "registry.db")
    live = registry.latest_approved(CHATBOT_GROUP)
    assert live is not None
    worse = registry.register(
        CHATBOT_GROUP,
        model_data_url=live.model_data_url,
        metrics={name: value - 0.5 for name, value in live.metrics.items()},
        description="scores below the live version",
    ).version
    name = "chrf"  # a figure of the chatbot's gate
    warning = local_backend.shortfall(CHATBOT_GROUP, worse)
    assert (
        f"scores below the live v{live.version}" in warning and f"{name} " in warning and "(-0.5)" in warning
    )
    with pytest.raises(BackendError, match=f"scores below the live v{live.version}"):
        local_backend.review(CHATBOT_GROUP, worse, "Approved", "", "eleven")
    assert local_backend.version(CHATBOT_GROUP, worse).status == "PendingManualApproval"
    local_backend.review(CHATBOT_GROUP, worse, "Rejected", "not better", "eleven")


def test_operations_rows_put_variants_side_by_side() -> None:
    from app.local_metrics import endpoint_rows

    def figures(requests: int, errors: int, p50: float, **extra: Any) -> dict[str, Any]:
        statuses = {"200": requests - errors, **({"500": errors} if errors else {})}
        return {"requests": requests, "errors": errors, "server_errors": errors, "statuses": statuses,
                "latency_ms": {"p50": p50, "p95": p50 * 2}, **extra}  # fmt: skip

    metrics = {
        "endpoints": {
            "ep": figures(
                10,
                1,
                1.0,
                variants={
                    "AllTraffic": figures(8, 0, 1.0, version=1, shadow=False),
                    "v2": figures(2, 1, 3.0, version=2, shadow=False),
                },
            ),
            "single": figures(4, 0, 1.0, variants={"AllTraffic": figures(4, 0, 1.0, version=1)}),
        }
    }
    rows = endpoint_rows(metrics)
    assert [(r["endpoint"], r["invocations"], r["errors"]) for r in rows] == [
        ("ep", 10, 1), ("ep [AllTraffic: v1]", 8, 0), ("ep [v2: v2]", 2, 1), ("single", 4, 0),
    ]  # fmt: skip
    assert (rows[2]["p50 ms"], rows[2]["p95 ms"], rows[2]["error kinds"]) == (3.0, 6.0, "5xx=1")

"""The app in a real headless browser: Debian's chromium driven by Playwright, after a local run.

Chromium is launched with `executable_path` (never `playwright install`, which downloads browsers) and
host-resolver rules that leave it only 127.0.0.1. The tests wait on elements, never on network idle
(Gradio keeps a connection open). Screenshots of each tab go to build/test-artifacts/app/ (or
$APP_TEST_ARTIFACTS). Without chromium the module skips, saying how to install it (`make browser`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.conftest import CHATBOT_GROUP, CLASSIFIER_GROUP, free_port, register_pending

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HOW_TO_ENABLE = (
    "the browser tests need Debian's chromium: run `make browser` as root "
    "(apt-get install -y chromium), or set CHROMIUM=/path/to/chromium"
)
# Skipped up front (not in a fixture): the session's whole-DAG run is not started for nothing.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=HOW_TO_ENABLE),
]
ARTIFACTS = Path(
    os.environ.get("APP_TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "build/test-artifacts/app"
)
TIMEOUT_MS = 120_000  # a reply from the tiny chatbot on two busy cores


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing: run `make install`")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",  # as root chromium refuses to start with its sandbox
                "--headless=new",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def app_url(local_backend: Any) -> Iterator[str]:
    from app.ui import build, system_theme

    demo = build(local_backend)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        ssr_mode=False,
        quiet=True,
        theme=system_theme(),
        footer_links=[],
        enable_monitoring=False,
    )
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    opened = context.new_page()
    outside: list[str] = []
    opened.on(
        "request",
        lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else outside.append(r.url),
    )
    opened.set_default_timeout(TIMEOUT_MS)
    opened.goto(app_url)
    opened.get_by_role("tab", name="Chat").wait_for()
    yield opened
    context.close()
    assert outside == [], f"the page asked for something off the machine: {outside}"


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_a_chat_message_gets_a_reply(page: Any, local_backend: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#chat-endpoint")).to_contain_text(f"{CHATBOT_GROUP} v")
    page.locator("#chat-input textarea").fill("Where is Will?")
    page.locator("#chat-send").click()
    expect(page.locator('#chat-history [data-testid="user"]').last).to_contain_text("Where is Will?")
    page.wait_for_function(
        """() => {
            const bots = document.querySelectorAll('#chat-history [data-testid="bot"]');
            const last = bots[bots.length - 1];
            return last && last.innerText.trim() && last.innerText.trim() !== '…';
        }""",
        timeout=TIMEOUT_MS,
    )
    assert "Problem" not in page.locator("#chat-status").inner_text()
    shot(page, "chat")
    calls = {row["endpoint"]: row for row in local_backend.calls.rows()}
    assert calls["stranger-things-nlp-local-chatbot"]["invocations"] >= 1


def wait_for_replies(page: Any, count: int) -> Any:
    """The last bot message once there are `count` of them and the last is no longer the placeholder."""
    page.wait_for_function(
        """(count) => {
            const bots = document.querySelectorAll('#chat-history [data-testid="bot"]');
            const last = bots[bots.length - 1];
            return bots.length >= count && last.innerText.trim() && last.innerText.trim() !== '…';
        }""",
        arg=count,
        timeout=TIMEOUT_MS,
    )
    return page.locator('#chat-history [data-testid="bot"]').last


def test_a_chat_over_the_models_context_keeps_going_and_says_what_was_left_out(
    page: Any, local_backend: Any, app_home: Path
) -> None:
    """Two messages of about 0.6 contexts each (1.6 characters a token here): the second turn holds more
    than the model's context, so the first exchange is left out, and the note under the reply says so."""
    from tests.app.test_backend_local import EXCHANGES, context_limit

    limit = context_limit(local_backend, app_home)
    text = " ".join(question for question, _ in EXCHANGES)
    for turn, opening in enumerate(("Listen.", "And then?"), start=1):
        # `limit` characters: about 0.6 of the context each, whatever the context is (128 locally).
        message = f"{opening} {(text + ' ') * (limit // len(text) + 1)}"[:limit].rsplit(" ", 1)[0]
        page.locator("#chat-input textarea").fill(message)
        page.locator("#chat-send").click()
        reply = wait_for_replies(page, turn)
    assert "Problem" not in page.locator("#chat-status").inner_text()
    assert (
        f"(the oldest exchange was left out to fit the model's {limit}-token context)" in reply.inner_text()
    )
    shot(page, "chat-left-out")


def test_a_text_gets_location_labels(page: Any, app_home: Path) -> None:
    from playwright.sync_api import expect

    labels = set(
        json.loads((app_home / "deployed" / CLASSIFIER_GROUP / "v1" / "label_map.json").read_text())[
            "label2id"
        ]
    )
    open_tab(page, "Locations")
    page.locator("#loc-input textarea").fill(
        "The kids ride their bikes through the woods at night\nThey hide in the lab corridor"
    )
    page.locator("#loc-classify").click()
    expect(page.locator("#loc-status")).to_contain_text("2 text(s) classified by", timeout=TIMEOUT_MS)
    table = page.locator("#loc-results")
    expect(table.locator("[role=gridcell]")).to_have_count(2 * 4)  # text, label, score, top
    for row in range(2):
        label = table.locator(f'[data-testid="cell-{row}-1"]').inner_text().strip()
        assert label in labels, (label, labels)
    shot(page, "locations")


def wait_drawn(page: Any) -> None:
    """Until the network page in the iframe has drawn: its canvas holds more than its background."""
    from playwright.sync_api import expect

    frame_element = page.locator("#network-frame")
    expect(frame_element).to_be_visible()
    frame = frame_element.element_handle().content_frame()
    frame.wait_for_function(
        """() => {
            const canvas = document.querySelector('#network canvas');
            if (!canvas || !canvas.width) return false;
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            const colours = new Set();
            for (let i = 0; i < data.length; i += 4 * 97) {
                colours.add(data[i] + ',' + data[i + 1] + ',' + data[i + 2]);
            }
            return colours.size > 5;
        }""",
        timeout=TIMEOUT_MS,
    )


def test_the_character_network_is_drawn_for_all_seasons_and_for_one(page: Any, local_backend: Any) -> None:
    from playwright.sync_api import expect

    from app import explore

    open_tab(page, "Characters")
    expect(page.locator("#characters-status")).to_contain_text("all seasons")
    wait_drawn(page)
    expect(page.locator('#characters-table [data-testid="cell-0-0"]')).not_to_be_empty()
    page.wait_for_timeout(1500)  # vis-network settles its layout; for the screenshot only
    shot(page, "characters")

    season = explore.character_view(local_backend, "Season 2")
    page.locator("#characters-season input").click()
    page.get_by_role("option", name="Season 2", exact=True).click()
    expect(page.locator("#network-frame")).to_have_attribute("src", re.compile(r"network-season-2\.html$"))
    expect(page.locator("#characters-status")).to_contain_text("season 2 alone")
    wait_drawn(page)
    names = page.locator('#characters-table [data-testid^="cell-"][data-testid$="-0"]')
    expect(names).to_have_count(len(season.rows))
    assert {name.strip() for name in names.all_inner_texts()} == {row["name"] for row in season.rows}
    page.wait_for_timeout(1500)
    shot(page, "characters-season-2")


def test_the_themes_tab_shows_the_scores_and_a_themes_strongest_lines(page: Any) -> None:
    from playwright.sync_api import expect

    open_tab(page, "Themes")
    expect(page.locator("#themes-status")).to_contain_text("themes.")
    expect(page.locator('#themes-table [data-testid="cell-0-0"]')).to_contain_text("S0")
    expect(page.locator("#themes-lines-note")).to_contain_text("Strongest lines for")
    expect(page.locator('#themes-lines [data-testid="cell-0-0"]')).to_contain_text("S0")  # an episode key
    shot(page, "themes")


def test_approving_a_version_changes_the_live_version(page: Any, local_backend: Any, app_home: Path) -> None:
    from playwright.sync_api import expect

    pending = register_pending(app_home)
    open_tab(page, "Models")
    live = page.locator("#models-live")
    expect(live).to_contain_text("Live: v")
    before = live.inner_text()
    assert f"v{pending} on" not in before
    page.locator("#models-version input").click()
    page.get_by_role("option", name=str(pending), exact=True).click()
    page.locator("#models-note textarea").fill("better chrF")
    page.locator("#models-approve").click()
    expect(page.locator("#models-confirm-button")).to_be_visible()
    expect(page.locator("#models-question")).to_contain_text(f"Approve {CHATBOT_GROUP} v{pending}?")
    shot(page, "models")
    page.locator("#models-confirm-button").click()
    expect(page.locator("#models-outcome")).to_contain_text(f"v{pending} -> Approved")
    expect(live).to_contain_text(f"v{pending} on stranger-things-nlp-local-chatbot")
    assert local_backend.endpoint("chatbot").version == pending
    assert "in the app" in local_backend.version(CHATBOT_GROUP, pending).status_note


def test_approving_below_the_live_version_asks_first_and_changes_nothing_until_confirmed(
    page: Any, local_backend: Any, app_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The question names the shortfall; Cancel leaves everything; Confirm approves through
    model_registry.review with force=True, what `make approve-model FORCE=1` runs."""
    from playwright.sync_api import expect

    import model_registry.cli
    import workspace.base
    from model_registry.local import LocalRegistry

    assert workspace.base.review is model_registry.cli.review  # one function behind the CLI and the app
    reviews: list[tuple[int, str, bool]] = []

    def recorded(*args: Any, **kwargs: Any) -> Any:
        reviews.append((args[3], args[4], kwargs.get("force", False)))
        return model_registry.cli.review(*args, **kwargs)

    monkeypatch.setattr(workspace.base, "review", recorded)
    registry = LocalRegistry(app_home / "registry.db")
    live = registry.latest_approved(CHATBOT_GROUP)
    assert live is not None and local_backend.endpoint("chatbot").version == live.version
    worse = registry.register(
        CHATBOT_GROUP,
        model_data_url=live.model_data_url,
        image_uri=live.image_uri,
        metrics={name: value - 0.5 for name, value in live.metrics.items()},
        evaluation_uri=live.evaluation_uri,
        environment=dict(live.environment),
        description="scores below the live version",
    ).version

    def unchanged() -> None:
        expect(page.locator("#models-live")).to_contain_text(f"v{live.version} on")
        assert local_backend.endpoint("chatbot").version == live.version
        assert registry.get(CHATBOT_GROUP, worse).status == "PendingManualApproval"
        assert reviews == []

    def ask() -> None:
        page.locator("#models-version input").click()
        page.get_by_role("option", name=str(worse), exact=True).click()
        page.locator("#models-approve").click()
        expect(page.locator("#models-confirm-button")).to_be_visible()
        question = page.locator("#models-question")
        expect(question).to_contain_text(f"Approve {CHATBOT_GROUP} v{worse}?")
        expect(question).to_contain_text(
            f"Warning: {CHATBOT_GROUP} v{worse} scores below the live v{live.version}"
        )
        expect(question).to_contain_text("(-0.5)")

    open_tab(page, "Models")
    expect(page.locator("#models-live")).to_contain_text(f"v{live.version} on")
    ask()
    unchanged()
    shot(page, "models-below-live")
    page.locator("#models-cancel").click()
    expect(page.locator("#models-outcome")).to_contain_text("Cancelled.")
    expect(page.locator("#models-confirm-button")).to_be_hidden()
    unchanged()

    ask()
    unchanged()
    page.locator("#models-note textarea").fill("the live one is being retired")
    page.locator("#models-confirm-button").click()
    expect(page.locator("#models-outcome")).to_contain_text(f"v{worse} -> Approved")
    expect(page.locator("#models-live")).to_contain_text(f"v{worse} on stranger-things-nlp-local-chatbot")
    assert reviews == [(worse, "Approved", True)]
    assert local_backend.endpoint("chatbot").version == worse
    assert registry.get(CHATBOT_GROUP, worse).status == "Approved"


def test_a_long_chat_does_not_hold_up_a_classification(
    page: Any, local_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat's call is held at the endpoint until the classification has come back."""
    from playwright.sync_api import expect

    held, release = threading.Event(), threading.Event()
    real = local_backend._invoke

    def slow_chat(name: str, payload: dict[str, Any]) -> dict[str, Any]:
        if name.endswith("-chatbot"):
            held.set()
            release.wait(TIMEOUT_MS / 1000)
        return real(name, payload)

    monkeypatch.setattr(local_backend, "_invoke", slow_chat)
    try:
        page.locator("#chat-input textarea").fill("Tell me everything about the gate.")
        page.locator("#chat-send").click()
        assert held.wait(TIMEOUT_MS / 1000), "the chat never reached the endpoint"
        open_tab(page, "Locations")
        page.locator("#loc-input textarea").fill("They hide in the lab corridor")
        page.locator("#loc-classify").click()
        expect(page.locator("#loc-status")).to_contain_text("1 text(s) classified by")
        assert not release.is_set()  # the chat is still waiting for its reply
    finally:
        release.set()
    open_tab(page, "Chat")
    expect(page.locator('#chat-history [data-testid="bot"]').last).not_to_have_text("…")


def test_the_operations_tab_shows_serve_locals_figures_and_this_apps_calls(page: Any) -> None:
    from playwright.sync_api import expect

    open_tab(page, "Operations")
    expect(page.locator("#ops-endpoints [role=row]")).to_have_count(3)  # the heading and two endpoints
    expect(page.locator("#ops-notes")).to_contain_text("Backend: local")
    serving = page.locator("#ops-serving")
    for endpoint in ("stranger-things-nlp-local-chatbot", "stranger-things-nlp-local-classifier"):
        expect(serving).to_contain_text(endpoint)
    expect(serving).to_contain_text("p95 ms")
    shot(page, "operations")


def test_inputs_over_the_endpoints_limits_are_refused_in_the_tab_before_any_call(
    page: Any, local_backend: Any
) -> None:
    from playwright.sync_api import expect

    from app import chat, locations

    def calls() -> int:
        return sum(int(row["invocations"]) for row in local_backend.calls.rows())

    before = calls()
    page.locator("#chat-input textarea").fill("x" * (chat.MAX_MESSAGE_CHARS + 1))
    page.locator("#chat-send").click()
    expect(page.locator("#chat-status")).to_contain_text(
        f"Problem: the message is {chat.MAX_MESSAGE_CHARS + 1} characters; keep it under"
    )
    open_tab(page, "Locations")
    page.locator("#loc-input textarea").fill("a short one\n" + "y" * (locations.MAX_TEXT_CHARS + 1))
    page.locator("#loc-classify").click()
    expect(page.locator("#loc-status")).to_contain_text(
        f"Problem: text 2 is {locations.MAX_TEXT_CHARS + 1} characters; the endpoint takes up to"
    )
    assert calls() == before


def test_when_serve_local_stops_the_tabs_say_how_to_start_it(page: Any, local_backend: Any) -> None:
    """Last in the module: it stops the serve-local the fixture started, and starts it again after."""
    from playwright.sync_api import expect

    local_backend.stop_server()
    try:
        assert not local_backend.ping()
        page.locator("#chat-input textarea").fill("Anyone there?")
        page.locator("#chat-send").click()
        status = page.locator("#chat-status")
        expect(status).to_contain_text(f"Problem: serve-local does not answer at {local_backend.serve_url}")
        expect(status).to_contain_text("start it with make serve-local")

        open_tab(page, "Locations")
        page.locator("#loc-input textarea").fill("They hide in the lab corridor")
        page.locator("#loc-classify").click()
        expect(page.locator("#loc-status")).to_contain_text("Problem: serve-local does not answer")

        open_tab(page, "Operations")
        page.locator("#ops-refresh").click()
        expect(page.locator("#ops-notes")).to_contain_text("Problem: serve-local does not answer")
        shot(page, "operations-serve-local-down")
        expect(page.locator('[data-testid="toast-body"]')).to_have_count(0)  # no Gradio error toast
        assert "Traceback" not in page.locator("body").inner_text()
    finally:
        local_backend.ensure_server()

"""The Gradio Blocks: six tabs wired to the tab logic (app/chat.py ...) and the backend. Wiring only.

Every handler catches the backend's errors (BackendError) and the input checks' ValueErrors at this
boundary and shows their message in the tab; anything else is a bug and reaches Gradio's error toast.

Gradio's queue runs one event at a time unless told otherwise: each kind of event has its own
concurrency group (CONCURRENCY), so a long chat reply does not hold up a classification or an approval.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from app import chat, explore, locations, models, operations
from app.backend import AppBackend, BackendError, OutputMissing, reviewer_name

# (concurrency_id, limit): chats share two slots, classifications two, registry changes one at a time.
CONCURRENCY = {"chat": 2, "classify": 2, "registry": 1, "read": 4}
TITLE = "Stranger Things NLP"
CALL_COLUMNS = ["endpoint", "invocations", "errors", "error kinds", "p50 ms", "p95 ms"]
LINE_COLUMNS = ["episode", "speaker", "score", "text", "matched"]
READ: dict[str, Any] = {"concurrency_id": "read", "concurrency_limit": CONCURRENCY["read"]}
Loader = tuple[Callable[[], Any], list[Any]]  # what a tab fills in when the page loads


def frame(rows: list[dict[str, Any]], columns: Sequence[str] = ()) -> pd.DataFrame:
    """Rows as a table; an empty one keeps `columns` as headings (else Gradio shows 1, 2, 3)."""
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(columns) or ["(nothing yet)"])


problem = operations.problem  # one wording for every tab's problems


def system_theme() -> gr.themes.Base:
    """Gradio's default look with the system's fonts (its default fetches Google Fonts)."""
    return gr.themes.Default(
        font=["system-ui", "-apple-system", "Segoe UI", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "monospace"],
    )


# ---- Chat ---------------------------------------------------------------------------------------


def chat_cap(backend: AppBackend) -> int:
    """The live chatbot version's MAX_NEW_TOKENS, else the configured serving cap."""
    configured = backend.cfg.chatbot.serving.max_new_tokens
    try:
        info = backend.endpoint("chatbot")
        if info.version is None:
            return configured
        return chat.token_cap(backend.version(info.group, info.version).environment, configured)
    except BackendError:
        return configured


def chat_tab(backend: AppBackend, tab: gr.Tab) -> list[Loader]:
    cap = chat_cap(backend)
    answering = gr.Markdown(elem_id="chat-endpoint")
    history = gr.Chatbot(
        label="Conversation", height=380, elem_id="chat-history", buttons=["copy", "copy_all"]
    )
    with gr.Row():
        message = gr.Textbox(
            label="Your message", placeholder="Where is Will?", scale=5, elem_id="chat-input"
        )
        send = gr.Button("Send", variant="primary", scale=1, elem_id="chat-send")
    with gr.Accordion("System prompt and generation settings", open=False):
        system = gr.Textbox(label="System prompt (empty: the prompt the model was trained with)", lines=2)
        with gr.Row():
            max_new = gr.Slider(
                1, cap, value=min(48, cap), step=1, label=f"Max new tokens (endpoint cap {cap})"
            )
            do_sample = gr.Checkbox(label="Sample (else greedy)", value=False)
            temperature = gr.Slider(0.05, 2.0, value=0.7, step=0.05, label="Temperature")
            top_p = gr.Slider(0.05, 1.0, value=0.9, step=0.05, label="Top p")
    status = gr.Markdown(elem_id="chat-status")
    clear = gr.Button("Clear conversation")

    def who_answers() -> str:
        try:
            info = backend.endpoint("chatbot")
        except BackendError as error:
            return problem(error)
        if info.version is None:
            return f"**{info.name}** is {info.status}: run the pipeline and approve a chatbot version"
        return f"Answering: **{info.group} v{info.version}** on `{info.name}` ({info.status})"

    def respond(
        text: str,
        shown: list[dict[str, Any]],
        prompt: str,
        tokens: float,
        sample: bool,
        temp: float,
        p: float,
        carried: dict[str, Any] | None,
    ) -> Iterator[tuple[Any, ...]]:
        shown = list(shown or [])
        settings = chat.GenerationSettings(int(tokens), float(temp), float(p), bool(sample))
        try:
            skip, reason = chat.carried_skip(carried, shown, prompt, settings)
            conversation = chat.build_conversation(shown, text, prompt, settings, cap, skip, reason)
        except chat.ChatInputError as error:
            yield shown, text, problem(error), gr.skip(), gr.skip()
            return
        asked = [*shown, {"role": "user", "content": (text or "").strip()}]
        yield (
            [*asked, {"role": "assistant", "content": "…"}],
            "",
            "Waiting for the endpoint (it answers in one piece)…",
            gr.skip(),
            gr.skip(),
        )
        try:
            answer, sent = chat.answer_within_context(
                conversation, lambda request: backend.invoke("chatbot", request)
            )
            reply = chat.reply_text(answer) + chat.left_out_note(sent)
        except (BackendError, ValueError) as error:
            yield shown, text, problem(error), who_answers(), gr.skip()
            return
        answered = [*asked, {"role": "assistant", "content": reply}]
        yield answered, "", "", who_answers(), chat.carry_over(sent, shown, prompt, settings)

    carried = gr.State(None)  # what the model's context could not hold last turn (chat.carry_over)
    inputs = [message, history, system, max_new, do_sample, temperature, top_p, carried]
    outputs = [history, message, status, answering, carried]
    for trigger in (send.click, message.submit):
        trigger(respond, inputs, outputs, concurrency_id="chat", concurrency_limit=CONCURRENCY["chat"])
    clear.click(lambda: ([], "", None), None, [history, status, carried], queue=False)
    return [(who_answers, [answering])]


# ---- Locations ----------------------------------------------------------------------------------


def locations_tab(backend: AppBackend, tab: gr.Tab) -> list[Loader]:
    gr.Markdown(
        f"Classify one text, or many: one a line, or a .csv (a `text` column) / .jsonl "
        f'(`{{"text": ...}}` a line) file; up to {locations.MAX_TEXTS} texts of up to '
        f"{locations.MAX_TEXT_CHARS} characters."
    )
    with gr.Row():
        text = gr.Textbox(label="Texts (one a line)", lines=6, elem_id="loc-input", scale=3)
        with gr.Column(scale=2):
            upload = gr.File(label="…or a file", file_types=[".csv", ".jsonl", ".txt"], type="filepath")
            top_k = gr.Slider(1, 5, value=3, step=1, label="Top labels per text")
            run = gr.Button("Classify", variant="primary", elem_id="loc-classify")
    status = gr.Markdown(elem_id="loc-status")
    table = gr.Dataframe(label="Labels", interactive=False, wrap=True, elem_id="loc-results")
    download = gr.File(label="Download the results (CSV)", interactive=False)

    def classify(
        pasted: str,
        path: str | None,
        k: float,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's way)
    ) -> tuple[Any, ...]:
        try:
            texts = locations.file_texts(Path(path)) if path else locations.pasted_texts(pasted or "")
            texts = locations.check_texts(texts)
            progress(0, desc="classifying")
            rows = locations.classify(
                texts,
                int(k),
                lambda payload: backend.invoke("classifier", payload),
                lambda done, total: progress(done / total, desc=f"{done} of {total} texts"),
            )
            info = backend.endpoint("classifier")
        except (BackendError, ValueError, UnicodeDecodeError) as error:
            return problem(error), gr.skip(), None
        out = locations.write_results(rows, backend.cache_dir / "downloads" / f"locations-{len(rows)}.csv")
        return f"{len(rows)} text(s) classified by {info.group} v{info.version}.", frame(rows), str(out)

    for trigger in (run.click, text.submit):
        trigger(
            classify,
            [text, upload, top_k],
            [status, table, download],
            concurrency_id="classify",
            concurrency_limit=CONCURRENCY["classify"],
        )
    return []


# ---- Characters ---------------------------------------------------------------------------------


def iframe(path: Path, height: int = 560) -> str:
    """The network page served by Gradio's file route (scripts inside gr.HTML would not run)."""
    return (
        f'<iframe id="network-frame" src="/gradio_api/file={path}" title="Character network" '
        f'style="width:100%;height:{height}px;border:1px solid #ddd;border-radius:8px"></iframe>'
    )


def characters_tab(backend: AppBackend, tab: gr.Tab) -> list[Loader]:
    status = gr.Markdown(elem_id="characters-status")
    network = gr.HTML(elem_id="characters-network")
    season = gr.Dropdown(
        [explore.ALL_SEASONS],
        value=explore.ALL_SEASONS,
        label="Season",
        interactive=True,
        elem_id="characters-season",
    )
    table = gr.Dataframe(label="Centrality", interactive=False, elem_id="characters-table")

    def load() -> tuple[Any, ...]:
        try:
            view = explore.character_view(backend)
        except (BackendError, OSError, ValueError) as error:
            return problem(error), "", gr.skip(), None
        return (
            view.note,
            iframe(view.page),
            gr.update(choices=view.choices, value=explore.ALL_SEASONS),
            frame(view.rows),
        )

    def pick(chosen: str) -> tuple[Any, ...]:
        try:
            view = explore.character_view(backend, chosen)
        except (BackendError, OSError, ValueError) as error:
            return problem(error), gr.skip(), None
        return view.note, iframe(view.page), frame(view.rows)

    season.change(
        pick,
        [season],
        [status, network, table],
        concurrency_id="read",
        concurrency_limit=CONCURRENCY["read"],
    )
    return [(load, [status, network, season, table])]


# ---- Themes -------------------------------------------------------------------------------------


def themes_tab(backend: AppBackend, tab: gr.Tab) -> list[Loader]:
    status = gr.Markdown(elem_id="themes-status")
    with gr.Row():
        heatmap = gr.Image(
            label="Theme scores per episode",
            type="filepath",
            interactive=False,
            scale=3,
            buttons=["download", "fullscreen"],
        )
        with gr.Column(scale=1):
            theme = gr.Dropdown([], label="Theme", interactive=True)
            lines_note = gr.Markdown(elem_id="themes-lines-note")
    lines = gr.Dataframe(label="Strongest lines", interactive=False, wrap=True, elem_id="themes-lines")
    table = gr.Dataframe(label="Episodes", interactive=False, elem_id="themes-table")

    def read(chosen: str | None) -> tuple[Any, ...]:
        scores = backend.output("ClassifyThemes", "themes", "themes.csv")
        rows = explore.read_csv_rows(scores.path)
        names = explore.theme_names(rows)
        chosen = chosen if chosen in names else (names[0] if names else None)
        found, note = (
            None,
            "No run's theme step wrote strongest lines (theme_lines.jsonl): rerun the pipeline.",
        )
        if chosen:
            try:  # runs from before the theme step scored lines have none: the note says so
                lines = backend.output("ClassifyThemes", "themes", explore.THEME_LINES_FILE)
                found = explore.theme_lines(lines.path.parent, chosen)
                note = f"Strongest lines for **{chosen}** (run `{lines.run}`), strongest first."
            except OutputMissing:
                pass
        return scores, rows, names, chosen, found or [], note

    def load() -> tuple[Any, ...]:
        try:
            scores, rows, names, chosen, found, note = read(None)
            image = str(backend.output("ClassifyThemes", "themes", "themes.png").path)
        except (BackendError, OSError, ValueError) as error:
            return problem(error), None, gr.skip(), "", None, None
        return (
            f"Run `{scores.run}`: {len(rows)} episodes, {len(names)} themes.",
            image,
            gr.update(choices=names, value=chosen),
            note,
            frame(found, LINE_COLUMNS),
            frame(explore.theme_table(rows, chosen)),
        )

    def pick(chosen: str) -> tuple[Any, ...]:
        try:
            _, rows, _, chosen, found, note = read(chosen)
        except (BackendError, OSError, ValueError) as error:
            return problem(error), None, None
        return note, frame(found, LINE_COLUMNS), frame(explore.theme_table(rows, chosen))

    theme.change(
        pick,
        [theme],
        [lines_note, lines, table],
        concurrency_id="read",
        concurrency_limit=CONCURRENCY["read"],
    )
    return [(load, [status, heatmap, theme, lines_note, lines, table])]


# ---- Models -------------------------------------------------------------------------------------


def models_tab(backend: AppBackend, tab: gr.Tab) -> list[Loader]:
    groups = backend.groups()
    with gr.Row():
        group = gr.Dropdown(groups, value=groups[0], label="Model group", interactive=True, scale=2)
        live = gr.Markdown(elem_id="models-live")
    versions = gr.Dataframe(label="Versions", interactive=False, elem_id="models-versions")
    with gr.Row():
        version = gr.Dropdown([], label="Version", interactive=True, elem_id="models-version")
        note = gr.Textbox(label="Note (why)", elem_id="models-note")
        reviewer = gr.Textbox(label="Reviewer", value=reviewer_name(), elem_id="models-reviewer")
    with gr.Row():
        approve = gr.Button("Approve…", variant="primary", elem_id="models-approve")
        reject = gr.Button("Reject…", variant="stop", elem_id="models-reject")
    with gr.Group(visible=False) as confirm_box:
        question = gr.Markdown(elem_id="models-question")
        with gr.Row():
            confirm = gr.Button("Confirm", variant="primary", elem_id="models-confirm-button")
            cancel = gr.Button("Cancel", elem_id="models-cancel")
    outcome = gr.Markdown(elem_id="models-outcome")
    card = gr.Markdown(elem_id="models-card")
    with gr.Accordion("Compare two versions", open=False):
        with gr.Row():
            first = gr.Dropdown([], label="Version A", interactive=True)
            second = gr.Dropdown([], label="Version B", interactive=True)
            compare = gr.Button("Compare")
        comparison = gr.Dataframe(label="B - A", interactive=False)
    pending = gr.State(None)

    def show(chosen: str) -> tuple[Any, ...]:
        try:
            found = backend.versions(chosen)
            where = backend.live()
        except (BackendError, KeyError, ValueError) as error:
            return problem(error), None, gr.skip(), gr.skip(), gr.skip(), ""
        numbers = [v.version for v in sorted(found, key=lambda v: -v.version)]
        pick = gr.update(choices=numbers, value=numbers[0] if numbers else None)
        b = gr.update(choices=numbers, value=numbers[0] if numbers else None)
        a = gr.update(
            choices=numbers, value=numbers[1] if len(numbers) > 1 else (numbers[0] if numbers else None)
        )
        latest = models.card_text(found[-1]) if found else "No versions yet: run the pipeline first."
        return (
            f"Live: **{models.live_version(found, where)}**",
            frame(models.version_rows(found, where)),
            pick,
            a,
            b,
            latest,
        )

    shown = [live, versions, version, first, second, card]

    def describe(chosen_group: str, chosen: Any) -> str:
        if chosen in (None, ""):
            return ""
        try:
            number = int(chosen)
            return models.card_text(backend.version(chosen_group, number), backend.card(chosen_group, number))
        except BackendError as error:
            return problem(error)

    def ask(action: str) -> Callable[..., tuple[Any, ...]]:
        def handler(chosen_group: str, chosen: Any, why: str) -> tuple[Any, ...]:
            try:
                request = models.pending_review(chosen_group, chosen, action, why)
                if action == "approve":
                    warning = backend.shortfall(request.group, request.version)
                    request = dataclasses.replace(request, warning=warning)
            except (ValueError, BackendError) as error:
                return None, gr.update(visible=False), "", problem(error)
            return request, gr.update(visible=True), request.question(), ""

        return handler

    def carry_out(request: models.PendingReview | None, who: str, chosen_group: str) -> tuple[Any, ...]:
        if request is None:
            return (None, gr.update(visible=False), "Nothing to confirm.", *show(chosen_group))
        try:
            # The question showed any shortfall against the live version: confirming approves anyway.
            summary = backend.review(
                request.group, request.version, request.status, request.note, who or "unknown", force=True
            )
            message = "Done: " + summary.replace("\n", " · ")
        except BackendError as error:
            message = problem(error)
        return (None, gr.update(visible=False), message, *show(chosen_group))

    def compared(chosen_group: str, a: Any, b: Any) -> Any:
        if a in (None, "") or b in (None, ""):
            return None
        try:
            return frame(
                models.comparison_rows(
                    backend.version(chosen_group, int(a)), backend.version(chosen_group, int(b))
                )
            )
        except (BackendError, ValueError):
            return None

    read = READ
    group.change(show, [group], shown, **read)
    tab.select(show, [group], shown, **read)  # an approval from the CLI shows up when the tab opens
    version.change(describe, [group, version], [card], **read)
    approve.click(
        ask("approve"), [group, version, note], [pending, confirm_box, question, outcome], queue=False
    )
    reject.click(
        ask("reject"), [group, version, note], [pending, confirm_box, question, outcome], queue=False
    )
    cancel.click(
        lambda: (None, gr.update(visible=False), "Cancelled."),
        None,
        [pending, confirm_box, outcome],
        queue=False,
    )
    confirm.click(
        carry_out,
        [pending, reviewer, group],
        [pending, confirm_box, outcome, *shown],
        concurrency_id="registry",
        concurrency_limit=CONCURRENCY["registry"],
    )
    compare.click(compared, [group, first, second], [comparison], **read)
    return [(lambda: show(groups[0]), shown)]


# ---- Operations ---------------------------------------------------------------------------------


def operations_tab(backend: AppBackend, tab: gr.Tab) -> list[Loader]:
    refresh = gr.Button("Refresh", elem_id="ops-refresh")
    notes = gr.Markdown(elem_id="ops-notes")
    endpoints = gr.Dataframe(label="Endpoints", interactive=False, elem_id="ops-endpoints")
    serving = gr.Dataframe(
        label="Serving-side figures (serve-local's /metrics or CloudWatch: invocations, errors, p50/p95)",
        interactive=False,
        elem_id="ops-serving",
    )
    calls = gr.Dataframe(label="This app's calls (invocations, errors, latency p50/p95)", interactive=False)

    def figures() -> tuple[Any, ...]:
        view = operations.operations_view(backend)
        return (
            view.notes,
            frame(view.endpoints, operations.ENDPOINT_COLUMNS),
            frame(view.serving, operations.SERVING_COLUMNS),
            frame(view.calls, CALL_COLUMNS),
        )

    refresh.click(
        figures,
        None,
        [notes, endpoints, serving, calls],
        concurrency_id="read",
        concurrency_limit=CONCURRENCY["read"],
    )
    return [(figures, [notes, endpoints, serving, calls])]


# ---- the app ------------------------------------------------------------------------------------

TABS: list[tuple[str, Callable[[AppBackend, gr.Tab], list[Loader]]]] = [
    ("Chat", chat_tab),
    ("Locations", locations_tab),
    ("Characters", characters_tab),
    ("Themes", themes_tab),
    ("Models", models_tab),
    ("Operations", operations_tab),
]


def build(backend: AppBackend) -> gr.Blocks:
    """The Blocks of the app over `backend`; the caller launches it (app/__main__.py)."""
    backend.cache_dir.mkdir(parents=True, exist_ok=True)
    gr.set_static_paths([str(backend.cache_dir)])  # the network pages are served from the cache folder
    loaders: list[Loader] = []
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\n{backend.describe()}")
        with gr.Tabs():
            for name, build_tab in TABS:
                with gr.Tab(name, id=name.lower(), elem_id=f"tab-{name.lower()}") as tab:
                    loaders += build_tab(backend, tab)
        for load, outputs in loaders:
            demo.load(load, None, outputs, concurrency_id="read", concurrency_limit=CONCURRENCY["read"])
    demo.queue(default_concurrency_limit=1)
    return demo

"""The Blocks build offline (sockets off loopback are blocked) with six tabs and per-event concurrency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.__main__ import build_parser
from app.offline import seal
from tests.app.conftest import free_port


@pytest.fixture
def demo(tmp_path: Path) -> Any:
    seal(tmp_path / "gradio")
    from app.backend import open_backend
    from app.ui import build

    # No run and no server: every tab must still build, and say so when it loads.
    backend = open_backend("local", home=tmp_path, serve_url=f"http://127.0.0.1:{free_port()}")
    return build(backend)


def test_six_tabs_in_order(demo: Any) -> None:
    import gradio as gr

    tabs = [block.label for block in demo.blocks.values() if isinstance(block, gr.Tab)]
    assert tabs == ["Chat", "Locations", "Characters", "Themes", "Models", "Operations"]


def test_chat_classification_and_review_run_in_separate_concurrency_groups(demo: Any) -> None:
    groups = {(fn.name, fn.concurrency_id, fn.concurrency_limit) for fn in demo.fns.values()}
    by_name: dict[str, set[tuple[str | None, Any]]] = {}
    for name, group, limit in groups:
        by_name.setdefault(name, set()).add((group, limit))
    assert by_name["respond"] == {("chat", 2)}
    assert by_name["classify"] == {("classify", 2)}
    assert by_name["carry_out"] == {("registry", 1)}
    # Reading tabs never wait behind a chat: no event outside these groups shares the chat's id.
    assert all(fn.concurrency_id != "chat" for fn in demo.fns.values() if fn.name != "respond")


def test_the_app_listens_on_loopback_unless_told_otherwise() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.env) == ("127.0.0.1", 7860, "local")
    assert build_parser().parse_args(["--host", "0.0.0.0"]).host == "0.0.0.0"

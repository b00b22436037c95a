"""python -m app [--env local|dev|prod] [--port 7860] [--host 127.0.0.1]     (make app ENV=... PORT=...)

Starts the web app. With --env local it reads .local/ (runs, registry) and talks to serve-local at
--serve-url, starting `python -m pipelines serve-local` there when nothing answers; with any other
environment it talks to that environment's SageMaker endpoints, registry and S3 outputs, with
credentials from the usual AWS chain. It listens on 127.0.0.1 unless --host says otherwise, and makes
no calls off the machine (no analytics, no version check, system fonts).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from app.offline import seal
from project.bundle import REPO_ROOT
from project.defaults import LOCAL_HOME

DEFAULT_PORT = 7860


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__.split("\n\n")[1])
    parser.add_argument("--env", default="local", help="local (default), dev or prod")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--home", type=Path, default=None, help="local runs and registry (default .local)")
    parser.add_argument(
        "--serve-url", default="http://127.0.0.1:8080", help="serve-local's address (local backend)"
    )
    parser.add_argument(
        "--no-start-server", action="store_true", help="do not start serve-local when it is not running"
    )
    return parser


def main(args: argparse.Namespace) -> int:
    from app.backend import LocalBackend, open_backend

    home = args.home or REPO_ROOT / LOCAL_HOME
    seal(home / "app" / "gradio")  # before gradio is imported (app.ui imports it)
    from app.ui import build, system_theme

    backend = open_backend(args.env, home=home, serve_url=args.serve_url)
    if isinstance(backend, LocalBackend) and not args.no_start_server:
        # In the background: the page comes up at once; the tabs say so while serve-local loads models.
        def start() -> None:
            try:
                logging.getLogger("app").info("%s", backend.ensure_server())
            except Exception as error:  # the outer boundary of a thread: log it, the tabs show the state
                logging.getLogger("app").error("serve-local: %s", error)

        threading.Thread(target=start, daemon=True).start()
    demo = build(backend)
    # `kill` (SIGTERM) ends the app like Ctrl-C, so the finally below stops the serve-local it started.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        demo.launch(
            server_name=args.host,
            server_port=args.port,
            share=False,
            theme=system_theme(),
            ssr_mode=False,
            enable_monitoring=False,
            footer_links=[],
            show_error=True,
        )
    finally:
        if isinstance(backend, LocalBackend):
            backend.stop_server()
    return 0


def cli(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    return main(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(cli())

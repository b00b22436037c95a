"""`run-local`, `serve-local` and `monitor-local`, registered into `python -m pipelines` by `add_commands`.

python -m pipelines run-local --data data/sample                # make run-local [DATA=DIR]
python -m pipelines run-local --param ChatbotMinChrf=1000      # any pipeline Parameter
python -m pipelines run-local --resume                          # continue the latest failed/stopped run
python -m pipelines serve-local --port 8080                     # make serve-local [PORT=...]
python -m pipelines monitor-local                               # make monitor-local
python -m pipelines mlflow-sync                                 # make mlflow-ui (then starts the UI)
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from conf import ENVIRONMENTS
from project.bundle import REPO_ROOT
from project.defaults import LOCAL_HOME

DATA_LAYOUT = ("subtitles", "transcripts", "locations")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
DEFAULT_HOME = LOCAL_HOME


def add_commands(subparsers: Any) -> None:
    """Register run-local and serve-local on the CLI's subparsers."""
    run = subparsers.add_parser(
        "run-local",
        help="run the pipeline definition on this machine (no AWS, no Docker)",
        description="Run the very definition JSON that upsert sends, step by step, on this machine.",
    )
    run.add_argument(
        "--env",
        default="local",
        choices=ENVIRONMENTS,
        help="configuration overlay whose definition runs (default local)",
    )
    run.add_argument(
        "--data",
        metavar="DIR",
        help="input folder with subtitles/, transcripts/, locations/ (sets InputDataUri)",
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline Parameter (repeatable)",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue a failed or stopped run (--run-dir, default the latest) from where it ended; "
        "it keeps the run's parameters and --no-cache",
    )
    run.add_argument(
        "--no-cache", action="store_true", help="run every step even when a cached result exists"
    )
    run.add_argument("--run-dir", type=Path, help="the run's folder (default .local/runs/<execution id>)")
    run.add_argument("--definition", type=Path, help="run this definition JSON instead of building --env's")
    run.add_argument(
        "--home",
        type=Path,
        default=DEFAULT_HOME,
        help="folder for runs, cache, registry.db and endpoint models (default .local)",
    )
    run.add_argument("--workers", type=int, help="jobs at once (default: the number of CPU cores)")
    run.add_argument("--quiet", action="store_true", help="print the summary only")
    run.set_defaults(func=cmd_run_local)

    serve = subparsers.add_parser(
        "serve-local",
        help="serve the local endpoints over HTTP (GET /ping, POST /invocations)",
        description="Serve every endpoint in the local registry with the SageMaker container contract.",
    )
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--home", type=Path, default=DEFAULT_HOME, help="folder holding registry.db")
    serve.add_argument(
        "--seed", type=int, default=None, help="seed of the weighted choice between A/B variants (repeatable)"
    )
    serve.set_defaults(func=cmd_serve_local)

    watch = subparsers.add_parser(
        "monitor-local",
        help="run the drift monitoring job over the traffic serve-local captured; print the violations",
        description="Compare each local endpoint's captured traffic with its model's baseline.",
    )
    watch.add_argument("--home", type=Path, default=DEFAULT_HOME, help="folder holding registry.db")
    watch.add_argument("--endpoint", help="only this endpoint (default: every local endpoint)")
    watch.add_argument("--start", help="window start, ISO time (default: all captured traffic)")
    watch.add_argument("--end", help="window end, ISO time")
    watch.add_argument("--strict", action="store_true", help="exit status 1 when there is a violation")
    watch.set_defaults(func=cmd_monitor_local)

    sync = subparsers.add_parser(
        "mlflow-sync",
        help="log every local run's training and evaluation outputs into <home>/mlflow (for the MLflow UI)",
    )
    sync.add_argument("--home", type=Path, default=DEFAULT_HOME, help="folder holding runs/")
    sync.set_defaults(func=cmd_mlflow_sync)


def data_override(folder: Path) -> str:
    """Check a --data folder has the documented layout; its absolute path becomes InputDataUri."""
    if not folder.is_dir():
        raise SystemExit(f"--data {folder}: no such folder")
    missing = [name for name in DATA_LAYOUT if not (folder / name).is_dir()]
    if missing:
        raise SystemExit(
            f"--data {folder}: missing {', '.join(f'{m}/' for m in missing)}; the input folder holds "
            "subtitles/ (SRT/ASS/VTT), transcripts/ (CSV per episode) and locations/ (JSON Lines)"
            + case_hint(folder, missing)
        )
    return str(folder.resolve())


def case_hint(folder: Path, missing: list[str]) -> str:
    """'; rename Subtitles/ to subtitles/ ...' when a missing folder is there under another case.

    Not accepted as it is: the pipeline reads <input>/subtitles, and S3 keys, like Linux paths, are
    case-sensitive, so the local run keeps the layout the cloud run needs.
    """
    present = sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
    renames = [f"{name}/ to {wanted}/" for wanted in missing for name in present if name.lower() == wanted]
    if not renames:
        return ""
    return f"; rename {', '.join(renames)} (folder names are case-sensitive, as S3 keys are)"


def stop_with_parent() -> None:
    """Have the kernel send this process SIGTERM when its parent exits (Linux; a no-op elsewhere).

    `make run-local` is the usual parent, and GNU make does not pass a SIGTERM on to the command it runs:
    `kill <make>` would leave the runner, and its jobs, running on their own. With this, the runner gets
    the SIGTERM itself and stops the run as it does for Ctrl-C (jobs stopped, run marked Stopped).
    The kernel watches the thread that started this process: a program that starts run-local from a
    thread must keep that thread until the run ends (subprocess.run does).
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return  # not allowed here (some sandboxes): the runner still stops on its own signals
    if os.getppid() != parent:  # the parent died before the call: nobody will send the signal
        os.kill(os.getpid(), signal.SIGTERM)


def cmd_run_local(args: argparse.Namespace) -> int:
    from pipelines.local.dag import DefinitionError, load_definition, parse_assignments
    from pipelines.local.definition_source import build_definition, pipeline_name
    from pipelines.local.progress import make_reporter
    from pipelines.local.run_lock import RunLockedError
    from pipelines.local.runner import RunOptions, latest_run, run_definition

    home: Path = args.home
    stop_with_parent()
    try:
        overrides = parse_assignments(args.param)
        if args.data:
            overrides["InputDataUri"] = data_override(Path(args.data))
        run_dir = args.run_dir
        if args.resume:
            run_dir = run_dir or latest_run(home)
            definition = load_definition(run_dir / "definition.json")
            stored = _stored_input(run_dir)
            if args.data and Path(overrides["InputDataUri"]) != Path(stored):
                print(
                    f"run-local: --resume keeps the run's input {stored} (not --data {args.data})",
                    file=sys.stderr,
                )
            overrides = {k: v for k, v in overrides.items() if k != "InputDataUri"}
        elif args.definition:
            definition = load_definition(args.definition)
        else:
            definition = build_definition(args.env, home, REPO_ROOT)
        options = RunOptions(
            home=home,
            run_dir=run_dir,
            use_cache=not args.no_cache,
            resume=args.resume,
            repo_root=REPO_ROOT,
            pipeline_name=pipeline_name(args.env),
            **({"workers": args.workers} if args.workers else {}),
        )
        result = run_definition(definition, options, make_reporter(quiet=args.quiet), overrides)
    except (DefinitionError, FileNotFoundError, ValueError, RunLockedError) as exc:
        print(f"run-local: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before the run started (building the definition): nothing to stop
        print("run-local: interrupted before the run started", file=sys.stderr)
        return 128 + signal.SIGINT
    if result.stop_signal is not None:
        return 128 + result.stop_signal  # the shell's convention for "ended by this signal"
    return 0 if result.ok else 1


def _stored_input(run_dir: Path) -> str:
    from pipelines.local.state import RunState

    return str(RunState.load(run_dir / "state.json").parameters.get("InputDataUri", ""))


def serverless_limits(environments: tuple[str, ...] = ENVIRONMENTS) -> dict[str, int]:
    """Endpoint name -> MaxConcurrency of every serverless endpoint the environments' configs declare.

    Endpoint names carry their environment (`<project>-<env>-<model>`), so one table serves whatever
    `run-local --env ...` deployed. It is read when serve-local starts: a changed limit needs a restart,
    as a changed ServerlessConfig needs a new endpoint config on AWS. An environment whose config does not
    load is reported and left out (its endpoints then take any number of requests)."""
    from conf import ConfigError, load_config
    from model_registry.settings import max_concurrency

    limits: dict[str, int] = {}
    for env in environments:
        try:
            limits.update(max_concurrency(load_config(env)))
        except ConfigError as exc:
            logging.getLogger("pipelines.local.server").warning("conf/%s.yaml: %s", env, exc)
    return limits


def cmd_monitor_local(args: argparse.Namespace) -> int:
    from containers.monitoring.monitor import parse_time
    from pipelines.local.monitoring import MonitoringSetupError, format_results, monitor_local

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        results = monitor_local(args.home, args.endpoint, parse_time(args.start), parse_time(args.end))
    except (MonitoringSetupError, argparse.ArgumentTypeError) as exc:
        print(f"monitor-local: {exc}", file=sys.stderr)
        return 2
    print(format_results(results))
    return 1 if args.strict and any(r.violations for r in results) else 0


def cmd_mlflow_sync(args: argparse.Namespace) -> int:
    from pipelines.local.tracking import store_uri, sync_runs

    logged = sync_runs(args.home)
    print(f"{logged} job folder(s) logged; store {store_uri(args.home)}", file=sys.stderr)
    return 0


def cmd_serve_local(args: argparse.Namespace) -> int:
    from containers.monitoring.capture import CaptureWriter
    from model_registry.local import LocalRegistry
    from pipelines.local.server import PortInUseError, make_server

    for name in ("pipelines.local.server", "model_registry.local_endpoints"):
        logging.getLogger(name).setLevel(logging.INFO)
    registry = LocalRegistry(args.home / "registry.db")
    limits = serverless_limits()
    try:
        # Data capture as the SageMaker endpoints have it (100 %), for `make monitor-local`.
        capture = CaptureWriter(args.home / "capture")
        server = make_server(  # binds first
            registry,
            args.host,
            args.port,
            preload=True,
            max_concurrency=limits,
            capture=capture,
            seed=args.seed,
        )
    except PortInUseError as exc:
        print(f"serve-local: {exc}", file=sys.stderr)
        return 2
    endpoints = registry.list_endpoints()
    host, port = server.server_address[:2]
    print(f"serving {len(endpoints)} endpoint(s) on http://{host}:{port}", file=sys.stderr)
    for endpoint in endpoints:
        limit = f", serverless: {limits[endpoint.name]} at once" if endpoint.name in limits else ""
        print(
            f"  POST /endpoints/{endpoint.name}/invocations  ({endpoint.group} v{endpoint.version}{limit})",
            file=sys.stderr,
        )
    if not endpoints:
        print("  none deployed yet: run `make run-local` first", file=sys.stderr)
    print("  GET /metrics  (requests, errors and latency per endpoint)", file=sys.stderr)
    try:
        server.serve_forever()  # uvicorn stops on SIGINT/SIGTERM after the requests in flight
    finally:
        server.server_close()
    return 0

"""The whole local DAG on a corpus of the show's real size, beside the same run on data/sample.

    .venv/bin/python benchmarks/real_scale.py [--seed 7] [--no-sample] [--keep]
    .venv/bin/python benchmarks/real_scale.py --scaling-only   # the data steps alone at 1x and 2x

Writes a seeded corpus of real size and shape (benchmarks/real_corpus.py: 34 episodes, 600-1000 cues
each, ~400-line transcripts, ~470 of Eleven's lines, 130 locations) into a temporary folder, then runs
`python -m pipelines run-local --data <folder> --home <fresh> --quiet` as a person would (cold: no
cache), measured as benchmarks/local_run.py measures it. Prints the corpus size, what the pipeline made
of it (cues kept, transcript lines, Eleven pairs and why lines were dropped, location rows), each step's
wall time from the runner's state.json with the ratio to the sample run, the peak RSS of the whole run
and of its largest job, and each condition step's outcome with its figures. Steps run two at a time, so
step times overlap and do not add up to the wall time. `--scaling-only` times the data steps' own
scripts on data/sample, the real size and twice it: a step that grows faster than linearly shows as a
second doubling that costs much more than the first ~35x did.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import local_run
import real_corpus

GB = 2**30


def run_local(data: Path, home: Path) -> local_run.Measurement:
    return local_run.measure(local_run.run_local_command(data, home))


def step_output(home: Path, step: str, relative: str) -> dict[str, Any] | None:
    """A JSON file a step wrote under its container output folder, if the step ran."""
    found = sorted((home / "runs").glob(f"*/steps/{step}/opt_ml/processing/output/{relative}"))
    return json.loads(found[0].read_text()) if found else None


def run_file(home: Path, pattern: str) -> dict[str, Any]:
    """A JSON file of the first run, by a glob under its steps/ folder ({} when absent)."""
    found = sorted((home / "runs").glob(f"*/steps/{pattern}"))
    return json.loads(found[0].read_text()) if found else {}


def pipeline_figures(home: Path) -> dict[str, Any]:
    """What the pipeline made of the input: cleaned cues, chatbot pairs, location rows."""
    cleaned = step_output(home, "CleanSubtitles", "cleaned/manifest.json") or {}
    chatbot = (step_output(home, "PrepareChatbotData", "report/manifest.json") or {}).get("chatbot", {})
    locations = (step_output(home, "PrepareLocationData", "report/manifest.json") or {}).get("classifier", {})
    return {"cleaned": cleaned.get("totals", {}), "chatbot": chatbot, "locations": locations}


def gate_lines(state: dict[str, Any]) -> list[str]:
    """The quality gates, and every other condition that ran, with the comparisons behind each."""
    lines = []
    for name, step in sorted(state["steps"].items()):
        if step["type"] != "Condition" or ("QualityGate" not in name and not step.get("decision")):
            continue
        decision = step.get("decision") or {}
        outcomes = "; ".join(o["condition"] for o in decision.get("outcomes", [])) or step["status"]
        lines.append(f"    {name:28} {decision.get('branch', '-'):5} {outcomes}")
    return lines


def durations(state: dict[str, Any] | None) -> dict[str, tuple[str, float]]:
    if state is None:
        return {}
    return {
        name: (step["status"], step["duration_s"] or 0.0)
        for name, step in state["steps"].items()
        if step["type"] in ("Processing", "Training", "Transform", "Tuning")
    }


def report(label: str, data: Path, home: Path, result: local_run.Measurement) -> dict[str, Any]:
    """Print one run's figures; returns its state for the comparison."""
    state = local_run.run_state(home)
    figures = pipeline_figures(home)
    job, job_peak = result.largest_job()
    print(f"\n== {label}: {data}")
    print(f"  exit {result.returncode}, wall {result.wall_s:.1f}s, ", end="")
    print(f"peak RSS runner + jobs {result.peak_rss / GB:.2f} GB")
    print(f"  largest job: {job} peak RSS {job_peak / GB:.2f} GB")
    cleaned = figures["cleaned"]
    if cleaned:
        print(f"  subtitles cleaned: {json.dumps(cleaned, sort_keys=True)}")
    chatbot = figures["chatbot"]
    if chatbot:
        print(
            f"  transcripts: {len(chatbot['episodes_read'])} episodes, {chatbot['lines_read']} lines; "
            f"{chatbot['character']}: {chatbot['character_lines']} lines -> {chatbot['pairs']} pairs "
            f"{chatbot['pairs_per_split']}, dropped {chatbot['dropped']}"
        )
        extra = {k: chatbot[k] for k in chatbot if k.startswith("speaker_") or k == "prompts"}
        if extra:
            print(f"  speaker matching: {json.dumps(extra, sort_keys=True)}")
    if figures["locations"]:
        print(f"  locations: {figures['locations']['rows']} rows")
    trained = run_file(home, "TrainChatbot/opt_ml/output/data/training_metrics.json")
    evaluated = run_file(home, "EvaluateChatbot/opt_ml/processing/output/evaluation/evaluation.json")
    if trained:
        shortened = {k: trained.get(k) for k in ("examples_prompt_trimmed", "examples_reply_cut")}
        print(f"  chatbot training: {trained.get('global_step')} steps, over max_seq_length: {shortened}")
    if evaluated:
        print(f"  chatbot evaluation: {evaluated['metadata'].get('test_pairs')} test pairs, ", end="")
        print(f"prompts over the input limit cut: {evaluated['metadata'].get('prompts_trimmed')}")
    if state is not None:
        print(f"  run status {state['status']} {state.get('message') or ''}".rstrip())
        print("  gates and conditions:")
        print("\n".join(gate_lines(state)))
    if result.returncode != 0:
        failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
        print("\n".join(failed) if failed else result.output[-3000:])
    return {"state": state, "result": result}


def comparison(real: dict[str, Any], sample: dict[str, Any] | None) -> list[str]:
    """Per step: seconds on the real-size corpus, on data/sample, and the ratio."""
    ours, theirs = durations(real["state"]), durations(sample["state"]) if sample else {}
    rows = [f"    {'step':30} {'status':10} {'real':>8} {'sample':>8} {'ratio':>6}"]
    for name, (status, seconds) in sorted(ours.items(), key=lambda item: -item[1][1]):
        base = theirs.get(name, ("-", 0.0))[1]
        ratio = f"{seconds / base:6.1f}" if base else "     -"
        rows.append(f"    {name:30} {status:10} {seconds:7.1f}s {base:7.1f}s {ratio}")
    return rows


SCALING_STEPS = (  # (name, script, arguments): {data}, {cleaned}, {out} filled in per corpus
    (
        "CleanSubtitles",
        "processing/clean_subtitles.py",
        "--input-dir {data}/subtitles --output-dir {cleaned}",
    ),
    (
        "ExtractEntities",
        "processing/extract_entities.py",
        "--input-dir {cleaned} --output-dir {out} --characters conf/characters.yaml",
    ),
    (
        "ClassifyThemes",
        "processing/classify_themes.py",
        "--input-dir {cleaned} --output-dir {out} --themes conf/themes.yaml --method lexicon",
    ),
    (
        "PrepareChatbotData",
        "processing/prepare_datasets.py",
        "--datasets chatbot --transcripts-dir {data}/transcripts --output-dir {out}",
    ),
)


def cpu_seconds(command: list[str]) -> float:
    """CPU time (user + system) of one command and its children: steadier than wall time on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = local_run.measure(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.output[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def scaling(work: Path, seed: int, repeat: int = 3) -> list[str]:
    """Each data step's own script on data/sample, the real-size corpus and twice it (68 episodes).

    The sample run is mostly interpreter start-up and imports; what a doubling adds beside what the
    first ~35x added tells whether the step grows linearly (about equal) or faster (much more). CPU
    seconds, the least of `repeat` runs.
    """
    corpora = {"sample": local_run.REPO / "data" / "sample"}
    for scale in (1, 2):
        corpora[f"{scale}x"] = work / f"scale-{scale}"
        real_corpus.write_corpus(corpora[f"{scale}x"], seed, scale=scale)
    times: dict[str, dict[str, float]] = {}
    for label, data in corpora.items():
        cleaned = work / f"cleaned-{label}"
        for name, script, flags in SCALING_STEPS:
            argv = flags.format(data=data, cleaned=cleaned, out=work / f"{name}-{label}").split()
            command = [sys.executable, f"containers/{script}", *argv]
            times.setdefault(name, {})[label] = min(cpu_seconds(command) for _ in range(repeat))
    rows = [f"    {'step (CPU s)':20} {'sample':>7} {'1x':>7} {'2x':>7}   added by sample->1x, by 1x->2x"]
    for name, by in times.items():
        first, second = by["1x"] - by["sample"], by["2x"] - by["1x"]
        walls = f"{by['sample']:6.1f}s {by['1x']:6.1f}s {by['2x']:6.1f}s"
        rows.append(f"    {name:20} {walls}   {first:5.1f}s, {second:5.1f}s")
    return rows


def main(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="real-scale-"))
    data = work / "data"
    written = real_corpus.write_corpus(data, args.seed)
    print(f"real-scale benchmark, seed {args.seed}, on {local_run.os.cpu_count()} CPU(s); work folder {work}")
    print(
        f"  corpus written: {written.subtitle_files} subtitle files {written.formats}, {written.cues} cues; "
        f"{written.transcript_files} transcripts, {written.transcript_lines} lines "
        f"({written.unknown_speaker_lines} by Unknown/nobody, {written.monologues} monologues of 100+ "
        f"words); {written.character_lines} lines of {real_corpus.CHARACTER} "
        f"({written.character_label_variants} under another spelling); {written.locations} locations"
    )
    if args.scaling_only:
        print("\n  data steps alone, sample -> real size (1x) -> twice it (2x), CPU time of each script:")
        print("\n".join(scaling(work, args.seed)))
        shutil.rmtree(work, ignore_errors=True)
        return 0
    real = report("real size", data, work / "home-real", run_local(data, work / "home-real"))
    sample = None
    if not args.no_sample:
        sample_data = local_run.REPO / "data" / "sample"
        sample = report(
            "data/sample", sample_data, work / "home-sample", run_local(sample_data, work / "home-sample")
        )
    print("\n  step wall times (from each run's state.json; steps overlap, two jobs at a time):")
    print("\n".join(comparison(real, sample)))
    if sample:
        ratio = real["result"].wall_s / sample["result"].wall_s
        walls = f"real {real['result'].wall_s:.1f}s, sample {sample['result'].wall_s:.1f}s"
        print(f"  whole run: {walls}, ratio {ratio:.1f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    failed = real["result"].returncode or (sample["result"].returncode if sample else 0)
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7, help="the corpus generator's seed")
    parser.add_argument("--no-sample", action="store_true", help="skip the comparison run on data/sample")
    parser.add_argument("--keep", action="store_true", help="keep the corpus and the run folders")
    parser.add_argument(
        "--scaling-only",
        action="store_true",
        help="no DAG run: time the data steps' own scripts on the sample, 1x and 2x the real size",
    )
    sys.exit(main(parser.parse_args()))

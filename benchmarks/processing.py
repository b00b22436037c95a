r"""Processing benchmark: cleaning vs pysubs2 parse-only, entity extraction, network build, peak memory.

    .venv/bin/python benchmarks/processing.py                 # generated corpus: 34 episodes x 900 cues
    .venv/bin/python benchmarks/processing.py --corpus DIR    # your own subtitle folder
    .venv/bin/python benchmarks/processing.py --unclosed-kb 220 440 880   # only the unclosed-bracket case

Each measurement runs in a fresh Python process, so peak RSS is that step's own (imports included).
Cleaning is timed end to end (read, decode, parse, clean, write); pysubs2 only loads the same files.
The unclosed-bracket case times one cue whose first line opens a bracket that never closes, followed
by N KB of dialogue lines: cleaning joins the lines while the bracket is open, which must stay linear
in the cue's size (doubling the size should about double the time).
Figures depend on the machine and its load: compare them side by side, run by run.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["MIKE", "DUSTIN", "LUCAS", "WILL", "ELEVEN", "HOPPER", "JOYCE", "NANCY", "STEVE", "MAX", "ROBIN"]
SOUNDS = [
    "[door creaks]",
    "[thunder rumbling]",
    "(SCREAMS)",
    "(panting)",
    "[radio static]",
    "[glass shatters]",
]
WORDS = [
    "we",
    "have",
    "to",
    "find",
    "him",
    "before",
    "the",
    "lab",
    "does",
    "and",
    "the",
    "gate",
    "is",
    "open",
    "so",
    "nobody",
    "goes",
    "out",
    "after",
    "dark",
    "tonight",
    "promise",
    "me",
    "you",
    "will",
    "stay",
    "here",
    "with",
    "the",
    "lights",
    "on",
    "and",
    "the",
    "radio",
    "close",
    "because",
    "something",
    "is",
    "coming",
]


def sentence(rng: random.Random) -> str:
    words = rng.sample(WORDS, rng.randint(3, 9))
    if rng.random() < 0.3:
        words.insert(
            rng.randrange(len(words)), rng.choice(["Will", "El", "Hopper", "Mike", "Dustin", "Joyce"])
        )
    return " ".join(words).capitalize() + rng.choice([".", "?", "!", "..."])


def cue_text(rng: random.Random) -> str:
    """One hearing-impaired style cue: labels, annotations, italics, dashes, music, as real files mix them."""
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(SOUNDS)
    if roll < 0.12:
        return "♪ " + sentence(rng) + " ♪"
    if roll < 0.25:
        return f"- {sentence(rng)}\n- {rng.choice(SOUNDS)} {sentence(rng)}"
    if roll < 0.40:
        return f"{rng.choice(NAMES)}: {sentence(rng)}"
    if roll < 0.48:
        return f"<i>{sentence(rng)}</i>"
    if roll < 0.55:
        return f"[{rng.choice(NAMES).title()}] {sentence(rng)}"
    return f"{sentence(rng)}\n{sentence(rng)}" if rng.random() < 0.4 else sentence(rng)


def timestamp(ms: int) -> str:
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def generate_corpus(folder: Path, episodes: int, cues: int, seed: int = 7) -> int:
    """SRT files S01E01.srt ... with a BOM on every third and CRLF on every other; returns the cue count."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(1, episodes + 1):
        blocks, clock = [], 1000
        for index in range(1, cues + 1):
            length = rng.randint(900, 4000)
            blocks.append(f"{index}\n{timestamp(clock)} --> {timestamp(clock + length)}\n{cue_text(rng)}\n")
            clock += length + rng.randint(50, 1500)
        text = "\n".join(blocks)
        if number % 2:
            text = text.replace("\n", "\r\n")
        data = text.encode("utf-8-sig" if number % 3 == 0 else "utf-8")
        season, episode = 1 + (number - 1) // 9, 1 + (number - 1) % 9
        (folder / f"S{season:02d}E{episode:02d}.srt").write_bytes(data)
    return episodes * cues


def generate_unclosed_bracket(folder: Path, kilobytes: int) -> int:
    """One SRT file whose single cue opens '[' on its first line and never closes it; returns its bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    line = "we have to find him before the lab does"
    body = "\n".join(["[thunder rumbling", *[line] * (kilobytes * 1024 // (len(line) + 1))])
    data = f"1\n00:00:01,000 --> 00:00:05,000\n{body}\n".encode()
    (folder / "S01E01.srt").write_bytes(data)
    return len(data)


RUNNERS = {
    "pysubs2_parse": """
import pysubs2
files = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in (".srt", ".ass", ".ssa", ".vtt"))
start = time.perf_counter()
count = sum(len(pysubs2.load(str(p), encoding="utf-8-sig")) for p in files)
result = {"seconds": time.perf_counter() - start, "cues": count}
""",
    "clean": """
from containers.processing import clean_subtitles
args = clean_subtitles.parse_args(["--input-dir", str(CORPUS), "--output-dir", str(OUT / "cleaned")])
start = time.perf_counter()
manifest = clean_subtitles.main(args)
result = {"seconds": time.perf_counter() - start, "cues": manifest["totals"]["cues_in"],
          "utterances": manifest["totals"]["utterances_out"]}
""",
    "entities": """
from containers.common.io import read_jsonl_dir
from containers.processing import extract_entities as ee
from containers.processing.network import add_centralities, build_graph, cooccurrence_counts
from collections import Counter
args = ee.parse_args(["--input-dir", str(OUT / "cleaned"), "--output-dir", str(OUT / "entities"),
                      "--characters", str(ROOT / "conf" / "characters.yaml")])
cast = ee.load_cast(args.characters)
rows = ee.sort_rows(read_jsonl_dir(args.input_dir, "cues*.jsonl"))
start = time.perf_counter()
mentions = ee.cast_mentions(cast, rows)
matching = time.perf_counter() - start
start = time.perf_counter()
episodes = ee.presence(cast, rows, mentions)
appearances = Counter(n for sets in episodes.values() for present in sets for n in present)
graph = add_centralities(build_graph(cooccurrence_counts(sorted(episodes.items()), args.window), appearances))
network = time.perf_counter() - start
start = time.perf_counter()
ee.main(args)
result = {"seconds": time.perf_counter() - start, "matching_seconds": matching, "network_seconds": network,
          "utterances": len(rows), "nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}
""",
}

PRELUDE = """
import json, resource, sys, time
from pathlib import Path
ROOT, CORPUS, OUT = Path({root!r}), Path({corpus!r}), Path({out!r})
sys.path.insert(0, str(ROOT))
"""
EPILOGUE = """
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(result))
"""


def run(name: str, corpus: Path, out: Path) -> dict:
    """Run one measurement in a fresh interpreter (its own peak RSS) and return its figures."""
    code = PRELUDE.format(root=str(ROOT), corpus=str(corpus), out=str(out)) + RUNNERS[name] + EPILOGUE
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def report(figures: dict) -> str:
    """The figures as the lines the benchmark prints."""
    parse, clean, ent = figures["pysubs2_parse"], figures["clean"], figures["entities"]
    ratio = clean["seconds"] / parse["seconds"]
    lines = [
        f"pysubs2 parse only : {parse['cues'] / parse['seconds']:>9,.0f} cues/s "
        f"({parse['seconds']:.3f} s, peak RSS {parse['peak_rss_mb']:.0f} MB)",
        f"clean_subtitles    : {clean['cues'] / clean['seconds']:>9,.0f} cues/s "
        f"({clean['seconds']:.3f} s, peak RSS {clean['peak_rss_mb']:.0f} MB; "
        f"{clean['utterances']} utterances out)",
        f"cleaning / pysubs2 time: {ratio:.2f}x (target <= 1.5x)",
        f"entity matching    : {ent['utterances'] / ent['matching_seconds']:>9,.0f} utterances/s "
        f"({ent['matching_seconds']:.3f} s for {ent['utterances']} utterances)",
        f"network build      : {ent['network_seconds']:.3f} s ({ent['nodes']} nodes, {ent['edges']} edges)",
        f"extract_entities   : {ent['seconds']:.3f} s whole main() (peak RSS {ent['peak_rss_mb']:.0f} MB)",
        f"clean + entities   : {clean['seconds'] + ent['seconds']:.3f} s",
    ]
    return "\n".join(lines)


def unclosed_bracket(sizes: list[int], out: Path) -> dict[int, dict]:
    """Clean one cue of each size (KB) after an unclosed bracket; prints seconds and KB/s per size."""
    figures = {}
    for kilobytes in sizes:
        corpus = out / f"unclosed-{kilobytes}"
        size = generate_unclosed_bracket(corpus, kilobytes)
        result = run("clean", corpus, out / f"unclosed-{kilobytes}-out")
        figures[kilobytes] = result
        print(
            f"unclosed bracket   : {size / 1024:>6.0f} KB cue in {result['seconds']:.3f} s "
            f"({size / 1024 / result['seconds']:,.0f} KB/s)"
        )
    return figures


def main(args: argparse.Namespace) -> dict:
    if args.unclosed_kb:
        with tempfile.TemporaryDirectory() as scratch:
            return {"unclosed_bracket": unclosed_bracket(args.unclosed_kb, Path(scratch))}
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        corpus = args.corpus
        if corpus is None:
            corpus = out / "corpus"
            generate_corpus(corpus, args.episodes, args.cues)
        files = [p for p in corpus.rglob("*") if p.is_file()]
        size_mb = sum(p.stat().st_size for p in files) / 1e6
        print(f"corpus: {corpus if args.corpus else 'generated'}: {len(files)} files, {size_mb:.1f} MB")
        figures = {}
        for name in ("pysubs2_parse", "clean", "entities"):
            best = min((run(name, corpus, out) for _ in range(args.repeat)), key=lambda r: r["seconds"])
            figures[name] = best
        print(report(figures))
        figures["unclosed_bracket"] = unclosed_bracket(args.unclosed_sizes, out)
        return figures


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", type=Path, default=None, help="a folder of subtitle files (default: generate)"
    )
    parser.add_argument("--episodes", type=int, default=34)
    parser.add_argument("--cues", type=int, default=900, help="cues per generated episode")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest is reported")
    parser.add_argument(
        "--unclosed-sizes",
        type=int,
        nargs="*",
        default=[220, 440, 880],
        help="KB sizes of the unclosed-bracket cue timed after the corpus (none: skip the case)",
    )
    parser.add_argument(
        "--unclosed-kb",
        type=int,
        nargs="+",
        default=None,
        help="run only the unclosed-bracket case, at these KB sizes",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    main(parse_args())

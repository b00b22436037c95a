"""benchmarks/processing.py on a small generated corpus: it runs, and our parser finds pysubs2's cues."""

from __future__ import annotations

import importlib.util

from tests.containers.processing.conftest import REPO


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_processing", REPO / "benchmarks" / "processing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_figures_on_a_small_corpus(capsys):
    bench = load_benchmark()
    argv = ["--episodes", "2", "--cues", "40", "--repeat", "1", "--unclosed-sizes", "4", "8"]
    figures = bench.main(bench.parse_args(argv))
    unclosed = figures.pop("unclosed_bracket")
    assert figures["clean"]["cues"] == figures["pysubs2_parse"]["cues"] == 80
    assert figures["entities"]["utterances"] == figures["clean"]["utterances"] > 0
    assert all(f["peak_rss_mb"] > 0 for f in figures.values())
    # One cue whose open bracket swallows every following line: one joined line, removed as too long.
    assert sorted(unclosed) == [4, 8]
    assert all(f["cues"] == 1 and f["utterances"] == 0 for f in unclosed.values())
    printed = capsys.readouterr().out
    assert "cleaning / pysubs2 time" in printed and "network build" in printed
    assert printed.count("unclosed bracket") == 2


def test_unclosed_bracket_case_alone(capsys):
    bench = load_benchmark()
    figures = bench.main(bench.parse_args(["--unclosed-kb", "16"]))
    assert list(figures) == ["unclosed_bracket"] and figures["unclosed_bracket"][16]["cues"] == 1
    assert "16 KB cue" in capsys.readouterr().out

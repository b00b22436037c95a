"""`make monitor-local` on the suite's full run: traffic like the training data passes, drifted traffic
(another language, another domain) is flagged, and the report and violations file are where it says.

Traffic goes through the local endpoint pool with capture on, the path serve-local's requests take.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from conf import load_config
from containers.common.io import read_json, read_jsonl_dir
from containers.monitoring.capture import CaptureWriter
from model_registry.local import LocalRegistry
from model_registry.local_endpoints import EndpointPool
from pipelines.local.monitoring import datasets_of, format_results, monitor_local, pipeline_baseline
from tests.containers.monitoring import traffic
from tests.pipelines.local.conftest import FullRun
from tests.pipelines.local.test_e2e import CHATBOT_ENDPOINT, CLASSIFIER_ENDPOINT  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def send(
    home: Path, texts: list[str], count: int, seed: int, endpoint_name: str = CLASSIFIER_ENDPOINT
) -> None:
    """`count` requests to the endpoint; distinct texts while they last (the checks' false-positive rate
    assumes independent records: a window repeating a few texts many times is not that)."""
    registry = LocalRegistry(home / "registry.db")
    endpoint = EndpointPool(registry, capture=CaptureWriter(home / "capture")).get(endpoint_name)
    rng = random.Random(seed)
    chosen = rng.sample(texts, count) if count <= len(texts) else [rng.choice(texts) for _ in range(count)]
    for text in chosen:
        if endpoint_name == CLASSIFIER_ENDPOINT:
            request = {"inputs": text}
        else:
            request = {"messages": [{"role": "user", "content": text}]}
        endpoint.invoke(json.dumps(request).encode(), "application/json", "application/json")


def held_out_texts(home: Path) -> list[str]:
    """The classifier's validation and test texts: what the model never trained on."""
    registry = LocalRegistry(home / "registry.db")
    version = registry.get(registry.endpoint(CLASSIFIER_ENDPOINT).group, 1)
    data = datasets_of(version.model_data_url, "classifier")
    splits = ("classifier_validation", "classifier_test")
    return sorted({row["text"] for split in splits for row in read_jsonl_dir(data / split)})


@pytest.fixture
def home(full_run: tuple[FullRun, object, str]) -> Path:
    runner = full_run[0]
    shutil.rmtree(runner.home / "capture", ignore_errors=True)
    return runner.home


def test_the_baseline_folder_is_the_one_the_pipeline_step_writes() -> None:
    from pipelines.local import monitoring
    from steps import baseline

    assert monitoring.BASELINE_OUTPUT == baseline.BASELINE_OUTPUT


def test_traffic_like_the_held_out_data_has_no_violations(home: Path) -> None:
    texts = held_out_texts(home)
    assert len(texts) >= load_config("local").monitoring.min_window  # a window the job checks
    send(home, texts, len(texts), seed=1)  # each held-out text once: independent records
    [result] = monitor_local(home, CLASSIFIER_ENDPOINT)
    assert (result.records, result.violations) == (len(texts), [])
    out = home / "monitoring" / CLASSIFIER_ENDPOINT / "latest"
    assert read_json(out / "constraint_violations.json") == {"violations": []}
    assert (out / "report.html").is_file() and (out / "metrics" / "metrics.jsonl").is_file()
    # The baseline is the one the run's ComputeClassifierBaseline step wrote beside the model.
    registry = LocalRegistry(home / "registry.db")
    version = registry.get(registry.endpoint(CLASSIFIER_ENDPOINT).group, 1)
    computed = pipeline_baseline(version.model_data_url, "classifier")
    assert computed is not None and {"statistics.json", "constraints.json", "vocabulary.json"} <= {
        p.name for p in computed.iterdir()
    }
    assert not (home / "monitoring" / CLASSIFIER_ENDPOINT / "baseline-v1").exists()
    assert f"{len(texts)} records, no violations" in format_results([result])


@pytest.mark.parametrize(
    ("texts", "flagged"),
    [(traffic.SPANISH, {"language", "oov_rate"}), (traffic.OTHER_DOMAIN, {"oov_rate"})],
    ids=["another-language", "another-domain"],
)
def test_drifted_traffic_is_flagged(home: Path, texts: list[str], flagged: set[str]) -> None:
    send(home, texts, 40, seed=2)
    [result] = monitor_local(home, CLASSIFIER_ENDPOINT)
    assert flagged <= {v["feature_name"] for v in result.violations}
    written = read_json(home / "monitoring" / CLASSIFIER_ENDPOINT / "latest" / "constraint_violations.json")
    assert written["violations"] == result.violations
    assert "violation(s)" in format_results([result])

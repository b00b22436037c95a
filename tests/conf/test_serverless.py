"""Serverless serving in config: AWS's bounds at the field, what a serverless endpoint cannot have at load.

Each refusal names the key to change and the file that set it; dev's own serverless classifier loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conf import ConfigError, load_config

SERVERLESS = {"memory_size_mb": 2048, "max_concurrency": 5}


def classifier(**serving: Any) -> dict[str, Any]:
    return {"classifier": {"serving": serving}}


def test_dev_serves_the_classifier_serverless_and_prod_on_instances() -> None:
    dev, prod = load_config("dev"), load_config("prod")
    assert dev.classifier.serving.serverless is not None
    assert (
        dev.classifier.serving.serverless.memory_size_mb,
        dev.classifier.serving.serverless.max_concurrency,
    ) == (
        2048,
        5,
    )
    assert dev.classifier.serving.data_capture_percentage == 0
    assert dev.classifier.serving.rollout_strategy == "all_at_once"
    assert prod.classifier.serving.serverless is None and prod.chatbot.serving.serverless is None


@pytest.mark.parametrize(
    ("serverless", "says"),
    [
        ({"memory_size_mb": 1536, "max_concurrency": 5}, "memory_size_mb"),
        ({"memory_size_mb": 8192, "max_concurrency": 5}, "memory_size_mb"),
        ({"memory_size_mb": 2048, "max_concurrency": 0}, "max_concurrency"),
        ({"memory_size_mb": 2048, "max_concurrency": 201}, "max_concurrency"),
        (
            {"memory_size_mb": 2048, "max_concurrency": 4, "provisioned_concurrency": 5},
            "exceeds max_concurrency",
        ),
        ({"memory_size_mb": 2048}, "max_concurrency"),
    ],
)
def test_serverless_sizes_outside_what_aws_takes_are_refused(serverless: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_config("local", overrides=classifier(serverless=serverless, data_capture_percentage=0))


@pytest.mark.parametrize(
    ("overrides", "key", "says"),
    [
        (
            {"chatbot": {"serving": {"serverless": SERVERLESS, "data_capture_percentage": 0}}},
            "chatbot.serving.serverless",
            "no GPU",
        ),
        (classifier(serverless=SERVERLESS), "classifier.serving.data_capture_percentage", "capture no data"),
        (
            classifier(
                serverless=SERVERLESS,
                data_capture_percentage=0,
                instance_type="ml.g5.xlarge",
                allowed_instance_types=["ml.g5.xlarge"],
            ),
            "classifier.serving.instance_type",
            "picks a GPU image",
        ),
        (
            classifier(serverless=SERVERLESS, data_capture_percentage=0, strategy="canary"),
            "classifier.serving.strategy",
            "steps through instances",
        ),
        (
            {
                **classifier(serverless=SERVERLESS, data_capture_percentage=0),
                "security": {"network_isolation": True},
            },
            "security.network_isolation",
            "cannot isolate",
        ),
        (
            {
                **classifier(serverless=SERVERLESS, data_capture_percentage=0),
                "security": {"subnets": ["subnet-1"], "security_group_ids": ["sg-1"]},
            },
            "security.subnets",
            "cannot run in a VPC",
        ),
    ],
)
def test_what_a_serverless_endpoint_cannot_have_is_refused_at_load(
    overrides: dict[str, Any], key: str, says: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("local", overrides=overrides)
    [line] = [line for line in str(raised.value).splitlines() if f"{key}: " in line]
    assert says in line


def test_a_refusal_names_the_file_that_set_it(tmp_path: Path) -> None:
    """An overlay that turns serverless on but keeps base.yaml's capture: the refusal points at base.yaml,
    where the percentage was set, and at the key to change."""
    base = Path(__file__).resolve().parents[2] / "conf" / "base.yaml"
    (tmp_path / "base.yaml").write_text(base.read_text())
    (tmp_path / "dev.yaml").write_text(
        "classifier:\n  serving:\n    serverless: {memory_size_mb: 1024, max_concurrency: 2}\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_config("dev", conf_dir=tmp_path)
    assert str(raised.value).startswith(
        f"{tmp_path / 'base.yaml'}: classifier.serving.data_capture_percentage: 100%"
    )

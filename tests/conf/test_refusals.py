"""conf/refusals.py: settings AWS or the jobs would refuse fail when the config loads, naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from conf import ConfigError, load_config

CONF = Path(__file__).resolve().parents[2] / "conf"
OWN_PROJECT = {
    "project": {"account_id": "210987654321", "bucket": "my-team-st-nlp"},
    "data": {"input_uri": "s3://my-team-st-nlp/stranger-things-nlp/data/raw"},
}


def _conf_dir(tmp_path: Path, overlay: str, env: str = "dev") -> Path:
    (tmp_path / "base.yaml").write_text((CONF / "base.yaml").read_text())
    (tmp_path / f"{env}.yaml").write_text(overlay)
    return tmp_path


def test_the_placeholder_account_is_refused_for_aws_naming_the_key_to_set() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("dev", for_aws=True)
    message = str(raised.value)
    assert "base.yaml: project.account_id: 123456789012 is the placeholder account" in message
    assert "set project.account_id in conf/dev.yaml" in message
    assert "project.bucket" in message and "data.input_uri" in message


def test_one_placeholder_left_is_one_line_naming_its_file(tmp_path: Path) -> None:
    overlay = (
        "project:\n  account_id: '210987654321'\n"
        "data:\n  input_uri: s3://my-team-st-nlp/stranger-things-nlp/data/raw\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_config("dev", _conf_dir(tmp_path, overlay), for_aws=True)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'base.yaml'}: project.bucket: ")
    assert "S3 names are global" in message


def test_placeholders_are_fine_offline_and_locally() -> None:
    assert load_config("dev").project.account_id == "123456789012"  # the definition builds offline
    assert load_config("local", for_aws=True).env == "local"


def test_an_own_account_and_bucket_pass() -> None:
    cfg = load_config("dev", overrides=OWN_PROJECT, for_aws=True)
    assert cfg.project.bucket == "my-team-st-nlp"


def test_a_key_of_the_placeholder_account_is_refused_for_aws() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    overrides = {**OWN_PROJECT, "security": {"kms_key_id": key}}
    with pytest.raises(ConfigError, match=r"security\.kms_key_id: .* placeholder account"):
        load_config("prod", overrides=overrides, for_aws=True)


def test_a_malformed_kms_key_is_refused_at_load(tmp_path: Path) -> None:
    folder = _conf_dir(tmp_path, "security:\n  kms_key_id: my-project-key\n")
    with pytest.raises(ConfigError, match=r"dev\.yaml: security\.kms_key_id: .*not a KMS key id"):
        load_config("dev", folder)


def test_the_key_arn_from_the_stack_outputs_replaces_the_alias(tmp_path: Path) -> None:
    """`make infra-outputs` writes conf/outputs/<env>.yaml; its key ARN is what the jobs get."""
    folder = _conf_dir(tmp_path, "security:\n  kms_key_id: alias/stranger-things-nlp\n")
    arn = "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    (folder / "outputs").mkdir()
    (folder / "outputs" / "dev.yaml").write_text(f"security:\n  kms_key_id: {arn}\n")
    assert load_config("dev", folder).security.kms_key_id == arn


@pytest.mark.parametrize(
    "key",
    [
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        "alias/stranger-things-nlp",
        "arn:aws:kms:us-east-1:111122223333:alias/stranger-things-nlp",
    ],
)
def test_a_kms_key_id_arn_or_alias_loads(key: str) -> None:
    assert load_config("dev", overrides={"security": {"kms_key_id": key}}).security.kms_key_id == key


@pytest.mark.parametrize(("count", "strategy"), [(1, "all_at_once"), (2, "canary"), (4, "canary")])
def test_the_default_rollout_fits_the_fleet(count: int, strategy: str) -> None:
    cfg = load_config("dev", overrides={"chatbot": {"serving": {"initial_instance_count": count}}})
    assert cfg.chatbot.serving.rollout_strategy == strategy


def test_a_canary_on_one_instance_is_refused_naming_the_endpoint(tmp_path: Path) -> None:
    folder = _conf_dir(tmp_path, "chatbot:\n  serving:\n    strategy: canary\n")
    with pytest.raises(ConfigError) as raised:
        load_config("dev", folder)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'dev.yaml'}: chatbot.serving.strategy: a canary of 10% is 1 of 1")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("count", "strategy", "percent", "refused"),
    [
        (2, "canary", 10, False),  # 1 of 2: half the fleet
        (3, "canary", 50, True),  # 2 of 3: more than half
        (2, "linear", 50, False),
        (1, "linear", 50, True),
        (20, "linear", 5, True),  # 1 of 20 is under 10% of the fleet
        (1, "all_at_once", 10, False),
    ],
)
def test_rollouts_the_fleet_cannot_hold_are_refused(
    count: int, strategy: str, percent: int, refused: bool
) -> None:
    # On instances (dev serves the classifier serverless, which has no fleet to step through).
    serving = {
        "initial_instance_count": count,
        "strategy": strategy,
        "step_percent": percent,
        "serverless": None,
    }
    if refused:
        with pytest.raises(ConfigError, match=r"classifier\.serving\.strategy"):
            load_config("dev", overrides={"classifier": {"serving": serving}})
    else:
        assert load_config("dev", overrides={"classifier": {"serving": serving}}).classifier.serving


def test_an_endpoint_type_the_registered_version_does_not_declare_is_refused(tmp_path: Path) -> None:
    folder = _conf_dir(tmp_path, "classifier:\n  serving:\n    instance_type: ml.c5.2xlarge\n")
    with pytest.raises(ConfigError) as raised:
        load_config("dev", folder)
    assert str(raised.value) == (
        f"{tmp_path / 'dev.yaml'}: classifier.serving.instance_type: ml.c5.2xlarge is not among "
        "classifier.serving.allowed_instance_types (ml.m5.xlarge, ml.c5.xlarge), the types its registered "
        "versions declare: add it there or serve on one of them"
    )
    allowed = {"instance_type": "ml.c5.2xlarge", "allowed_instance_types": ["ml.c5.2xlarge"]}
    assert load_config("dev", overrides={"classifier": {"serving": allowed}}).classifier.serving


def test_network_isolation_refuses_hub_model_ids() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("dev", overrides={"security": {"network_isolation": True}})
    message = str(raised.value)
    for key in ("chatbot.model_id", "classifier.model_id", "themes.model_id"):
        assert f"{key}: " in message
    assert "entities.ner_model" not in message  # unset: nothing to download
    assert "'Qwen/Qwen2.5-1.5B-Instruct' is a Hub id" in message


def test_network_isolation_accepts_s3_baked_and_tiny_models() -> None:
    cfg = load_config(
        "dev",
        overrides={
            "security": {"network_isolation": True},
            "chatbot": {"model_id": "s3://my-team-st-nlp/models/qwen2.5-1.5b/"},
            "classifier": {"model_id": "/opt/models/distilbert", "serving": {"serverless": None}},
            "themes": {"model_id": "tiny:nli"},
        },
    )
    assert cfg.security.network_isolation

"""conf/: layered, typed, validated configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conf import ENVIRONMENTS, ConfigError, load_config, read_yaml

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_loads(env: str) -> None:
    cfg = load_config(env)
    assert cfg.env == env
    assert cfg.project.role_arn == f"arn:aws:iam::{cfg.project.account_id}:role/{cfg.project.role_name}"


def test_overlay_changes_only_what_it_names() -> None:
    base = read_yaml(CONF / "base.yaml")
    prod = load_config("prod")
    assert prod.chatbot.gate["chrf_lift"] == 2.0  # from prod.yaml
    assert prod.chatbot.gate["chrf_lift"] != base["chatbot"]["gate"]["chrf_lift"]
    assert prod.chatbot.hyperparameters.lora_r == base["chatbot"]["hyperparameters"]["lora_r"]  # untouched
    assert prod.project.tags == {"project": "stranger-things-nlp", "environment": "prod"}  # deep merge


def test_local_uses_tiny_models() -> None:
    cfg = load_config("local")
    assert cfg.chatbot.model_id.startswith("tiny:")
    assert cfg.classifier.model_id.startswith("tiny:")


def test_themes_use_the_lexicon_locally_and_nli_in_the_cloud() -> None:
    assert load_config("local").themes.method == "lexicon"
    for env in ("dev", "prod"):
        themes = load_config(env).themes
        assert (themes.method, themes.model_id) == ("nli", "facebook/bart-large-mnli")


def test_an_unknown_theme_method_is_rejected(tmp_path: Path) -> None:
    folder = _conf_dir(tmp_path, "themes:\n  method: embeddings\n")
    with pytest.raises(ConfigError, match=r"dev\.yaml: themes\.method: .*'nli' or 'lexicon'"):
        load_config("dev", folder)


def _conf_dir(tmp_path: Path, overlay: str) -> Path:
    (tmp_path / "base.yaml").write_text((CONF / "base.yaml").read_text())
    (tmp_path / "dev.yaml").write_text(overlay)
    return tmp_path


def test_unknown_key_is_rejected_naming_key_and_file(tmp_path: Path) -> None:
    folder = _conf_dir(tmp_path, "chatbot:\n  hyperparameters:\n    learning_rat: 0.1\n")
    with pytest.raises(ConfigError, match=r"dev\.yaml: chatbot\.hyperparameters\.learning_rat: unknown key"):
        load_config("dev", folder)


def test_wrong_type_is_rejected_naming_key_and_file(tmp_path: Path) -> None:
    folder = _conf_dir(tmp_path, "entities:\n  window: five\n")
    with pytest.raises(ConfigError, match=r"dev\.yaml: entities\.window: .*integer"):
        load_config("dev", folder)


def test_error_in_base_names_base(tmp_path: Path) -> None:
    base = yaml.safe_load((CONF / "base.yaml").read_text())
    base["processing"]["instance_type"] = "m5.large"
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    (tmp_path / "dev.yaml").write_text("{}\n")
    with pytest.raises(ConfigError, match=r"base\.yaml: processing\.instance_type: .*not an instance type"):
        load_config("dev", tmp_path)


def test_duplicate_key_in_one_file_is_rejected(tmp_path: Path) -> None:
    folder = _conf_dir(tmp_path, "entities:\n  window: 3\nentities:\n  window: 4\n")
    with pytest.raises(ConfigError, match=r"key 'entities' appears twice"):
        load_config("dev", folder)


def test_unknown_environment_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"no overlay for environment 'staging' \(known: .*dev.*\)"):
        load_config("staging")


def test_vpc_needs_subnets_and_security_groups_together(tmp_path: Path) -> None:
    folder = _conf_dir(tmp_path, "security:\n  subnets: [subnet-1]\n")
    with pytest.raises(ConfigError, match="subnets and security_group_ids must be given together"):
        load_config("dev", folder)


def test_config_is_frozen() -> None:
    cfg = load_config("dev")
    with pytest.raises(Exception, match="frozen"):
        cfg.project.bucket = "other"  # type: ignore[misc]


def test_stack_outputs_are_read_last_and_errors_name_their_file(tmp_path: Path) -> None:
    """conf/outputs/<env>.yaml (written by make infra-outputs) overrides the overlay, and a bad value
    there is reported against that file."""
    import shutil

    folder = tmp_path / "conf"
    shutil.copytree(CONF, folder, ignore=shutil.ignore_patterns("outputs", "__pycache__"))
    (folder / "outputs").mkdir()
    arn = "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-0000-4000-8000-000000000001"
    (folder / "outputs" / "prod.yaml").write_text(f"security:\n  kms_key_id: {arn}\n")
    assert load_config("prod", folder).security.kms_key_id == arn  # prod.yaml names an alias
    assert load_config("dev", folder).security.kms_key_id is None  # other environments untouched

    (folder / "outputs" / "prod.yaml").write_text("security:\n  kms_key: x\n")
    with pytest.raises(ConfigError, match=r"outputs/prod\.yaml: security\.kms_key: unknown key"):
        load_config("prod", folder)


@pytest.mark.parametrize(
    ("overlay", "match"),
    [
        (
            "classifier:\n  gate:\n    accuracy_lift: 0\n",
            r"accuracy_lift minimum is 0.*baseline itself passes",
        ),
        ("chatbot:\n  gate:\n    chrf_lift: -1\n", r"chrf_lift minimum is -1"),
    ],
    ids=["zero-lift", "negative-lift"],
)
def test_a_gate_the_baseline_would_pass_is_rejected(tmp_path: Path, overlay: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config("dev", _conf_dir(tmp_path, overlay))

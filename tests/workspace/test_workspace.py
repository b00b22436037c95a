"""Picking the workspace (one place) and what both kinds share."""

from __future__ import annotations

from pathlib import Path

import pytest

from workspace import LocalWorkspace, open_workspace
from workspace.base import choose_backend, output_uri


def test_choose_backend(tmp_path: Path) -> None:
    studio_file = tmp_path / "resource-metadata.json"
    assert choose_backend({}, studio_file) == "local"
    studio_file.write_text("{}")
    assert choose_backend({}, studio_file) == "sagemaker"
    assert choose_backend({"STNLP_BACKEND": "local"}, studio_file) == "local"
    with pytest.raises(ValueError, match="STNLP_BACKEND='aws': use local or sagemaker"):
        choose_backend({"STNLP_BACKEND": "aws"}, studio_file)


def test_output_uri_names_the_outputs_it_has() -> None:
    props = {
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "themes", "S3Output": {"S3Uri": "s3://b/t"}}]}
    }
    assert output_uri(props, "themes") == "s3://b/t"
    with pytest.raises(KeyError, match=r"no output 'entities' \(outputs: themes\)"):
        output_uri(props, "entities")


def test_the_local_backend_opens_a_local_workspace_on_the_local_config(tmp_path: Path) -> None:
    ws = open_workspace("local", home=tmp_path)
    assert isinstance(ws, LocalWorkspace)
    assert ws.cfg.env == "local"
    assert ws.pipeline_name == "stranger-things-nlp-local"
    assert ws.endpoint_name("chatbot") == "stranger-things-nlp-local-chatbot"
    assert ws.registry.list_groups() == []
    assert (tmp_path / "registry.db").is_file()


def test_an_unknown_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown backend 'azure'; use one of local, sagemaker"):
        open_workspace("azure", home=tmp_path)

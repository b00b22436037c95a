"""The DAG of a definition, parameters, path mapping, the toolkit's argument rules, model packing."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from pipelines.local.dag import DefinitionError, build_dag, parse_assignments, resolve_parameters
from containers.common.tarball import pack_folder
from pipelines.local.container import decode_hyperparameters, to_cmd_args
from pipelines.local.processes import python_command
from pipelines.local.storage import RunStorage, StorageError


def step(name: str, kind: str = "Processing", **extra: object) -> dict:
    return {"Name": name, "Type": kind, "Arguments": extra.pop("Arguments", {}), **extra}


def test_dag_flattens_branches_and_collects_every_kind_of_edge() -> None:
    definition = {
        "Steps": [
            step("A"),
            step(
                "B", Arguments={"In": {"Get": "Steps.A.ProcessingOutputConfig.Outputs['o'].S3Output.S3Uri"}}
            ),
            step("C", DependsOn=["A"]),
            step(
                "Gate",
                "Condition",
                Arguments={
                    "Conditions": [{"Type": "Equals", "LeftValue": {"Get": "Steps.B.X"}, "RightValue": 1}],
                    "IfSteps": [step("Yes", "RegisterModel")],
                    "ElseSteps": [step("No", "Fail")],
                },
            ),
            step("After", "Model", DependsOn=["Yes"]),
        ]
    }
    dag = build_dag(definition)

    assert {n: sorted(node.upstream) for n, node in dag.steps.items()} == {
        "A": [],
        "B": ["A"],
        "C": ["A"],
        "Gate": ["B"],
        "Yes": ["Gate"],
        "No": ["Gate"],
        "After": ["Yes"],
    }
    assert dag.order == ["A", "B", "C", "Gate", "Yes", "No", "After"]
    assert (dag.steps["Yes"].branch, dag.steps["No"].branch) == (("Gate", "if"), ("Gate", "else"))
    assert dag.downstream("B") == {"Gate", "Yes", "No", "After"}


def test_dag_refuses_unknown_steps_duplicates_and_cycles() -> None:
    with pytest.raises(DefinitionError, match="step 'B' refers to unknown step\\(s\\): Nope"):
        build_dag({"Steps": [step("B", DependsOn=["Nope"])]})
    with pytest.raises(DefinitionError, match="step name 'A' appears twice"):
        build_dag({"Steps": [step("A"), step("A")]})
    with pytest.raises(DefinitionError, match="the steps form a cycle: A, B"):
        build_dag({"Steps": [step("A", DependsOn=["B"]), step("B", DependsOn=["A"])]})


PARAMETERS = {
    "Parameters": [
        {"Name": "Uri", "Type": "String", "DefaultValue": "s3://b/data"},
        {"Name": "Count", "Type": "Integer", "DefaultValue": 1},
        {"Name": "Rate", "Type": "Float", "DefaultValue": 0.5},
        {"Name": "On", "Type": "Boolean", "DefaultValue": False},
        {
            "Name": "Status",
            "Type": "String",
            "DefaultValue": "Approved",
            "EnumValues": ["Approved", "Rejected"],
        },
    ]
}


def test_parameters_take_defaults_and_typed_overrides() -> None:
    assert resolve_parameters(PARAMETERS, {"Count": "3", "Rate": "1e-3", "On": "TRUE"}) == {
        "Uri": "s3://b/data",
        "Count": 3,
        "Rate": 0.001,
        "On": True,
        "Status": "Approved",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Count": "two"}, "parameter Count is Integer: 'two' is not one"),
        ({"On": "yes"}, "parameter On is Boolean: use true or false, not 'yes'"),
        ({"Status": "Maybe"}, "parameter Status must be one of Approved, Rejected, not 'Maybe'"),
        ({"Nope": "1"}, "unknown parameter\\(s\\) Nope; the definition has: Count, On, Rate, Status, Uri"),
    ],
)
def test_bad_parameter_overrides_say_what_to_fix(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        resolve_parameters(PARAMETERS, overrides)


def test_parse_assignments() -> None:
    assert parse_assignments(["A=1", "B=x=y"]) == {"A": "1", "B": "x=y"}
    with pytest.raises(DefinitionError, match="--param 'A': write Name=value"):
        parse_assignments(["A"])


def test_storage_maps_uris_and_container_paths(tmp_path: Path) -> None:
    storage = RunStorage(tmp_path / "run", tmp_path / "repo")
    assert (
        storage.local_path("s3://bucket/a/b.json")
        == (tmp_path / "run" / "s3" / "bucket" / "a" / "b.json").resolve()
    )
    assert storage.local_path("data/sample") == tmp_path / "repo" / "data" / "sample"
    assert storage.local_path("/abs/data") == Path("/abs/data")
    root = tmp_path / "run" / "steps" / "S" / "opt_ml"
    assert storage.container_path("S", "/opt/ml/processing/input/x") == root / "processing" / "input" / "x"
    assert storage.map_text("S", "--out=/opt/ml/model") == f"--out={root}/model"
    assert storage.map_text("S", "/opt/mlx/keep") == "/opt/mlx/keep"
    with pytest.raises(StorageError, match="escapes the run's S3 folder"):
        storage.local_path("s3://bucket/../../etc")
    with pytest.raises(StorageError, match="only s3://, file:// and local paths"):
        storage.local_path("https://example.com/x")
    with pytest.raises(StorageError, match="is not under /opt/ml"):
        storage.container_path("S", "/tmp/x")


def test_hyperparameters_follow_the_training_toolkit() -> None:
    raw = {"merge": "true", "lr": "0.001", "model_id": "tiny:qwen2", "epochs": "30", "name": '"quoted"'}
    decoded = decode_hyperparameters(raw)
    assert decoded == {"merge": True, "lr": 0.001, "model_id": "tiny:qwen2", "epochs": 30, "name": "quoted"}
    assert to_cmd_args(decoded) == [
        "--epochs",
        "30",
        "--lr",
        "0.001",
        "--merge",
        "True",
        "--model_id",
        "tiny:qwen2",
        "--name",
        "quoted",
    ]
    assert to_cmd_args({"x": 1, "map": {"k2": 2, "k1": 1}}) == ["--map", "k1=1,k2=2", "-x", "1"]


def test_python_entrypoints_use_this_interpreter() -> None:
    import sys

    assert python_command(["python3", "/opt/ml/x.py"]) == [sys.executable, "/opt/ml/x.py"]
    assert python_command(["/usr/bin/python3.11", "x.py"]) == [sys.executable, "x.py"]
    assert python_command(["bash", "run.sh"]) == ["bash", "run.sh"]


def test_model_tarball_is_the_folder_contents_and_byte_stable(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "code").mkdir(parents=True)
    (model / "weights.bin").write_bytes(b"\x00\x01")
    (model / "code" / "inference.py").write_text("def model_fn(d): return d\n")

    first = pack_folder(model, tmp_path / "one" / "model.tar.gz").read_bytes()
    (model / "weights.bin").touch()  # a new mtime must not change the archive
    second = pack_folder(model, tmp_path / "two" / "model.tar.gz").read_bytes()

    assert first == second
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(first))) as archive:
        assert sorted(archive.getnames()) == ["code/inference.py", "weights.bin"]
        assert archive.extractfile("weights.bin").read() == b"\x00\x01"


def test_cache_expiry_follows_expire_after(tmp_path: Path) -> None:
    import json

    from pipelines.local.cache import StepCache, duration_seconds

    assert (duration_seconds("P30D"), duration_seconds("PT1H30M"), duration_seconds("P1W")) == (
        2592000,
        5400,
        604800,
    )
    with pytest.raises(ValueError, match="'30 days' is not an ISO 8601 duration"):
        duration_seconds("30 days")
    cache = StepCache(tmp_path / "cache")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.txt").write_text("x")
    cache.store("ab" * 32, {"step": "S"}, {"output:o": tmp_path / "out"})
    assert cache.lookup("ab" * 32, "P1D") is not None
    entry_file = tmp_path / "cache" / "ab" / ("ab" * 32) / "entry.json"
    entry = json.loads(entry_file.read_text())
    entry_file.write_text(json.dumps({**entry, "created": entry["created"] - 2 * 86400}))
    assert cache.lookup("ab" * 32, "P1D") is None
    assert cache.lookup("ab" * 32, "P3D") is not None


def test_a_job_writing_to_the_real_opt_ml_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from pipelines.local import processes

    fake = tmp_path / "opt" / "ml"  # stands for this machine's /opt/ml
    monkeypatch.setattr(processes, "OPT_ML", str(fake))
    plan = processes.JobPlan(
        step="S",
        command=[sys.executable, "-c", f"import os; os.makedirs({str(fake)!r})"],
        environment={},
        cwd=tmp_path,
        inputs=[],
        outputs=[],
    )
    outcome = processes.run_plan(plan, tmp_path / "S.log")

    assert outcome.returncode == 0
    assert outcome.message.startswith(f"warning: {fake} appeared on this machine while the job ran")
    assert (tmp_path / "S.log").read_text().startswith(f"$ {sys.executable} -c")

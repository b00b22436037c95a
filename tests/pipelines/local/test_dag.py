"""The DAG of a definition: steps flattened out of branches, edges, order; parameters and overrides."""

from __future__ import annotations

import pytest

from pipelines.local.dag import DefinitionError, build_dag, parse_assignments, resolve_parameters


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

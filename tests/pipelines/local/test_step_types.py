"""The step-type table: a new type is one handler and one row, and the runner gives it the rest."""

from __future__ import annotations

import pytest

from pipelines.local.dag import DefinitionError
from pipelines.local.step_types import STEP_KINDS
from tests.pipelines.local import demo_project
from tests.pipelines.local.conftest import DemoRunner, read_json, statuses


def test_a_type_without_a_row_is_refused_before_anything_runs(demo: DemoRunner) -> None:
    with pytest.raises(
        DefinitionError, match="step 'Shout' has type 'Shout', which the local runner does not"
    ):
        demo.run(definition=demo_project.with_shout(demo.definition()))
    assert demo.calls_made() == []


def test_a_new_step_type_is_one_handler_and_one_row(
    demo: DemoRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(STEP_KINDS, "Shout", demo_project.SHOUT)  # the row; the handler is run_shout

    first, output = demo.run(definition=demo_project.with_shout(demo.definition()))

    assert first.ok, output
    assert statuses(first)["Shout"] == ("Succeeded", "miss")
    assert first.state.steps["Shout"].properties["ShoutStatus"] == "Completed"
    assert read_json(first.run_dir / "s3" / "demo-bucket" / "demo" / "shout" / "one" / "counts.json") == {
        "WORDS": 5
    }

    # The row's destinations keep the output URI out of the cache key: a new folder is still a hit,
    # and the cached result is restored there without running the job again.
    again, _ = demo.run({"ShoutFolder": "two"}, definition=demo_project.with_shout(demo.definition()))

    assert statuses(again)["Shout"] == ("Cached", "hit")
    assert demo.calls_made().count("Shout") == 1
    assert read_json(again.run_dir / "s3" / "demo-bucket" / "demo" / "shout" / "two" / "counts.json") == {
        "WORDS": 5
    }


def test_every_row_is_named_by_its_own_type() -> None:
    assert all(name == kind.type for name, kind in STEP_KINDS.items())
    assert [name for name, kind in STEP_KINDS.items() if kind.is_job] == [
        "Processing",
        "Training",
        "Tuning",
        "Transform",
    ]

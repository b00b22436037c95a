"""project/instance_types.py: which instance types have an EBS volume (and so may take a volume key)."""

from __future__ import annotations

import pytest

from project.instance_types import instance_family, takes_ebs_volume


@pytest.mark.parametrize(
    ("instance_type", "takes_volume"),
    [
        ("ml.m5.xlarge", True),
        ("ml.c5.2xlarge", True),
        ("ml.inf2.xlarge", True),
        ("ml.p3.2xlarge", True),
        ("ml.m5d.xlarge", False),
        ("ml.g4dn.xlarge", False),
        ("ml.p4d.24xlarge", False),
        ("ml.g5.2xlarge", False),
        ("ml.g6e.xlarge", False),
        ("ml.trn1.2xlarge", False),
    ],
)
def test_instance_types_that_take_an_ebs_volume(instance_type: str, takes_volume: bool) -> None:
    assert takes_ebs_volume(instance_type) is takes_volume


def test_a_malformed_instance_type_is_refused() -> None:
    with pytest.raises(ValueError, match="not an instance type"):
        instance_family("m5.xlarge")

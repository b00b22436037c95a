"""The moto session and the dev config of tests/model_registry, shared with the workspace tests."""

from tests.model_registry.conftest import aws, dev_cfg

__all__ = ["aws", "dev_cfg"]

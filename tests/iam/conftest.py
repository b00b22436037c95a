"""The registry tests' moto fixtures (accounts, the dev config, UpdateEndpoint taught to moto)."""

from tests.model_registry.conftest import aws, dev_cfg, update_calls  # noqa: F401 - pytest fixtures

"""Carries the challenger requests (model_registry/variants.py) out on the local endpoints.

The local analogue of sagemaker_variants: the registry's `variants` table plays the endpoint config's
second (or shadow) variant, and serve-local routes by it (model_registry/local_endpoints.py). The same
`variants.handle_variant_request` decides, so the rules are the ones the Lambda follows.
"""

from __future__ import annotations

from model_registry.deploy_logic import EndpointTarget
from model_registry.local_deploy import LocalDeployer, local_path, unpack_model
from model_registry.naming import LIVE_VARIANT, challenger_variant
from model_registry.types import ModelVersion
from model_registry.variants import Mode, VariantState, split


class LocalVariants:
    """The VariantDeployer of the local endpoints table."""

    def __init__(self, deployer: LocalDeployer) -> None:
        self.deployer = deployer
        self.registry = deployer.registry

    def variants(self, endpoint_name: str) -> list[VariantState]:
        endpoint = self.registry.endpoint(endpoint_name)
        if endpoint is None:
            return []
        other = self.registry.variant(endpoint_name)
        live_weight = other.live_weight if other is not None else 1.0
        live = VariantState(LIVE_VARIANT, endpoint.model_package_arn, live_weight, version=endpoint.version)
        found = [live]
        if other is not None:
            found.append(
                VariantState(other.name, other.model_package_arn, other.weight, other.shadow, other.version)
            )
        return found

    def add_challenger(
        self, target: EndpointTarget, live: ModelVersion, challenger: ModelVersion, mode: Mode, weight: float
    ) -> None:
        source = local_path(challenger.model_data_url, self.deployer.base_dir)
        folder = self.deployer.deploy_root / challenger.group / f"v{challenger.version}"
        model_dir = unpack_model(source, folder)
        live_weight, challenger_weight = (1.0, 1.0) if mode == "shadow" else split(weight)
        self.registry.set_variant(
            target.endpoint_name,
            challenger_variant(challenger.version),
            challenger.group,
            challenger.version,
            model_dir,
            challenger_weight,
            live_weight,
            shadow=mode == "shadow",
        )

    def set_weight(self, target: EndpointTarget, challenger: str, weight: float) -> None:
        live_weight, challenger_weight = split(weight)
        self.registry.set_variant_weights(target.endpoint_name, challenger_weight, live_weight)

    def remove_challenger(self, target: EndpointTarget, live: ModelVersion) -> None:
        self.registry.remove_variant(target.endpoint_name)

"""Facts about SageMaker instance types that the step builders and the service rules both need.

An instance type with local NVMe storage gets no EBS volume: SageMaker refuses a VolumeKmsKeyId for it
(the instance encrypts its own storage) and ignores VolumeSizeInGB. Sources: the API reference of
ResourceConfig / ProcessingClusterConfig (VolumeKmsKeyId: "You can't request a VolumeKmsKeyId when using
an instance type with local storage"), and the SageMaker Python SDK's `volume_size_supported()`
(sagemaker-core/src/sagemaker/core/common_utils.py), whose list of families this follows.
"""

from __future__ import annotations

# Families whose storage is local NVMe, besides every family with a "d" (m5d, c5d, r5d, p4d, g4dn...).
INSTANCE_STORAGE_FAMILIES = ("g5", "g6", "g7e", "p5", "p6-b200", "trn1", "trn2")


def instance_family(instance_type: str) -> str:
    """'g5' for 'ml.g5.2xlarge'; ValueError for anything that is not `ml.<family>.<size>`."""
    parts = instance_type.split(".")
    if len(parts) != 3 or parts[0] != "ml":
        raise ValueError(f"{instance_type!r} is not an instance type such as ml.m5.xlarge")
    return parts[1]


def takes_ebs_volume(instance_type: str) -> bool:
    """False for families with local NVMe instance storage: no EBS volume, so no volume key."""
    family = instance_family(instance_type)
    return "d" not in family and not family.startswith(INSTANCE_STORAGE_FAMILIES)

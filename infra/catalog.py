"""What each cloud offers: regions and GPU node shapes.

The catalogue is deliberately small and explicit: a stack that asks for a GPU a cloud does not
sell, or a node size that does not exist, fails at config time with the list of valid choices,
instead of minutes into `pulumi up` with a provider error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

Cloud = Literal["aws", "gcp", "azure", "onprem"]
CLOUDS: Final[tuple[Cloud, ...]] = ("aws", "gcp", "azure")
"""The public clouds: each has regions, GPU shapes and prices in this catalogue."""
TARGETS: Final[tuple[Cloud, ...]] = get_args(Cloud)
"""Where a stack can run: a public cloud, or `onprem` (an existing Kubernetes cluster whose GPU
nodes the stack config describes; infra/config_onprem.py)."""


@dataclass(frozen=True)
class GpuShape:
    """One GPU node size: the cloud's instance/machine/VM name and what it carries."""

    machine_type: str
    gpu_count: int
    gpu_memory_gib: int
    accelerator: str | None = None
    """GCP only: the `guest_accelerators` type attached to `machine_type`."""


# Neutral GPU name -> node shapes, per cloud. The first shape with the asked GPU count is the
# default: for one A10G/L4 that is the 2xlarge, because the xlarge's 16 GiB of host memory is
# too little to stage an 8B bf16 model (16 GB) next to the server's shared memory; the xlarge
# stays selectable with gpuInstanceType.
GPU_SHAPES: Final[dict[Cloud, dict[str, tuple[GpuShape, ...]]]] = {
    "aws": {
        "t4": (GpuShape("g4dn.xlarge", 1, 16), GpuShape("g4dn.12xlarge", 4, 16)),
        "a10g": (
            GpuShape("g5.2xlarge", 1, 24),
            GpuShape("g5.xlarge", 1, 24),
            GpuShape("g5.4xlarge", 1, 24),
            GpuShape("g5.12xlarge", 4, 24),
            GpuShape("g5.48xlarge", 8, 24),
        ),
        "l4": (
            GpuShape("g6.2xlarge", 1, 24),
            GpuShape("g6.xlarge", 1, 24),
            GpuShape("g6.4xlarge", 1, 24),
            GpuShape("g6.12xlarge", 4, 24),
            GpuShape("g6.48xlarge", 8, 24),
        ),
        "l40s": (
            GpuShape("g6e.xlarge", 1, 48),
            GpuShape("g6e.12xlarge", 4, 48),
            GpuShape("g6e.48xlarge", 8, 48),
        ),
        "a100": (GpuShape("p4d.24xlarge", 8, 40),),
        "a100-80gb": (GpuShape("p4de.24xlarge", 8, 80),),
        "h100": (GpuShape("p5.48xlarge", 8, 80),),
    },
    "gcp": {
        "t4": (
            GpuShape("n1-standard-8", 1, 16, "nvidia-tesla-t4"),
            GpuShape("n1-standard-16", 2, 16, "nvidia-tesla-t4"),
            GpuShape("n1-standard-32", 4, 16, "nvidia-tesla-t4"),
        ),
        "l4": (
            GpuShape("g2-standard-8", 1, 24, "nvidia-l4"),
            GpuShape("g2-standard-12", 1, 24, "nvidia-l4"),
            GpuShape("g2-standard-16", 1, 24, "nvidia-l4"),
            GpuShape("g2-standard-24", 2, 24, "nvidia-l4"),
            GpuShape("g2-standard-48", 4, 24, "nvidia-l4"),
            GpuShape("g2-standard-96", 8, 24, "nvidia-l4"),
        ),
        "a100": (
            GpuShape("a2-highgpu-1g", 1, 40, "nvidia-tesla-a100"),
            GpuShape("a2-highgpu-2g", 2, 40, "nvidia-tesla-a100"),
            GpuShape("a2-highgpu-4g", 4, 40, "nvidia-tesla-a100"),
            GpuShape("a2-highgpu-8g", 8, 40, "nvidia-tesla-a100"),
        ),
        "a100-80gb": (
            GpuShape("a2-ultragpu-1g", 1, 80, "nvidia-a100-80gb"),
            GpuShape("a2-ultragpu-2g", 2, 80, "nvidia-a100-80gb"),
            GpuShape("a2-ultragpu-4g", 4, 80, "nvidia-a100-80gb"),
            GpuShape("a2-ultragpu-8g", 8, 80, "nvidia-a100-80gb"),
        ),
        "h100": (GpuShape("a3-highgpu-8g", 8, 80, "nvidia-h100-80gb"),),
    },
    "azure": {
        "t4": (
            GpuShape("Standard_NC4as_T4_v3", 1, 16),
            GpuShape("Standard_NC64as_T4_v3", 4, 16),
        ),
        "a100-80gb": (
            GpuShape("Standard_NC24ads_A100_v4", 1, 80),
            GpuShape("Standard_NC48ads_A100_v4", 2, 80),
            GpuShape("Standard_NC96ads_A100_v4", 4, 80),
        ),
        "h100": (
            GpuShape("Standard_NC40ads_H100_v5", 1, 94),
            GpuShape("Standard_NC80adis_H100_v5", 2, 94),
        ),
    },
}

# Regions we accept per cloud. A typo ("us-east1" on aws) is the most common config mistake
# and the provider error it causes is far from the key that caused it.
REGIONS: Final[dict[Cloud, frozenset[str]]] = {
    "aws": frozenset(
        {
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "ca-central-1",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "ap-south-1",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-southeast-1",
            "ap-southeast-2",
            "sa-east-1",
            "me-central-1",
        }
    ),
    "gcp": frozenset(
        {
            "us-central1",
            "us-east1",
            "us-east4",
            "us-east5",
            "us-south1",
            "us-west1",
            "us-west2",
            "us-west3",
            "us-west4",
            "northamerica-northeast1",
            "europe-west1",
            "europe-west2",
            "europe-west3",
            "europe-west4",
            "europe-west6",
            "europe-west9",
            "europe-north1",
            "europe-central2",
            "asia-east1",
            "asia-northeast1",
            "asia-northeast3",
            "asia-south1",
            "asia-southeast1",
            "australia-southeast1",
            "southamerica-east1",
            "me-west1",
        }
    ),
    "azure": frozenset(
        {
            "eastus",
            "eastus2",
            "westus",
            "westus2",
            "westus3",
            "centralus",
            "southcentralus",
            "northcentralus",
            "canadacentral",
            "northeurope",
            "westeurope",
            "uksouth",
            "francecentral",
            "germanywestcentral",
            "swedencentral",
            "switzerlandnorth",
            "norwayeast",
            "japaneast",
            "koreacentral",
            "southeastasia",
            "australiaeast",
            "centralindia",
            "brazilsouth",
            "uaenorth",
        }
    ),
}


def gpu_types(cloud: Cloud) -> tuple[str, ...]:
    return tuple(GPU_SHAPES[cloud])


def shape_for(
    cloud: Cloud, gpu_type: str, gpu_count: int, machine_type: str | None = None
) -> GpuShape | None:
    """The shape of `gpu_type` with exactly `gpu_count` GPUs (the smallest, or `machine_type`)."""
    for shape in GPU_SHAPES[cloud].get(gpu_type, ()):
        if shape.gpu_count == gpu_count and machine_type in (None, shape.machine_type):
            return shape
    return None


# Placement (gpuZones): the zone-ID prefix of each AWS region, so a zone ID from another region
# is refused at config time. Zone IDs (use1-az1) name the same physical zone in every account;
# zone names (us-east-1a) do not. Source: AWS RAM User Guide, "Availability Zone IDs for your AWS
# resources" (https://docs.aws.amazon.com/ram/latest/userguide/working-with-az-ids.html) and
# `aws ec2 describe-availability-zones --query 'AvailabilityZones[].ZoneId'`; checked 2026-12-02.
AWS_ZONE_ID_PREFIX: Final[dict[str, str]] = {
    "us-east-1": "use1",
    "us-east-2": "use2",
    "us-west-1": "usw1",
    "us-west-2": "usw2",
    "ca-central-1": "cac1",
    "eu-west-1": "euw1",
    "eu-west-2": "euw2",
    "eu-west-3": "euw3",
    "eu-central-1": "euc1",
    "eu-central-2": "euc2",
    "eu-north-1": "eun1",
    "eu-south-1": "eus1",
    "eu-south-2": "eus2",
    "ap-south-1": "aps1",
    "ap-northeast-1": "apne1",
    "ap-northeast-2": "apne2",
    "ap-northeast-3": "apne3",
    "ap-southeast-1": "apse1",
    "ap-southeast-2": "apse2",
    "sa-east-1": "sae1",
    "me-central-1": "mec1",
}


def zone_example(cloud: Cloud, region: str) -> str:
    """One syntactically valid zone of `region`, for error messages."""
    return {"aws": f"{AWS_ZONE_ID_PREFIX.get(region, 'use1')}-az1", "gcp": f"{region}-a", "azure": "1"}[cloud]


def zone_in_region(cloud: Cloud, region: str, zone: str) -> bool:
    """Whether `zone` can be a zone of `region` by its form (offerings are checked at plan time)."""
    if cloud == "aws":
        prefix = AWS_ZONE_ID_PREFIX.get(region)
        return prefix is not None and re.fullmatch(rf"{prefix}-az\d+", zone) is not None
    if cloud == "gcp":
        return re.fullmatch(rf"{re.escape(region)}-[a-z]", zone) is not None
    return zone in ("1", "2", "3")


# --- GPU memory the CUDA runtime reports (model fit, issue 9) -------------------------------------
# Keyed by (neutral GPU, marketed GB as in GpuShape.gpu_memory_gib). Values are nvidia-smi's
# `memory.total` in MiB for that board. The CUDA runtime (torch.cuda.mem_get_info, which vLLM
# multiplies by gpuMemoryUtilization) sees about 438 MiB less: vLLM's own profiling log for an
# H100 80GB reports total_gpu_memory 79.22 GiB (81,121 MiB) against nvidia-smi's 81,559 MiB
# (github.com/vllm-project/vllm/pull/10511, 2024-12-14). Read 2026-12-02.
GPU_MEMORY_MIB: Final[dict[tuple[str, int], int]] = {
    ("t4", 16): 15109,  # 15360 on older drivers; the lower figure newer drivers report
    ("a10g", 24): 23028,
    ("l4", 24): 23034,
    ("l40s", 48): 46068,
    ("a100", 40): 40960,
    ("a100-80gb", 80): 81920,
    ("h100", 80): 81559,
    ("h100", 94): 95830,  # H100 NVL (Azure NC H100 v5)
}
GPU_MEMORY_SOURCE: Final = (
    "nvidia-smi memory.total per board, as public nvidia-smi captures on these cloud GPUs show it "
    "(NVIDIA product briefs give marketed GB); CUDA-visible total = that minus 438 MiB, per vLLM's "
    "H100 profiling log (vllm-project/vllm#10511)"
)
CUDA_RESERVED_MIB: Final = 438


def gpu_memory_gib(gpu_type: str, shape: GpuShape) -> float:
    """Memory of one GPU of `shape` as the CUDA runtime (and so vLLM) sees it, in GiB."""
    mib = GPU_MEMORY_MIB.get((gpu_type, shape.gpu_memory_gib), shape.gpu_memory_gib * 10**9 // 2**20)
    return (mib - CUDA_RESERVED_MIB) / 1024

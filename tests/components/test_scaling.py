"""Warm means warm, full can scale: GPU pool bounds, the autoscaler on every cloud, and what a
second `pulumi up` (or a cut-over) sends to the cloud once the autoscaler has moved the size."""

from __future__ import annotations

import json

import pytest

from components.inference_cluster import GPU_NODE_FLOOR, POOL_LABEL
from components.inference_cluster.args import KUBERNETES_VERSION
from components.inference_cluster.autoscaler import CHART, CHART_REPO, CHART_VERSION, IMAGE_DIGEST, IMAGE_TAG
from offline.harness import ProgramRun
from tests.components.inference_cluster_support import (
    LIVE_SIZE_FIELDS,
    full_primary,
    gpu_pool,
    pool_size,
    pools,
    start_size,
    warm_variant,
)
from tests.support import CLOUDS


def _eks_accepts(min_size: int, max_size: int, desired: int) -> bool:
    """EKS UpdateNodegroupConfig refuses desired outside [min, max] ("Minimum capacity 2 can't be
    greater than desired size 1"); the provider always sends the desired size, and with the live
    size ignored that is the value from the last apply (hashicorp/terraform-provider-aws#18310)."""
    return min_size <= desired <= max_size


@pytest.mark.parametrize("cloud", CLOUDS)
def test_live_pool_size_is_left_to_the_autoscaler(cloud: str) -> None:
    for run in (full_primary(cloud), warm_variant(cloud)):
        assert LIVE_SIZE_FIELDS[cloud] in gpu_pool(run).ignore_changes
        if cloud == "aws":
            assert all("scalingConfig.desiredSize" in p.ignore_changes for p in pools(run))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_cutover_between_warm_and_full_never_changes_the_pool_bounds(cloud: str) -> None:
    warm, full = warm_variant(cloud), full_primary(cloud)
    # Same bounds whichever the capacity: a cut-over (capacity -> full) or a demotion (-> warm)
    # changes the replicas only, and the autoscaler adds or removes the nodes they need.
    assert pool_size(gpu_pool(warm)) == pool_size(gpu_pool(full)) == (GPU_NODE_FLOOR, 4)
    if cloud == "aws":
        # Every size a pool was created with stays valid for the other capacity's bounds, so the
        # stale desired size EKS receives on the next apply is accepted.
        for created in (warm, full):
            for applied in (warm, full):
                low, high = pool_size(gpu_pool(applied))
                assert _eks_accepts(low, high, start_size(gpu_pool(created)))


def test_old_design_would_fail_the_eks_cutover() -> None:
    # What raising the floor with capacity (floor 1 -> nodeCount 2) would send after a warm create.
    warm = warm_variant("aws")
    assert not _eks_accepts(full_primary("aws").config.gpu.node_count, 4, start_size(gpu_pool(warm)))


def _eks_autoscaler(run: ProgramRun) -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
    (release,) = [
        r
        for r in run.resources
        if r.type == "kubernetes:helm.sh/v3:Release" and r.name.endswith("-cluster-autoscaler")
    ]
    (role,) = [r for r in run.of_type("aws:iam/role:Role") if r.name.endswith("-cluster-autoscaler")]
    (policy,) = [
        r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-cluster-autoscaler")
    ]
    return release.inputs, role.inputs | {"arn": role.outputs["arn"]}, json.loads(policy.inputs["policy"])


@pytest.mark.parametrize("capacity", ["full", "warm"])
def test_eks_installs_the_cluster_autoscaler_from_the_pinned_official_chart(capacity: str) -> None:
    run = full_primary("aws") if capacity == "full" else warm_variant("aws")
    release, role, _ = _eks_autoscaler(run)
    assert (
        (release["chart"], release["version"], release["repositoryOpts"]["repo"])
        == (
            CHART,
            CHART_VERSION,
            CHART_REPO,
        )
        == ("cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler")
    )
    values = release["values"]
    # The autoscaler's minor version matches the cluster's.
    assert IMAGE_TAG.removeprefix("v").rsplit(".", 1)[0] == KUBERNETES_VERSION
    assert values["image"]["tag"] == f"{IMAGE_TAG}@{IMAGE_DIGEST}"
    cluster_name = run.one("aws:eks/cluster:Cluster").outputs["name"]
    assert values["autoDiscovery"] == {"clusterName": cluster_name}
    assert values["awsRegion"] == run.config.region
    assert values["rbac"]["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": role["arn"]}
    assert values["nodeSelector"] == {POOL_LABEL: "system"}
    assert release["namespace"] == "kube-system"


def test_eks_autoscaler_identity_is_least_privilege() -> None:
    run = full_primary("aws")
    _, role, policy = _eks_autoscaler(run)
    cluster_name = run.one("aws:eks/cluster:Cluster").outputs["name"]
    (trust,) = json.loads(str(role["assumeRolePolicy"]))["Statement"]
    subjects = trust["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:cluster-autoscaler" in subjects.values()
    assert "sts.amazonaws.com" in subjects.values()
    statements = {s["Sid"]: s for s in policy["Statement"]}
    # Only Describe/Get actions are unconditional; resizing is limited to this cluster's groups.
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in statements["Discover"]["Action"])
    resize = statements["ResizeOwnNodeGroups"]
    assert sorted(resize["Action"]) == [
        "autoscaling:SetDesiredCapacity",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]
    assert resize["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
    }
    assert not any("*" in a for s in policy["Statement"] for a in s["Action"])


@pytest.mark.parametrize("cloud", ["gcp", "azure"])
def test_gke_and_aks_use_their_managed_autoscaler_with_min_and_max(cloud: str) -> None:
    pool = gpu_pool(full_primary(cloud))
    if cloud == "gcp":
        assert pool.inputs["autoscaling"]["locationPolicy"] == "ANY"
        assert pool.inputs["autoscaling"]["totalMinNodeCount"] == GPU_NODE_FLOOR
    else:
        assert pool.inputs["enableAutoScaling"] is True
    assert pool_size(pool) == (1, 4)
    # No second autoscaler fights the managed one.
    releases = [
        r.inputs["chart"] for r in full_primary(cloud).resources if r.type == "kubernetes:helm.sh/v3:Release"
    ]
    assert "cluster-autoscaler" not in releases

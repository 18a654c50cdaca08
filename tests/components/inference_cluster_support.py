"""Helpers shared by the inference-cluster and workload tests (no tests here).

Every run comes from the real program under mocks on the shipped stack files
(tests.support.pair), plus one variant per cloud that changes only what a user would change in
Pulumi.primary.yaml: warm capacity and another GPU.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from components.inference_cluster import GPU_POOL, POOL_LABEL
from offline.harness import ProgramRun, Registered, run_stack
from tests.support import PAIRS, TEST_SECRETS, pair, primary_overrides

CLUSTER_TYPES = {
    "aws": "aws:eks/cluster:Cluster",
    "gcp": "gcp:container/cluster:Cluster",
    "azure": "azure-native:containerservice:ManagedCluster",
}
POOL_TYPES = {
    "aws": "aws:eks/nodeGroup:NodeGroup",
    "gcp": "gcp:container/nodePool:NodePool",
    "azure": "azure-native:containerservice:AgentPool",
}
COMPONENT_PREFIX = "inference-failover:inference_cluster:"

# One stack per (pair, role): every cloud appears as a full primary and as a warm standby.
STACKS = [(p, s, role) for p, s in PAIRS for role in ("primary", "standby")]
STACK_IDS = [f"{role}-on-{p if role == 'primary' else s}-({p}-to-{s})" for p, s, role in STACKS]

# What a user changes in Pulumi.primary.yaml to get a warm primary with another GPU shape.
VARIANTS: dict[str, dict[str, Any]] = {
    "aws": {"capacity": "warm", "gpuType": "a10g"},
    "gcp": {"capacity": "warm", "gpuType": "t4", "gpuCountPerNode": 2},
    "azure": {"capacity": "warm", "gpuType": "h100"},
}


def stack_run(primary: str, standby: str, role: str) -> ProgramRun:
    runs = pair(primary, standby)
    return runs[0] if role == "primary" else runs[1]


def full_primary(cloud: str) -> ProgramRun:
    """The shipped primary (capacity full) moved to `cloud`."""
    standby = next(s for p, s in PAIRS if p == cloud)
    return pair(cloud, standby)[0]


@cache
def warm_variant(cloud: str) -> ProgramRun:
    """The shipped primary on `cloud` with capacity warm and another GPU shape."""
    return run_stack("primary", {**primary_overrides(cloud), **VARIANTS[cloud]}, TEST_SECRETS)


def all_runs() -> list[ProgramRun]:
    return [run for p, s in PAIRS for run in pair(p, s)]


def cluster_component(run: ProgramRun) -> Registered:
    found = [
        r
        for r in run.resources
        if r.type.startswith(COMPONENT_PREFIX) and r.type.endswith("InferenceCluster")
    ]
    assert len(found) == 1, [r.type for r in found]
    return found[0]


def descendants(run: ProgramRun, urn: str) -> list[Registered]:
    out: list[Registered] = []
    frontier = [urn]
    while frontier:
        children = [r for r in run.resources if r.parent in frontier]
        out += children
        frontier = [c.urn for c in children]
    return out


def node_labels(pool: Registered) -> dict[str, str]:
    if pool.type == POOL_TYPES["gcp"]:
        return dict(pool.inputs["nodeConfig"].get("labels") or {})
    if pool.type == POOL_TYPES["azure"]:
        return dict(pool.inputs.get("nodeLabels") or {})
    return dict(pool.inputs.get("labels") or {})


def pools(run: ProgramRun) -> list[Registered]:
    """Node pools of the stack's cluster; AKS's system pool is inline in the ManagedCluster."""
    return run.of_type(POOL_TYPES[run.config.cloud])


def gpu_pool(run: ProgramRun) -> Registered:
    found = [p for p in pools(run) if node_labels(p).get(POOL_LABEL) == GPU_POOL]
    assert len(found) == 1, [p.name for p in pools(run)]
    return found[0]


def taints(pool: Registered) -> set[tuple[str, str, str]]:
    """(key, value, effect) with Kubernetes effect names, whatever the cloud's spelling."""
    effects = {
        "NO_SCHEDULE": "NoSchedule",
        "NO_EXECUTE": "NoExecute",
        "PREFER_NO_SCHEDULE": "PreferNoSchedule",
    }
    if pool.type == POOL_TYPES["azure"]:
        out = set()
        for taint in pool.inputs.get("nodeTaints") or []:
            key_value, effect = taint.split(":")
            key, value = key_value.split("=")
            out.add((key, value, effect))
        return out
    raw = (
        pool.inputs["nodeConfig"].get("taints")
        if pool.type == POOL_TYPES["gcp"]
        else pool.inputs.get("taints")
    )
    return {(t["key"], t.get("value", ""), effects[t["effect"]]) for t in raw or []}


def pool_size(pool: Registered) -> tuple[int, int]:
    """(autoscaling floor, ceiling) of a node pool, whatever the cloud's fields."""
    if pool.type == POOL_TYPES["aws"]:
        scaling = pool.inputs["scalingConfig"]
        return int(scaling["minSize"]), int(scaling["maxSize"])
    if pool.type == POOL_TYPES["gcp"]:
        autoscaling = pool.inputs["autoscaling"]
        return int(autoscaling["totalMinNodeCount"]), int(autoscaling["totalMaxNodeCount"])
    return int(pool.inputs["minCount"]), int(pool.inputs["maxCount"])


LIVE_SIZE_FIELDS = {
    "aws": "scalingConfig.desiredSize",
    "gcp": "initialNodeCount",
    "azure": "count",
}
"""The field holding a pool's size at creation; the autoscaler owns it afterwards."""


def start_size(pool: Registered) -> int:
    """GPU nodes a pool starts with (GKE: initialNodeCount is per zone of nodeLocations)."""
    if pool.type == POOL_TYPES["aws"]:
        return int(pool.inputs["scalingConfig"]["desiredSize"])
    if pool.type == POOL_TYPES["gcp"]:
        return int(pool.inputs["initialNodeCount"]) * len(pool.inputs["nodeLocations"])
    return int(pool.inputs["count"])


def kubernetes_objects(run: ProgramRun) -> list[Registered]:
    # A Helm release is not a Kubernetes object (its chart renders them in the cluster).
    return [
        r
        for r in run.resources
        if r.type.startswith("kubernetes:")
        and not r.type.startswith("kubernetes:helm.sh/")
        and not _is_custom_resource(r.type)
    ]


def _is_custom_resource(type_token: str) -> bool:
    # CRs (PodMonitoring, ...) are validated against their CRD's schema by their own tests;
    # the Kubernetes schema knows only built-in groups (core, apps, *.k8s.io, policy, ...).
    group = type_token.split(":")[1].rsplit("/", 1)[0] if "/" in type_token.split(":")[1] else ""
    return "." in group and not group.endswith("k8s.io")


def k8s_object(run: ProgramRun, kind: str, name: str = "inference-server") -> dict[str, Any]:
    found = [
        manifest(r)
        for r in kubernetes_objects(run)
        if r.inputs.get("kind") == kind and (r.inputs.get("metadata") or {}).get("name") == name
    ]
    assert len(found) == 1, f"{kind}/{name}: {len(found)}"
    return found[0]


def _json_numbers(value: Any) -> Any:
    # The wire format carries every number as a double; Kubernetes integers are JSON integers.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    return value


def manifest(resource: Registered) -> dict[str, Any]:
    """The object the Kubernetes provider would send, rebuilt from the registered inputs."""
    return _json_numbers(dict(resource.inputs))


def pod_spec(run: ProgramRun) -> dict[str, Any]:
    spec: dict[str, Any] = k8s_object(run, "Deployment")["spec"]["template"]["spec"]
    return spec


def container(run: ProgramRun, name: str) -> dict[str, Any]:
    spec = pod_spec(run)
    found = [c for c in spec.get("containers", []) + spec.get("initContainers", []) if c["name"] == name]
    assert len(found) == 1, name
    return found[0]

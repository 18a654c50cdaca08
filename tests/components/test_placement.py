"""GPU-aware placement: GPU pools go where the cloud offers the GPU shape, never where it does not.

The program asks each cloud (mocked from recorded per-region tables in
offline/mock_outputs/placement.py) and places the pool; a region or `gpuZones` that cannot host the
shape fails with the key, the value and the fix.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from components.inference_cluster.placement import (
    EKS_UNSUPPORTED_ZONE_IDS,
    PlacementError,
    arm_compute_skus,
    azure_offered_zones,
    gce_accelerator_zones,
    gke_initial_nodes_per_zone,
    gke_node_locations,
    plan_eks_zones,
)
from offline.harness import ProgramError, ProgramRun, run_stack
from offline.mock_outputs.placement import AWS_OFFERINGS, GCP_SERIES, GCP_ZONES, recorded_compute_skus
from tests.components.inference_cluster_support import full_primary, gpu_pool
from tests.infra.test_config import problems
from tests.support import TEST_SECRETS, primary_overrides


def _subnets_by_id(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {s.outputs["id"]: s.inputs for s in run.of_type("aws:ec2/subnet:Subnet")}


def _primary(cloud: str, **overrides: Any) -> ProgramRun:
    return run_stack("primary", {**primary_overrides(cloud), **overrides}, TEST_SECRETS)


def test_eks_subnets_use_zone_ids_where_ec2_offers_the_gpu_and_eks_accepts() -> None:
    run = full_primary("aws")
    offered = set(AWS_OFFERINGS["g6"]["us-east-1"])
    subnets = _subnets_by_id(run)
    # Placed by zone ID (the same physical zone in every account), never by name.
    assert all("availabilityZone" not in s and s["availabilityZoneId"] for s in subnets.values())
    gpu_zones = {subnets[i]["availabilityZoneId"] for i in gpu_pool(run).inputs["subnetIds"]}
    assert gpu_zones and gpu_zones <= offered
    assert len(gpu_zones) == 3
    assert not {s["availabilityZoneId"] for s in subnets.values()} & EKS_UNSUPPORTED_ZONE_IDS


def test_eks_gpu_in_one_zone_still_gives_the_cluster_two_zones() -> None:
    plan = plan_eks_zones(
        gpu_offered=["use1-az3", "use1-az6"],
        region_zone_ids=["use1-az1", "use1-az2", "use1-az3", "use1-az6"],
        override=(),
        region="us-east-1",
        what="p5.48xlarge (h100)",
        subnet_count=3,
    )
    # use1-az3 is refused by EKS even though EC2 sells the type there.
    assert plan.gpu_zone_ids == ("use1-az6",)
    assert plan.subnet_zone_ids == ("use1-az6", "use1-az1", "use1-az2")


def test_eks_subnets_wrap_only_when_the_region_has_too_few_zones() -> None:
    plan = plan_eks_zones(
        gpu_offered=["usw1-az1", "usw1-az3"],
        region_zone_ids=["usw1-az1", "usw1-az2", "usw1-az3"],
        override=(),
        region="us-west-1",
        what="g4dn.xlarge (t4)",
        subnet_count=3,
    )
    assert plan.gpu_zone_ids == ("usw1-az1", "usw1-az3")
    assert plan.subnet_zone_ids == ("usw1-az1", "usw1-az3", "usw1-az1")


def test_eks_refused_zone_in_gpu_zones_names_the_reason() -> None:
    with pytest.raises(PlacementError) as caught:
        plan_eks_zones(
            gpu_offered=["use1-az1", "use1-az3"],
            region_zone_ids=["use1-az1", "use1-az2", "use1-az3"],
            override=("use1-az3",),
            region="us-east-1",
            what="g6.2xlarge (l4)",
            subnet_count=3,
        )
    assert str(caught.value) == (
        "stack config 'gpuZones' must be zones of us-east-1 where g6.2xlarge (l4) is offered: use1-az1 "
        "(got ['use1-az3']): remove use1-az3 (EKS refuses it for cluster subnets), or unset gpuZones "
        "to choose automatically"
    )


def test_gke_gpu_pool_lists_only_zones_with_the_accelerator() -> None:
    run = full_primary("gcp")
    accelerator, zones = GCP_SERIES["g2"]
    locations = gpu_pool(run).inputs["nodeLocations"]
    region_zones = GCP_ZONES["us-central1"]
    assert accelerator == "nvidia-l4"
    assert locations == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert set(locations) <= set(zones) & set(region_zones)
    assert "us-central1-f" in region_zones and "us-central1-f" not in locations
    assert "initialNodeCount" in gpu_pool(run).ignore_changes


def test_gke_initial_nodes_never_exceed_the_ceiling() -> None:
    assert gke_node_locations(["a", "b", "c"], max_total=1) == ["a"]
    assert gke_initial_nodes_per_zone(1, 1, 1) == 1
    assert gke_initial_nodes_per_zone(2, 3, 4) == 1
    assert gke_initial_nodes_per_zone(5, 2, 6) == 3
    assert gke_initial_nodes_per_zone(7, 3, 7) == 2  # 3 x 3 would pass the ceiling of 7


def test_aks_gpu_pool_zones_come_from_the_subscriptions_compute_skus() -> None:
    run = full_primary("azure")  # a100-80gb: Standard_NC24ads_A100_v4 in eastus
    assert gpu_pool(run).inputs["availabilityZones"] == ["2", "3"]


def test_azure_sku_restrictions_and_zoneless_locations() -> None:
    east2 = recorded_compute_skus("sub", "eastus2")
    # Zone 1 is NotAvailableForSubscription for this size there.
    assert azure_offered_zones(east2, "Standard_NC24ads_A100_v4", "eastus2") == ["2", "3"]
    assert azure_offered_zones(east2, "Standard_NC40ads_H100_v5", "eastus2") == ["1", "2", "3"]
    # westus has no availability zones: offered, regional.
    assert azure_offered_zones(recorded_compute_skus("sub", "westus"), "Standard_NC4as_T4_v3", "westus") == []
    assert (
        azure_offered_zones(
            recorded_compute_skus("sub", "brazilsouth"), "Standard_NC24ads_A100_v4", "brazilsouth"
        )
        is None
    )


@pytest.mark.parametrize(
    ("cloud", "overrides", "expected"),
    [
        (
            "aws",
            {"region": "us-west-1"},
            "stack config 'region' must be a region where g6.2xlarge (l4) is offered (got 'us-west-1'): "
            "EC2 DescribeInstanceTypeOfferings (location type availability-zone-id) lists it in no usable "
            "zone of us-west-1; pick another region, or another gpuType / gpuInstanceType, in the stack file",
        ),
        (
            "gcp",
            {"region": "northamerica-northeast1"},
            "stack config 'region' must be a region where g2-standard-8 (l4) with nvidia-l4 is offered "
            "(got 'northamerica-northeast1'): Compute Engine machineTypes.list and acceleratorTypes "
            "per zone lists it in no usable zone of northamerica-northeast1; pick another region",
        ),
        (
            "azure",
            {"region": "brazilsouth"},
            "stack config 'region' must be a region where Standard_NC24ads_A100_v4 (a100-80gb) is offered "
            "(got 'brazilsouth'): Microsoft.Compute/skus for this subscription lists it in no usable zone",
        ),
    ],
    ids=["aws", "gcp", "azure"],
)
def test_region_without_the_gpu_fails_naming_key_value_and_fix(
    cloud: str, overrides: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ProgramError) as caught:
        _primary(cloud, **overrides)
    assert expected in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_gpu_zones_override_places_the_pool_there() -> None:
    run = _primary("aws", gpuZones=["use1-az4", "use1-az2"])
    subnets = _subnets_by_id(run)
    gpu_zones = {subnets[i]["availabilityZoneId"] for i in gpu_pool(run).inputs["subnetIds"]}
    assert gpu_zones == {"use1-az2", "use1-az4"}
    gcp = _primary("gcp", gpuZones=["us-central1-b"])
    assert gpu_pool(gcp).inputs["nodeLocations"] == ["us-central1-b"]


@pytest.mark.parametrize(
    ("cloud", "zones", "expected"),
    [
        ("aws", ["use1-az5"], "remove use1-az5"),
        (
            "gcp",
            ["us-central1-f"],
            "zones of us-central1 where g2-standard-8 (l4) with nvidia-l4 is offered: "
            "us-central1-a, us-central1-b, us-central1-c (got ['us-central1-f'])",
        ),
        (
            "azure",
            ["1", "2"],
            "zones of eastus where Standard_NC24ads_A100_v4 (a100-80gb) is offered: 2, 3 "
            "(got ['1', '2']): remove 1",
        ),
    ],
    ids=["aws", "gcp", "azure"],
)
def test_gpu_zones_where_the_gpu_is_not_offered_are_refused(
    cloud: str, zones: list[str], expected: str
) -> None:
    with pytest.raises(ProgramError) as caught:
        _primary(cloud, gpuZones=zones)
    assert "stack config 'gpuZones' must be" in str(caught.value)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("cloud", "zones", "expected"),
    [
        ("aws", ["usw2-az1"], "zone IDs of us-east-1 such as use1-az1 (got ['usw2-az1'])"),
        ("gcp", ["us-east4-a"], "zone names of us-central1 such as us-central1-a (got ['us-east4-a'])"),
        ("azure", ["4"], "zone numbers 1-3 of eastus such as 1 (got ['4'])"),
    ],
    ids=["aws", "gcp", "azure"],
)
def test_gpu_zones_outside_the_region_fail_at_config_time(
    cloud: str, zones: list[str], expected: str
) -> None:
    found = problems("primary", **primary_overrides(cloud), gpuZones=zones)
    assert [p for p in found if p.startswith("stack config 'gpuZones' must be") and expected in p], found


def test_gpu_zones_must_be_a_list() -> None:
    found = problems("primary", gpuZones="use1-az1")
    assert any(p.startswith("stack config 'gpuZones' must be a list of strings") for p in found), found


# --- ARM Compute SKUs, against a local server playing management.azure.com ---------------------


@pytest.fixture
def arm_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    pages = {
        "/subscriptions/sub-1/providers/Microsoft.Compute/skus": {
            "value": recorded_compute_skus("sub-1", "eastus")[:1],
            "nextLink": "NEXT/page2",
        },
        "/page2": {"value": recorded_compute_skus("sub-1", "eastus")[1:]},
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.headers['Authorization']} {self.path}")
            body = json.dumps(pages[self.path.split("?")[0]]).replace("NEXT", base).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, seen
    server.shutdown()
    server.server_close()


def test_arm_compute_skus_reads_every_page_with_the_bearer_token(arm_server: tuple[str, list[str]]) -> None:
    base, seen = arm_server
    records = arm_compute_skus("sub-1", "eastus", endpoint=base, token="tok")
    assert [r["name"] for r in records] == [r["name"] for r in recorded_compute_skus("sub-1", "eastus")]
    assert azure_offered_zones(records, "Standard_NC24ads_A100_v4", "eastus") == ["2", "3"]
    assert seen[0].startswith(
        "Bearer tok /subscriptions/sub-1/providers/Microsoft.Compute/skus?api-version=2021-07-01"
    )
    assert "location+eq+%27eastus%27" in seen[0]
    assert seen[1] == "Bearer tok /page2"


def test_a_zone_incident_does_not_move_the_gpu_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cut-over's `pulumi up` runs during an incident; a zone reported impaired / DOWN then
    # must not change subnets (EKS refuses a new AZ set) or node_locations.
    from offline.mock_outputs import placement as mocked

    before_aws = _primary("aws").outputs["gpuZones"]
    before_gcp = _primary("gcp").outputs["gpuZones"]
    monkeypatch.setattr(mocked, "AWS_IMPAIRED", {"use1-az2"})
    monkeypatch.setattr(mocked, "GCP_DOWN", {"us-central1-b"})
    assert _primary("aws").outputs["gpuZones"] == before_aws == ["use1-az1", "use1-az2", "use1-az4"]
    assert (
        _primary("gcp").outputs["gpuZones"]
        == before_gcp
        == ["us-central1-a", "us-central1-b", "us-central1-c"]
    )


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_chosen_gpu_zones_are_a_stack_output_to_pin(cloud: str) -> None:
    run = full_primary(cloud)
    pool = gpu_pool(run)
    zones = run.outputs["gpuZones"]
    if cloud == "aws":
        subnets = _subnets_by_id(run)
        assert sorted({subnets[i]["availabilityZoneId"] for i in pool.inputs["subnetIds"]}) == zones
    elif cloud == "gcp":
        assert pool.inputs["nodeLocations"] == zones
    else:
        assert pool.inputs["availabilityZones"] == zones
    # Pinning them reproduces the same placement.
    assert _primary(cloud, gpuZones=zones).outputs["gpuZones"] == zones


def test_gke_n1_shapes_need_the_attached_gpu_in_the_zone() -> None:
    # n1-standard-16 exists in every europe-west4 zone, the T4 only in b and c.
    from offline.mock_outputs import placement as mocked

    mocked.ACCELERATOR_LOOKUPS.clear()
    run = _primary("gcp", region="europe-west4", gpuType="t4", gpuCountPerNode=2)
    assert gpu_pool(run).inputs["nodeLocations"] == ["europe-west4-b", "europe-west4-c"]
    assert mocked.ACCELERATOR_LOOKUPS == [("acme-inference-standby", "nvidia-tesla-t4")]


def test_gke_bundled_gpu_shapes_need_no_extra_lookup() -> None:
    from offline.mock_outputs import placement as mocked

    mocked.ACCELERATOR_LOOKUPS.clear()
    _primary("gcp")
    assert mocked.ACCELERATOR_LOOKUPS == []


@pytest.fixture
def gce_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    pages = {
        None: {
            "items": {
                "zones/us-central1-a": {"acceleratorTypes": [{"name": "nvidia-tesla-t4"}]},
                "zones/us-central1-d": {"warning": {"code": "NO_RESULTS_ON_PAGE"}},
            },
            "nextPageToken": "p2",
        },
        "p2": {"items": {"zones/europe-west4-b": {"acceleratorTypes": [{"name": "nvidia-tesla-t4"}]}}},
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            from urllib.parse import parse_qs, urlparse

            seen.append(f"{self.headers['Authorization']} {self.path}")
            token = parse_qs(urlparse(self.path).query).get("pageToken", [None])[0]
            body = json.dumps(pages[token]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def test_gce_accelerator_zones_reads_every_page(gce_server: tuple[str, list[str]]) -> None:
    base, seen = gce_server
    zones = gce_accelerator_zones("proj-1", "nvidia-tesla-t4", endpoint=base, token="tok")
    assert zones == ["europe-west4-b", "us-central1-a"]
    assert seen[0].startswith(
        "Bearer tok /compute/v1/projects/proj-1/aggregated/acceleratorTypes?filter=name"
    )
    assert "pageToken=p2" in seen[1]


def test_eks_cluster_spans_three_distinct_zones_when_the_gpu_is_in_two() -> None:
    run = _primary("aws", region="ca-central-1")  # g6 in cac1-az1/az2 only; cac1-az3 refused
    subnets = _subnets_by_id(run)
    zones = [s["availabilityZoneId"] for s in subnets.values() if "private" in s["tags"]["Name"]]
    assert sorted(zones) == ["cac1-az1", "cac1-az2", "cac1-az4"]
    gpu_zones = {subnets[i]["availabilityZoneId"] for i in gpu_pool(run).inputs["subnetIds"]}
    assert gpu_zones == {"cac1-az1", "cac1-az2"} == set(run.outputs["gpuZones"])
    # EC2 reports each subnet's zone name too; in this account names and IDs do not line up.
    names = {s.outputs["availabilityZone"] for s in run.of_type("aws:ec2/subnet:Subnet")}
    assert names == {"ca-central-1b", "ca-central-1c", "ca-central-1a"}


def test_azure_location_without_zones_gives_a_regional_pool_and_refuses_gpu_zones() -> None:
    run = _primary("azure", region="westus", gpuType="t4", gpuCountPerNode=4)
    assert gpu_pool(run).inputs.get("availabilityZones") in (None, [])
    assert run.outputs["gpuZones"] == []
    # Every warning of the run, exactly: the store's fallback first (the program's log), then the
    # config's (the shipped file's account and open API range, an azure stack's unset deployerCidrs).
    assert run.warnings == [
        "azure region westus has no availability zones, so the model store uses Standard_RAGRS instead of "
        "zone-redundant GZRS; pick a zonal region for zone redundancy",
        "dockerHubUsername is not used here: the azure registry cache pulls this image's digest once, "
        "anonymously",
        "kubernetesApiAllowedCidrs admits 0.0.0.0/0: the Kubernetes API endpoint accepts connections from "
        "any address (every request still needs cloud IAM credentials); narrow it to your deployer and CI "
        "egress ranges in Pulumi.primary.yaml",
        "deployerCidrs is unset: the Key Vault and the storage account admit only the cluster's subnet, "
        "so model uploads, `failover verify` and a standby on another cloud reading this bucket are refused "
        "from outside; list those egress ranges in deployerCidrs in Pulumi.primary.yaml (pulumi up itself "
        "writes secrets through Azure Resource Manager)",
    ]
    with pytest.raises(ProgramError) as caught:
        _primary("azure", region="westus", gpuType="t4", gpuCountPerNode=4, gpuZones=["1"])
    assert (
        "stack config 'gpuZones' must be unset in westus, which offers Standard_NC64as_T4_v3 (t4) without "
        "availability zones (got ['1']): remove gpuZones from the stack file"
    ) in str(caught.value)


def test_every_aws_region_knows_its_zone_id_prefix() -> None:
    from infra.catalog import AWS_ZONE_ID_PREFIX, REGIONS, zone_in_region

    assert set(REGIONS["aws"]) <= set(AWS_ZONE_ID_PREFIX)
    assert zone_in_region("aws", "ap-northeast-1", "apne1-az4")
    assert not zone_in_region("aws", "ap-northeast-1", "apne2-az1")

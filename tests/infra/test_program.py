"""Whole-program properties over every cloud pair, on the real stack files."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import outputs
from infra.plan import MASK
from infra.plan import main as plan_main
from offline.harness import ROOT, ProgramRun, Registered, run_stack
from tests.support import PAIR_IDS, PAIRS, TEST_SECRETS, pair, primary_overrides, shipped

PROVIDER_PACKAGES = {"aws": "aws", "gcp": "gcp", "azure": "azure-native"}


def _package(resource: Registered) -> str:
    return resource.type.split(":", 1)[0]


def _provider_cloud(resource: Registered, run: ProgramRun) -> str:
    """Which cloud a custom resource's explicit provider talks to."""
    provider_type = resource.provider.split("::")[2].split("$")[-1]  # pulumi:providers:<pkg>
    package = provider_type.split(":")[-1]
    return {v: k for k, v in PROVIDER_PACKAGES.items()}.get(package, package)


def _ancestors(resource: Registered, run: ProgramRun) -> list[Registered]:
    by_urn = {r.urn: r for r in run.resources}
    chain = []
    parent = by_urn.get(resource.parent)
    while parent is not None:
        chain.append(parent)
        parent = by_urn.get(parent.parent)
    return chain


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_no_resource_uses_a_default_provider(primary: str, standby: str) -> None:
    for run in pair(primary, standby):
        custom = [r for r in run.resources if r.custom and not r.type.startswith("pulumi:providers:")]
        assert custom, "the program registered no resources"
        defaults = [f"{r.type} {r.name}: {r.provider}" for r in custom if "::default" in r.provider]
        missing = [
            f"{r.type} {r.name}"
            for r in custom
            if not r.provider and r.type != "pulumi:pulumi:StackReference"
        ]
        assert defaults == [] and missing == []


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_standby_depends_on_nothing_in_primary_cloud_except_replication(primary: str, standby: str) -> None:
    """Blast-radius isolation: during a primary outage only the replication read side is lost."""
    _, standby_run = pair(primary, standby)
    dns_cloud = standby_run.config.dns.provider
    on_primary_cloud = [
        r
        for r in standby_run.resources
        if r.custom and r.provider and _provider_cloud(r, standby_run) == primary and primary != dns_cloud
    ]
    outside_replication = [
        f"{r.type} {r.name}"
        for r in on_primary_cloud
        if not any(
            "CrossCloudReplication" in a.type or "Replication" in a.type for a in _ancestors(r, standby_run)
        )
    ]
    assert outside_replication == []
    own_cloud = {
        r.type.split(":")[1].split("/")[0]
        for r in standby_run.resources
        if r.custom and _package(r) == PROVIDER_PACKAGES[standby]
    }
    assert own_cloud, f"standby registered nothing on its own cloud {standby}"


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_stack_outputs_name_endpoint_model_store_and_dns(primary: str, standby: str) -> None:
    for run, cloud in zip(pair(primary, standby), (primary, standby), strict=True):
        out = run.outputs
        assert out[outputs.CLOUD] == cloud
        assert out[outputs.SERVICE_FQDN] == "api.example.com"
        assert out[outputs.ENDPOINT_URL].startswith("http")
        assert out[outputs.MODEL_STORE]["cloud"] == cloud
        assert out[outputs.MODEL_URI].endswith("/models/llama-3.1-8b-instruct/")
        assert set(out[outputs.SECRET_IDS]) == {"apiKey"}


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_secret_values_never_appear_in_plain_inputs_or_outputs(primary: str, standby: str) -> None:
    secret = TEST_SECRETS["apiKey"]
    for run in pair(primary, standby):
        leaks = [
            f"{r.type} {r.name}.{key}"
            for r in run.resources
            for key, value in r.inputs.items()
            if secret in json.dumps(value, default=str) and key not in r.secret_inputs
        ]
        assert leaks == []
        plain_outputs = {k: v for k, v in run.outputs.items() if k != outputs.KUBECONFIG}
        assert secret not in json.dumps(plain_outputs, default=str)


def test_no_deprecated_provider_api_is_used() -> None:
    """Deprecated resources warn at import and deprecated fields via pulumi.log: catch both."""
    runs = [run for p, s in PAIRS for run in pair(p, s)]
    deprecation_logs = sorted({w for run in runs for w in run.warnings if "deprecated" in w.lower()})
    assert deprecation_logs == []
    types = {r.type for run in runs for r in run.resources}
    deprecated = []
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith(
            ("pulumi_aws.", "pulumi_gcp.", "pulumi_azure_native.")
        ):
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            token = getattr(cls, "_pulumi_type", None)
            if token in types and cls.__module__ == module.__name__:
                source = inspect.getsource(cls).split("def __init__", 1)[0]
                if "has been deprecated" in source or "is deprecated" in source:
                    deprecated.append(token)
    assert sorted(set(deprecated)) == []


@pytest.mark.parametrize("stack", ["primary", "standby"])
def test_plan_command_renders_each_shipped_stack(stack: str, capsys: Any) -> None:
    assert plan_main([stack]) == 0
    text = capsys.readouterr().out
    assert f"Offline plan for stack '{stack}'" in text
    expected = {
        "primary": ["aws:eks/cluster:Cluster", '["g6.2xlarge"]', "replicas=2"],
        "standby": [
            "gcp:container/cluster:Cluster",
            "machineType=g2-standard-8",
            "type=nvidia-l4",
            "replicas=1",
        ],
    }[stack]
    assert [e for e in expected if e not in text] == []
    assert "nothing was created" in text


def test_plan_json_lists_resources_with_secret_values_masked(capsys: Any) -> None:
    assert plan_main(["primary", "--json"]) == 0
    resources = json.loads(capsys.readouterr().out)
    assert {"urn", "type", "name", "parent", "inputs"} == set(resources[0])
    assert len(resources) == len(shipped("primary").resources)
    versions = [r for r in resources if r["type"] == "aws:secretsmanager/secretVersion:SecretVersion"]
    assert versions and all(v["inputs"]["secretString"] == MASK for v in versions)
    assert "offline-plan-placeholder-secret" not in json.dumps(resources)


def test_plan_reports_bad_config_and_exits_non_zero(tmp_path: Path, capsys: Any) -> None:
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    broken = (tmp_path / "Pulumi.primary.yaml").read_text().replace("cloud: aws", "cloud: awz")
    (tmp_path / "Pulumi.primary.yaml").write_text(broken)
    assert plan_main(["primary", "--workdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert (
        "stack config 'cloud' must be one of aws, gcp, azure, onprem (got 'awz'): "
        "set it in Pulumi.primary.yaml" in err
    )


@pytest.mark.parametrize("wait", [False, True])
def test_first_deploy_does_not_wait_for_a_model_the_bucket_does_not_hold_yet(wait: bool) -> None:
    run = run_stack("primary", overrides={"waitForModel": wait}, secrets=TEST_SECRETS)
    (deployment,) = [r for r in run.of_type("kubernetes:apps/v1:Deployment") if r.name.endswith("-server")]
    annotations = deployment.inputs["metadata"].get("annotations", {})
    assert ("pulumi.com/skipAwait" in annotations) is not wait


@pytest.mark.parametrize("wait", [False, True])
@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_service_waits_for_its_load_balancer_not_for_a_loaded_model(cloud: str, wait: bool) -> None:
    """pulumi-kubernetes' default Service await needs ready endpoints within 10 minutes, which a
    first deploy without the model never has: without waitForModel the Service waits only for its
    load balancer's address (the field each cloud's load balancer reports)."""
    overrides = {**primary_overrides(cloud), "waitForModel": wait}
    run = run_stack("primary", overrides=overrides, secrets=TEST_SECRETS)
    (service,) = [r for r in run.of_type("kubernetes:core/v1:Service") if r.name.endswith("-service")]
    annotations = service.inputs["metadata"].get("annotations", {})
    field = "hostname" if cloud == "aws" else "ip"
    if wait:
        assert "pulumi.com/waitFor" not in annotations and "pulumi.com/skipAwait" not in annotations
    else:
        assert annotations["pulumi.com/waitFor"] == f"jsonpath={{.status.loadBalancer.ingress[0].{field}}}"
        assert "pulumi.com/skipAwait" not in annotations


def test_a_service_without_a_load_balancer_is_not_awaited_unless_the_model_is() -> None:
    from components.inference_cluster.workload import service_await_annotations

    skip = {"pulumi.com/skipAwait": "true"}
    assert service_await_annotations("onprem", False, has_load_balancer=False) == skip
    assert service_await_annotations("onprem", True, has_load_balancer=False) == {}


def test_pulumi_entry_point_registers_the_same_stack_as_the_harness() -> None:
    """`pulumi up` runs infra/__main__.py (Pulumi.yaml `main: infra/`); it must build the same stack."""
    import runpy

    def entry_point(cfg: Any, secrets: Any) -> dict[str, Any]:
        runpy.run_path(str(ROOT / "infra" / "__main__.py"), run_name="__main__")
        return {}

    run = run_stack("primary", secrets=TEST_SECRETS, program=entry_point)
    expected = shipped("primary")
    assert sorted((r.type, r.name) for r in run.resources) == sorted(
        (r.type, r.name) for r in expected.resources
    )

"""Stack config of the on-prem target (issue 12): cluster access, GPU nodes, exposure, registry,
air gap. Every bad input is refused before anything exists, naming the key, the value and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.config import PROJECT, ConfigError, StackConfig, parse_config
from infra.config_onprem import GpuTaint, kubeconfig_problem
from offline.harness import load_stack_config
from tests.support import (
    ONPREM_KUBECONFIG,
    SITE_IMAGE,
    SITE_REGISTRY,
    pair_secrets,
    primary_overrides,
    standby_overrides,
)

SITE = primary_overrides("onprem", "aws")
SECRETS = pair_secrets("onprem", "aws")
KUBECONFIG_TEXT = Path(ONPREM_KUBECONFIG).read_text()


def _raw(
    stack: str, overrides: dict[str, Any], secrets: dict[str, str]
) -> tuple[dict[str, str], frozenset[str]]:
    config, secret_keys = load_stack_config(stack, overrides=overrides, secrets=secrets)
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}
    return raw, frozenset(k[len(prefix) :] for k in secret_keys)


def parse(stack: str = "primary", secrets: dict[str, str] | None = None, **overrides: Any) -> StackConfig:
    base = SITE if stack == "primary" else standby_overrides("onprem", "onprem")
    raw, secret_keys = _raw(stack, {**base, **overrides}, secrets if secrets is not None else SECRETS)
    return parse_config(raw, stack, secret_keys)


def problems(stack: str = "primary", secrets: dict[str, str] | None = None, **overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(stack, secrets, **overrides)
    return [str(p) for p in caught.value.problems]


def only(found: list[str], key: str) -> str:
    mine = [p for p in found if p.startswith(f"stack config '{key}' ")]
    assert len(mine) == 1, found
    return mine[0]


# --- Accepted ----------------------------------------------------------------------------------


def test_site_profile_parses_into_onprem_settings() -> None:
    cfg = parse()
    site = cfg.onprem
    assert site is not None
    assert (cfg.cloud, cfg.region, site.site) == ("onprem", "fra-dc1", "fra-dc1")
    assert (site.kubeconfig_path, site.kube_context) == (ONPREM_KUBECONFIG, "fra-dc1")
    assert dict(site.gpu_node_selector) == {"nvidia.com/gpu.present": "true"}
    assert site.gpu_taint == GpuTaint("nvidia.com/gpu", "present", "NoSchedule")
    assert site.gpu_resource_name == "nvidia.com/gpu"  # the default
    assert (site.exposure, site.exposure_address) == ("loadBalancerAddress", "203.0.113.10")
    assert (site.image_registry, site.air_gapped) == (SITE_REGISTRY, False)
    assert cfg.alerting is None  # no managed alerting on a site
    assert cfg.clouds_used == ("onprem", "aws")


def test_catalogue_gpu_gives_the_fit_check_its_memory() -> None:
    cfg = parse()
    assert (cfg.gpu.shape.machine_type, cfg.gpu.shape.gpu_memory_gib) == ("onprem:l40s", 48)
    assert cfg.serving is not None and cfg.serving.estimate.gpu_gib == pytest.approx((46068 - 438) / 1024)


def test_declared_memory_of_a_gpu_outside_the_catalogue_drives_the_fit_check() -> None:
    cfg = parse(gpuType="rtx-6000-ada", gpuMemoryGiB=48)
    assert cfg.gpu.gpu_type == "rtx-6000-ada" and cfg.gpu.shape.gpu_memory_gib == 48
    assert cfg.serving is not None and cfg.serving.estimate.gpu_gib == pytest.approx((48 * 1024 - 438) / 1024)


def test_declared_memory_replaces_the_catalogue_figure() -> None:
    # An H100 NVL (94 GB) where the catalogue's smallest h100 is 80 GB.
    cfg = parse(gpuType="h100", gpuMemoryGiB=93.6)
    assert cfg.serving is not None and cfg.serving.estimate.gpu_gib == pytest.approx(
        (93.6 * 1024 - 438) / 1024
    )


def test_secret_kubeconfig_with_its_current_context() -> None:
    cfg = parse(secrets={**SECRETS, "kubeconfig": KUBECONFIG_TEXT}, kubeconfigPath=None, kubeContext=None)
    assert cfg.onprem is not None and (cfg.onprem.kubeconfig_path, cfg.onprem.kube_context) == (None, None)


def test_secret_kubeconfig_with_another_context() -> None:
    cfg = parse(
        secrets={**SECRETS, "kubeconfig": KUBECONFIG_TEXT}, kubeconfigPath=None, kubeContext="ams-dc2"
    )
    assert cfg.onprem is not None and cfg.onprem.kube_context == "ams-dc2"


def test_external_ip_exposure_and_an_untainted_gpu_node() -> None:
    cfg = parse(exposure="externalIp", gpuTaint=None, gpuResourceName="amd.com/gpu")
    assert cfg.onprem is not None
    assert (cfg.onprem.exposure, cfg.onprem.gpu_taint, cfg.onprem.gpu_resource_name) == (
        "externalIp",
        None,
        "amd.com/gpu",
    )


def test_two_sites_pair_as_primary_and_standby() -> None:
    cfg = parse("standby")
    assert (cfg.cloud, cfg.primary_cloud, cfg.region) == ("onprem", "onprem", "ams-dc2")


# --- Cluster access ------------------------------------------------------------------------------


def test_fails_on_a_kubeconfig_that_does_not_parse() -> None:
    found = problems(secrets={**SECRETS, "kubeconfig": "apiVersion: v1\nclusters: [\n"}, kubeconfigPath=None)
    message = only(found, "kubeconfig")
    assert (
        "must be a kubeconfig in YAML (it does not parse" in message
        and "(got '<secret kubeconfig>')" in message
    )
    assert "pulumi config set --secret kubeconfig" in message


def test_fails_on_a_context_the_kubeconfig_does_not_have() -> None:
    message = only(problems(kubeContext="lon-dc3"), "kubeContext")
    assert (
        "must be a kubeconfig with the context 'lon-dc3' (it has ['ams-dc2', 'fra-dc1']) (got 'lon-dc3')"
        in message
    )
    assert f"kubectl --kubeconfig {ONPREM_KUBECONFIG} config get-contexts" in message


def test_fails_on_a_secret_kubeconfig_missing_the_named_context() -> None:
    found = problems(secrets={**SECRETS, "kubeconfig": KUBECONFIG_TEXT}, kubeconfigPath=None, kubeContext="x")
    assert "must be a kubeconfig with the context 'x'" in only(found, "kubeContext")


def test_fails_on_both_kubeconfig_and_kubeconfig_path() -> None:
    found = problems(secrets={**SECRETS, "kubeconfig": KUBECONFIG_TEXT})
    message = only(found, "kubeconfigPath")
    assert "must be unset when the secret kubeconfig is set" in message
    assert "set exactly one of kubeconfig (secret) and kubeconfigPath" in message


def test_fails_on_neither_kubeconfig_nor_path() -> None:
    message = only(problems(kubeconfigPath=None), "kubeconfig")
    assert "must be set on onprem" in message and "(got nothing)" in message
    assert "pulumi config set --secret kubeconfig" in message


def test_fails_on_a_plain_text_kubeconfig() -> None:
    raw, secret_keys = _raw(
        "primary", {**SITE, "kubeconfigPath": None, "kubeconfig": KUBECONFIG_TEXT}, SECRETS
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", secret_keys)
    assert "must be a secret, not plain text" in only([str(p) for p in caught.value.problems], "kubeconfig")


def test_fails_on_a_path_without_a_context() -> None:
    assert "must be set with kubeconfigPath" in only(problems(kubeContext=None), "kubeContext")


def test_fails_on_an_unreadable_kubeconfig_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    message = only(problems(kubeconfigPath=missing), "kubeconfigPath")
    assert f"(got '{missing}')" in message and "readable kubeconfig file" in message


def test_offline_plan_placeholder_kubeconfig_is_not_parsed() -> None:
    secrets = {**SECRETS, "kubeconfig": "offline-plan-placeholder-secret"}
    assert parse(secrets=secrets, kubeconfigPath=None, kubeContext=None).onprem is not None


@pytest.mark.parametrize(
    ("text", "context", "expected"),
    [
        ("[]", None, "a kubeconfig with a `contexts` list"),
        ("contexts: []\n", None, "a kubeconfig with a current-context"),
        (
            KUBECONFIG_TEXT.replace("cluster: fra-dc1, user", "cluster: gone, user"),
            None,
            "names a cluster it defines",
        ),
        (KUBECONFIG_TEXT.replace("https://192.0.2.10", "http://192.0.2.10"), None, "has an https:// server"),
        (
            KUBECONFIG_TEXT.replace("cluster: fra-dc1, user: deployer", "cluster: fra-dc1, user: x"),
            None,
            "user",
        ),
        (KUBECONFIG_TEXT, "ams-dc2", None),
    ],
)
def test_kubeconfig_checks(text: str, context: str | None, expected: str | None) -> None:
    found = kubeconfig_problem(text, context)
    assert (found is None) if expected is None else (found is not None and expected in found)


# --- GPU nodes -----------------------------------------------------------------------------------


def test_fails_on_a_gpu_outside_the_catalogue_without_declared_memory() -> None:
    message = only(problems(gpuType="mi300x"), "gpuMemoryGiB")
    assert "must be set, because gpuType 'mi300x' is not in the GPU catalogue (a100, a100-80gb" in message
    assert "nvidia-smi --query-gpu=memory.total" in message and "(got nothing)" in message


@pytest.mark.parametrize("memory", ["0", "2000", "lots"])
def test_fails_on_declared_memory_out_of_range(memory: str) -> None:
    assert "must be a number of GiB between 1 and 1024" in only(problems(gpuMemoryGiB=memory), "gpuMemoryGiB")


def test_fit_check_refuses_a_model_the_site_gpu_cannot_hold() -> None:
    # 16 GiB: Llama 3.1 8B's 15 GiB of weights leave no KV cache under a 0.9 budget.
    message = only(problems(gpuType="t4-like", gpuMemoryGiB=16), "gpuType")
    assert "a GPU shape that holds llama-3.1-8b-instruct" in message and "onprem:t4-like" in message
    assert "the site's GPU nodes are what they are: raise gpuCountPerNode" in message


def test_fit_check_names_the_longest_context_that_fits_a_site_gpu() -> None:
    message = only(problems(gpuType="l4", maxModelLen=131072), "maxModelLen")
    assert "at most" in message and "raise gpuCountPerNode if the nodes carry more GPUs" in message


@pytest.mark.parametrize("taint", ["nvidia.com/gpu=present", "nvidia.com/gpu:Sometimes", "=x:NoSchedule"])
def test_fails_on_a_malformed_taint(taint: str) -> None:
    message = only(problems(gpuTaint=taint), "gpuTaint")
    assert f"(got '{taint}')" in message and "key[=value]:Effect" in message


def test_taint_without_value() -> None:
    cfg = parse(gpuTaint="dedicated:NoExecute")
    assert cfg.onprem is not None and cfg.onprem.gpu_taint == GpuTaint("dedicated", "", "NoExecute")


@pytest.mark.parametrize("name", ["gpu", "kubernetes.io/gpu", "nvidia.com/"])
def test_fails_on_a_bad_gpu_resource_name(name: str) -> None:
    assert "an extended resource name such as nvidia.com/gpu" in only(
        problems(gpuResourceName=name), "gpuResourceName"
    )


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, "must be a list of key=value node labels"),
        ([], "must be a list of key=value node labels"),
        ("gpu=true", "must be a list of strings"),
        (["gpu"], "(got 'gpu')"),
        (["bad key!=x"], "must be distinct key=value Kubernetes labels"),
        (["gpu=a b"], "must be distinct key=value Kubernetes labels"),
        (["gpu=a", "gpu=b"], "(got 'gpu=b')"),
    ],
)
def test_fails_on_a_missing_or_bad_node_selector(selector: Any, expected: str) -> None:
    assert expected in only(problems(gpuNodeSelector=selector), "gpuNodeSelector")


def test_node_selector_with_several_labels() -> None:
    cfg = parse(gpuNodeSelector=["nvidia.com/gpu.product=NVIDIA-L40S", "site.example/pool=inference"])
    assert cfg.onprem is not None
    assert dict(cfg.onprem.gpu_node_selector) == {
        "nvidia.com/gpu.product": "NVIDIA-L40S",
        "site.example/pool": "inference",
    }


# --- Exposure and registry ----------------------------------------------------------------------


def test_fails_on_an_unknown_exposure() -> None:
    assert "must be one of loadBalancerAddress, externalIp (got 'nodePort')" in only(
        problems(exposure="nodePort"), "exposure"
    )


@pytest.mark.parametrize("address", ["api.site.internal", "2001:db8::10", "203.0.113.300"])
def test_fails_on_an_exposure_address_that_is_not_ipv4(address: str) -> None:
    assert "must be an IPv4 address" in only(problems(exposureAddress=address), "exposureAddress")


def test_fails_on_client_cidrs_with_an_external_ip() -> None:
    message = only(
        problems(exposure="externalIp", allowedClientCidrs=["198.51.100.0/24"]), "allowedClientCidrs"
    )
    assert "unset with exposure: externalIp" in message


def test_site_plan_has_no_warning_about_a_cloud_api_endpoint() -> None:
    assert not [w for w in parse().warnings if "kubernetesApiAllowedCidrs" in w]


def test_site_plan_says_observability_is_not_deployed() -> None:
    (note,) = [w for w in parse().warnings if w.startswith("onprem: no metrics collection")]
    assert "alert rules or budget are deployed" in note


def test_fails_on_a_missing_exposure_address() -> None:
    assert "(got nothing)" in only(problems(exposureAddress=None), "exposureAddress")


@pytest.mark.parametrize("authority", ["aws", "azure"])
def test_fails_on_a_private_address_behind_a_cloud_dns_authority(authority: str) -> None:
    extra = {"dnsResourceGroup": "dns-rg"} if authority == "azure" else {}
    message = only(problems(exposureAddress="10.20.0.10", dnsProvider=authority, **extra), "exposureAddress")
    assert (
        f"a public address while dnsProvider is {authority}" in message and "dnsProvider: powerdns" in message
    )


def test_fails_on_an_image_outside_the_site_registry() -> None:
    image = "vllm/vllm-openai:v0.11.0@sha256:" + "0" * 64
    message = only(problems(servingImage=image), "servingImage")
    assert f"an image on imageRegistry {SITE_REGISTRY}, pinned by digest" in message
    assert f"crane copy {image} {SITE_REGISTRY}/<path>" in message


def test_fails_on_a_site_image_not_pinned_by_digest() -> None:
    assert "pinned by digest" in only(problems(servingImage=SITE_IMAGE.split("@")[0]), "servingImage")


@pytest.mark.parametrize("registry", [None, "https://registry.site.internal", "registry_site"])
def test_fails_on_a_missing_or_bad_image_registry(registry: str | None) -> None:
    assert "imageRegistry" in only(problems(imageRegistry=registry), "imageRegistry")


# --- Keys that belong to one target only --------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("gpuInstanceType", "g6.2xlarge"),
        ("gpuZones", ["use1-az1"]),
        ("kubernetesApiAllowedCidrs", ["0.0.0.0/0"]),
        ("dockerHubUsername", "acme-ci"),
        ("alertNotify", ["oncall@example.com"]),
        ("budgetMonthlyUsd", 3000),
    ],
)
def test_fails_on_cloud_only_keys_on_a_site(key: str, value: Any) -> None:
    assert "must be unset on onprem" in only(problems(**{key: value}), key)


def test_fails_on_acme_on_a_site() -> None:
    message = only(problems(tlsCertificate="acme"), "tlsCertificate")
    assert "must be provided or internal-ca on onprem" in message


def test_fails_on_a_site_name_that_is_not_a_label() -> None:
    assert "a site name of 1-32 lowercase letters" in only(problems(region="Frankfurt DC1"), "region")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("kubeconfigPath", ONPREM_KUBECONFIG),
        ("gpuNodeSelector", ["a=b"]),
        ("exposure", "externalIp"),
        ("airGapped", True),
    ],
)
def test_fails_on_onprem_keys_on_a_cloud_stack(key: str, value: Any) -> None:
    raw, secret_keys = _raw("primary", {key: value}, {"apiKey": "k", "dockerHubAccessToken": "t"})
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", secret_keys)
    assert "must be unset unless cloud is onprem" in only([str(p) for p in caught.value.problems], key)


def test_same_cloud_pair_is_still_refused_for_clouds() -> None:
    raw, secret_keys = _raw("standby", {"cloud": "aws", "region": "us-west-2", "gcpProject": None}, SECRETS)
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "standby", secret_keys)
    assert any("'primaryCloud' must be a cloud other than" in str(p) for p in caught.value.problems)


# --- Air gap -------------------------------------------------------------------------------------

AIR_GAPPED_SITE = {
    "airGapped": True,
    "dnsProvider": "aws",  # replaced per test where the dependency is not the point
}


def air_gap(found: list[str]) -> list[str]:
    return [p for p in found if "free of internet dependencies with airGapped: true" in p]


def test_air_gap_refuses_a_public_image_registry() -> None:
    image = "docker.io/vllm/vllm-openai:v0.11.0@sha256:" + "0" * 64
    (message,) = [p for p in air_gap(problems(airGapped=True, servingImage=image)) if "'servingImage'" in p]
    assert "the image comes from a public registry, not from imageRegistry by digest" in message
    assert f"set servingImage to {SITE_REGISTRY}/<path>@sha256:<digest>" in message


def test_air_gap_refuses_acme() -> None:
    found = air_gap(problems(airGapped=True, tlsCertificate="acme"))
    assert any(
        p.startswith("stack config 'tlsCertificate'") and "ACME reaches Let's Encrypt" in p for p in found
    )
    # Listed once: the general onprem ACME refusal gives way to the air-gap entry.
    assert len([p for p in problems(airGapped=True, tlsCertificate="acme") if "'tlsCertificate'" in p]) == 1


def test_air_gap_refuses_a_cloud_dns_authority() -> None:
    found = air_gap(problems(airGapped=True, dnsProvider="gcp", gcpProject="acme-inference-standby"))
    assert any(
        "the gcp DNS authority and its health checkers live on the public internet" in p for p in found
    )


def test_air_gap_refuses_a_model_hub() -> None:
    found = air_gap(problems(airGapped=True, modelPath="huggingface.co/meta-llama/Llama-3.1-8B-Instruct/"))
    assert any(p.startswith("stack config 'modelPath'") and "names a model hub" in p for p in found)


def test_air_gap_refuses_replication_from_a_cloud() -> None:
    found = air_gap(problems("standby", airGapped=True, primaryCloud="aws"))
    assert any("replication reads the primary's aws bucket over the internet" in p for p in found)


def test_air_gap_lists_every_dependency_at_once() -> None:
    found = air_gap(
        problems(
            "standby",
            airGapped=True,
            primaryCloud="gcp",
            tlsCertificate="acme",
            servingImage="vllm/vllm-openai:v0.11.0@sha256:" + "0" * 64,
            modelPath="hf.co/meta-llama/Llama-3.1-8B-Instruct/",
        )
    )
    keys = sorted(p.split("'")[1] for p in found)
    assert keys == ["dnsProvider", "modelPath", "primaryCloud", "servingImage", "tlsCertificate"]


def test_air_gapped_site_without_internet_dependencies_is_accepted_but_for_the_dns_authority() -> None:
    # The shipped files name a cloud authority; the self-hosted one (powerdns) lifts the last entry.
    (only_entry,) = air_gap(problems("standby", airGapped=True))
    assert only_entry.startswith("stack config 'dnsProvider'")


def test_site_stack_files_pass_the_offline_check(tmp_path: Path) -> None:
    """What a user writes in the stack files (lists and plain values only) passes infra.check."""
    from infra.check import check_stacks
    from tests.infra.test_check import edit, project

    root = project(tmp_path)
    edit(root, "primary", **primary_overrides("onprem", "aws"))
    checked = check_stacks(root, ["primary"])
    assert checked.ok, [str(p) for p in checked.problems]


# --- What a standby site needs for replication and the workload's model key ---------------------


def test_fails_on_a_standby_site_without_a_read_key_for_the_workload() -> None:
    message = only(problems("standby", s3ReadCredentialsPath=None), "s3ReadCredentialsPath")
    assert "the inference pods stream the model with this read-only key" in message


def test_check_refuses_two_stacks_on_one_site_and_accepts_two_sites(tmp_path: Path) -> None:
    from infra.check import check_stacks
    from tests.infra.test_check import edit, project

    root = project(tmp_path)
    edit(root, "primary", **primary_overrides("onprem", "onprem"))
    edit(root, "standby", **standby_overrides("onprem", "onprem"))
    assert check_stacks(root).ok, [str(p) for p in check_stacks(root).problems]
    edit(root, "standby", region="fra-dc1", kubeContext="fra-dc1")
    found = [str(p) for p in check_stacks(root).problems]
    assert len(found) == 1 and "'region' must name another site than the primary's (fra-dc1" in found[0], (
        found
    )


def test_air_gap_refuses_a_store_on_a_public_cloud_or_hub() -> None:
    found = air_gap(problems(airGapped=True, s3Endpoint="https://s3.eu-central-1.amazonaws.com"))
    assert any(
        p.startswith("stack config 's3Endpoint'") and "a model hub or public-cloud store" in p for p in found
    )


def test_air_gap_refuses_a_vault_on_a_public_service() -> None:
    found = air_gap(problems(airGapped=True, vaultAddress="https://vault.blob.core.windows.net"))
    assert any(p.startswith("stack config 'vaultAddress'") for p in found)


def test_an_air_gapped_pair_of_sites_with_their_own_authority_and_ca_is_accepted() -> None:
    from tests.support import AUTHORITY_OVERRIDES

    powerdns = {**AUTHORITY_OVERRIDES["powerdns"], "tlsCertificate": "internal-ca"}
    secrets = {**SECRETS, "powerdnsApiKey": "k"}
    for stack in ("primary", "standby"):
        base = (
            primary_overrides("onprem", "onprem")
            if stack == "primary"
            else standby_overrides("onprem", "onprem")
        )
        raw, secret_keys = _raw(stack, {**base, **powerdns, "airGapped": True}, secrets)
        cfg = parse_config(raw, stack, secret_keys)
        assert cfg.onprem is not None and cfg.onprem.air_gapped
        assert (cfg.dns.provider, cfg.edge.tls_source) == ("powerdns", "internal-ca")

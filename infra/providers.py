"""Explicit providers, one per cloud the stack touches; no resource ever uses a default provider.

A stack touches its own cloud, the cloud of its DNS authority, and (standby only) the primary's
cloud for the read-only side of replication. Each gets one named provider here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

import pulumi

from components.common import Cloud, Placement, physical_name
from infra.config import PROJECT, StackConfig

if TYPE_CHECKING:
    from components.gcp_apis import GcpApis

# Users install only the SDKs of the clouds they use (`pip install -e '.[aws,gcp]'`), so a cloud's
# SDK is imported only when the stack touches that cloud.
SDK: dict[Cloud, tuple[str, str]] = {
    "aws": ("pulumi_aws", "aws"),
    "gcp": ("pulumi_gcp", "gcp"),
    "azure": ("pulumi_azure_native", "azure"),
}


class MissingCloudSdkError(ImportError):
    """A stack uses a cloud whose Pulumi SDK extra is not installed."""


def import_sdk(cloud: Cloud, why: str) -> ModuleType:
    module, extra = SDK[cloud]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingCloudSdkError(
            f"{why} needs the {cloud} SDK ({module.replace('_', '-')}), which is not installed: "
            f"run `pip install -e '.[{extra}]'` (extras: aws, gcp, azure, all)"
        ) from exc


def tags_for(cfg: StackConfig) -> dict[str, str]:
    # Lowercase letters, digits and dashes only: valid as AWS tags, GCP labels and Azure tags.
    return {"app": PROJECT, "stack": physical_name(cfg.stack), "role": cfg.role, "managed-by": "pulumi"}


@dataclass
class Providers:
    cfg: StackConfig
    by_cloud: dict[Cloud, pulumi.ProviderResource]
    azure_resource_group: pulumi.Output[str] | None = None
    gcp_projects: dict[Cloud, str | None] = field(default_factory=dict)
    # Pulumi hygiene: one GcpApis per stack on gcp; one random suffix per stack instance.
    gcp_apis: GcpApis | None = None
    name_suffix: pulumi.Output[str] | None = None

    def provider(self, cloud: Cloud) -> pulumi.ProviderResource:
        return self.by_cloud[cloud]

    def placement(self, cloud: Cloud) -> Placement:
        """Where resources on `cloud` go: the stack's own region on its own cloud (on onprem: the
        site name, with the Kubernetes provider of the existing cluster)."""
        own = cloud == self.cfg.cloud
        if cloud not in self.by_cloud:
            raise KeyError(
                f"no provider for {cloud}: a stack reaches another site's cluster only through that "
                "site's own stack (replication reads its store endpoint, never its Kubernetes API)"
            )
        return Placement(
            cloud=cloud,
            region=self.cfg.region if own else _DEFAULT_REGION[cloud],
            provider=self.by_cloud[cloud],
            stack=self.cfg.stack,
            gcp_project=self.cfg.gcp_project,
            azure_resource_group=self.azure_resource_group if own else None,
            tags=tags_for(self.cfg),
            gcp_apis=self.gcp_apis if cloud == "gcp" else None,
            name_suffix=self.name_suffix,
        )


# Region for a provider on a cloud that is not the stack's own (DNS authority, replication
# source). Route 53 and Traffic Manager are global; these only pick the API endpoint.
_DEFAULT_REGION: dict[Cloud, str] = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}


def _aws_provider(
    name: str, region: pulumi.Input[str], cfg: StackConfig, tags: dict[str, str]
) -> pulumi.ProviderResource:
    import pulumi_aws as aws

    peer = not name.endswith("-own")
    return aws.Provider(
        name,
        aws.ProviderArgs(
            region=region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
            # A peer provider (DNS authority or replication source) must not make `pulumi up` fail
            # at start-up when the primary's AWS region is the one in an outage: skip the STS
            # credential check; unchanged resources behind it are then never called.
            skip_credentials_validation=peer,
            skip_region_validation=peer,
        ),
    )


def _gcp_provider(
    name: str, region: pulumi.Input[str], cfg: StackConfig, tags: dict[str, str]
) -> pulumi.ProviderResource:
    import pulumi_gcp as gcp

    return gcp.Provider(name, gcp.ProviderArgs(project=cfg.gcp_project, region=region, default_labels=tags))


def _azure_provider(
    name: str, region: pulumi.Input[str], cfg: StackConfig, tags: dict[str, str]
) -> pulumi.ProviderResource:
    import pulumi_azure_native as azure_native

    return azure_native.Provider(name, azure_native.ProviderArgs(location=region))


def onprem_provider(cfg: StackConfig) -> pulumi.ProviderResource:
    """The existing cluster's Kubernetes provider: the secret kubeconfig, or kubeconfigPath read
    by the provider at run time (state then holds the path, not the credentials), with the
    configured context. Server-side apply, as on the clouds."""
    import pulumi_kubernetes as k8s

    site = cfg.onprem
    if site is None:
        raise ValueError("stack config 'cloud' is onprem but its settings are missing: use parse_config")
    kubeconfig: pulumi.Input[str] = (
        site.kubeconfig_path
        if site.kubeconfig_path is not None
        else pulumi.Config(PROJECT).require_secret("kubeconfig")
    )
    return k8s.Provider(
        "onprem-own",
        k8s.ProviderArgs(
            kubeconfig=kubeconfig,
            context=site.kube_context,
            enable_server_side_apply=True,
        ),
    )


_PROVIDER_FACTORIES = {"aws": _aws_provider, "gcp": _gcp_provider, "azure": _azure_provider}


NAME_SUFFIX_BYTES = 3
"""Random bytes (hex: twice as many characters) appended to names a cloud reserves after delete."""


def _name_suffix() -> pulumi.Output[str]:
    """Random once per stack instance and kept in its state: every update reuses it, a destroy
    forgets it, so a re-created stack never asks for a name the cloud still holds (a secret in
    its recovery window, a soft-deleted Key Vault or workload identity pool)."""
    import pulumi_random as random

    provider = random.Provider("random")
    suffix = random.RandomId(
        "name-suffix",
        random.RandomIdArgs(byte_length=NAME_SUFFIX_BYTES),
        opts=pulumi.ResourceOptions(provider=provider),
    )
    return suffix.hex


def make_providers(cfg: StackConfig, primary: pulumi.StackReference | None) -> Providers:
    by_cloud: dict[Cloud, pulumi.ProviderResource] = {}
    tags = tags_for(cfg)
    for cloud in cfg.clouds_used:
        own = cloud == cfg.cloud
        if cloud == "onprem":
            if own:  # a primary on another site gets no provider here: blast-radius isolation
                by_cloud[cloud] = onprem_provider(cfg)
            continue
        why = (
            f"stack config 'cloud' = {cloud}"
            if own
            else f"stack config 'dnsProvider' = {cloud}"
            if cloud == cfg.dns.provider
            else f"stack config 'primaryCloud' = {cloud}"
        )
        import_sdk(cloud, why)
        region: pulumi.Input[str] = cfg.region if own else _DEFAULT_REGION[cloud]
        if not own and cloud == cfg.primary_cloud and primary is not None:
            # The replication source lives in the primary's region.
            region = primary.get_output("region").apply(str)
        name = f"{cloud}-{'own' if own else 'peer'}"
        by_cloud[cloud] = _PROVIDER_FACTORIES[cloud](name, region, cfg, tags)

    providers = Providers(cfg, by_cloud)
    providers.name_suffix = _name_suffix()
    if cfg.gcp_project and "gcp" in (cfg.cloud, cfg.dns.provider):
        from components.gcp_apis import GcpApis

        providers.gcp_apis = GcpApis("gcp-apis", project=cfg.gcp_project, provider=by_cloud["gcp"])
    if cfg.cloud == "azure":
        import pulumi_azure_native as azure_native

        group = azure_native.resources.ResourceGroup(
            "stack",
            azure_native.resources.ResourceGroupArgs(
                resource_group_name=physical_name(PROJECT, cfg.stack, cfg.region),
                location=cfg.region,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(provider=by_cloud["azure"]),
        )
        providers.azure_resource_group = group.name
    return providers

"""The stack program: typed config -> providers -> components -> outputs.

Role drives behaviour: the primary serves traffic and owns the primary DNS record; the standby
runs warm (one GPU node, one replica with the model loaded), owns the secondary record and pulls
the primary's model artefacts into its own bucket. At run time the standby depends on nothing in
the primary cloud: its cluster, vault, bucket copy and image all live on its own cloud.

The data flow reads top to bottom: cluster (and its workload identity) -> model store + vault
(each grants that identity read access) -> [standby: replication from the primary's store] ->
workload -> DNS record pointing at the workload's endpoint.
"""

from __future__ import annotations

from typing import Any, cast

import pulumi

from components.audit import AuditStoreArgs, create_audit_store
from components.common import Cloud, Placement, WorkloadIdentity
from components.data_plane_access import DataPlaneAccess
from components.dns import FailoverRecordArgs, PowerDnsApi, create_failover_record
from components.dns.health_checkers import health_checker_access
from components.image_registry import ImageRegistryArgs, RegistryCredentials, create_image_registry
from components.image_registry.args import uses_credentials
from components.inference_cluster import (
    InferenceCluster,
    InferenceClusterArgs,
    InferenceWorkload,
    InferenceWorkloadArgs,
    create_inference_cluster,
)
from components.inference_cluster.cert_manager import CertManager
from components.inference_cluster.internal_ca import InternalCa
from components.object_store import (
    CrossCloudReplicationArgs,
    ModelStoreArgs,
    create_cross_cloud_replication,
    create_model_store,
)
from components.observability import ObservabilityArgs, create_observability
from components.secrets_vault import SecretsVaultArgs, create_secrets_vault
from infra import config_powerdns, outputs
from infra.config import DOCKER_HUB_TOKEN, PROJECT, StackConfig
from infra.edge import edge_certificate_issuer, edge_key_digests, provided_certificate_sha256
from infra.onprem import (
    distinct_site,
    onprem_site,
    onprem_workload_args,
    replication_images,
    replication_source_provider,
    require_onprem_parts,
)
from infra.providers import Providers, make_providers
from infra.s3store import require_primary_vault_token, s3_compatible_store
from infra.vault import internal_ca_issuer, openbao_args, vault_secrets

REPLICATION_SOURCE_APIS = ("iam", "sts")


def build(cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
    """Create every resource of the stack and return its outputs (exported by __main__)."""
    require_onprem_parts(cfg)  # before any resource: a missing onprem part half-applies nothing
    require_primary_vault_token(cfg)  # a site standby of a site primary talks to two vaults
    primary = pulumi.StackReference(cfg.primary_stack) if cfg.primary_stack else None
    providers = make_providers(cfg, primary)
    placement = providers.placement(cfg.cloud)
    name = cfg.role
    if providers.gcp_apis is not None and cfg.cloud == "gcp" and cfg.role == "primary":
        # A standby on another cloud reads this project's model bucket through a workload
        # identity pool it creates here (iam) and exchanges its tokens through STS (sts).
        providers.gcp_apis.enable(*REPLICATION_SOURCE_APIS)

    cluster = create_inference_cluster(
        name,
        InferenceClusterArgs(
            onprem=onprem_site(cfg, placement) if cfg.onprem is not None else None,
            placement=placement,
            gpu_type=cfg.gpu.gpu_type,
            gpu_machine_type=cfg.gpu.shape.machine_type,
            gpu_accelerator=cfg.gpu.shape.accelerator,
            gpus_per_node=cfg.gpu.gpus_per_node,
            gpu_node_count=cfg.effective_node_count,
            # Constant across capacity: a cut-over changes replicas, never the pool's bounds.
            gpu_max_node_count=cfg.gpu.max_node_count,
            gpu_zones=cfg.gpu.zones,
            api_allowed_cidrs=cfg.network.api_allowed_cidrs,
        ),
    )
    identity: WorkloadIdentity = cluster.identity

    store = create_model_store(
        name,
        ModelStoreArgs(
            placement=placement,
            reader=identity,
            network_access=_data_plane_access(cfg, cluster),
            s3_compatible=s3_compatible_store(cfg),
        ),
    )
    vault = create_secrets_vault(
        name,
        SecretsVaultArgs(
            placement=placement,
            secrets=vault_secrets(secrets),
            reader=identity,
            network_access=_data_plane_access(cfg, cluster),
            openbao=openbao_args(cfg),
        ),
    )
    audit = create_audit_store(
        name,
        AuditStoreArgs(placement=placement, model_store=store, retention_days=cfg.audit_retention_days),
    )
    # The serving image comes from the stack's own registry, never a third party at scale-up time.
    # On onprem the image already is on the site registry, pinned by digest (infra/config_onprem.py).
    image = (
        cfg.serving_image if cfg.onprem is not None else _registry(name, cfg, placement, cluster, vault).image
    )

    model_uri = store.bucket_uri.apply(lambda uri: f"{uri.rstrip('/')}/{cfg.model_path}")

    replication = None
    if primary is not None and cfg.primary_cloud is not None:
        replication = create_cross_cloud_replication(
            name,
            CrossCloudReplicationArgs(
                target=placement,
                target_store=store,
                source_cloud=cfg.primary_cloud,
                source_store=primary.get_output(outputs.MODEL_STORE),
                source_provider=replication_source_provider(cfg, providers, primary),
                interval_minutes=cfg.replication_interval_minutes,
                target_cluster=cluster,
                paused=cfg.replication_paused,
                **replication_images(cfg),
            ),
        )

    # One issuer per stack: ACME (DNS-01) or the internal CA (tlsCertificate: internal-ca).
    issuer: CertManager | InternalCa | None = edge_certificate_issuer(
        name, cfg, providers, cluster, replication
    )
    if issuer is None:
        issuer = internal_ca_issuer(name, cfg, cluster.k8s_provider, vault, secrets)
    workload = InferenceWorkload(
        name,
        InferenceWorkloadArgs(
            cloud=cfg.cloud,
            k8s_provider=cluster.k8s_provider,
            identity=identity,
            image=image,
            model_name=cfg.model_name,
            model_uri=model_uri,
            replicas=cfg.effective_replicas,
            gpus_per_replica=cfg.gpu.gpus_per_node,
            tensor_parallel_size=cfg.serving.tensor_parallel_size if cfg.serving else None,
            max_model_len=cfg.serving.max_model_len if cfg.serving else None,
            gpu_memory_utilization=cfg.serving.gpu_memory_utilization if cfg.serving else None,
            secret_refs=vault.secret_refs,
            # An empty bucket (first deploy, standby before its first replication) would
            # otherwise hold `pulumi up` for the whole model-load budget and then fail.
            wait_for_ready=cfg.wait_for_model,
            public_address=cluster.public_address,
            **_client_access(cfg, providers),
            service_name=cfg.dns.fqdn,
            api_key_digests=edge_key_digests(secrets),
            tls_source=cfg.edge.tls_source,
            provided_certificate_sha256=provided_certificate_sha256(cfg, secrets),
            certificate_issuer=issuer.issuer_name if issuer is not None else None,
            **onprem_workload_args(cfg, store),
            vault_login=vault.workload_login,
        ),
        opts=pulumi.ResourceOptions(depends_on=[store, vault, *(issuer.ready if issuer is not None else [])]),
    )

    record = create_failover_record(
        name,
        FailoverRecordArgs(
            placement=_dns_placement(cfg, providers),
            role=cfg.role,
            stack_cloud=cfg.cloud,
            zone=cfg.dns.zone,
            record=cfg.dns.record,
            endpoint_host=workload.endpoint_host,
            endpoint_addresses=workload.endpoint_addresses,
            endpoint_address_count=cluster.public_address.count,
            ttl_seconds=cfg.dns.ttl_seconds,
            routing=cfg.dns.routing,
            weight=cfg.dns.weight,
            health_check_path=cfg.dns.health_check_path,
            health_check_port=cfg.dns.health_check_port,
            health_check_interval_seconds=cfg.dns.health_check_interval_seconds,
            health_check_failure_threshold=cfg.dns.health_check_failure_threshold,
            azure_resource_group=cfg.dns.azure_resource_group,
            gcp_managed_zone=cfg.dns.gcp_managed_zone,
            primary_dns=primary.get_output(outputs.DNS) if primary is not None else None,
            powerdns=_powerdns_api(cfg),
        ),
    )

    observe(name, cfg, placement, cluster, workload, record=record)

    result: dict[str, Any] = {
        outputs.CLOUD: cfg.cloud,
        outputs.ROLE: cfg.role,
        outputs.REGION: distinct_site(cfg, primary),
        outputs.CAPACITY: cfg.capacity,
        outputs.CLUSTER_NAME: cluster.cluster_name,
        outputs.GPU_POOL_NAMES: cluster.gpu_pool_names,
        outputs.GPU_ZONES: cluster.gpu_zones,
        outputs.KUBECONFIG: pulumi.Output.secret(cluster.kubeconfig),
        outputs.WORKLOAD_IDENTITY: identity.principal,
        outputs.ENDPOINT_HOST: workload.endpoint_host,
        outputs.ENDPOINT_URL: workload.endpoint_url,
        outputs.ENDPOINT_ADDRESSES: workload.endpoint_addresses,
        outputs.SERVICE_FQDN: cfg.dns.fqdn,
        outputs.MODEL_BUCKET: store.bucket_name,
        outputs.MODEL_BUCKET_URI: store.bucket_uri,
        outputs.MODEL_URI: model_uri,
        outputs.SERVING_IMAGE: image,
        outputs.MODEL_STORE: store.descriptor,
        outputs.SECRET_IDS: vault.secret_refs,
        outputs.DNS: record.descriptor,
        outputs.AUDIT_STORE: audit.descriptor,
    }
    if replication is not None:
        result[outputs.REPLICATION] = replication.descriptor
    return result


def _registry(name: str, cfg: StackConfig, placement: Placement, cluster: Any, vault: Any) -> Any:
    """The stack's own pull-through cache of the serving image (clouds only)."""
    credentials = None
    if cfg.docker_hub_username is not None and uses_credentials(cfg.cloud, cfg.serving_image):
        token = pulumi.Config(PROJECT).require_secret(DOCKER_HUB_TOKEN)
        credentials = RegistryCredentials(username=cfg.docker_hub_username, token=token)
    return create_image_registry(
        name,
        ImageRegistryArgs(
            placement=placement,
            image=cfg.serving_image,
            puller=cluster.image_puller,
            credentials=credentials,
            secrets_key=vault.key_id,
            secrets_key_ready=vault.key_ready,
        ),
    )


def _dns_placement(cfg: StackConfig, providers: Providers) -> Placement:
    """The DNS authority's cloud; a self-hosted authority (powerdns) uses the stack's own placement
    for names and tags and creates nothing on a cloud."""
    if cfg.dns.powerdns is not None:
        return providers.placement(cfg.cloud)
    return providers.placement(cast(Cloud, cfg.dns.provider))


def _powerdns_api(cfg: StackConfig) -> PowerDnsApi | None:
    """dnsProvider powerdns: its API, with the key as a secret (infra/config_powerdns.py)."""
    settings = cfg.dns.powerdns
    if settings is None:
        return None
    key = pulumi.Config(PROJECT).require_secret(config_powerdns.API_KEY)
    return PowerDnsApi(api_url=settings.api_url, api_key=key, server_id=settings.server_id)


def _client_access(cfg: StackConfig, providers: Providers) -> dict[str, Any]:
    """InferenceWorkloadArgs fields restricting the load balancer (allowedClientCidrs), with the
    DNS authority's health checkers admitted too; nothing when the service is open."""
    if not cfg.network.client_cidrs:
        return {}
    if cfg.dns.powerdns is not None:
        # The PowerDNS server probes from its own address, which only the operator knows: it must
        # be among allowedClientCidrs (README, "DNS authority: PowerDNS").
        return {"load_balancer_source_cidrs": cfg.network.client_cidrs}
    authority = cast(Cloud, cfg.dns.provider)
    checkers = health_checker_access(authority, cfg.cloud, providers.provider(authority))
    return {
        "load_balancer_source_cidrs": cfg.network.client_cidrs,
        "health_checker_cidrs": checkers.cidrs,
        "health_checker_annotations": checkers.annotations,
    }


def _data_plane_access(cfg: StackConfig, cluster: Any) -> DataPlaneAccess:
    """Azure firewalls of the vault and the bucket: the AKS node subnet plus deployerCidrs."""
    subnet = getattr(cluster, "node_subnet_id", None)
    return DataPlaneAccess(
        cidrs=cfg.network.deployer_cidrs, subnet_ids=[subnet] if subnet is not None else []
    )


def observe(
    name: str,
    cfg: StackConfig,
    placement: Placement,
    cluster: InferenceCluster,
    workload: InferenceWorkload,
    *,
    record: Any,
) -> pulumi.ComponentResource | None:
    """Metrics, alert rules, budget (issue 11): components/observability."""
    alerting = cfg.alerting
    if alerting is None:
        return None
    oidc = cluster.federation_ready if cfg.cloud == "aws" else None
    # Route 53 authority: alarm on the check the stack's record uses (CALCULATED when several).
    check = None
    if cfg.cloud == "aws" and cfg.dns.provider == "aws":
        check = getattr(record, "any_address_check", None) or getattr(record, "health_check", None)
    # Traffic Manager authority in the stack's own subscription: alert on this stack's endpoint.
    endpoint = getattr(record, "endpoint", None) if cfg.cloud == cfg.dns.provider == "azure" else None
    # Cloud DNS authority: no metric for its health checks; an uptime check on this stack's address.
    uptime_host = workload.endpoint_host if cfg.cloud == cfg.dns.provider == "gcp" else None
    return create_observability(
        name,
        ObservabilityArgs(
            placement=placement,
            k8s_provider=cluster.k8s_provider,
            cluster_name=cluster.cluster_name,
            oidc_issuer_url=cluster.oidc_issuer_url,
            oidc_provider_arn=getattr(oidc, "arn", None),
            role=cfg.role,
            model_name=cfg.model_name,
            thresholds=alerting.thresholds,
            emails=alerting.emails,
            webhooks=alerting.webhooks,
            budget_monthly_usd=alerting.budget_monthly_usd,
            gcp_billing_account=alerting.gcp_billing_account,
            route53_health_check_id=check.id if check is not None else None,
            traffic_manager_endpoint_id=endpoint.id if endpoint is not None else None,
            dns_uptime_check_host=uptime_host,
            dns_health_check_path=cfg.dns.health_check_path,
            dns_health_check_port=cfg.dns.health_check_port,
            depends_on=(workload,),
        ),
    )

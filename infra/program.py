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
from components.audit.args import AuditStore
from components.common import Cloud, Placement
from components.data_plane_access import DataPlaneAccess
from components.dns import FailoverRecordArgs, PowerDnsApi, create_failover_record
from components.dns.args import FailoverRecord
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
    CrossCloudReplication,
    CrossCloudReplicationArgs,
    ModelStore,
    ModelStoreArgs,
    create_cross_cloud_replication,
    create_model_store,
)
from components.observability import ObservabilityArgs, create_observability
from components.secrets_vault import SecretsVaultArgs, create_secrets_vault
from components.secrets_vault.args import SecretsVault
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
    return _StackProgram(cfg, secrets).outputs()


class _StackProgram:
    """The stack's components, created in the order the data flows (module docstring); each step
    reads the components the steps before it created."""

    cluster: InferenceCluster
    store: ModelStore
    model_uri: pulumi.Output[str]
    vault: SecretsVault
    audit: AuditStore
    image: pulumi.Input[str]
    replication: CrossCloudReplication | None
    issuer: CertManager | InternalCa | None
    workload: InferenceWorkload
    record: FailoverRecord

    def __init__(self, cfg: StackConfig, secrets: dict[str, pulumi.Output[str]]) -> None:
        require_onprem_parts(cfg)  # before any resource: a missing onprem part half-applies nothing
        require_primary_vault_token(cfg)  # a site standby of a site primary talks to two vaults
        self.cfg = cfg
        self.secrets = secrets
        self.name = cfg.role
        self.primary = pulumi.StackReference(cfg.primary_stack) if cfg.primary_stack else None
        self.providers = make_providers(cfg, self.primary)
        self.placement = self.providers.placement(cfg.cloud)
        self._replication_source_apis()
        self._cluster()
        self._model_store()
        self._secrets_vault()
        self._audit_store()
        self._serving_image()
        self._replication()
        self._edge_issuer()
        self._workload()
        self._failover_record()
        self._observability()

    def _replication_source_apis(self) -> None:
        if self.providers.gcp_apis is not None and self.cfg.cloud == "gcp" and self.cfg.role == "primary":
            # A standby on another cloud reads this project's model bucket through a workload
            # identity pool it creates here (iam) and exchanges its tokens through STS (sts).
            self.providers.gcp_apis.enable(*REPLICATION_SOURCE_APIS)

    def _cluster(self) -> None:
        cfg = self.cfg
        self.cluster = create_inference_cluster(
            self.name,
            InferenceClusterArgs(
                onprem=onprem_site(cfg, self.placement) if cfg.onprem is not None else None,
                placement=self.placement,
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

    def _model_store(self) -> None:
        self.store = create_model_store(
            self.name,
            ModelStoreArgs(
                placement=self.placement,
                reader=self.cluster.identity,
                network_access=_data_plane_access(self.cfg, self.cluster),
                s3_compatible=s3_compatible_store(self.cfg),
            ),
        )
        model_path = self.cfg.model_path
        self.model_uri = self.store.bucket_uri.apply(lambda uri: f"{uri.rstrip('/')}/{model_path}")

    def _secrets_vault(self) -> None:
        self.vault = create_secrets_vault(
            self.name,
            SecretsVaultArgs(
                placement=self.placement,
                secrets=vault_secrets(self.secrets),
                reader=self.cluster.identity,
                network_access=_data_plane_access(self.cfg, self.cluster),
                openbao=openbao_args(self.cfg),
            ),
        )

    def _audit_store(self) -> None:
        self.audit = create_audit_store(
            self.name,
            AuditStoreArgs(
                placement=self.placement, model_store=self.store, retention_days=self.cfg.audit_retention_days
            ),
        )

    def _serving_image(self) -> None:
        # The serving image comes from the stack's own registry, never a third party at scale-up
        # time. On onprem the image already is on the site registry, pinned by digest
        # (infra/config_onprem.py).
        cfg = self.cfg
        self.image = (
            cfg.serving_image
            if cfg.onprem is not None
            else _registry(self.name, cfg, self.placement, self.cluster, self.vault).image
        )

    def _replication(self) -> None:
        cfg, primary = self.cfg, self.primary
        self.replication = None
        if primary is None or cfg.primary_cloud is None:
            return
        self.replication = create_cross_cloud_replication(
            self.name,
            CrossCloudReplicationArgs(
                target=self.placement,
                target_store=self.store,
                source_cloud=cfg.primary_cloud,
                source_store=primary.get_output(outputs.MODEL_STORE),
                source_provider=replication_source_provider(cfg, self.providers, primary),
                interval_minutes=cfg.replication_interval_minutes,
                target_cluster=self.cluster,
                paused=cfg.replication_paused,
                **replication_images(cfg),
            ),
        )

    def _edge_issuer(self) -> None:
        # One issuer per stack: ACME (DNS-01) or the internal CA (tlsCertificate: internal-ca).
        issuer: CertManager | InternalCa | None = edge_certificate_issuer(
            self.name, self.cfg, self.providers, self.cluster, self.replication
        )
        if issuer is None:
            issuer = internal_ca_issuer(
                self.name, self.cfg, self.cluster.k8s_provider, self.vault, self.secrets
            )
        self.issuer = issuer

    def _workload(self) -> None:
        cfg, cluster, issuer, serving = self.cfg, self.cluster, self.issuer, self.cfg.serving
        self.workload = InferenceWorkload(
            self.name,
            InferenceWorkloadArgs(
                cloud=cfg.cloud,
                k8s_provider=cluster.k8s_provider,
                identity=cluster.identity,
                image=self.image,
                model_name=cfg.model_name,
                model_uri=self.model_uri,
                replicas=cfg.effective_replicas,
                gpus_per_replica=cfg.gpu.gpus_per_node,
                tensor_parallel_size=serving.tensor_parallel_size if serving else None,
                max_model_len=serving.max_model_len if serving else None,
                gpu_memory_utilization=serving.gpu_memory_utilization if serving else None,
                secret_refs=self.vault.secret_refs,
                # An empty bucket (first deploy, standby before its first replication) would
                # otherwise hold `pulumi up` for the whole model-load budget and then fail.
                wait_for_ready=cfg.wait_for_model,
                public_address=cluster.public_address,
                **_client_access(cfg, self.providers),
                service_name=cfg.dns.fqdn,
                api_key_digests=edge_key_digests(self.secrets),
                tls_source=cfg.edge.tls_source,
                provided_certificate_sha256=provided_certificate_sha256(cfg, self.secrets),
                certificate_issuer=issuer.issuer_name if issuer is not None else None,
                **onprem_workload_args(cfg, self.store),
                vault_login=self.vault.workload_login,
            ),
            opts=pulumi.ResourceOptions(
                depends_on=[self.store, self.vault, *(issuer.ready if issuer is not None else [])]
            ),
        )

    def _failover_record(self) -> None:
        cfg, dns, primary = self.cfg, self.cfg.dns, self.primary
        self.record = create_failover_record(
            self.name,
            FailoverRecordArgs(
                placement=_dns_placement(cfg, self.providers),
                role=cfg.role,
                stack_cloud=cfg.cloud,
                zone=dns.zone,
                record=dns.record,
                endpoint_host=self.workload.endpoint_host,
                endpoint_addresses=self.workload.endpoint_addresses,
                endpoint_address_count=self.cluster.public_address.count,
                ttl_seconds=dns.ttl_seconds,
                routing=dns.routing,
                weight=dns.weight,
                health_check_path=dns.health_check_path,
                health_check_port=dns.health_check_port,
                health_check_interval_seconds=dns.health_check_interval_seconds,
                health_check_failure_threshold=dns.health_check_failure_threshold,
                azure_resource_group=dns.azure_resource_group,
                gcp_managed_zone=dns.gcp_managed_zone,
                primary_dns=primary.get_output(outputs.DNS) if primary is not None else None,
                powerdns=_powerdns_api(cfg),
            ),
        )

    def _observability(self) -> None:
        """Metrics, alert rules, budget (issue 11): components/observability."""
        cfg, cluster, workload, record = self.cfg, self.cluster, self.workload, self.record
        alerting = cfg.alerting
        if alerting is None:
            return
        oidc = cluster.federation_ready if cfg.cloud == "aws" else None
        # Route 53 authority: alarm on the check the stack's record uses (CALCULATED when several).
        check = None
        if cfg.cloud == "aws" and cfg.dns.provider == "aws":
            check = getattr(record, "any_address_check", None) or getattr(record, "health_check", None)
        # Traffic Manager authority in the stack's own subscription: alert on this stack's endpoint.
        endpoint = getattr(record, "endpoint", None) if cfg.cloud == cfg.dns.provider == "azure" else None
        # Cloud DNS authority: no metric for its health checks; an uptime check on this stack's address.
        uptime_host = workload.endpoint_host if cfg.cloud == cfg.dns.provider == "gcp" else None
        create_observability(
            self.name,
            ObservabilityArgs(
                placement=self.placement,
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

    def outputs(self) -> dict[str, Any]:
        """The stack's outputs, named by infra/outputs.py (the cutover CLI reads them)."""
        cfg, cluster, workload, store = self.cfg, self.cluster, self.workload, self.store
        result: dict[str, Any] = {
            outputs.CLOUD: cfg.cloud,
            outputs.ROLE: cfg.role,
            outputs.REGION: distinct_site(cfg, self.primary),
            outputs.CAPACITY: cfg.capacity,
            outputs.CLUSTER_NAME: cluster.cluster_name,
            outputs.GPU_POOL_NAMES: cluster.gpu_pool_names,
            outputs.GPU_ZONES: cluster.gpu_zones,
            outputs.KUBECONFIG: pulumi.Output.secret(cluster.kubeconfig),
            outputs.WORKLOAD_IDENTITY: cluster.identity.principal,
            outputs.ENDPOINT_HOST: workload.endpoint_host,
            outputs.ENDPOINT_URL: workload.endpoint_url,
            outputs.ENDPOINT_ADDRESSES: workload.endpoint_addresses,
            outputs.SERVICE_FQDN: cfg.dns.fqdn,
            outputs.MODEL_BUCKET: store.bucket_name,
            outputs.MODEL_BUCKET_URI: store.bucket_uri,
            outputs.MODEL_URI: self.model_uri,
            outputs.SERVING_IMAGE: self.image,
            outputs.MODEL_STORE: store.descriptor,
            outputs.SECRET_IDS: self.vault.secret_refs,
            outputs.DNS: self.record.descriptor,
            outputs.AUDIT_STORE: self.audit.descriptor,
        }
        if self.replication is not None:
            result[outputs.REPLICATION] = self.replication.descriptor
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

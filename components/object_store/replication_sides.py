"""The two sides of a copy: how the copier reads the primary's store and writes the standby's.

One function per (side, cloud), each creating that cloud's keyless grant through the cloud's
module (replication_aws, replication_gcp, replication_azure, replication_onprem) and saying how
the copy pod uses it (`PodSide`), or how Storage Transfer Service reads (`TransferSource`).
`replication_table.ROUTES` names which function serves which pair; nothing here chooses.
Cloud SDKs are imported inside the functions: a stack loads only the SDKs of its two clouds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

import pulumi

from components.aws_federation import STS_AUDIENCE
from components.azure_federation import AUTHORITY_HOST, TOKEN_EXCHANGE_AUDIENCE
from components.common import Cloud
from components.object_store.args import ACCOUNT, BUCKET, REGION, CrossCloudReplicationArgs, ModelStore
from components.object_store.replication_onprem import VaultLogin

if TYPE_CHECKING:
    import pulumi_gcp as gcp

    from components.azure_federation import FederatedIdentity
    from components.object_store.replication_gcp import TransferAgent

SERVICE_ACCOUNT: Final = "model-replicator"
CRONJOB_NAME: Final = "model-replication"
TOKEN_DIR: Final = "/var/run/secrets/replication"
GCP_CREDENTIALS_DIR: Final = "/etc/replication/gcp"


@dataclass
class PodSide:
    """How the CronJob pod authenticates to one cloud."""

    env: dict[str, pulumi.Input[str]]
    tokens: dict[str, pulumi.Input[str]]
    """Projected service-account tokens: file name under TOKEN_DIR/<cloud>/ -> audience."""
    principal: pulumi.Input[str]
    depends_on: list[pulumi.Resource]
    config_files: dict[str, pulumi.Input[str]] | None = None
    sa_annotations: dict[str, pulumi.Input[str]] | None = None
    vault_login: VaultLogin | None = None
    """onprem: the S3 key is fetched from a vault by the init container (replication_onprem)."""
    site_ports: pulumi.Input[list[int]] | None = None
    """onprem: TCP ports of the store's S3 endpoint and vault (NetworkPolicy egress)."""
    oidc_provider: pulumi.Resource | None = None
    """aws source: the IAM OIDC provider created for the standby cluster's issuer (cert-manager's
    DNS-01 trust reuses it: IAM allows one per issuer URL)."""


@dataclass(frozen=True)
class SideContext:
    """What every side function gets: the component (parent), its name prefix, its args, the
    checked primary descriptor, and the standby cluster's issuer and replication subject."""

    parent: pulumi.Resource
    prefix: str
    args: CrossCloudReplicationArgs
    source: pulumi.Output[dict[str, Any]]
    issuer: pulumi.Output[str]
    subject: str

    @property
    def stack(self) -> str:
        return self.args.target.stack


@dataclass(frozen=True)
class TransferContext:
    """What a Storage Transfer Service source gets: as `SideContext`, with the agent and the sink."""

    parent: pulumi.Resource
    prefix: str
    args: CrossCloudReplicationArgs
    source: pulumi.Output[dict[str, Any]]
    agent: TransferAgent
    sink: gcp.storage.TransferJobTransferSpecGcsDataSinkArgs


@dataclass(frozen=True)
class TransferSource:
    spec: gcp.storage.TransferJobTransferSpecArgs
    principal: pulumi.Input[str]
    depends_on: list[pulumi.Resource]


def token_path(cloud: Cloud) -> str:
    return f"{TOKEN_DIR}/{cloud}/token"


# --- read the primary (CronJob) -------------------------------------------------------------------


def read_onprem(ctx: SideContext) -> PodSide:
    """A JWT auth role in the primary's vault reads its read-only S3 key."""
    from components.object_store import replication_onprem

    login, grants, principal = replication_onprem.read_access_for_cluster(
        ctx.parent,
        ctx.prefix,
        source=ctx.source,
        provider=ctx.args.source_provider,
        issuer_url=ctx.issuer,
        subject=ctx.subject,
        token_file=f"{TOKEN_DIR}/onprem/vault-source",
        stack=ctx.stack,
    )
    return PodSide(
        env={},
        tokens={"vault-source": replication_onprem.VAULT_AUDIENCE},
        principal=principal,
        depends_on=grants,
        vault_login=login,
        site_ports=ctx.source.apply(
            lambda d: replication_onprem.https_ports(replication_onprem.store_urls(d))
        ),
    )


def read_aws(ctx: SideContext) -> PodSide:
    """An IAM OIDC provider for the standby's issuer and a read-only role for one subject."""
    from components.object_store import replication_aws

    role, policy, oidc = replication_aws.read_role_for_cluster(
        ctx.parent,
        ctx.prefix,
        source=ctx.source,
        provider=ctx.args.source_provider,
        issuer_url=ctx.issuer,
        subject=ctx.subject,
        stack=ctx.stack,
    )
    return PodSide(
        env=aws_env(role.arn, ctx.source.apply(lambda d: str(d[REGION]))),
        tokens={"token": STS_AUDIENCE},
        principal=role.arn,
        depends_on=[role, policy, oidc],
        oidc_provider=oidc,
    )


def read_gcp(ctx: SideContext) -> PodSide:
    """A workload identity pool in the primary's project; objectViewer for one principal."""
    from components.object_store import replication_gcp

    access = replication_gcp.read_access_for_cluster(
        ctx.parent,
        ctx.prefix,
        source=ctx.source,
        provider=ctx.args.source_provider,
        issuer_url=ctx.issuer,
        subject=ctx.subject,
        token_path=token_path("gcp"),
        stack=ctx.stack,
        name_suffix=ctx.args.target.name_suffix,
    )
    return PodSide(
        env={"GOOGLE_APPLICATION_CREDENTIALS": f"{GCP_CREDENTIALS_DIR}/credentials.json"},
        tokens={"token": access.token_audience},
        principal=access.principal,
        depends_on=[access.pool, access.provider, access.binding],
        config_files={"credentials.json": access.credential_config},
    )


def read_azure(ctx: SideContext) -> PodSide:
    """A user-assigned identity with a federated credential; Storage Blob Data Reader."""
    from components.object_store import replication_azure

    blob = replication_azure.read_access(
        ctx.parent,
        ctx.prefix,
        source=ctx.source,
        provider=ctx.args.source_provider,
        issuer=ctx.issuer,
        subject=ctx.subject,
        stack=ctx.stack,
        reader="Model replication CronJob",
    )
    return _azure_side(blob)


# --- write the standby (CronJob) ------------------------------------------------------------------


def write_onprem(ctx: SideContext) -> PodSide:
    """A Kubernetes auth role in the standby's own vault reads the store's deployer key."""
    from components.object_store import replication_onprem
    from components.object_store.onprem import OnpremModelStore

    store = store_of(ctx.args.target_store, OnpremModelStore)
    settings = store.settings
    login, grants, principal = replication_onprem.write_access_for_cluster(
        ctx.parent,
        ctx.prefix,
        provider=store.vault_provider,
        vault_address=settings.vault_address,
        auth_path=settings.vault_kubernetes_auth_path,
        kv_mount=settings.vault_kv_mount,
        credentials_path=settings.credentials_path,
        namespace=ctx.args.namespace,
        service_account=SERVICE_ACCOUNT,
        token_file=f"{TOKEN_DIR}/onprem/vault-target",
        stack=ctx.stack,
        after=[ctx.args.target_cluster.federation_ready],
    )
    return PodSide(
        env={},
        tokens={"vault-target": replication_onprem.VAULT_AUDIENCE},
        principal=principal,
        depends_on=grants,
        vault_login=login,
        site_ports=replication_onprem.https_ports([settings.endpoint, settings.vault_address]),
    )


def write_aws(ctx: SideContext) -> PodSide:
    """An IRSA role trusting the EKS cluster's OIDC provider: write into its own bucket."""
    from components.object_store import replication_aws
    from components.object_store.aws import AwsModelStore

    store = store_of(ctx.args.target_store, AwsModelStore)
    target = ctx.args.target
    role, policy = replication_aws.write_role_for_cluster(
        ctx.parent,
        ctx.prefix,
        account_id=store.account_id,
        bucket_arn=store.bucket_arn,
        kms_key_arn=store.kms_key_arn,
        provider=target.provider,
        issuer_url=ctx.issuer,
        subject=ctx.subject,
        stack=ctx.stack,
        after=[ctx.args.target_cluster.federation_ready],
    )
    return PodSide(
        env=aws_env(role.arn, target.region),
        tokens={"token": STS_AUDIENCE},
        principal=role.arn,
        depends_on=[role, policy],
    )


def write_gcp(ctx: SideContext) -> PodSide:
    """A service account bound through GKE Workload Identity; objectUser on its own bucket."""
    from components.object_store import replication_gcp
    from components.object_store.gcp import GcpModelStore

    store = store_of(ctx.args.target_store, GcpModelStore)
    account, grants = replication_gcp.write_identity_for_cluster(
        ctx.parent,
        ctx.prefix,
        project=store.project,
        bucket_name=store.bucket_name,
        provider=ctx.args.target.provider,
        namespace=ctx.args.namespace,
        service_account=SERVICE_ACCOUNT,
        stack=ctx.stack,
        after=[ctx.args.target_cluster.federation_ready],
    )
    # GKE Workload Identity: the metadata server answers as this account; no token file.
    return PodSide(
        env={},
        tokens={},
        principal=account.email,
        depends_on=[account, *grants],
        sa_annotations={"iam.gke.io/gcp-service-account": account.email},
    )


def write_azure(ctx: SideContext) -> PodSide:
    """A user-assigned identity with a federated credential; Storage Blob Data Contributor."""
    from components.object_store import replication_azure
    from components.object_store.azure import AzureModelStore

    store = store_of(ctx.args.target_store, AzureModelStore)
    target = ctx.args.target
    group = target.azure_resource_group
    if group is None:
        raise ValueError(
            f"replication into azure needs the standby's resource group (got none) for stack '{ctx.stack}': "
            "pass Placement(azure_resource_group=...) as infra/providers.py does"
        )
    blob = replication_azure.write_access_for_cluster(
        ctx.parent,
        ctx.prefix,
        provider=target.provider,
        resource_group=group,
        location=target.region,
        container_id=store.container_id,
        issuer=ctx.issuer,
        subject=ctx.subject,
        stack=ctx.stack,
    )
    return _azure_side(blob)


# --- read the primary (Storage Transfer Service) --------------------------------------------------


def transfer_from_aws(ctx: TransferContext) -> TransferSource:
    """An IAM role the transfer agent assumes with its Google identity token (no access key)."""
    import pulumi_gcp as gcp

    from components.object_store import replication_aws, replication_gcp

    role, policy = replication_aws.read_role_for_transfer_service(
        ctx.parent,
        ctx.prefix,
        source=ctx.source,
        provider=ctx.args.source_provider,
        agent_subject_id=ctx.agent.subject_id,
        stack=ctx.args.target.stack,
    )
    spec = gcp.storage.TransferJobTransferSpecArgs(
        aws_s3_data_source=gcp.storage.TransferJobTransferSpecAwsS3DataSourceArgs(
            bucket_name=ctx.source.apply(lambda d: str(d[BUCKET])),
            role_arn=role.arn,
        ),
        gcs_data_sink=ctx.sink,
        transfer_options=replication_gcp.transfer_options(),
    )
    return TransferSource(spec, role.arn, [role, policy])


def transfer_from_azure(ctx: TransferContext) -> TransferSource:
    """A user-assigned identity with a federated credential for the agent's Google subject."""
    import pulumi_gcp as gcp

    from components.object_store import replication_azure, replication_gcp

    access = replication_azure.read_access(
        ctx.parent,
        ctx.prefix,
        source=ctx.source,
        provider=ctx.args.source_provider,
        issuer=replication_azure.GOOGLE_ISSUER_URL,
        subject=ctx.agent.subject_id,
        stack=ctx.args.target.stack,
        reader="Storage Transfer Service",
    )
    federated = gcp.storage.TransferJobTransferSpecAzureBlobStorageDataSourceFederatedIdentityConfigArgs(
        client_id=access.client_id,
        tenant_id=access.tenant_id,
    )
    spec = gcp.storage.TransferJobTransferSpecArgs(
        azure_blob_storage_data_source=gcp.storage.TransferJobTransferSpecAzureBlobStorageDataSourceArgs(
            storage_account=ctx.source.apply(lambda d: str(d[ACCOUNT])),
            container=ctx.source.apply(lambda d: str(d[BUCKET])),
            federated_identity_config=federated,
        ),
        gcs_data_sink=ctx.sink,
        transfer_options=replication_gcp.transfer_options(),
    )
    return TransferSource(spec, access.principal_id, [access.credential, access.assignment])


# --- how the copy pod signs in ---------------------------------------------------------------------


def aws_env(role_arn: pulumi.Input[str], region: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """IRSA-style web identity: the projected token file is exchanged for `role_arn` in `region`."""
    return {
        "AWS_ROLE_ARN": role_arn,
        "AWS_WEB_IDENTITY_TOKEN_FILE": token_path("aws"),
        "AWS_ROLE_SESSION_NAME": CRONJOB_NAME,
        "AWS_REGION": region,
        "AWS_STS_REGIONAL_ENDPOINTS": "regional",
    }


def _azure_side(blob: FederatedIdentity) -> PodSide:
    """The pod signs in as a federated user-assigned identity (AKS workload identity's variables)."""

    return PodSide(
        env=azure_env(blob.client_id, blob.tenant_id),
        tokens={"token": TOKEN_EXCHANGE_AUDIENCE},
        principal=blob.principal_id,
        depends_on=[blob.identity, blob.credential, blob.assignment],
    )


def azure_env(client_id: pulumi.Input[str], tenant_id: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:

    return {
        "AZURE_CLIENT_ID": client_id,
        "AZURE_TENANT_ID": tenant_id,
        "AZURE_FEDERATED_TOKEN_FILE": token_path("azure"),
        "AZURE_AUTHORITY_HOST": AUTHORITY_HOST,
    }


def rclone_remote(
    remote: str,
    cloud: Cloud,
    region: pulumi.Input[str],
    account: pulumi.Input[str],
    endpoint: pulumi.Input[str],
) -> dict[str, pulumi.Input[str]]:
    """rclone's environment settings of one remote (`RCLONE_CONFIG_<REMOTE>_*`) on `cloud`."""
    from components.object_store import replication_onprem

    settings: dict[Cloud, dict[str, pulumi.Input[str]]] = {
        "onprem": replication_onprem.rclone_remote_settings(endpoint, region),
        "aws": {
            "TYPE": "s3",
            "PROVIDER": "AWS",
            "ENV_AUTH": "true",
            "REGION": region,
            "NO_CHECK_BUCKET": "true",
            # Explicit: rclone otherwise carries the source's tier over, and an Azure blob's
            # "Hot" is not an S3 storage class (S3 answers InvalidStorageClass to every copy).
            "STORAGE_CLASS": "STANDARD",
        },
        "gcp": {
            "TYPE": "google cloud storage",
            "ENV_AUTH": "true",
            "BUCKET_POLICY_ONLY": "true",
            "NO_CHECK_BUCKET": "true",
        },
        "azure": {"TYPE": "azureblob", "ACCOUNT": account, "ENV_AUTH": "true", "NO_CHECK_CONTAINER": "true"},
    }
    prefix = f"RCLONE_CONFIG_{remote.upper()}_"
    return {prefix + key: value for key, value in settings[cloud].items()}


_Store = TypeVar("_Store", bound=ModelStore)


def store_of(store: ModelStore, kind: type[_Store]) -> _Store:
    if not isinstance(store, kind):
        raise TypeError(
            f"target_store must be a {kind.__name__} for a standby on {store.cloud} "
            f"(got {type(store).__name__}): pass the store create_model_store returned for this stack"
        )
    return store

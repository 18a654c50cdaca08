"""GCP side of cross-cloud replication: keyless read of a GCS bucket, writes into the standby's.

Read side (the primary's bucket, created with the standby's `source_provider`): a workload
identity pool whose OIDC provider trusts the standby cluster's issuer, restricted by attribute
condition to exactly the replication service account, and `roles/storage.objectViewer` on the
primary bucket for that one federated principal (direct resource access: no service account,
no key). Write side (the standby on GKE): a service account bound to the replication Kubernetes
service account through GKE Workload Identity, with `roles/storage.objectUser` on its own bucket;
or, for Storage Transfer Service, the transfer service agent's sink roles on that bucket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_gcp as gcp

from components.common import physical_name
from components.gcp_apis import GcpApis
from components.gcp_federation import PoolNames, federate_subject
from components.object_store.args import ACCOUNT, BUCKET, PROJECT_NUMBER

READ_ROLE: Final = "roles/storage.objectViewer"
WRITE_ROLE: Final = "roles/storage.objectUser"
TRANSFER_SINK_ROLES: Final = ("roles/storage.legacyBucketWriter", "roles/storage.objectViewer")
"""What Storage Transfer Service's agent needs on the sink bucket (list, get, create, overwrite)."""
TRANSFER_API: Final = "storagetransfer"
TRANSFER_START_DATE: Final = (2025, 1, 1)
"""Fixed so the job does not change on every `pulumi up`; past dates start on the next day."""


@dataclass(frozen=True)
class FederatedGcsRead:
    pool: gcp.iam.WorkloadIdentityPool
    provider: gcp.iam.WorkloadIdentityPoolProvider
    binding: gcp.storage.BucketIAMMember
    principal: pulumi.Output[str]
    token_audience: pulumi.Output[str]
    """`aud` of the projected Kubernetes token: the provider's default allowed audience."""
    credential_config: pulumi.Output[str]
    """Google external-account credential file (no secret in it: it points at the token file)."""


def read_access_for_cluster(
    parent: pulumi.Resource,
    name: str,
    *,
    source: pulumi.Output[Mapping[str, Any]],
    provider: pulumi.ProviderResource,
    issuer_url: pulumi.Output[str],
    subject: str,
    token_path: str,
    stack: str,
    name_suffix: pulumi.Input[str] | None = None,
) -> FederatedGcsRead:
    """objectViewer on the primary bucket for one service account of the standby cluster, through
    a workload identity pool in the primary's project (components/gcp_federation.py)."""
    federated = federate_subject(
        f"{name}-standby-cluster",
        stack=stack,
        names=PoolNames(
            pool_id="replication",
            pool_label="model replication",
            provider_id="cluster",
            provider_label="cluster",
            description=f"Standby stack {stack}: its cluster reads the model bucket (read-only)",
        ),
        project=source.apply(lambda d: str(d[ACCOUNT])),
        project_number=source.apply(lambda d: str(d[PROJECT_NUMBER])),
        issuer_url=issuer_url,
        subject=subject,
        name_suffix=name_suffix,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
    binding = gcp.storage.BucketIAMMember(
        f"{name}-source-read",
        gcp.storage.BucketIAMMemberArgs(
            bucket=source.apply(lambda d: str(d[BUCKET])), role=READ_ROLE, member=federated.principal
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[federated.provider]),
    )
    return FederatedGcsRead(
        pool=federated.pool,
        provider=federated.provider,
        binding=binding,
        principal=federated.principal,
        token_audience=federated.token_audience,
        credential_config=federated.credential_config(token_path),
    )


def write_identity_for_cluster(
    parent: pulumi.Resource,
    name: str,
    *,
    project: str,
    bucket_name: pulumi.Output[str],
    provider: pulumi.ProviderResource,
    namespace: str,
    service_account: str,
    stack: str,
    after: Sequence[pulumi.Resource] = (),
) -> tuple[gcp.serviceaccount.Account, list[pulumi.Resource]]:
    """A GCP service account the replication pods run as (GKE Workload Identity), objectUser on
    the standby's own bucket only."""
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    account = gcp.serviceaccount.Account(
        f"{name}-target-write",
        gcp.serviceaccount.AccountArgs(
            account_id=physical_name(stack, "replicator", max_length=30),
            project=project,
            display_name=f"Model replication of stack {stack}",
            description="Writes copies of the primary's model artefacts into this stack's bucket",
        ),
        # After the cluster: its creation enabled the IAM and container APIs this relies on.
        opts=opts.merge(pulumi.ResourceOptions(depends_on=list(after))),
    )
    workload_binding = gcp.serviceaccount.IAMMember(
        f"{name}-target-write-workload-identity",
        gcp.serviceaccount.IAMMemberArgs(
            service_account_id=account.name,
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{project}.svc.id.goog[{namespace}/{service_account}]",
        ),
        opts=opts.merge(pulumi.ResourceOptions(depends_on=list(after))),
    )
    bucket_binding = gcp.storage.BucketIAMMember(
        f"{name}-target-write",
        gcp.storage.BucketIAMMemberArgs(
            bucket=bucket_name,
            role=WRITE_ROLE,
            member=account.email.apply(lambda email: f"serviceAccount:{email}"),
        ),
        opts=opts,
    )
    return account, [workload_binding, bucket_binding]


@dataclass(frozen=True)
class TransferAgent:
    email: pulumi.Output[str]
    subject_id: pulumi.Output[str]
    grants: list[pulumi.Resource]


def transfer_agent(
    parent: pulumi.Resource,
    name: str,
    *,
    project: str,
    bucket_name: pulumi.Output[str],
    provider: pulumi.ProviderResource,
    apis: GcpApis,
) -> TransferAgent:
    """Enable Storage Transfer Service (once, through the stack's GcpApis), look up its service
    agent and give it the sink roles."""
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    api = apis.enable(
        TRANSFER_API,
        previously={TRANSFER_API: pulumi.Alias(name=f"{name}-storagetransfer-api", parent=parent)},
    )
    agent = gcp.storage.get_transfer_project_service_account_output(
        project=project,
        opts=pulumi.InvokeOutputOptions(parent=parent, provider=provider, depends_on=api),
    )
    grants: list[pulumi.Resource] = list(api)
    for role in TRANSFER_SINK_ROLES:
        grants.append(
            gcp.storage.BucketIAMMember(
                f"{name}-transfer-sink-{role.rsplit('.', 1)[-1].lower()}",
                gcp.storage.BucketIAMMemberArgs(
                    bucket=bucket_name,
                    role=role,
                    member=agent.email.apply(lambda email: f"serviceAccount:{email}"),
                ),
                opts=opts,
            )
        )
    return TransferAgent(email=agent.email, subject_id=agent.subject_id, grants=grants)


def transfer_job(
    parent: pulumi.Resource,
    name: str,
    *,
    project: str,
    description: pulumi.Input[str],
    source: gcp.storage.TransferJobTransferSpecArgs,
    interval_minutes: int,
    paused: bool,
    provider: pulumi.ProviderResource,
    depends_on: list[pulumi.Resource],
) -> gcp.storage.TransferJob:
    """The recurring transfer job; `source` carries the data source and the GCS sink."""
    year, month, day = TRANSFER_START_DATE
    return gcp.storage.TransferJob(
        f"{name}-transfer",
        gcp.storage.TransferJobArgs(
            description=description,
            project=project,
            transfer_spec=source,
            schedule=gcp.storage.TransferJobScheduleArgs(
                schedule_start_date=gcp.storage.TransferJobScheduleScheduleStartDateArgs(
                    year=year, month=month, day=day
                ),
                repeat_interval=f"{interval_minutes * 60}s",
            ),
            status="DISABLED" if paused else "ENABLED",
            logging_config=gcp.storage.TransferJobLoggingConfigArgs(
                log_actions=["FIND", "COPY"], log_action_states=["FAILED"]
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on),
    )


def transfer_options() -> gcp.storage.TransferJobTransferSpecTransferOptionsArgs:
    """Copy new and changed objects; never delete on either side (a deletion on the primary, or
    a corruption, must not erase the standby's last good copy).

    DIFFERENT overwrites a sink object whose source has a different ETag or checksum. Every new
    upload gets a new ETag on S3 (SSE-KMS and multipart ETags are opaque but change with each
    upload) and on Azure Blob, so a same-size new model version is copied; unlike rclone's
    `--checksum`, this never falls back to comparing sizes."""
    return gcp.storage.TransferJobTransferSpecTransferOptionsArgs(
        overwrite_when="DIFFERENT",
        delete_objects_unique_in_sink=False,
        delete_objects_from_source_after_transfer=False,
    )

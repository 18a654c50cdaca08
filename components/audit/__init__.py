"""Write-once audit store: one bucket per stack, in the stack's own cloud, for `failover` records.

    audit = create_audit_store(name, AuditStoreArgs(placement=..., model_store=store, retention_days=365))
    audit.descriptor   # exported as `auditStore`: cloud, region, bucket, uri, account, retentionDays, lock

aws: S3 with Object Lock in COMPLIANCE mode by default (every object version is undeletable and
its retention cannot be shortened, by anyone, for `retention_days`), versioned, SSE-KMS with the
model store's customer-managed key, public access blocked, TLS only.
gcp: GCS bucket with a *locked* retention policy (objects cannot be deleted or overwritten until
they are `retention_days` old; the policy itself can never be removed or shortened), CMEK with the
model store's Cloud KMS key (same location), uniform access, public access prevention.
azure: its own storage account with version-level immutability: an account default policy of
`retention_days` (Unlocked: Azure cannot create it Locked) and a *Locked* policy the CLI sets on
every record it writes (that version cannot be deleted or overwritten, nor its policy shortened,
until `retention_days` old); Entra auth only, infrastructure encryption, Microsoft-managed keys.

The `failover` CLI (cutover/audit.py) appends one JSON record per step, each carrying the hash of
the previous one, so a deleted or edited record breaks the chain.
"""

from __future__ import annotations

import pulumi

from components.audit.args import AuditStore, AuditStoreArgs
from components.common import unsupported_cloud

__all__ = ["AuditStore", "AuditStoreArgs", "create_audit_store"]


def create_audit_store(
    name: str, args: AuditStoreArgs, opts: pulumi.ResourceOptions | None = None
) -> AuditStore:
    """The audit store for `args.placement.cloud`; `name` prefixes every child resource's name.

    Each cloud's module (and so its Pulumi SDK) is imported only when a stack uses that cloud.
    """
    match args.placement.cloud:
        case "aws":
            from components.audit.aws import AwsAuditStore

            return AwsAuditStore(name, args, opts)
        case "gcp":
            from components.audit.gcp import GcpAuditStore

            return GcpAuditStore(name, args, opts)
        case "azure":
            from components.audit.azure import AzureAuditStore

            return AzureAuditStore(name, args, opts)
        case "onprem":
            from components.audit.onprem import OnpremAuditStore

            return OnpremAuditStore(name, args, opts)
        case _:
            raise unsupported_cloud(args.placement.cloud, ("aws", "gcp", "azure", "onprem"))

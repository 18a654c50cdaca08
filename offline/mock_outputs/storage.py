"""Mock outputs shaped like the real APIs for the object store and replication resource types.

S3 bucket ARNs have no region or account (`arn:aws:s3:::<bucket>`) and the bucket reports the
region of the provider that created it; IAM ARNs have no region; GCS buckets answer with `gs://`
URLs; workload identity pools are addressed by project number; Azure storage accounts report
their primary endpoints and blob containers live under `blobServices/default`. Invokes: the
Cloud Storage service agent (CMEK) and the Storage Transfer Service agent with its subject id.

Types other capabilities may also register (IAM roles, service accounts, managed identities) are
registered here only if nobody registered them first, so this module never overrides theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import rpc

from offline import mocks
from offline.mocks import (
    ACCOUNT_ID,
    AZURE_SUBSCRIPTION,
    AZURE_TENANT,
    GCP_PROJECT_NUMBER,
    OutputsFn,
    answers_call,
    outputs_for,
    stable_hex,
)

Args = pulumi.runtime.MockResourceArgs

STS_AGENT_SUBJECT_ID = "109876543210987654321"
"""Storage Transfer Service agents have a 21-digit numeric subject id (their OAuth2 client id)."""

_AWS_PROVIDER_REGIONS: dict[str, str] = {}
"""Provider id -> region, so a resource reports the region of the provider that created it."""


def _plain(value: Any) -> Any:
    while rpc.is_rpc_secret(value):
        value = rpc.unwrap_rpc_secret(value)
    return value


def _unless_registered(*type_tokens: str) -> Callable[[OutputsFn], OutputsFn]:
    """Like `outputs_for`, but leaves a type alone when another capability registered it first."""

    def register(fn: OutputsFn) -> OutputsFn:
        free = [t for t in type_tokens if t not in mocks._OUTPUTS]  # read-only peek at the registry
        return outputs_for(*free)(fn) if free else fn

    return register


def _uuid(*parts: str) -> str:
    h = stable_hex(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _auto_name(args: Args, field: str = "name", length: int = 7) -> str:
    """The explicit physical name, else Pulumi's auto-name (logical name + random suffix)."""
    explicit = _plain(args.inputs.get(field))
    return str(explicit) if explicit else f"{args.name}-{stable_hex(args.typ, args.name, length=length)}"


# --- AWS ------------------------------------------------------------------------------------------


@_unless_registered("pulumi:providers:aws")
def _aws_provider(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    _AWS_PROVIDER_REGIONS[str(state.get("id", f"{args.name}-id"))] = str(
        _plain(args.inputs.get("region")) or ""
    )
    return {}


def _aws_region_of(args: Args) -> str:
    explicit = _plain(args.inputs.get("region"))
    if explicit:
        return str(explicit)
    provider_id = (args.provider or "").rsplit("::", 1)[-1]
    return _AWS_PROVIDER_REGIONS.get(provider_id) or "us-east-1"


@outputs_for("aws:s3/bucket:Bucket")
def _s3_bucket(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = _plain(args.inputs.get("bucket")) or f"{args.name}-{stable_hex(args.typ, args.name, length=7)}"
    region = _aws_region_of(args)
    return {
        "id": name,
        "bucket": name,
        "arn": f"arn:aws:s3:::{name}",
        "region": region,
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        "hostedZoneId": "Z3AQBSTGFYJSTF",
    }


@_unless_registered("aws:iam/role:Role")
def _iam_role(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = _auto_name(args)
    return {
        "id": name,
        "name": name,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
        "uniqueId": f"AROA{stable_hex(args.typ, name, length=17).upper()}",
    }


@_unless_registered("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _oidc_provider(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    url = str(_plain(args.inputs.get("url")) or "")
    arn = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{url.removeprefix('https://')}"
    return {"id": arn, "arn": arn}


# --- GCP ------------------------------------------------------------------------------------------


@answers_call("gcp:storage/getProjectServiceAccount:getProjectServiceAccount")
def _gcs_service_agent(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    email = f"service-{GCP_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
    return {
        "emailAddress": email,
        "member": f"serviceAccount:{email}",
        "project": args.args.get("project", "mock-project"),
        "id": email,
    }


@answers_call("gcp:storage/getTransferProjectServiceAccount:getTransferProjectServiceAccount")
def _transfer_service_agent(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    email = f"project-{GCP_PROJECT_NUMBER}@storage-transfer-service.iam.gserviceaccount.com"
    return {
        "email": email,
        "member": f"serviceAccount:{email}",
        "subjectId": STS_AGENT_SUBJECT_ID,
        "project": args.args.get("project", "mock-project"),
        "id": email,
    }


@outputs_for("gcp:storage/bucket:Bucket")
def _gcs_bucket(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = _auto_name(args)
    return {
        "id": name,
        "name": name,
        "url": f"gs://{name}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}",
        "projectNumber": GCP_PROJECT_NUMBER,
        "timeCreated": "2025-01-01T00:00:00.000Z",
    }


@outputs_for("gcp:storage/bucketIAMMember:BucketIAMMember")
def _gcs_bucket_member(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    bucket, role, member = (_plain(args.inputs[k]) for k in ("bucket", "role", "member"))
    return {"id": f"b/{bucket}/{role}/{member}", "etag": f"CAE{stable_hex(str(bucket), length=6)}="}


@outputs_for("gcp:storage/transferJob:TransferJob")
def _transfer_job(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    digits = str(int(stable_hex(args.typ, args.name, length=15), 16))[:19]
    name = _plain(args.inputs.get("name")) or f"transferJobs/{digits}"
    project = _plain(args.inputs.get("project")) or "mock-project"
    return {"id": f"{project}/{name}", "name": name, "creationTime": "2025-01-01T00:00:00Z"}


@outputs_for("gcp:iam/workloadIdentityPool:WorkloadIdentityPool")
def _wif_pool(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    pool_id = _plain(args.inputs["workloadIdentityPoolId"])
    name = f"projects/{GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/{pool_id}"
    return {"id": name, "name": name, "state": "ACTIVE"}


@outputs_for("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
def _wif_provider(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    pool_id = _plain(args.inputs["workloadIdentityPoolId"])
    provider_id = _plain(args.inputs["workloadIdentityPoolProviderId"])
    pool = f"projects/{GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/{pool_id}"
    name = f"{pool}/providers/{provider_id}"
    return {"id": name, "name": name, "state": "ACTIVE"}


@_unless_registered("gcp:serviceaccount/account:Account")
def _service_account(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    account_id = _plain(args.inputs.get("accountId")) or args.name
    project = _plain(args.inputs.get("project")) or "mock-project"
    email = f"{account_id}@{project}.iam.gserviceaccount.com"
    return {
        "id": f"projects/{project}/serviceAccounts/{email}",
        "name": f"projects/{project}/serviceAccounts/{email}",
        "email": email,
        "member": f"serviceAccount:{email}",
        "uniqueId": str(int(stable_hex(email, length=15), 16))[:21],
    }


# --- Azure ----------------------------------------------------------------------------------------


def _azure_group(args: Args) -> str:
    return str(_plain(args.inputs.get("resourceGroupName")) or "mock-rg")


@outputs_for("azure-native:storage:StorageAccount")
def _storage_account(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = _auto_name(args, "accountName")
    location = _plain(args.inputs.get("location")) or "eastus"
    return {
        "id": f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{_azure_group(args)}/providers/"
        f"Microsoft.Storage/storageAccounts/{name}",
        "name": name,
        "primaryLocation": location,
        "provisioningState": "Succeeded",
        "primaryEndpoints": {
            "blob": f"https://{name}.blob.core.windows.net/",
            "dfs": f"https://{name}.dfs.core.windows.net/",
            "file": f"https://{name}.file.core.windows.net/",
            "queue": f"https://{name}.queue.core.windows.net/",
            "table": f"https://{name}.table.core.windows.net/",
            "web": f"https://{name}.z13.web.core.windows.net/",
        },
        "secondaryEndpoints": {"blob": f"https://{name}-secondary.blob.core.windows.net/"},
        **_storage_identity(_plain(args.inputs.get("identity")) or {}),
    }


def _storage_identity(requested: dict[str, Any]) -> dict[str, Any]:
    """ARM answers user-assigned identities as a map keyed by resource id (the input is a list)."""
    if not requested:
        return {}
    assigned = requested.get("userAssignedIdentities") or []
    return {
        "identity": {
            "type": requested.get("type"),
            "userAssignedIdentities": {
                uami: {"principalId": stable_hex("principal", uami, length=32), "clientId": stable_hex(uami)}
                for uami in assigned
            },
        }
    }


def _account_id(args: Args) -> str:
    return (
        f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{_azure_group(args)}/providers/"
        f"Microsoft.Storage/storageAccounts/{_plain(args.inputs['accountName'])}"
    )


@outputs_for("azure-native:storage:BlobServiceProperties")
def _blob_service(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{_account_id(args)}/blobServices/default", "name": "default"}


@outputs_for("azure-native:storage:BlobContainer")
def _blob_container(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = _auto_name(args, "containerName")
    return {
        "id": f"{_account_id(args)}/blobServices/default/containers/{name}",
        "name": name,
        "publicAccess": _plain(args.inputs.get("publicAccess")) or "None",
    }


@_unless_registered("azure-native:managedidentity:UserAssignedIdentity")
def _user_assigned_identity(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = _auto_name(args, "resourceName")
    return {
        "id": f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{_azure_group(args)}/providers/"
        f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
        "name": name,
        "clientId": _uuid("client", args.name),
        "principalId": _uuid("principal", args.name),
        "tenantId": AZURE_TENANT,
    }


@_unless_registered("azure-native:managedidentity:FederatedIdentityCredential")
def _federated_credential(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = _auto_name(args, "federatedIdentityCredentialResourceName")
    identity = _plain(args.inputs.get("resourceName"))
    return {
        "id": f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{_azure_group(args)}/providers/"
        f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity}/federatedIdentityCredentials/{name}",
        "name": name,
    }


@_unless_registered("azure-native:authorization:RoleAssignment")
def _role_assignment(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = _plain(args.inputs.get("roleAssignmentName")) or _uuid(args.typ, args.name)
    scope = _plain(args.inputs.get("scope")) or f"/subscriptions/{AZURE_SUBSCRIPTION}"
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
        "principalType": _plain(args.inputs.get("principalType")) or "ServicePrincipal",
    }

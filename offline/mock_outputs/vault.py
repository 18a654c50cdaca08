"""Mock outputs shaped like the real APIs for the secrets vault's resource types.

Shapes follow what each provider reads back: Secrets Manager ARNs end in `-` plus six random
characters; KMS keys are UUIDs; GCP ids are full resource paths (Secret Manager's `name` uses the
project number); Key Vault secrets never echo their value and report their URIs instead.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime import rpc

from offline.mocks import ACCOUNT_ID, AZURE_SUBSCRIPTION, GCP_PROJECT_NUMBER, outputs_for, stable_hex

Args = pulumi.runtime.MockResourceArgs


def _plain(value: Any) -> Any:
    """`value` without the wire's secret wrappers, at any depth (mocks see secret inputs wrapped)."""
    while rpc.is_rpc_secret(value):
        value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _uuid(*parts: str) -> str:
    h = stable_hex(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _aws_region(args: Args) -> str:
    return str(args.inputs.get("region") or "us-east-1")


@outputs_for("aws:kms/key:Key")
def _kms_key(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    key_id = _uuid(args.typ, args.name)
    return {
        "id": key_id,
        "keyId": key_id,
        "arn": f"arn:aws:kms:{_aws_region(args)}:{ACCOUNT_ID}:key/{key_id}",
        "keyUsage": args.inputs.get("keyUsage", "ENCRYPT_DECRYPT"),
        "customerMasterKeySpec": args.inputs.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT"),
        "isEnabled": True,
    }


@outputs_for("aws:kms/alias:Alias")
def _kms_alias(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs.get("name") or f"alias/{args.name}"
    target = str(_plain(args.inputs.get("targetKeyId", "")))
    key_arn = (
        target if target.startswith("arn:") else f"arn:aws:kms:{_aws_region(args)}:{ACCOUNT_ID}:key/{target}"
    )
    return {
        "id": name,
        "name": name,
        "arn": f"arn:aws:kms:{_aws_region(args)}:{ACCOUNT_ID}:{name}",
        "targetKeyArn": key_arn,
    }


@outputs_for("aws:secretsmanager/secret:Secret")
def _secretsmanager_secret(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    # name_prefix: the provider appends a 26-character unique suffix.
    prefix = args.inputs.get("namePrefix")
    name = args.inputs.get("name") or (prefix + stable_hex(args.name, length=26) if prefix else args.name)
    suffix = stable_hex(args.typ, name, length=6)
    arn = f"arn:aws:secretsmanager:{_aws_region(args)}:{ACCOUNT_ID}:secret:{name}-{suffix}"
    return {"id": arn, "arn": arn, "name": name}


@outputs_for("aws:secretsmanager/secretVersion:SecretVersion")
def _secretsmanager_version(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    secret_arn = _plain(args.inputs["secretId"])
    version_id = _uuid(args.typ, args.name)
    return {
        "id": f"{secret_arn}|{version_id}",
        "arn": secret_arn,
        "versionId": version_id,
        "versionStages": ["AWSCURRENT"],
    }


@outputs_for("aws:iam/rolePolicy:RolePolicy")
def _role_policy(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    # The provider accepts the typed PolicyDocument object and reads the policy back as JSON text.
    policy = _plain(args.inputs["policy"])
    name = args.inputs.get("name") or args.name
    return {
        "id": f"{_plain(args.inputs['role'])}:{name}",
        "name": name,
        "policy": policy if isinstance(policy, str) else json.dumps(policy, sort_keys=True),
    }


def _gcp_project(args: Args) -> str:
    return str(args.inputs.get("project") or "mock-project")


@outputs_for("gcp:kms/keyRing:KeyRing")
def _kms_key_ring(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    # Auto-named by the provider: the logical name plus a random suffix.
    name = args.inputs.get("name") or f"{args.name}-{stable_hex(args.typ, args.name, length=7)}"
    ring_id = f"projects/{_gcp_project(args)}/locations/{args.inputs['location']}/keyRings/{name}"
    return {"id": ring_id, "name": name}


@outputs_for("gcp:kms/cryptoKey:CryptoKey")
def _kms_crypto_key(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs.get("name") or args.name
    return {"id": f"{args.inputs['keyRing']}/cryptoKeys/{name}", "name": name, "primaries": []}


_SERVICE_AGENT_DOMAINS = {
    "secretmanager.googleapis.com": "gcp-sa-secretmanager",
    "cloudkms.googleapis.com": "gcp-sa-cloudkms",
    "storage.googleapis.com": "gs-project-accounts",
    "container.googleapis.com": "container-engine-robot",
}


@outputs_for("gcp:projects/serviceIdentity:ServiceIdentity")
def _service_identity(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    service = args.inputs["service"]
    domain = _SERVICE_AGENT_DOMAINS.get(service, f"gcp-sa-{service.split('.')[0]}")
    email = f"service-{GCP_PROJECT_NUMBER}@{domain}.iam.gserviceaccount.com"
    return {
        "id": f"projects/{_gcp_project(args)}/services/{service}",
        "email": email,
        "member": f"serviceAccount:{email}",
    }


@outputs_for("gcp:secretmanager/secret:Secret")
def _gcp_secret(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    secret_id = args.inputs["secretId"]
    return {
        "id": f"projects/{_gcp_project(args)}/secrets/{secret_id}",
        "name": f"projects/{GCP_PROJECT_NUMBER}/secrets/{secret_id}",
        "secretId": secret_id,
        "createTime": "2026-01-01T00:00:00.000000Z",
    }


@outputs_for("gcp:secretmanager/secretVersion:SecretVersion")
def _gcp_secret_version(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    secret = str(_plain(args.inputs["secret"])).split("/secrets/")[-1]
    name = f"projects/{GCP_PROJECT_NUMBER}/secrets/{secret}/versions/1"
    return {"id": name, "name": name, "version": "1", "enabled": True}


def _azure_id(args: Args, tail: str) -> str:
    group = args.inputs.get("resourceGroupName", "mock-rg")
    return f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.KeyVault/{tail}"


@outputs_for("azure-native:keyvault:Vault")
def _key_vault(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs.get("vaultName") or args.name
    properties = dict(_plain(args.inputs.get("properties")) or {})
    properties["vaultUri"] = f"https://{name}.vault.azure.net/"
    properties.setdefault("provisioningState", "Succeeded")
    return {
        "id": _azure_id(args, f"vaults/{name}"),
        "name": name,
        "type": "Microsoft.KeyVault/vaults",
        "properties": properties,
    }


@outputs_for("azure-native:keyvault:Secret")
def _key_vault_secret(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    vault = args.inputs["vaultName"]
    name = args.inputs.get("secretName") or args.name
    version = stable_hex(args.typ, vault, name, length=32)
    uri = f"https://{vault}.vault.azure.net/secrets/{name}"
    # ARM never returns a secret's value, only where to read it.
    given = dict(_plain(args.inputs.get("properties")) or {})
    properties = {k: v for k, v in given.items() if k != "value"}
    properties.update({"secretUri": uri, "secretUriWithVersion": f"{uri}/{version}"})
    return {
        "id": _azure_id(args, f"vaults/{vault}/secrets/{name}"),
        "name": name,
        "type": "Microsoft.KeyVault/vaults/secrets",
        "properties": properties,
    }


@outputs_for("azure-native:keyvault:Key")
def _key_vault_key(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    vault = args.inputs["vaultName"]
    name = args.inputs.get("keyName") or args.name
    version = stable_hex(args.typ, vault, name, length=32)
    uri = f"https://{vault}.vault.azure.net/keys/{name}"
    return {
        "id": _azure_id(args, f"vaults/{vault}/keys/{name}"),
        "name": name,
        "type": "Microsoft.KeyVault/vaults/keys",
        "keyUri": uri,
        "keyUriWithVersion": f"{uri}/{version}",
    }

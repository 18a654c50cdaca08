"""Azure: a Key Vault with RBAC authorisation, soft delete and purge protection.

Network access: the firewall denies every public address (default action Deny, trusted-service
bypass off) and admits exactly `network_access`: the AKS node subnet through its Microsoft.KeyVault
service endpoint (the workload reads its secrets from there) and the deployer's CIDRs
(`deployerCidrs`). `pulumi up` still writes secrets from anywhere: azure-native creates them
through Azure Resource Manager (Microsoft.KeyVault/vaults/secrets), a management-plane call the
vault firewall does not apply to (documented behaviour, MicrosoftDocs/azure-docs#68668). Every
data-plane request also needs an Entra ID token; with RBAC authorisation the only grant is "Key
Vault Secrets User" for the workload's identity on each named secret. A private endpoint would
replace the service endpoint when the vault must have no public endpoint at all.

Vault names are global and held for `recovery_window_days` after deletion (soft delete + purge
protection), so the name hashes subscription, stack, region and the stack instance's random
suffix (components/naming.py): stable for the stack's life, new after a destroy, so a re-created
stack gets a fresh vault instead of colliding with the soft-deleted one (which can still be
recovered with `az keyvault recover` until it expires).
"""

from __future__ import annotations

import hashlib
import re

import pulumi
import pulumi_azure_native as azure_native

from components.common import physical_name, type_token
from components.data_plane_access import key_vault_network_rules
from components.secrets_vault.args import (
    MODULE,
    SecretsVault,
    SecretsVaultArgs,
    collect_refs,
    sorted_names,
)

# Built-in role "Key Vault Secrets User": read secret contents (data action secrets/getSecret/action).
KEY_VAULT_SECRETS_USER_ROLE_ID = "4633458b-17de-408a-b874-0445c86b69e6"
VAULT_NAME_MIN, VAULT_NAME_MAX = 3, 24
_VAULT_NAME = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{1,22}[a-z0-9]$")
_HASH_LENGTH = 8


def key_vault_name(stack: str, region: str, subscription_id: str, instance: str = "") -> str:
    """`kv-<stack>-<hash>`, 3-24 characters, unique per subscription, stack, region and instance.

    Key Vault names are global across Azure; the hash of subscription, stack and region keeps two
    organisations (or two regions of one stack) apart, and `instance` (the stack's random name
    suffix) keeps a re-created stack off its soft-deleted predecessor's name.
    """
    key = f"{subscription_id}/{stack}/{region}" + (f"/{instance}" if instance else "")
    digest = hashlib.sha256(key.encode()).hexdigest()[:_HASH_LENGTH]
    room = VAULT_NAME_MAX - len("kv--") - _HASH_LENGTH
    stem = physical_name(stack, max_length=room)
    name = f"kv-{stem}-{digest}" if stem else f"kv-{digest}"
    if not (VAULT_NAME_MIN <= len(name) <= VAULT_NAME_MAX and _VAULT_NAME.match(name)):
        raise ValueError(
            f"derived Key Vault name {name!r} (from stack {stack!r}) is not a valid vault name: "
            f"expected {VAULT_NAME_MIN}-{VAULT_NAME_MAX} lowercase letters, digits and single dashes, "
            "starting with a letter; rename the stack to letters, digits and dashes"
        )
    return name


def secrets_user_role(subscription_id: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{KEY_VAULT_SECRETS_USER_ROLE_ID}"
    )


def resource_group(args: SecretsVaultArgs) -> pulumi.Input[str]:
    group = args.placement.azure_resource_group
    assert group is not None  # SecretsVaultArgs validation guarantees it on azure
    return group


class AzureSecretsVault(SecretsVault):
    """A Key Vault (RBAC, soft delete, purge protection, firewall) holding the stack's secrets."""

    vault_name: pulumi.Output[str]
    """`kv-<stack>-<hash>`, global and new per stack instance (see `key_vault_name`)."""
    vault: azure_native.keyvault.Vault
    """The Key Vault (`vault_id`)."""
    secrets: dict[str, azure_native.keyvault.Secret]
    """Secret config name -> its Key Vault secret."""
    read_grants: dict[str, azure_native.authorization.RoleAssignment]
    """Secret config name -> Key Vault Secrets User for the workload's identity on that secret only."""

    def __init__(self, name: str, args: SecretsVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "AzureSecretsVault"), name, None, opts)
        placement = args.placement
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        guarded = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=args.deletion_protection)
        )
        client = azure_native.authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        )
        self.vault_name = pulumi.Output.all(client.subscription_id, placement.name_suffix or "").apply(
            lambda values: key_vault_name(placement.stack, placement.region, values[0], values[1])
        )
        self.vault = self._vault(name, args, client, guarded)
        self.secrets = self._secrets(name, args, guarded)
        self.read_grants = self._read_access(name, args, client, child)

        vault_uri = self.vault.properties.apply(lambda p: p.vault_uri.rstrip("/"))
        self.secret_refs = collect_refs(
            {s: pulumi.Output.concat(vault_uri, "/secrets/", s) for s in sorted_names(args)}
        )
        self.vault_id = self.vault.id
        self.key_id = None
        self.register_outputs(
            {"secret_refs": self.secret_refs, "vault_id": self.vault_id, "vault_name": self.vault_name}
        )

    def _vault(
        self,
        name: str,
        args: SecretsVaultArgs,
        client: pulumi.Output[azure_native.authorization.GetClientConfigResult],
        guarded: pulumi.ResourceOptions,
    ) -> azure_native.keyvault.Vault:
        placement = args.placement
        return azure_native.keyvault.Vault(
            f"{name}-vault",
            azure_native.keyvault.VaultArgs(
                vault_name=self.vault_name,
                resource_group_name=resource_group(args),
                location=placement.region,
                properties=azure_native.keyvault.VaultPropertiesArgs(
                    tenant_id=client.tenant_id,
                    sku=azure_native.keyvault.SkuArgs(
                        family=azure_native.keyvault.SkuFamily.A,
                        name=azure_native.keyvault.SkuName.STANDARD,
                    ),
                    enable_rbac_authorization=True,
                    enable_soft_delete=True,
                    soft_delete_retention_in_days=args.recovery_window_days,
                    enable_purge_protection=True,
                    enabled_for_deployment=False,
                    enabled_for_disk_encryption=False,
                    enabled_for_template_deployment=False,
                    # Selected networks only: the AKS subnet and the listed CIDRs (see module doc).
                    public_network_access="Enabled",
                    network_acls=key_vault_network_rules(args.network_access),
                ),
                tags=dict(placement.tags),
            ),
            opts=guarded,
        )

    def _secrets(
        self, name: str, args: SecretsVaultArgs, guarded: pulumi.ResourceOptions
    ) -> dict[str, azure_native.keyvault.Secret]:
        return {
            secret: azure_native.keyvault.Secret(
                f"{name}-{secret}",
                azure_native.keyvault.SecretArgs(
                    resource_group_name=resource_group(args),
                    vault_name=self.vault.name,
                    secret_name=secret,
                    # The whole properties object is secret: the value sits inside it, and Pulumi
                    # tracks secrecy per top-level property in state and on the wire.
                    properties=pulumi.Output.secret(
                        azure_native.keyvault.SecretPropertiesArgs(
                            value=args.secrets[secret],
                            content_type="text/plain",
                            attributes=azure_native.keyvault.SecretAttributesArgs(enabled=True),
                        )
                    ),
                    tags=dict(args.placement.tags),
                ),
                opts=pulumi.ResourceOptions.merge(
                    guarded, pulumi.ResourceOptions(additional_secret_outputs=["properties"])
                ),
            )
            for secret in sorted_names(args)
        }

    def _read_access(
        self,
        name: str,
        args: SecretsVaultArgs,
        client: pulumi.Output[azure_native.authorization.GetClientConfigResult],
        child: pulumi.ResourceOptions,
    ) -> dict[str, azure_native.authorization.RoleAssignment]:
        return {
            secret: azure_native.authorization.RoleAssignment(
                f"{name}-{secret}-read",
                azure_native.authorization.RoleAssignmentArgs(
                    scope=resource.id,
                    role_definition_id=client.subscription_id.apply(secrets_user_role),
                    principal_id=args.reader.principal,
                    principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
                    description=f"{args.reader.namespace}/{args.reader.service_account} reads {secret}",
                ),
                opts=child,
            )
            for secret, resource in self.secrets.items()
        }

"""Azure: a Key Vault with RBAC authorisation, soft delete and purge protection.

Network access, the deliberate choice: the vault keeps its public endpoint, with no IP firewall.
The AKS workload reaches Key Vault from the cluster's egress address, which the cluster component
does not expose (nor a subnet for a private endpoint), and a firewall that guesses it would lock
the workload out during exactly the failover it exists for. Every data-plane request still needs
an Entra ID token, and with RBAC authorisation (no access policies) the only grant is "Key Vault
Secrets User" for the workload's identity on each named secret. Trusted-service bypass is off.
Moving to a private endpoint needs the AKS VNet/subnet id in the contract; then set
`public_network_access` to Disabled.

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


class AzureSecretsVault(SecretsVault):
    def __init__(self, name: str, args: SecretsVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "AzureSecretsVault"), name, None, opts)
        placement = args.placement
        resource_group = placement.azure_resource_group
        assert resource_group is not None  # SecretsVaultArgs validation guarantees it on azure
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        guarded = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=args.deletion_protection)
        )
        tags = dict(placement.tags)

        client = azure_native.authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        )
        self.vault_name = pulumi.Output.all(client.subscription_id, placement.name_suffix or "").apply(
            lambda values: key_vault_name(placement.stack, placement.region, values[0], values[1])
        )

        self.vault = azure_native.keyvault.Vault(
            f"{name}-vault",
            azure_native.keyvault.VaultArgs(
                vault_name=self.vault_name,
                resource_group_name=resource_group,
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
                    public_network_access="Enabled",
                    network_acls=azure_native.keyvault.NetworkRuleSetArgs(
                        default_action=azure_native.keyvault.NetworkRuleAction.ALLOW,
                        bypass=azure_native.keyvault.NetworkRuleBypassOptions.NONE,
                    ),
                ),
                tags=tags,
            ),
            opts=guarded,
        )

        self.secrets: dict[str, azure_native.keyvault.Secret] = {}
        self.read_grants: dict[str, azure_native.authorization.RoleAssignment] = {}
        for secret in sorted_names(args):
            resource = azure_native.keyvault.Secret(
                f"{name}-{secret}",
                azure_native.keyvault.SecretArgs(
                    resource_group_name=resource_group,
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
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions.merge(
                    guarded, pulumi.ResourceOptions(additional_secret_outputs=["properties"])
                ),
            )
            self.secrets[secret] = resource
            self.read_grants[secret] = azure_native.authorization.RoleAssignment(
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

        vault_uri = self.vault.properties.apply(lambda p: p.vault_uri.rstrip("/"))
        self.secret_refs = collect_refs(
            {s: pulumi.Output.concat(vault_uri, "/secrets/", s) for s in sorted_names(args)}
        )
        self.vault_id = self.vault.id
        self.key_id = None
        self.register_outputs(
            {"secret_refs": self.secret_refs, "vault_id": self.vault_id, "vault_name": self.vault_name}
        )

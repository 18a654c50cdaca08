"""onprem: the stack's secrets in an existing OpenBao (or HashiCorp Vault), read by the workload
through Kubernetes auth, so no static vault token ever lives in the cluster.

What the stack creates, through its own explicit vault provider (address from `vaultAddress`, the
deployer's token from VAULT_TOKEN at run time, never in config or state):

| resource                      | scope                                                            |
|-------------------------------|------------------------------------------------------------------|
| KV v2 secrets                 | in the KV v2 mount `vaultKvMount`, the stack's folder            |
|                               | `<stack>/<name>`, one secret per config secret                   |
| policy `<mount>-<stack>-read` | `read` on exactly the secrets the workload reads (no wildcard,   |
|                               | no list, no metadata, no other stack's folder)                   |
| Kubernetes auth role          | in the auth method `vaultKubernetesAuthPath`: only the           |
|                               | workload's service account in its namespace, only tokens for the |
|                               | vault's audience; a short, non-renewable token with that policy  |
|                               | and without the default policy                                   |

The mount and the Kubernetes auth method exist before the stack (the operator's one-time setup,
components/secrets_vault/README.md) and the stack never creates or deletes them:
- the mount holds what must be there before the first `pulumi up`: the S3-compatible store's
  access keys (`s3CredentialsPath`, read at plan time), and it is shared by the stacks of a site,
  so one stack's destroy must not delete the others' secrets (or a second stack's `pulumi up`
  fail with "path is already in use");
- the auth method needs the cluster's API address, CA and a token reviewer identity, and is
  shared by everything in the cluster that logs in to the vault.
Both are checked at plan time (the mount is KV version 2, the method is Kubernetes), so a missing
one fails the preview naming the path, before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_vault as vault

from components.common import TYPE_PREFIX, physical_name, type_token
from components.secrets_vault.args import (
    MODULE,
    OpenBaoArgs,
    SecretsVault,
    SecretsVaultArgs,
    collect_refs,
    sorted_names,
)
from components.vault_login import VaultLogin

VALUE_FIELD = "value"
"""Each KV secret holds one field with the config value."""


def secret_path(stack: str, secret: str) -> str:
    """`<stack>/<secret>` inside the KV mount: one folder per stack."""
    return f"{stack}/{secret}"


def read_policy(mount: str, stack: str, names: list[str], extra_paths: Sequence[str] = ()) -> str:
    """HCL granting `read` on exactly these KV v2 secrets (their `data/` paths) and nothing else:
    the stack's own `names`, then `extra_paths` (other paths in the mount, e.g. the store's key)."""
    paths = [secret_path(stack, name) for name in names]
    paths += [p for p in dict.fromkeys(extra_paths) if p not in paths]
    blocks = [f'path "{mount}/data/{path}" {{\n  capabilities = ["read"]\n}}\n' for path in paths]
    # Without the default policy a token cannot even revoke itself; the init container does so
    # as soon as it has read the secrets.
    blocks.append('path "auth/token/revoke-self" {\n  capabilities = ["update"]\n}\n')
    header = f"# {TYPE_PREFIX} stack {stack}: the workload reads its own secrets, nothing else.\n"
    return header + "\n".join(blocks)


def deployer_policy(
    mount: str, stack: str, auth_path: str, pki_mount: str | None = None, pki_role: str | None = None
) -> str:
    """HCL of the least the deployer's VAULT_TOKEN needs for this stack's `pulumi up` and destroy.

    The operator grants it (README, on-prem setup); everything else stays out of the deployer's
    reach: other mounts, other stacks' folders, the auth method's configuration, the CA key.
    """
    role = role_name(mount, stack)
    crud = '["create", "read", "update", "delete"]'
    rules: list[tuple[str, str, str | None]] = [
        ("sys/auth", '["read"]', "the plan-time check that the Kubernetes auth method exists"),
        (f"sys/mounts/{mount}", '["read"]', "the plan-time check that the KV v2 mount exists"),
        (f"{mount}/data/{stack}/*", crud, "the stack's secrets"),
        (f"{mount}/metadata/{stack}/*", '["read", "delete"]', "destroy removes every version"),
        (f"sys/policies/acl/{role}-read", crud, "the workload's read policy"),
        (f"auth/{auth_path}/role/{role}", crud, "the workload's login role"),
    ]
    if pki_mount is not None and pki_role is not None:
        rules += [
            (f"{pki_mount}/roles/{pki_role}", crud, "internalCa: openbao: the edge certificate's role"),
            (f"sys/policies/acl/{pki_role}-sign", crud, None),
            (f"auth/{auth_path}/role/{physical_name(TYPE_PREFIX, stack, 'cert-manager')}", crud, None),
        ]
    blocks = [
        (f"# {why}\n" if why else "") + f'path "{path}" {{\n  capabilities = {caps}\n}}\n'
        for path, caps, why in rules
    ]
    return f"# Deployer of {TYPE_PREFIX} stack {stack}.\n" + "\n".join(blocks)


def role_name(mount: str, stack: str) -> str:
    return physical_name(mount.replace("/", "-"), stack)


def auth_backend_problem(path: str, backend_type: str) -> str:
    """Why the auth method at `path` cannot hold the workload's role ('' when it can)."""
    if backend_type == "kubernetes":
        return ""
    return (
        f"the vault auth method at {path!r} is {backend_type!r}, not 'kubernetes': point "
        f"`vaultKubernetesAuthPath` at the cluster's Kubernetes auth method, or enable one with "
        f"`bao auth enable -path={path} kubernetes` and configure it (README, on-prem setup)"
    )


def kv_mount_problem(mount: str, config_json: str | None) -> str:
    """Why `mount` cannot hold the secrets ('' when it is KV version 2), from `GET sys/mounts/<mount>`."""
    config = json.loads(config_json or "{}")
    kind, version = config.get("type"), str((config.get("options") or {}).get("version") or "1")
    if kind == "kv" and version == "2":
        return ""
    found = f"a {kind} mount" + (f" (KV version {version})" if kind == "kv" else "") if kind else "no mount"
    return (
        f"the vault path {mount!r} is {found}, not a KV version 2 mount: point `vaultKvMount` at the "
        f"site's KV v2 mount, or enable one with `bao secrets enable -path={mount} -version=2 kv` "
        "(README, on-prem setup)"
    )


def _check_kv_mount(mount: str, config_json: str | None) -> str:
    problem = kv_mount_problem(mount, config_json)
    if problem:
        raise RuntimeError(problem)
    return mount


def _check_auth_backend(path: str, backend_type: str) -> str:
    problem = auth_backend_problem(path, backend_type)
    if problem:
        # RuntimeError, not ValueError: Pulumi would prefix a ValueError with an Output's repr.
        raise RuntimeError(problem)
    return path


class OpenBaoSecretsVault(SecretsVault):
    """The stack's secrets in a site's existing OpenBao / Vault KV v2 mount, read through Kubernetes auth."""

    vault_provider: vault.Provider
    """Explicit vault provider at `vaultAddress`; the deployer's token comes from VAULT_TOKEN."""
    secrets: dict[str, vault.kv.SecretV2]
    """Secret config name -> its KV v2 secret `<stack>/<name>` in the mount."""
    policy: vault.Policy
    """`read` on exactly the secrets the workload reads (and `extra_reads`), nothing else."""
    role: vault.kubernetes.AuthBackendRole
    """The workload's Kubernetes auth role: its service account only, short non-renewable tokens."""

    def __init__(self, name: str, args: SecretsVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "OpenBaoSecretsVault"), name, None, opts)
        bao: OpenBaoArgs | None = args.openbao
        assert bao is not None  # SecretsVaultArgs validation guarantees it on onprem
        # The token stays out of the provider's inputs (and so out of state): the provider reads
        # VAULT_TOKEN itself. No child token: it would need `auth/token/create` on top of the
        # grants below, and a deploy waiting for the model can outlive its 20-minute default TTL.
        self.vault_provider = vault.Provider(
            f"{name}-vault",
            vault.ProviderArgs(address=bao.address, skip_child_token=True),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=self.vault_provider)
        guarded = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=args.deletion_protection)
        )
        mount, auth_path = self._checked_paths(bao)
        self.secrets = self._secrets(name, args, mount, guarded)
        self.policy, self.role = self._read_access(name, args, bao, auth_path, child)

        self.workload_login = VaultLogin(
            address=bao.address,
            auth_path=bao.kubernetes_auth_path,
            role=self.role.role_name,
            audience=bao.address,
            ca_certificate=bao.ca_certificate,
        )
        refs = {s: pulumi.Output.concat(bao.address, "/v1/", r.path) for s, r in self.secrets.items()}
        for secret, path, field in bao.extra_reads:
            refs[secret] = pulumi.Output.concat(bao.address, "/v1/", mount, f"/data/{path}#{field}")
        self.secret_refs = collect_refs(refs)
        self.vault_id = pulumi.Output.concat(bao.address, "/v1/", mount)
        self.key_id = None
        self.register_outputs(
            {
                "secret_refs": self.secret_refs,
                "vault_id": self.vault_id,
                "role": self.role.role_name,
                "policy": self.policy.name,
            }
        )

    def _checked_paths(self, bao: OpenBaoArgs) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The KV mount and the auth method path, each resolving only once the vault confirms its kind
        (at plan time: a missing one fails the preview naming the path, before anything is written)."""
        invoke = pulumi.InvokeOutputOptions(provider=self.vault_provider)
        mount = vault.generic.get_secret_output(path=f"sys/mounts/{bao.kv_mount}", opts=invoke).apply(
            lambda found: _check_kv_mount(bao.kv_mount, found.data_json)
        )
        auth_path = vault.get_auth_backend_output(path=bao.kubernetes_auth_path, opts=invoke).apply(
            lambda found: _check_auth_backend(bao.kubernetes_auth_path, found.type)
        )
        return mount, auth_path

    def _secrets(
        self, name: str, args: SecretsVaultArgs, mount: pulumi.Output[str], guarded: pulumi.ResourceOptions
    ) -> dict[str, vault.kv.SecretV2]:
        return {
            secret: vault.kv.SecretV2(
                f"{name}-{secret}",
                vault.kv.SecretV2Args(
                    mount=mount,
                    name=secret_path(args.placement.stack, secret),
                    data_json=pulumi.Output.secret(
                        # Compact, as the provider re-encodes what it reads back: a second
                        # `pulumi up` sees no diff.
                        pulumi.Output.from_input(args.secrets[secret]).apply(
                            lambda value: json.dumps({VALUE_FIELD: value}, separators=(",", ":"))
                        )
                    ),
                    # A destroy (without deletion protection) removes every version, not just the
                    # latest: no old value of a secret outlives the stack.
                    delete_all_versions=True,
                ),
                opts=guarded,
            )
            for secret in sorted_names(args)
        }

    def _read_access(
        self,
        name: str,
        args: SecretsVaultArgs,
        bao: OpenBaoArgs,
        auth_path: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> tuple[vault.Policy, vault.kubernetes.AuthBackendRole]:
        stack = args.placement.stack
        readable = [s for s in sorted_names(args) if s not in bao.unread]
        policy = vault.Policy(
            f"{name}-read-policy",
            vault.PolicyArgs(
                name=f"{role_name(bao.kv_mount, stack)}-read",
                policy=read_policy(bao.kv_mount, stack, readable, [path for _, path, _ in bao.extra_reads]),
            ),
            opts=child,
        )
        reader = args.reader
        role = vault.kubernetes.AuthBackendRole(
            f"{name}-workload-role",
            vault.kubernetes.AuthBackendRoleArgs(
                backend=auth_path,
                role_name=role_name(bao.kv_mount, stack),
                bound_service_account_names=[reader.service_account],
                bound_service_account_namespaces=[reader.namespace],
                # A token the cluster minted for another audience (the API server's own, another
                # vault's) is refused.
                audience=bao.address,
                token_policies=[policy.name],
                token_no_default_policy=True,
                token_ttl=bao.token_ttl_seconds,
                token_max_ttl=bao.token_ttl_seconds,
                token_type="service",
            ),
            opts=child,
        )
        return policy, role

"""On-prem side of cross-cloud replication: the S3-compatible store's key, fetched from the vault.

S3-compatible stores have no identity federation that works across stores (Ceph RGW and MinIO
offer STS AssumeRoleWithWebIdentity, SeaweedFS and Garage do not), so the store is read and
written with an access key. That key never lives in the cluster: an init container of each copy
run logs in to the vault that holds it with the pod's projected service-account token, reads
the key and writes it into a memory-backed `rclone.conf` the copy container reads; the vault
token is revoked at once and the key disappears with the pod.

- Reading an on-prem primary (any standby): the standby stack creates, in the primary's vault
  (through `source_provider`, a vault provider for the primary's `vaultAddress`), a JWT auth
  mount that trusts the standby cluster's OIDC issuer (discovery over https, as AWS, GCP and
  Azure federation do), one role bound to exactly the replication service account's subject and
  the audience `vault`, and a policy that reads only the primary's read-only key
  (`readCredentialsPath`). The primary's bucket is then read-only for the job.
- Writing an on-prem standby: a Kubernetes auth role in the standby's own vault
  (`vaultKubernetesAuthPath`, the mount the secrets-vault component configures for this
  cluster), bound to the replication service account, with a policy that reads only the
  deployer's key path of the standby's store.

The same blast-radius rule as for the clouds holds: the primary-side grants are made with the
standby's explicit provider and read nothing from the primary at plan time (everything comes from
the primary's `modelStore` output).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from components.common import physical_name
from components.object_store.args import ENDPOINT, READ_CREDENTIALS_PATH, VAULT_ADDRESS, VAULT_KV_MOUNT

VAULT_AUDIENCE: Final = "vault"
"""`aud` of the projected tokens the vault roles accept (never the API server's audience)."""
CREDENTIALS_DIR: Final = "/var/run/replication-credentials"
RCLONE_CONFIG_FILE: Final = f"{CREDENTIALS_DIR}/rclone.conf"
TOKEN_TTL_SECONDS: Final = 300
"""Vault tokens of the login only read two fields; the script revokes them right away."""

# One function per login keeps every value in the environment: nothing from config is ever
# interpolated into the script text.
LOGIN_SCRIPT: Final = """set -eu
umask 077
: > "$RCLONE_CREDENTIALS"
login() {
  remote="$1"; prefix="$2"
  eval "addr=\\$${prefix}_VAULT_ADDR auth=\\$${prefix}_VAULT_AUTH_PATH role=\\$${prefix}_VAULT_ROLE"
  eval "jwt=\\$${prefix}_VAULT_JWT mount=\\$${prefix}_VAULT_KV_MOUNT path=\\$${prefix}_VAULT_KV_PATH"
  token=$(BAO_ADDR="$addr" bao write -field=token "auth/$auth/login" role="$role" jwt=@"$jwt")
  id=$(BAO_ADDR="$addr" BAO_TOKEN="$token" bao kv get -mount="$mount" -field=access_key_id "$path")
  key=$(BAO_ADDR="$addr" BAO_TOKEN="$token" bao kv get -mount="$mount" -field=secret_access_key "$path")
  BAO_ADDR="$addr" BAO_TOKEN="$token" bao token revoke -self > /dev/null || true
  printf '[%s]\\naccess_key_id = %s\\nsecret_access_key = %s\\n\\n' "$remote" "$id" "$key" \\
    >> "$RCLONE_CREDENTIALS"
}
for remote in $VAULT_LOGINS; do
  login "$remote" "$(echo "$remote" | tr '[:lower:]' '[:upper:]')"
done
"""


@dataclass(frozen=True)
class VaultLogin:
    """How the init container fetches one rclone remote's S3 key."""

    remote: str
    """rclone remote name: source or target."""
    vault_address: pulumi.Input[str]
    auth_path: pulumi.Input[str]
    role: pulumi.Input[str]
    token_file: str
    kv_mount: pulumi.Input[str]
    secret_path: pulumi.Input[str]

    def env(self) -> dict[str, pulumi.Input[str]]:
        prefix = self.remote.upper()
        return {
            f"{prefix}_VAULT_ADDR": self.vault_address,
            f"{prefix}_VAULT_AUTH_PATH": self.auth_path,
            f"{prefix}_VAULT_ROLE": self.role,
            f"{prefix}_VAULT_JWT": self.token_file,
            f"{prefix}_VAULT_KV_MOUNT": self.kv_mount,
            f"{prefix}_VAULT_KV_PATH": self.secret_path,
        }


def rclone_remote_settings(
    endpoint: pulumi.Input[str], region: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    """rclone S3 settings of an S3-compatible store; the key comes from the credentials file."""
    return {
        "TYPE": "s3",
        "PROVIDER": "Other",
        "ENDPOINT": endpoint,
        "REGION": region,
        "FORCE_PATH_STYLE": "true",
        "ENV_AUTH": "false",
        "NO_CHECK_BUCKET": "true",
        # As for AWS: an Azure blob's tier ("Hot") is not an S3 storage class.
        "STORAGE_CLASS": "STANDARD",
    }


def _read_policy(mount: str, path: str) -> str:
    """Read one KV v2 secret; revoke its own token (the default policy, which grants that, is off)."""
    return (
        f'path "{mount}/data/{path}" {{\n  capabilities = ["read"]\n}}\n'
        'path "auth/token/revoke-self" {\n  capabilities = ["update"]\n}\n'
    )


def read_access_for_cluster(
    parent: pulumi.Resource,
    name: str,
    *,
    source: pulumi.Output[Mapping[str, Any]],
    provider: pulumi.ProviderResource,
    issuer_url: pulumi.Output[str],
    subject: str,
    token_file: str,
    stack: str,
) -> tuple[VaultLogin, list[pulumi.Resource], pulumi.Output[str]]:
    """In the primary's vault: a JWT mount trusting the standby cluster, a role, a read policy."""
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    mount = source.apply(lambda d: str(d[VAULT_KV_MOUNT]))
    path = source.apply(lambda d: str(d[READ_CREDENTIALS_PATH]))
    policy = vault.Policy(
        f"{name}-source-read",
        vault.PolicyArgs(
            name=physical_name(stack, "model-replication-read"),
            policy=pulumi.Output.all(mount, path).apply(lambda p: _read_policy(p[0], p[1])),
        ),
        opts=opts,
    )
    backend = vault.jwt.AuthBackend(
        f"{name}-standby-cluster",
        vault.jwt.AuthBackendArgs(
            path=physical_name(stack, "replication"),
            type="jwt",
            description=f"Standby stack {stack}: its cluster's service-account tokens (model replication)",
            oidc_discovery_url=issuer_url,
            bound_issuer=issuer_url,
        ),
        opts=opts,
    )
    role = vault.jwt.AuthBackendRole(
        f"{name}-source-read",
        vault.jwt.AuthBackendRoleArgs(
            backend=backend.path,
            role_name="model-replication",
            role_type="jwt",
            user_claim="sub",
            bound_subject=subject,
            bound_audiences=[VAULT_AUDIENCE],
            token_policies=[policy.name],
            token_no_default_policy=True,
            token_ttl=TOKEN_TTL_SECONDS,
            token_max_ttl=TOKEN_TTL_SECONDS,
        ),
        opts=opts,
    )
    auth_path = backend.path.apply(str)
    login = VaultLogin(
        remote="source",
        vault_address=source.apply(lambda d: str(d[VAULT_ADDRESS])),
        auth_path=auth_path,
        role=role.role_name,
        token_file=token_file,
        kv_mount=mount,
        secret_path=path,
    )
    principal = pulumi.Output.concat(auth_path, "/role/", role.role_name)
    return login, [policy, backend, role], principal


def write_access_for_cluster(
    parent: pulumi.Resource,
    name: str,
    *,
    provider: pulumi.ProviderResource,
    vault_address: str,
    auth_path: str,
    kv_mount: str,
    credentials_path: str,
    namespace: str,
    service_account: str,
    token_file: str,
    stack: str,
    after: list[pulumi.Resource],
) -> tuple[VaultLogin, list[pulumi.Resource], pulumi.Output[str]]:
    """In the standby's own vault: a Kubernetes auth role that reads the store's write key."""
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    policy = vault.Policy(
        f"{name}-target-write",
        vault.PolicyArgs(
            name=physical_name(stack, "model-replication-write"),
            policy=_read_policy(kv_mount, credentials_path),
        ),
        opts=opts,
    )
    role = vault.kubernetes.AuthBackendRole(
        f"{name}-target-write",
        vault.kubernetes.AuthBackendRoleArgs(
            backend=auth_path,
            role_name=physical_name(stack, "model-replication"),
            bound_service_account_names=[service_account],
            bound_service_account_namespaces=[namespace],
            audience=VAULT_AUDIENCE,
            token_policies=[policy.name],
            token_no_default_policy=True,
            token_ttl=TOKEN_TTL_SECONDS,
            token_max_ttl=TOKEN_TTL_SECONDS,
        ),
        opts=opts.merge(pulumi.ResourceOptions(depends_on=after)),
    )
    login = VaultLogin(
        remote="target",
        vault_address=vault_address,
        auth_path=auth_path,
        role=role.role_name,
        token_file=token_file,
        kv_mount=kv_mount,
        secret_path=credentials_path,
    )
    return login, [policy, role], pulumi.Output.concat(auth_path, "/role/", role.role_name)


def login_container(
    logins: list[VaultLogin], image: str, mounts: list[k8s.core.v1.VolumeMountArgs]
) -> k8s.core.v1.ContainerArgs:
    """Init container: log in to each vault, write the keys into the memory-backed rclone.conf."""
    env: dict[str, pulumi.Input[str]] = {
        "HOME": "/tmp",
        "RCLONE_CREDENTIALS": RCLONE_CONFIG_FILE,
        "VAULT_LOGINS": " ".join(login.remote for login in logins),
    }
    for login in logins:
        env.update(login.env())
    return k8s.core.v1.ContainerArgs(
        name="vault-login",
        image=image,
        command=["/bin/sh", "-c", LOGIN_SCRIPT],
        env=[k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in sorted(env.items())],
        volume_mounts=mounts,
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "50m", "memory": "64Mi"}, limits={"memory": "128Mi"}
        ),
        security_context=k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        ),
    )


def https_ports(urls: list[str]) -> list[int]:
    """The TCP port of each https URL (443 unless given), without repeats."""
    ports: list[int] = []
    for url in urls:
        port = urlsplit(url).port or 443
        if port not in ports:
            ports.append(port)
    return ports


def store_urls(descriptor: Mapping[str, Any]) -> list[str]:
    """The S3 endpoint and vault of an on-prem `modelStore` descriptor."""
    return [str(descriptor[ENDPOINT]), str(descriptor[VAULT_ADDRESS])]


def site_egress(ports: pulumi.Input[list[int]]) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """TCP to the on-prem store's and vault's ports on any address: they usually sit on private
    addresses, which the public-HTTPS rule excludes, and NetworkPolicy cannot match host names."""
    netpol = k8s.networking.v1
    return netpol.NetworkPolicyEgressRuleArgs(
        to=[netpol.NetworkPolicyPeerArgs(ip_block=netpol.IPBlockArgs(cidr="0.0.0.0/0"))],
        ports=pulumi.Output.from_input(ports).apply(
            lambda values: [netpol.NetworkPolicyPortArgs(port=p, protocol="TCP") for p in values]
        ),
    )

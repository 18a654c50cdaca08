"""Mock outputs shaped like OpenBao / HashiCorp Vault's API answers (through pulumi-vault).

Ids follow what the provider stores: a mount's id is its path, a KV v2 secret's id and `path` are
`<mount>/data/<name>`, a policy's id is its name, a Kubernetes auth role's id is
`auth/<backend>/role/<role>`, a PKI role's id is `<backend>/roles/<name>`. Accessors look like the
server's (`<type>_<8 hex>`).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from offline.mocks import answers_call, outputs_for, stable_hex

Args = pulumi.runtime.MockResourceArgs


@outputs_for("vault:index/mount:Mount")
def _mount(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    path = str(args.inputs["path"]).strip("/")
    accessor = f"{args.inputs['type']}_{stable_hex('mount', path, length=8)}"
    return {"id": path, "path": path, "accessor": accessor}


@outputs_for("vault:kv/secretV2:SecretV2")
def _kv_secret(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    path = f"{str(args.inputs['mount']).strip('/')}/data/{args.inputs['name']}"
    # The provider reads the data back (data_json) and the version metadata.
    return {"id": path, "path": path, "metadata": {"version": "1"}}


@outputs_for("vault:index/policy:Policy")
def _policy(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    return {"id": args.inputs["name"]}


@outputs_for("vault:kubernetes/authBackendRole:AuthBackendRole")
def _kubernetes_role(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    backend = str(args.inputs.get("backend") or "kubernetes").strip("/")
    return {"id": f"auth/{backend}/role/{args.inputs['roleName']}", "backend": backend}


@outputs_for("vault:pkiSecret/secretBackendRole:SecretBackendRole")
def _pki_role(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{str(args.inputs['backend']).strip('/')}/roles/{args.inputs['name']}"}


@answers_call("vault:index/getAuthBackend:getAuthBackend")
def _auth_backend(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    """The operator enabled the Kubernetes auth method at the configured path (the setup step)."""
    path = str(args.args.get("path") or "kubernetes").strip("/")
    return {
        "id": path,
        "path": path,
        "type": "kubernetes",
        "accessor": f"auth_kubernetes_{stable_hex('auth', path, length=8)}",
        "description": "",
        "defaultLeaseTtlSeconds": 0,
        "maxLeaseTtlSeconds": 0,
        "listingVisibility": "",
        "local": False,
    }


@answers_call("vault:generic/getSecret:getSecret")
def _generic_read(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    """`GET sys/mounts/<path>` of the KV v2 mount the operator enabled (the setup step)."""
    path = str(args.args.get("path") or "")
    if not path.startswith("sys/mounts/"):
        raise NotImplementedError(f"no mock answer for a generic read of {path!r}")
    config = {
        "type": "kv",
        "options": {"version": "2"},
        "accessor": f"kv_{stable_hex('mount', path, length=8)}",
        "description": "",
        "local": False,
        "seal_wrap": False,
        "external_entropy_access": False,
        "config": {"default_lease_ttl": 0, "max_lease_ttl": 0, "force_no_cache": False},
    }
    return {
        "id": path,
        "path": path,
        "data": {k: json.dumps(v) if not isinstance(v, str) else v for k, v in config.items()},
        "dataJson": json.dumps(config),
        "leaseId": "",
        "leaseDuration": 0,
        "leaseRenewable": False,
        "leaseStartTime": "",
    }

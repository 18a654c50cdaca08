"""The secure defaults as rules: pure functions over planned resources, importable anywhere.

`policy/__main__.py` wraps each rule in a pulumi-policy `ResourceValidationPolicy` or
`StackValidationPolicy` (mandatory) and builds the `PolicyPack`; the tests call the same functions
on every cloud pair's mocked plan. Nothing here imports pulumi_policy, so the rules run without
the policy engine (constructing a PolicyPack outside `pulumi preview` blocks waiting for it).

A resource is seen as its type token and its input properties (camelCase, as the engine hands
them to policies), plus the URNs it depends on. The engine hands properties over as read-only
Mapping/Sequence proxies (not dict/list) that raise on values unknown during preview, so the rules
only ever test for Mapping and Sequence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

RUNS_AS_ROOT_ANNOTATION: Final = "inference-failover/runs-as-root"
"""A pod template may run as root only with this annotation saying why (the NVIDIA device plugin)."""
DIGEST: Final = re.compile(r"@sha256:[0-9a-f]{64}$")
OPEN_TO_WORLD: Final = frozenset({"0.0.0.0/0", "::/0"})
TLS_PORTS: Final = frozenset({443})

Props = Mapping[str, Any]


@dataclass(frozen=True)
class PlannedResource:
    type: str
    name: str
    props: Props
    urn: str = ""
    dependencies: tuple[str, ...] = field(default=())


ResourceRule = Callable[[str, Props], list[str]]
StackRule = Callable[[list[PlannedResource]], list[tuple[PlannedResource, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    resource: ResourceRule | None = None
    stack: StackRule | None = None


def _get(props: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(props, Mapping):
            return None
        props = props.get(part)
    return props


# --- no plain-HTTP public listener ---------------------------------------------------------------


def _port(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def no_plain_http_listener(type_: str, props: Props) -> list[str]:
    """Public load balancers listen on TLS ports only (no port 80, not even a redirect)."""
    if type_ == "kubernetes:core/v1:Service" and _get(props, "spec.type") == "LoadBalancer":
        ports = _get(props, "spec.ports") or []
        return [
            f"LoadBalancer Service listens on port {_port(p.get('port'))} ({p.get('name') or 'unnamed'}): "
            f"only {sorted(TLS_PORTS)} (TLS) may face the internet"
            for p in ports
            if p.get("port") not in TLS_PORTS
        ]
    plain = str(props.get("protocol", "")).upper() in ("HTTP", "TCP") and props.get("port") != 443
    if type_ in ("aws:lb/listener:Listener", "aws:alb/listener:Listener") and plain:
        return [f"load balancer listener {props.get('protocol')}:{props.get('port')} is plain text"]
    return []


# --- customer-managed keys ----------------------------------------------------------------------

ECR_PULL_THROUGH_CACHE_SECRET_PREFIX: Final = "ecr-pullthroughcache/"
"""The one exemption from customer-managed keys: ECR's pull-through cache reads its upstream
credentials only from secrets named with this prefix and only when they are encrypted with the
AWS-managed key aws/secretsmanager ("You must use the default aws/secretsmanager encryption key",
ECR user guide, pull-through-cache-creating-secret; the service-linked role
AWSECRPullThroughCache_ServiceRolePolicy grants secretsmanager:GetSecretValue on
ecr-pullthroughcache/* and no kms:Decrypt). Exactly that secret type and name prefix, nothing else."""


def _ecr_pull_through_cache_secret(props: Props) -> bool:
    return str(props.get("name") or "").startswith(ECR_PULL_THROUGH_CACHE_SECRET_PREFIX)


def _s3_default_encryption(props: Props) -> str | None:
    rules = props.get("rules") or []
    default = [_get(r, "applyServerSideEncryptionByDefault") or {} for r in rules]
    if not default or any(d.get("sseAlgorithm") not in ("aws:kms", "aws:kms:dsse") for d in default):
        return "S3 default encryption is not SSE-KMS"
    if any(not d.get("kmsMasterKeyId") for d in default):
        return "S3 default encryption uses the AWS-managed key, not the stack's KMS key"
    return None


# One row per resource type: (does it lack the customer-managed key?, what to say).
_CMK_RULES: Final[dict[str, tuple[Callable[[Props], bool], str]]] = {
    "aws:secretsmanager/secret:Secret": (
        lambda p: not p.get("kmsKeyId") and not _ecr_pull_through_cache_secret(p),
        "Secrets Manager secret uses the AWS-managed key (kmsKeyId unset)",
    ),
    "aws:eks/cluster:Cluster": (
        lambda p: not _get(p, "encryptionConfig.provider.keyArn"),
        "EKS secrets are not envelope-encrypted with a KMS key",
    ),
    "aws:cloudwatch/logGroup:LogGroup": (
        lambda p: not p.get("kmsKeyId"),
        "CloudWatch log group is not encrypted with a KMS key",
    ),
    "gcp:storage/bucket:Bucket": (
        lambda p: not _get(p, "encryption.defaultKmsKeyName"),
        "GCS bucket uses Google-managed encryption (no defaultKmsKeyName)",
    ),
    "gcp:secretmanager/secret:Secret": (
        lambda p: not _has_key(p.get("replication"), "kmsKeyName"),
        "Secret Manager secret has no customer-managed encryption key",
    ),
    "gcp:container/cluster:Cluster": (
        lambda p: (
            _get(p, "databaseEncryption.state") != "ENCRYPTED" or not _get(p, "databaseEncryption.keyName")
        ),
        "GKE application-layer secrets encryption is off",
    ),
    "azure-native:storage:StorageAccount": (
        lambda p: _get(p, "encryption.keySource") != "Microsoft.Keyvault",
        "storage account uses Microsoft-managed keys (encryption.keySource is not Microsoft.Keyvault)",
    ),
    "azure-native:containerservice:ManagedCluster": (
        lambda p: not _get(p, "securityProfile.azureKeyVaultKms.enabled"),
        "AKS etcd is not encrypted with a Key Vault key (securityProfile.azureKeyVaultKms)",
    ),
}


def _cmk_problem(type_: str, props: Props) -> str | None:
    if type_ == "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        return _s3_default_encryption(props)
    rule = _CMK_RULES.get(type_)
    if rule is None:
        return None
    lacks_key, message = rule
    return message if lacks_key(props) else None


def customer_managed_keys(type_: str, props: Props) -> list[str]:
    problem = _cmk_problem(type_, props)
    return [problem] if problem else []


def keys_rotate(type_: str, props: Props) -> list[str]:
    """Every customer-managed key rotates on a schedule."""
    if type_ == "aws:kms/key:Key" and props.get("enableKeyRotation") is not True:
        return ["KMS key rotation is off (enableKeyRotation)"]
    if type_ == "gcp:kms/cryptoKey:CryptoKey" and not props.get("rotationPeriod"):
        return ["Cloud KMS key has no rotationPeriod"]
    if type_ == "azure-native:keyvault:Key":
        actions = _get(props, "properties.rotationPolicy.lifetimeActions") or []
        if not any(str(_get(a, "action.type")).lower() == "rotate" for a in actions):
            return ["Key Vault key has no rotation policy with a rotate action"]
    return []


# --- private, versioned buckets ----------------------------------------------------------------


def _attached(resources: list[PlannedResource], bucket: PlannedResource, type_: str) -> list[PlannedResource]:
    return [r for r in resources if r.type == type_ and bucket.urn and bucket.urn in r.dependencies]


def _s3_bucket(resources: list[PlannedResource], r: PlannedResource) -> list[str]:
    found = []
    versioning = _attached(resources, r, "aws:s3/bucketVersioning:BucketVersioning")
    if not any(_get(v.props, "versioningConfiguration.status") == "Enabled" for v in versioning):
        found.append("S3 bucket has no BucketVersioning with status Enabled")
    blocks = _attached(resources, r, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    if not any(all(b.props.get(f) is True for f in flags) for b in blocks):
        found.append("S3 bucket has no public access block with all four settings on")
    return found


def _gcs_bucket(resources: list[PlannedResource], r: PlannedResource) -> list[str]:
    found = []
    # A locked retention policy (write-once) excludes versioning in GCS and is stronger.
    locked = _get(r.props, "retentionPolicy.isLocked") is True
    if _get(r.props, "versioning.enabled") is not True and not locked:
        found.append("GCS bucket versioning is off (and no locked retention policy)")
    if r.props.get("publicAccessPrevention") != "enforced" or not r.props.get("uniformBucketLevelAccess"):
        found.append("GCS bucket is not private (publicAccessPrevention enforced + uniform access)")
    return found


def _storage_account(resources: list[PlannedResource], r: PlannedResource) -> list[str]:
    found = []
    if r.props.get("allowBlobPublicAccess") is not False:
        found.append("storage account allows public blob access")
    services = _attached(resources, r, "azure-native:storage:BlobServiceProperties")
    if not any(s.props.get("isVersioningEnabled") is True for s in services):
        found.append("storage account has no blob service with versioning on")
    return found


def _blob_container(resources: list[PlannedResource], r: PlannedResource) -> list[str]:
    if r.props.get("publicAccess", "None") != "None":
        return [f"blob container public access is {r.props.get('publicAccess')}"]
    return []


_BUCKET_RULES: Final[dict[str, Callable[[list[PlannedResource], PlannedResource], list[str]]]] = {
    "aws:s3/bucket:Bucket": _s3_bucket,
    "gcp:storage/bucket:Bucket": _gcs_bucket,
    "azure-native:storage:StorageAccount": _storage_account,
    "azure-native:storage:BlobContainer": _blob_container,
}


def private_versioned_buckets(resources: list[PlannedResource]) -> list[tuple[PlannedResource, str]]:
    return [
        (r, problem)
        for r in resources
        if r.type in _BUCKET_RULES
        for problem in _BUCKET_RULES[r.type](resources, r)
    ]


# --- no wildcard Allow in IAM written by the project ------------------------------------------

_IDENTITY_POLICIES: Final = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
_RESOURCE_POLICIES: Final = {
    "aws:kms/key:Key": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
}
READ_ONLY_VERBS: Final = ("Describe", "List", "Get")
GCP_PRIMITIVE_ROLES: Final = frozenset({"roles/owner", "roles/editor"})
AZURE_WILDCARD_ROLES: Final = {
    "8e3af657-a8ff-443c-a75c-2fe8c4f5a7e4": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def _has_key(tree: Any, key: str) -> bool:
    """Whether `key` is set anywhere in a tree of mappings and sequences."""
    if isinstance(tree, Mapping):
        return any((k == key and v) or _has_key(v, key) for k, v in tree.items())
    if isinstance(tree, Sequence) and not isinstance(tree, str):
        return any(_has_key(item, key) for item in tree)
    return False


def _statements(document: Any) -> list[Mapping[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return []
    if not isinstance(document, Mapping):
        return []
    return [s for s in _as_list(document.get("Statement") or []) if isinstance(s, Mapping)]


def _principal_is_anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and "*" in _as_list(principal.get("AWS"))


def _statement_problems(statement: Mapping[str, Any], identity_policy: bool) -> list[str]:
    if statement.get("Effect") != "Allow":
        return []
    actions = [str(a) for a in _as_list(statement.get("Action") or [])]
    resources = [str(r) for r in _as_list(statement.get("Resource") or [])]
    problems = []
    if "*" in actions:
        problems.append("Allow of every action ('*')")
    if _principal_is_anyone(statement.get("Principal")) and not statement.get("Condition"):
        problems.append("Allow to any principal ('*') without a condition")
    if identity_policy:
        # '*' resources are unavoidable for read-only discovery (Describe*/List*/Get* take no
        # resource ARNs) and acceptable when a condition scopes the statement; a write on every
        # resource without a condition is not.
        read_only = all(a.split(":", 1)[-1].startswith(READ_ONLY_VERBS) for a in actions)
        if "*" in resources and not read_only and not statement.get("Condition"):
            problems.append(f"Allow of {actions} on every resource ('*') without a condition")
        problems += [f"Allow of a whole service ({a})" for a in actions if a.endswith(":*")]
    else:
        root = re.compile(r"^arn:[a-z-]+:iam::\d{12}:root$")
        principals = _as_list(_get(statement, "Principal.AWS") or [])
        if any(a.endswith(":*") for a in actions) and not all(root.match(str(p)) for p in principals):
            problems.append(f"Allow of a whole service ({actions}) to {principals or 'a service'}")
    return problems


def no_wildcard_allow(type_: str, props: Props) -> list[str]:
    if type_ in _IDENTITY_POLICIES or type_ in _RESOURCE_POLICIES:
        identity = type_ in _IDENTITY_POLICIES
        key = _IDENTITY_POLICIES.get(type_) or _RESOURCE_POLICIES[type_]
        documents = [props.get(key)]
        if type_ == "aws:iam/role:Role":
            documents += [p.get("policy") for p in props.get("inlinePolicies") or []]
        return [p for doc in documents for s in _statements(doc) for p in _statement_problems(s, identity)]
    if type_.startswith("gcp:") and "IAM" in type_ and props.get("role") in GCP_PRIMITIVE_ROLES:
        return [f"GCP primitive role {props['role']} grants every permission of the project"]
    if type_ == "azure-native:authorization:RoleAssignment":
        role = str(props.get("roleDefinitionId", "")).rsplit("/", 1)[-1]
        if role in AZURE_WILDCARD_ROLES:
            return [f"Azure role {AZURE_WILDCARD_ROLES[role]} allows every action in its scope"]
    return []


# --- Kubernetes API not open to the world unless the stack config says so ----------------------


def kubernetes_api_restricted(type_: str, props: Props) -> list[str]:
    """Open means: no allowlist at all. An explicit 0.0.0.0/0 in kubernetesApiAllowedCidrs is a
    decision recorded in the stack config, and passes."""
    fix = "set kubernetesApiAllowedCidrs (or list 0.0.0.0/0 there to accept an open endpoint)"
    if type_ == "aws:eks/cluster:Cluster":
        vpc = props.get("vpcConfig") or {}
        if vpc.get("endpointPublicAccess", True) and not vpc.get("publicAccessCidrs"):
            return [f"EKS public endpoint accepts any address: {fix}"]
    elif type_ == "gcp:container/cluster:Cluster":
        private_endpoint = _get(props, "privateClusterConfig.enablePrivateEndpoint") is True
        if not private_endpoint and not _get(props, "masterAuthorizedNetworksConfig.cidrBlocks"):
            return [f"GKE control plane accepts any address (no master authorized networks): {fix}"]
    elif type_ == "azure-native:containerservice:ManagedCluster":
        private = _get(props, "apiServerAccessProfile.enablePrivateCluster") is True
        if not private and not _get(props, "apiServerAccessProfile.authorizedIPRanges"):
            return [f"AKS API server accepts any address (no authorized IP ranges): {fix}"]
    return []


# --- pods: images pinned by digest, non-root, read-only root -----------------------------------

_WORKLOADS: Final = {
    "kubernetes:apps/v1:Deployment": "spec.template",
    "kubernetes:apps/v1:DaemonSet": "spec.template",
    "kubernetes:apps/v1:StatefulSet": "spec.template",
    "kubernetes:batch/v1:Job": "spec.template",
    "kubernetes:batch/v1:CronJob": "spec.jobTemplate.spec.template",
    "kubernetes:core/v1:Pod": "",
}


def _pod_template(type_: str, props: Props) -> Mapping[str, Any] | None:
    if type_ not in _WORKLOADS:
        return None
    path = _WORKLOADS[type_]
    template = _get(props, path) if path else props
    return template if isinstance(template, Mapping) else None


def _containers(pod_spec: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod_spec.get(kind) or []


def images_pinned_by_digest(type_: str, props: Props) -> list[str]:
    template = _pod_template(type_, props)
    if template is None:
        return []
    return [
        f"container {c.get('name')} image {c.get('image')!r} is not pinned by @sha256 digest"
        for c in _containers(template.get("spec") or {})
        if not DIGEST.search(str(c.get("image", "")))
    ]


def pods_non_root_read_only(type_: str, props: Props) -> list[str]:
    template = _pod_template(type_, props)
    if template is None:
        return []
    spec = template.get("spec") or {}
    pod_non_root = _get(spec, "securityContext.runAsNonRoot") is True
    reason = str((_get(template, "metadata.annotations") or {}).get(RUNS_AS_ROOT_ANNOTATION, "")).strip()
    problems = []
    for c in _containers(spec):
        context = c.get("securityContext") or {}
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"container {c.get('name')} has a writable root filesystem")
        non_root = context.get("runAsNonRoot", pod_non_root) is True
        if not non_root and not reason:
            problems.append(
                f"container {c.get('name')} may run as root (runAsNonRoot unset) and the pod "
                f"gives no '{RUNS_AS_ROOT_ANNOTATION}' reason"
            )
        if context.get("privileged") is True:
            problems.append(f"container {c.get('name')} is privileged")
    return problems


RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "no-plain-http-public-listener",
        "Public load balancers listen on TLS (443) only: no plain-HTTP listener, not even a redirect.",
        resource=no_plain_http_listener,
    ),
    Rule(
        "customer-managed-keys",
        "Buckets, secrets, cluster secrets and control-plane logs are encrypted with the stack's own keys.",
        resource=customer_managed_keys,
    ),
    Rule("keys-rotate", "Every customer-managed key rotates on a schedule.", resource=keys_rotate),
    Rule(
        "private-versioned-buckets",
        "Model buckets are versioned and closed to the public.",
        stack=private_versioned_buckets,
    ),
    Rule(
        "no-wildcard-allow",
        "IAM written by the project never allows '*' actions, principals or resources, nor primitive roles.",
        resource=no_wildcard_allow,
    ),
    Rule(
        "kubernetes-api-restricted",
        "The Kubernetes API is not open to the world unless kubernetesApiAllowedCidrs says so.",
        resource=kubernetes_api_restricted,
    ),
    Rule(
        "images-pinned-by-digest",
        "Every container image is pinned by @sha256 digest.",
        resource=images_pinned_by_digest,
    ),
    Rule(
        "pods-non-root-read-only-root",
        "Containers run as non-root (or say why not) with a read-only root filesystem, never privileged.",
        resource=pods_non_root_read_only,
    ),
)


def violations(resources: list[PlannedResource]) -> list[tuple[str, PlannedResource, str]]:
    """(rule name, resource, message) for every violation of every rule in `resources`."""
    found: list[tuple[str, PlannedResource, str]] = []
    for rule in RULES:
        if rule.resource is not None:
            found += [(rule.name, r, m) for r in resources for m in rule.resource(r.type, r.props)]
        if rule.stack is not None:
            found += [(rule.name, r, m) for r, m in rule.stack(resources)]
    return found

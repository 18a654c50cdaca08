"""One table of every stack config setting: key, code, type, default, description and limits.

`SETTINGS` is the single place a setting is declared. `infra.config.KNOWN_KEYS` and each config
module's `KEYS` are read from it, `parse_config` takes its defaults and integer limits from it,
and tests check that the `config:` schema in Pulumi.yaml says the same (type, default, secret,
description), that the component Args defaults equal the schema's, and that the README's error
reference lists every code. Add a setting here (in its area, with the next free code), then in
Pulumi.yaml; `tests/test_config.py` fails until both agree.

`default` is the value Pulumi fills in when the key is unset (the schema's `default`); a setting
whose default depends on other settings (capacity, trafficWeight, maxNodeCount, ...) has none
here and says so in its description. Codes are stable: never renumber or reuse one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from infra.catalog import TARGETS

SchemaType = Literal["string", "integer", "boolean", "number", "array"]
BOOLEAN: Final = ("false", "true")


@dataclass(frozen=True)
class Setting:
    key: str
    code: str
    """Stable reference of every problem with this key (README "Error codes")."""
    type: SchemaType | None
    """Pulumi.yaml schema type; None: untyped there (a number or object written as a string)."""
    description: str
    items: SchemaType | None = None
    """Element type of an array."""
    default: object = None
    """What Pulumi fills in when the key is unset (None: no schema default)."""
    secret: bool = False
    declared: bool = True
    """Pulumi.yaml declares it (False: a secret only `pulumi config set --secret` writes)."""
    low: int | None = None
    """Integers: the smallest value allowed."""
    high: int | None = None
    """Integers: the largest value allowed (None: no upper limit)."""
    choices: tuple[str, ...] = ()
    """Strings: the values allowed (empty: checked by the reading module)."""


UNKNOWN_KEY: Final = "IF-CFG-900"
"""A key under the project's namespace that no setting has (a typo)."""
SECRET_VALUE: Final = "IF-CFG-901"
"""A key named in secretNames that is unset or held in plain text."""
GENERAL_CODES: Final = {
    UNKNOWN_KEY: "a key under the project's namespace that is not a setting (a typo?)",
    SECRET_VALUE: "a key named in secretNames that is unset or not a secret",
}

AREAS: Final[dict[str, tuple[Setting, ...]]] = {
    # Stack, GPU pool, workload, DNS and standby wiring (infra/config.py).
    "core": (
        Setting(
            "cloud",
            "IF-CFG-001",
            type="string",
            choices=TARGETS,
            description=(
                "Where this stack runs: aws, gcp, azure, or onprem (an existing Kubernetes cluster described"
                " by the on-prem keys below; region is then the site name)."
            ),
        ),
        Setting(
            "role",
            "IF-CFG-002",
            type="string",
            choices=("primary", "standby"),
            description=(
                "primary (serves traffic, owns the primary DNS record) or standby (warm copy, owns the "
                "secondary record)."
            ),
        ),
        Setting(
            "region",
            "IF-CFG-003",
            type="string",
            description="Region of this stack's cluster and bucket (aws/gcp region, azure location).",
        ),
        Setting(
            "capacity",
            "IF-CFG-004",
            type="string",
            choices=("warm", "full"),
            description=(
                "warm (one GPU node, one ready replica with the model loaded) or full (nodeCount/replicas). "
                "Unset: full for primary, warm for standby."
            ),
        ),
        Setting(
            "gcpProject",
            "IF-CFG-005",
            type="string",
            description=(
                "GCP project id; required when this stack, its DNS authority or its primary runs on gcp."
            ),
        ),
        Setting(
            "gpuType",
            "IF-CFG-006",
            type="string",
            description=(
                "Neutral GPU model: t4, a10g, l4, l40s, a100, a100-80gb, h100 (each cloud offers a subset)."
            ),
        ),
        Setting(
            "gpuCountPerNode",
            "IF-CFG-007",
            type="integer",
            low=1,
            high=8,
            default=1,
            description="GPUs per GPU node; picks the instance/machine/VM size from the catalogue.",
        ),
        Setting(
            "gpuInstanceType",
            "IF-CFG-008",
            type="string",
            description=(
                "Optional override of the instance type / machine type / VM size; must carry gpuType x "
                "gpuCountPerNode."
            ),
        ),
        Setting(
            "nodeCount",
            "IF-CFG-009",
            type="integer",
            low=1,
            high=100,
            default=2,
            description=(
                "GPU nodes started when the pool is created at full capacity (warm starts one); the "
                "autoscaler owns the live size afterwards."
            ),
        ),
        Setting(
            "maxNodeCount",
            "IF-CFG-010",
            type="integer",
            low=1,
            high=100,
            description=(
                "Autoscaling ceiling for the GPU pool, the same in warm and full capacity (a cut-over "
                "changes replicas, never the pool bounds; the floor is one node); defaults to nodeCount."
            ),
        ),
        Setting(
            "replicas",
            "IF-CFG-011",
            type="integer",
            low=1,
            high=100,
            default=2,
            description="Inference replicas at full capacity (warm always runs one).",
        ),
        Setting(
            "servingImage",
            "IF-CFG-012",
            type="string",
            description=(
                "OpenAI-compatible server image on its upstream registry, pinned by digest: "
                "vllm/vllm-openai:<tag>@sha256:<64 hex>. The stack caches it in its own registry and pulls "
                "it from there by that digest."
            ),
        ),
        Setting(
            "modelName",
            "IF-CFG-013",
            type="string",
            description="Name the server exposes on /v1/models.",
        ),
        Setting(
            "modelPath",
            "IF-CFG-014",
            type="string",
            description="Prefix of the model artefacts inside this stack's model bucket.",
        ),
        Setting(
            "waitForModel",
            "IF-CFG-015",
            type="boolean",
            choices=BOOLEAN,
            default=False,
            description=(
                "true: `pulumi up` waits until every replica has loaded the model (set it once the bucket "
                "holds the model). false: the apply ends when the objects exist; the cutover CLI checks "
                "/health before moving traffic."
            ),
        ),
        Setting(
            "secretNames",
            "IF-CFG-016",
            type="array",
            items="string",
            default=("apiKey",),
            description=(
                "Config keys (each set with `pulumi config set --secret`) that are provisioned into the "
                "vault."
            ),
        ),
        Setting(
            "dnsProvider",
            "IF-CFG-017",
            type="string",
            choices=("aws", "gcp", "azure", "powerdns"),
            description=(
                "DNS authority: aws (Route 53), azure (Traffic Manager + Azure DNS), gcp (Cloud DNS) or "
                "powerdns (self-hosted PowerDNS, LUA records). Independent of cloud; identical in both "
                "stacks."
            ),
        ),
        Setting(
            "dnsZone",
            "IF-CFG-018",
            type="string",
            description="DNS zone that already exists at the authority, e.g. example.com.",
        ),
        Setting(
            "dnsRecord",
            "IF-CFG-019",
            type="string",
            default="api",
            description="Record name inside dnsZone that clients use.",
        ),
        Setting(
            "dnsTtlSeconds",
            "IF-CFG-020",
            type="integer",
            low=1,
            high=60,
            default=30,
            description="TTL of the service record; at most 60 so failover is seen quickly.",
        ),
        Setting(
            "dnsRouting",
            "IF-CFG-021",
            type="string",
            choices=("failover", "weighted"),
            default="failover",
            description=(
                "failover (health-checked primary/secondary) or weighted (health-checked weights, for staged"
                " shifts)."
            ),
        ),
        Setting(
            "trafficWeight",
            "IF-CFG-022",
            type="integer",
            low=0,
            high=100,
            description=(
                "Share of traffic (0-100) this stack's record gets in weighted routing. Unset: 100 for "
                "primary, 0 for standby."
            ),
        ),
        Setting(
            "healthCheckPath",
            "IF-CFG-023",
            type="string",
            default="/health",
            description=(
                "Path the DNS health checks probe over HTTPS: /health, the only route the edge answers "
                "without an API key."
            ),
        ),
        Setting(
            "healthCheckPort",
            "IF-CFG-024",
            type="integer",
            low=1,
            high=65535,
            default=443,
            description=(
                "Port the DNS health checks probe: 443, the only port the service listens on (HTTPS)."
            ),
        ),
        Setting(
            "healthCheckIntervalSeconds",
            "IF-CFG-025",
            type="integer",
            low=10,
            high=30,
            default=10,
            description="Probe interval: 10 or 30 (what Route 53 and Traffic Manager both support).",
        ),
        Setting(
            "healthCheckFailureThreshold",
            "IF-CFG-026",
            type="integer",
            low=1,
            high=9,
            default=3,
            description="Consecutive failures before an endpoint is unhealthy (1-9).",
        ),
        Setting(
            "dnsResourceGroup",
            "IF-CFG-027",
            type="string",
            description=(
                "dnsProvider azure only: resource group that holds the Azure DNS zone (Traffic Manager goes "
                "there too)."
            ),
        ),
        Setting(
            "dnsManagedZone",
            "IF-CFG-028",
            type="string",
            description=(
                "dnsProvider gcp only: Cloud DNS managed-zone name; defaults to dnsZone with dots as dashes."
            ),
        ),
        Setting(
            "primaryStack",
            "IF-CFG-029",
            type="string",
            description=(
                "Standby only: fully qualified primary stack (org/inference-failover/primary) read through a"
                " StackReference."
            ),
        ),
        Setting(
            "primaryCloud",
            "IF-CFG-030",
            type="string",
            choices=TARGETS,
            description=(
                "Standby only: cloud of the primary stack (checked against the primary's own output)."
            ),
        ),
        Setting(
            "replicationIntervalMinutes",
            "IF-CFG-031",
            type="integer",
            low=5,
            high=1440,
            default=15,
            description=(
                "Standby only: how often the primary's model bucket is copied into this stack's bucket (the "
                "RPO)."
            ),
        ),
        Setting(
            "replicationPaused",
            "IF-CFG-032",
            type="boolean",
            choices=BOOLEAN,
            default=False,
            description=(
                "Standby only: true suspends copying from the primary (CronJob suspended, transfer job "
                "disabled) without deleting anything, e.g. while corrupted artefacts are cleaned up."
            ),
        ),
    ),
    # PowerDNS authority (issue 12): dnsProvider powerdns; infra/config_powerdns.py.
    "powerdns": (
        Setting(
            "powerdnsApiUrl",
            "IF-CFG-033",
            type="string",
            description=(
                "dnsProvider powerdns only: the PowerDNS webserver's URL, https:// (plain http:// only on a "
                "loopback address), e.g. https://pdns.example.internal:8081. Identical in both stacks."
            ),
        ),
        Setting(
            "powerdnsApiKey",
            "IF-CFG-034",
            type="string",
            secret=True,
            description=(
                "dnsProvider powerdns only, secret: the PowerDNS API key (pulumi config set --secret "
                "powerdnsApiKey <key>)."
            ),
        ),
        Setting(
            "powerdnsServerId",
            "IF-CFG-035",
            type="string",
            description=(
                "dnsProvider powerdns only: the API's server id; unset means localhost (a stock PowerDNS)."
            ),
        ),
    ),
    # Observability (issue 11): alert thresholds, notification targets, budget (config_observability).
    "observability": (
        Setting(
            "alertErrorRatePercent",
            "IF-CFG-036",
            type="number",
            default=5,
            description=(
                "Alert when more than this share (percent, 0-100] of requests answer 5xx over 5 minutes."
            ),
        ),
        Setting(
            "alertP95LatencyMs",
            "IF-CFG-037",
            type="number",
            default=30000,
            description=(
                "Alert when the 95th percentile end-to-end request latency exceeds this (ms) for 10 minutes."
            ),
        ),
        Setting(
            "alertP95TtftMs",
            "IF-CFG-038",
            type="number",
            default=2000,
            description=(
                "Alert when the 95th percentile time to first token exceeds this (ms) for 10 minutes."
            ),
        ),
        Setting(
            "alertKvCacheUsagePercent",
            "IF-CFG-039",
            type="number",
            default=90,
            description=(
                "Alert when the model server's KV cache is fuller than this (percent, 0-100] for 10 minutes."
            ),
        ),
        Setting(
            "alertNotify",
            "IF-CFG-040",
            type="array",
            items="string",
            default=(),
            description=(
                "Email addresses and/or https:// webhook URLs that get alerts, budget and cost-anomaly "
                "notifications (email subscriptions need the recipient's confirmation on aws)."
            ),
        ),
        Setting(
            "budgetMonthlyUsd",
            "IF-CFG-041",
            type="number",
            description=(
                "Monthly budget in USD of this stack's account / project / resource group: notifies at 80 % "
                "actual and 100 % forecast; unset: no budget."
            ),
        ),
        Setting(
            "gcpBillingAccount",
            "IF-CFG-042",
            type="string",
            description=(
                "gcp stacks with budgetMonthlyUsd: billing account id (012345-6789AB-CDEF01) the budget is "
                "created on; the deployer needs roles/billing.costsManager on it."
            ),
        ),
    ),
    # Placement (GPU-aware zones).
    "placement": (
        Setting(
            "gpuZones",
            "IF-CFG-043",
            type="array",
            items="string",
            description=(
                "Optional zones of the GPU pool (aws zone IDs such as use1-az1, gcp zones such as "
                "us-central1-a, azure zone numbers 1-3). Unset: up to three zones where the cloud offers the"
                " GPU shape, asked at plan time; when set, each must be such a zone."
            ),
        ),
    ),
    # Network access: who may reach the Kubernetes API, the service and the Azure data planes.
    "network": (
        Setting(
            "kubernetesApiAllowedCidrs",
            "IF-CFG-044",
            type="array",
            items="string",
            description=(
                "IPv4 CIDRs allowed to reach the Kubernetes API endpoint (EKS public access CIDRs, GKE "
                "master authorized networks, AKS authorized IP ranges). Unset: any address (still "
                "IAM-authenticated), with a plan warning; set it to your deployer/CI egress ranges."
            ),
        ),
        Setting(
            "allowedClientCidrs",
            "IF-CFG-045",
            type="array",
            items="string",
            description=(
                "IPv4 CIDRs allowed to reach the service's load balancer. Unset: any address. The DNS "
                "authority's health-checker ranges are added automatically (Route 53 from ip-ranges.json, "
                "Google health checkers; Traffic Manager by service tag on AKS)."
            ),
        ),
        Setting(
            "deployerCidrs",
            "IF-CFG-046",
            type="array",
            items="string",
            description=(
                "azure only: IPv4 CIDRs of the deployer, operators and a standby on another cloud admitted "
                "through the Key Vault and storage-account firewalls (default deny; the AKS subnet is always"
                " admitted)."
            ),
        ),
    ),
    # Operations: recovery targets (checked against what the config can achieve) and the audit store.
    "operations": (
        Setting(
            "rtoTargetSeconds",
            "IF-CFG-047",
            type="integer",
            low=1,
            high=86400,
            description=(
                "Optional: automatic DNS failover must finish within this many seconds. Checked against "
                "detection = healthCheckIntervalSeconds x healthCheckFailureThreshold + dnsTtlSeconds; "
                "`python -m infra.check` refuses a target the config cannot meet."
            ),
        ),
        Setting(
            "rpoTargetMinutes",
            "IF-CFG-048",
            type="integer",
            low=1,
            high=10080,
            description=(
                "Standby only, optional: model artefacts may lag the primary by at most this many minutes. "
                "Checked against replicationIntervalMinutes + the replication mechanism's own delay."
            ),
        ),
        Setting(
            "auditRetentionDays",
            "IF-CFG-049",
            type="integer",
            low=1,
            high=36500,
            default=365,
            description=(
                "Days each audit record of the `failover` CLI stays write-once in this stack's audit bucket "
                "(S3 Object Lock compliance mode, GCS locked retention policy, Azure version-level "
                "immutability with a Locked policy per record). Cannot be shortened once applied."
            ),
        ),
    ),
    # Model fit and image supply (issue 9): validated by infra/fit.py and components/image_registry.
    "fit": (
        Setting(
            "modelSpec",
            "IF-CFG-050",
            type=None,
            description=(
                "Unset: modelName is looked up in the model catalogue (infra/models.py). A catalogue name, "
                "or an object {parametersBillion, layers, attentionHeads, kvHeads, headDim, contextLength, "
                "dtype} from the model's config.json for other models."
            ),
        ),
        Setting(
            "maxModelLen",
            "IF-CFG-051",
            type="integer",
            description=(
                "Longest sequence (prompt + output tokens) the server accepts (vLLM --max-model-len). Unset:"
                " the model's trained context, which rarely fits one GPU; validation names the largest value"
                " that fits."
            ),
        ),
        Setting(
            "gpuMemoryUtilization",
            "IF-CFG-052",
            type=None,
            description=(
                "Number; unset: 0.9 (vLLM's default). Share of each GPU's memory vLLM may use for weights, "
                "activations and KV cache (--gpu-memory-utilization, 0-1)."
            ),
        ),
        Setting(
            "tensorParallelSize",
            "IF-CFG-053",
            type="integer",
            description=(
                "GPUs one replica shards the model over (--tensor-parallel-size). Unset: 1 when the model "
                "fits one GPU, else the GPUs per node (the largest count that divides the attention heads)."
            ),
        ),
        Setting(
            "dockerHubUsername",
            "IF-CFG-054",
            type="string",
            description=(
                "Docker Hub account the stack's image cache pulls with: required on aws (ECR pull-through "
                "cache), optional on gcp (Artifact Registry remote repository; anonymous otherwise), unused "
                "on azure. Its access token is the secret dockerHubAccessToken."
            ),
        ),
        Setting(
            "dockerHubAccessToken",
            "IF-CFG-095",
            type="string",
            secret=True,
            declared=False,
            description="Secret: the Docker Hub access token of dockerHubUsername (image cache pulls).",
        ),
    ),
    # Edge: TLS certificate and API keys (infra/config.py _edge_settings).
    "edge": (
        Setting(
            "tlsCertificate",
            "IF-CFG-055",
            type="string",
            choices=("acme", "provided", "internal-ca"),
            default="acme",
            description=(
                "acme: cert-manager gets and renews the certificate for dnsRecord.dnsZone by ACME DNS-01 at "
                "the DNS authority, keyless. provided: set tlsCertificateChain and tlsPrivateKey as secrets."
                " internal-ca: cert-manager gets and renews it from the internal CA named by internalCa (no "
                "internet needed)."
            ),
        ),
        Setting(
            "acmeServer",
            "IF-CFG-056",
            type="string",
            description=(
                "ACME directory URL for tlsCertificate: acme; defaults to Let's Encrypt production (use its "
                "staging URL for test stacks)."
            ),
        ),
        Setting(
            "apiKeyNext",
            "IF-CFG-057",
            type="string",
            secret=True,
            description=(
                "Optional second API key, valid together with apiKey during a rotation; must differ from "
                "apiKey. Set and removed by `failover rotate-key` (or by hand: `pulumi config set --secret "
                "apiKeyNext <key>`)."
            ),
        ),
        Setting(
            "tlsCertificateChain",
            "IF-CFG-058",
            type="string",
            secret=True,
            description=(
                "tlsCertificate: provided only: PEM certificate chain (leaf first) covering "
                "dnsRecord.dnsZone; stored in the stack's vault."
            ),
        ),
        Setting(
            "tlsPrivateKey",
            "IF-CFG-059",
            type="string",
            secret=True,
            description=(
                "tlsCertificate: provided only: unencrypted PEM private key of the certificate; stored in "
                "the stack's vault."
            ),
        ),
    ),
    # Cost model (python -m infra.cost): prices that replace the catalogue's list prices.
    "cost": (
        Setting(
            "priceOverrides",
            "IF-CFG-060",
            type=None,
            description=(
                "A JSON map written as a string (the stack files hold plain values). Map of cost item to USD"
                " per unit that replaces infra/prices.py (committed-use discounts, negotiated rates, prices "
                "the catalogue lacks), e.g. '{\"aws:instance/g6.2xlarge\": 0.61}'. Item names: python -m "
                "infra.cost <stack>."
            ),
        ),
    ),
    # Cost of ownership of an on-prem stack (cloud: onprem; infra/ownership.py, python -m infra.cost).
    "ownership": (
        Setting(
            "hardwareCostUsd",
            "IF-CFG-061",
            type="number",
            description=(
                "onprem only: USD paid for the GPU nodes and their share of the site's network and storage "
                "(above 0, at most 1e9). Paid at warm and full alike."
            ),
        ),
        Setting(
            "amortisationMonths",
            "IF-CFG-062",
            type="integer",
            description="onprem only: months hardwareCostUsd is spread over, straight-line (1-120).",
        ),
        Setting(
            "powerKw",
            "IF-CFG-063",
            type="number",
            description=(
                "onprem only: kW the stack's hardware draws with every GPU node serving (IT load, before "
                "pue; above 0, at most 10000)."
            ),
        ),
        Setting(
            "powerWarmKw",
            "IF-CFG-064",
            type="number",
            description=(
                "onprem only, optional: kW drawn at warm capacity (one replica serving, the other nodes "
                "idle); at most powerKw. Unset: the full draw (the stack never powers a node off)."
            ),
        ),
        Setting(
            "powerUsdPerKwh",
            "IF-CFG-065",
            type="number",
            description="onprem only: USD per kWh of the site's power (not cents; above 0, at most 5).",
        ),
        Setting(
            "pue",
            "IF-CFG-066",
            type="number",
            description=(
                "onprem only: power usage effectiveness of the site, facility power / IT power (1-3); "
                "multiplies powerKw."
            ),
        ),
        Setting(
            "operationsMonthlyUsd",
            "IF-CFG-067",
            type="number",
            description=(
                "onprem only: USD a month for staff time, support contracts, rack space and transit (0 to "
                "1e7; 0 only if they are budgeted elsewhere)."
            ),
        ),
    ),
    # Canary verification of staged shifts (failover execute/drill/failback; cutover/canary.py).
    "canary": (
        Setting(
            "canaryMaxErrorRatePercent",
            "IF-CFG-068",
            type=None,
            description=(
                "Number. Canary: failed completions per 100 sent to the side gaining traffic after a shift "
                "above which the shift rolls back (default 5; above 0, at most 100)."
            ),
        ),
        Setting(
            "canaryMaxP95LatencyMs",
            "IF-CFG-069",
            type=None,
            description=(
                "Number. Canary: p95 latency (ms) of those completions above which the shift rolls back "
                "(default 20000; above 0)."
            ),
        ),
    ),
    # On-prem target (issue 12, infra/config_onprem.py): cloud: onprem deploys into an existing cluster.
    "onprem": (
        Setting(
            "kubeconfig",
            "IF-CFG-070",
            type="string",
            secret=True,
            description=(
                'onprem: the cluster\'s kubeconfig (`pulumi config set --secret kubeconfig "$(cat <file>)"`);'
                " its current-context is used unless kubeContext names another. Set this or kubeconfigPath, "
                "not both."
            ),
        ),
        Setting(
            "kubeconfigPath",
            "IF-CFG-071",
            type="string",
            description=(
                "onprem: path of a kubeconfig file the Kubernetes provider reads at run time (relative to "
                "the project directory); needs kubeContext."
            ),
        ),
        Setting(
            "kubeContext",
            "IF-CFG-072",
            type="string",
            description=(
                "onprem: the kubeconfig context of the site's cluster; required with kubeconfigPath. Checked"
                " before anything is created."
            ),
        ),
        Setting(
            "gpuNodeSelector",
            "IF-CFG-073",
            type="array",
            items="string",
            description=(
                "onprem, required: the node labels (key=value, as `kubectl label` writes them) that select "
                'the GPU nodes, e.g. ["nvidia.com/gpu.present=true"].'
            ),
        ),
        Setting(
            "gpuTaint",
            "IF-CFG-074",
            type="string",
            description=(
                "onprem: the GPU nodes' taint as key[=value]:Effect (NoSchedule, PreferNoSchedule or "
                "NoExecute); the pods tolerate exactly it. Unset: the nodes are not tainted."
            ),
        ),
        Setting(
            "gpuResourceName",
            "IF-CFG-075",
            type="string",
            description=(
                "onprem: extended resource the device plugin advertises (default nvidia.com/gpu); each "
                "replica requests gpuCountPerNode of it."
            ),
        ),
        Setting(
            "gpuMemoryGiB",
            "IF-CFG-076",
            type=None,
            description=(
                "Number. onprem: memory of one GPU as nvidia-smi memory.total shows it, in GiB (MiB / 1024)."
                " Required when gpuType is not in the catalogue (infra/catalog.py); replaces the catalogue's"
                " figure otherwise. The model fit check uses it."
            ),
        ),
        Setting(
            "exposure",
            "IF-CFG-077",
            type="string",
            description=(
                "onprem: loadBalancerAddress (a LoadBalancer Service annotated metallb.io/loadBalancerIPs "
                "with exposureAddress; it must be in a MetalLB address pool) or externalIp (a ClusterIP "
                "Service with exposureAddress in spec.externalIPs, routed to a node by the site)."
            ),
        ),
        Setting(
            "exposureAddress",
            "IF-CFG-078",
            type="string",
            description=(
                "onprem: the static IPv4 address clients and DNS reach the service on. Private addresses "
                "only with a self-hosted DNS authority (cloud health checkers cannot reach them)."
            ),
        ),
        Setting(
            "imageRegistry",
            "IF-CFG-079",
            type="string",
            description=(
                "onprem: host[:port] of the site's registry. servingImage must be on it, pinned by digest; "
                "the edge proxy image is pulled from it at its upstream path and digest (mirror both with "
                "`crane copy`)."
            ),
        ),
        Setting(
            "airGapped",
            "IF-CFG-080",
            type="boolean",
            description=(
                "onprem: true refuses every run-time dependency on the internet (public image registry, "
                "ACME, a model hub or public-cloud store, a DNS authority on a public cloud, replication "
                "from a cloud) and lists all it finds. Default false."
            ),
        ),
    ),
    # Vault (issue 12): OpenBao / HashiCorp Vault of an onprem stack, internal CA (infra/config_vault.py).
    "vault": (
        Setting(
            "vaultAddress",
            "IF-CFG-081",
            type="string",
            description=(
                "cloud: onprem only (required there): https://<host>[:<port>] of the OpenBao / Vault API "
                "holding the stack's secrets. The deployer's token is read from VAULT_TOKEN in the "
                "environment, never from this file."
            ),
        ),
        Setting(
            "vaultKvMount",
            "IF-CFG-082",
            type="string",
            description=(
                "cloud: onprem only: the site's existing KV v2 mount (default inference-failover) the stack "
                "writes its secrets into, under <mount>/<stack>/; it also holds the store's keys "
                "(s3CredentialsPath)."
            ),
        ),
        Setting(
            "vaultKubernetesAuthPath",
            "IF-CFG-083",
            type="string",
            description=(
                "cloud: onprem only: path of the existing Kubernetes auth method the workload logs in with "
                "(default kubernetes); enable and configure it once per cluster (README, on-prem setup)."
            ),
        ),
        Setting(
            "vaultPkiMount",
            "IF-CFG-084",
            type="string",
            description=(
                "internalCa: openbao only: existing PKI mount whose issuer signs the edge certificate "
                "(default pki)."
            ),
        ),
        Setting(
            "vaultCaCertificate",
            "IF-CFG-085",
            type="string",
            description=(
                "cloud: onprem only, optional: PEM of the CA that signed the vault's TLS certificate, "
                "trusted by the pods and cert-manager; unset: the system trust store."
            ),
        ),
        Setting(
            "internalCa",
            "IF-CFG-086",
            type="string",
            description=(
                "tlsCertificate: internal-ca only (required there): openbao (the vault's PKI mount signs, "
                "through cert-manager's Vault issuer) or provided (internalCaCertificate + "
                "internalCaPrivateKey, through cert-manager's CA issuer)."
            ),
        ),
        Setting(
            "internalCaCertificate",
            "IF-CFG-087",
            type="string",
            secret=True,
            description=(
                "internalCa: provided only: PEM certificate of the issuing CA (basicConstraints CA:TRUE); "
                "kept in a Secret of the cert-manager namespace, never in the workload's vault."
            ),
        ),
        Setting(
            "internalCaPrivateKey",
            "IF-CFG-088",
            type="string",
            secret=True,
            description="internalCa: provided only: the issuing CA's unencrypted PEM private key.",
        ),
    ),
    # S3-compatible model store of a cloud: onprem stack (issue 12; infra/config_s3store.py).
    "s3store": (
        Setting(
            "s3Endpoint",
            "IF-CFG-089",
            type="string",
            description=(
                "onprem only, required: https:// URL of the S3 API of the site's object store (Ceph RGW, "
                "SeaweedFS, MinIO...; with bucket versioning), without a path: requests are path-style."
            ),
        ),
        Setting(
            "s3Region",
            "IF-CFG-090",
            type="string",
            description=(
                "onprem only (default us-east-1; no schema default, which would land on cloud stacks too): "
                "the region the store signs requests for (Ceph: the zonegroup)."
            ),
        ),
        Setting(
            "s3CredentialsPath",
            "IF-CFG-091",
            type="string",
            description=(
                "onprem only, required: KV v2 path in the vault mount vaultKvMount of the deployer's S3 key "
                "(fields access_key_id, secret_access_key); it creates the bucket, and an on-prem standby's "
                "replication writes with it."
            ),
        ),
        Setting(
            "s3ReadCredentialsPath",
            "IF-CFG-092",
            type="string",
            description=(
                "onprem primary, required: KV v2 path of a read-only key on the model bucket (same fields); "
                "the standby's replication reads with it."
            ),
        ),
        Setting(
            "s3Encryption",
            "IF-CFG-093",
            type="string",
            description=(
                "onprem only (default sse-s3, or none when s3Capabilities lacks sse-s3): sse-s3 (bucket "
                "default encryption AES256; the store needs its SSE-S3 key configured) or none (the store "
                "has no SSE-S3: encrypt its disks instead)."
            ),
        ),
        Setting(
            "serviceAccountIssuer",
            "IF-CFG-094",
            type="string",
            description=(
                "onprem standby, required: the site cluster's --service-account-issuer (https URL whose "
                "/.well-known/openid-configuration and JWKS the primary's cloud or vault can fetch); the "
                "primary side trusts the replication job's tokens through it."
            ),
        ),
    ),
    # What the site's S3 store implements, and the audit endpoint (issue 12; infra/config_s3_capabilities.py).
    "s3capabilities": (
        Setting(
            "s3Capabilities",
            "IF-CFG-096",
            type="array",
            items="string",
            description=(
                "onprem only (default [versioning, sse-s3, object-lock]: Ceph RGW, MinIO, SeaweedFS): what "
                "the store implements; the bucket gets only those calls. Garage: [] (no versioning: an "
                "overwritten model cannot be restored; no SSE-S3; no Object Lock: set auditS3Endpoint)."
            ),
        ),
        Setting(
            "auditS3Endpoint",
            "IF-CFG-097",
            type="string",
            description=(
                "onprem, required when s3Capabilities lacks object-lock: https URL of another S3 API with "
                "Object Lock (MinIO, Ceph RGW, a cloud's S3) for the write-once audit bucket."
            ),
        ),
        Setting(
            "auditS3CredentialsPath",
            "IF-CFG-098",
            type="string",
            description=(
                "onprem, with auditS3Endpoint: KV v2 path (in vaultKvMount) of the key that creates and "
                "writes the audit bucket there (fields access_key_id, secret_access_key)."
            ),
        ),
        Setting(
            "auditS3Region",
            "IF-CFG-099",
            type="string",
            description=(
                "onprem, with auditS3Endpoint (default us-east-1): the region the audit endpoint signs "
                "requests for."
            ),
        ),
    ),
}
"""Every setting by area, in Pulumi.yaml's order within an area."""

SETTINGS: Final[dict[str, Setting]] = {s.key: s for area in AREAS.values() for s in area}
KEYS: Final = frozenset(SETTINGS)


def area_keys(area: str) -> frozenset[str]:
    """The keys of one area (a config module's `KEYS`)."""
    return frozenset(s.key for s in AREAS[area])


def code_for(key: str) -> str:
    """The code of a problem with `key`; a key that is no setting is a secret named in secretNames."""
    setting = SETTINGS.get(key)
    return setting.code if setting is not None else SECRET_VALUE


def schema_entry(setting: Setting) -> dict[str, object]:
    """What Pulumi.yaml's `config:` declares for `setting`."""
    entry: dict[str, object] = {}
    if setting.type is not None:
        entry["type"] = setting.type
    if setting.items is not None:
        entry["items"] = {"type": setting.items}
    if setting.default is not None:
        entry["default"] = list(setting.default) if isinstance(setting.default, tuple) else setting.default
    if setting.secret:
        entry["secret"] = True
    entry["description"] = setting.description
    return entry

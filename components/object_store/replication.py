"""Cross-cloud replication: copy the primary's model store into the standby's, on a schedule.

Only the standby stack creates a `CrossCloudReplication`. Everything is keyless: no access key,
client secret, service-account key, shared key or SAS token is created, stored or passed. The
mechanism is chosen per cloud pair and interval (`plan_replication`):

| primary -> standby          | mechanism (interval >= 60 min)  | otherwise            |
|-----------------------------|---------------------------------|----------------------|
| aws -> gcp, azure -> gcp    | Storage Transfer Service        | Kubernetes CronJob   |
| gcp -> aws, azure -> aws,   | Kubernetes CronJob              | Kubernetes CronJob   |
| aws -> azure, gcp -> azure  |                                 |                      |

Schedule granularity, checked against `replicationIntervalMinutes` with an error naming it:

- Storage Transfer Service: `repeatInterval` of at least one hour, any number of minutes above
  that (a duration, so 90 means every 90 minutes).
- Kubernetes CronJob: cron runs on wall-clock minutes, so the interval must divide an hour
  (5, 6, 10, 12, 15, 20, 30) or be whole hours dividing a day (60, 120, 180, 240, 360, 480,
  720, 1440); anything else (45, 90, ...) would fire at uneven intervals.

How each side authenticates:

- Storage Transfer Service (managed, nothing runs in the standby cluster): its Google service
  agent assumes an AWS IAM role trusting `accounts.google.com` for exactly the agent's subject id,
  or presents its Google token to a user-assigned identity with a federated credential for that
  subject on Azure. The agent gets the sink roles on the standby's bucket.
- Kubernetes CronJob (pinned rclone, `concurrencyPolicy: Forbid`, in its own namespace of the
  standby cluster): projected service-account tokens of the standby cluster are exchanged for
  primary-cloud credentials through an IAM OIDC provider + role (aws), a workload identity pool +
  provider with direct bucket access for the one federated principal (gcp), or a federated
  identity credential on a user-assigned identity (azure). It writes its own bucket with the
  standby cloud's workload identity (IRSA role / GKE Workload Identity / AKS federated identity).

Blast radius: the primary-side resources (the read-only role and policy or OIDC provider, the
workload identity pool with its bucket binding, the federated credential and its role
assignment) are created with the standby's explicit `source_provider`, grant read-only access
to the primary bucket only, and are touched only when replication settings change. No data
source (invoke) is read from the primary cloud: everything about the primary comes from its
`modelStore` stack output. So `pulumi up -s standby` works while the primary cloud is down;
copies fail until it is back and the standby keeps serving its last copy. Copies never delete
objects on the standby (mode: copy, not sync), so a deletion or a bad upload on the primary
cannot erase the standby's last good model; pause replication (`paused`) while cleaning up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import pulumi
import pulumi_kubernetes as k8s

from components.common import Cloud, type_token
from components.object_store.args import (
    ACCOUNT,
    BUCKET,
    CLOUD,
    ENDPOINT,
    KUBERNETES_CRONJOB,
    MODULE,
    REGION,
    REQUIRED_SOURCE_KEYS,
    S3_REGION,
    STORAGE_TRANSFER_SERVICE,
    URI,
    CrossCloudReplicationArgs,
    Mechanism,
    ModelStore,
)
from components.object_store.replication_network import replication_network_policy
from components.object_store.replication_onprem import VaultLogin
from components.problems import ArgsValueError

SERVICE_ACCOUNT: Final = "model-replicator"
CRONJOB_NAME: Final = "model-replication"
TOKEN_DIR: Final = "/var/run/secrets/replication"
GCP_CREDENTIALS_DIR: Final = "/etc/replication/gcp"
TOKEN_EXPIRATION_SECONDS: Final = 3600
STS_MIN_INTERVAL_MINUTES: Final = 60
CRON_INTERVALS_MINUTES: Final = (5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440)
MANAGED_TARGETS: Final[frozenset[Cloud]] = frozenset({"gcp"})
"""Standby clouds with a keyless managed copy service reading the other two clouds (GCP Storage
Transfer Service). AWS DataSync and Azure Storage Mover need keys, SAS tokens or agents for
another cloud's storage, so copies into aws and azure run as a CronJob."""
MANAGED_SOURCES: Final[frozenset[Cloud]] = frozenset({"aws", "azure"})
"""Primaries Storage Transfer Service reads keylessly. An on-prem S3-compatible store would need
its access key in Google's transfer service (or an on-prem transfer agent), so copies from
onprem into gcp run as a CronJob too."""
INTERVAL_KEY: Final = "replicationIntervalMinutes"
RCLONE_COMPARE_FLAGS: Final = ("--metadata",)
"""How the CronJob decides an object changed: rclone's default, size and modification time
(S3 Last-Modified or rclone's mtime metadata), and the hash as well where both sides share one.
Every overwrite on the primary gets a new Last-Modified, so a new model version of the same size
(a fine-tune) is copied. Not `--checksum`: with no hash common to both sides it compares sizes
only, and an S3 object in this project's SSE-KMS bucket, or uploaded in parts (every multi-GB
shard), has no MD5 (its ETag is not one), so same-size changes were never copied.
`--metadata` carries the artefacts' `sha256` user metadata between S3 and Azure Blob (rclone's GCS
backend reads and writes no user metadata, so nothing travels from or into GCS)."""


class ReplicationScheduleError(ArgsValueError):
    """`replicationIntervalMinutes` cannot be honoured by any mechanism for this cloud pair."""

    def __init__(self, message: str) -> None:
        super().__init__("ReplicationSchedule", [message], header="")


class ReplicationSourceError(ArgsValueError):
    """The primary's `modelStore` output does not describe the store replication expects."""

    def __init__(self, message: str) -> None:
        super().__init__("ReplicationSource", [message], header="")


@dataclass(frozen=True)
class ReplicationPlan:
    mechanism: Mechanism
    interval_minutes: int
    schedule: str
    """Cron expression (CronJob, UTC) or Storage Transfer Service repeat interval ('3600s')."""


def cron_schedule(interval_minutes: int) -> str:
    """Cron expression running every `interval_minutes` (one of CRON_INTERVALS_MINUTES), UTC."""
    if interval_minutes not in CRON_INTERVALS_MINUTES:
        raise ReplicationScheduleError(
            f"a CronJob cannot run every {interval_minutes} minutes: expected one of "
            f"{', '.join(map(str, CRON_INTERVALS_MINUTES))}"
        )
    if interval_minutes < 60:
        return f"*/{interval_minutes} * * * *"
    if interval_minutes == 60:
        return "0 * * * *"
    if interval_minutes == 1440:
        return "0 0 * * *"
    return f"0 */{interval_minutes // 60} * * *"


def plan_replication(source: Cloud, target: Cloud, interval_minutes: int, stack: str) -> ReplicationPlan:
    """The mechanism and schedule for copying `source` -> `target` every `interval_minutes`."""
    managed = target in MANAGED_TARGETS and source in MANAGED_SOURCES
    if managed and interval_minutes >= STS_MIN_INTERVAL_MINUTES:
        return ReplicationPlan(STORAGE_TRANSFER_SERVICE, interval_minutes, f"{interval_minutes * 60}s")
    if interval_minutes in CRON_INTERVALS_MINUTES:
        return ReplicationPlan(KUBERNETES_CRONJOB, interval_minutes, cron_schedule(interval_minutes))
    cron = (
        "a Kubernetes CronJob runs on wall-clock minutes, so the interval must divide an hour "
        "(5, 6, 10, 12, 15, 20, 30) or be whole hours dividing a day (60, 120, 180, 240, 360, 480, 720, 1440)"
    )
    expected = (
        f"at least {STS_MIN_INTERVAL_MINUTES} (Storage Transfer Service repeats at most hourly) "
        "or a CronJob interval"
        if managed
        else "a CronJob interval"
    )
    suggestion = max(i for i in CRON_INTERVALS_MINUTES if i <= max(interval_minutes, 5))
    raise ReplicationScheduleError(
        f"stack config '{INTERVAL_KEY}' must be {expected} for replication from {source} to {target} "
        f"(got {interval_minutes}): {cron}; set it with "
        f"`pulumi config set {INTERVAL_KEY} {suggestion} -s {stack}`"
    )


def checked_source(descriptor: Any, source_cloud: Cloud, stack: str) -> dict[str, Any]:
    """The primary's `modelStore` output, checked to be on `source_cloud` with the keys we need."""
    if not isinstance(descriptor, Mapping):
        raise ReplicationSourceError(
            f"the primary stack exports no `modelStore` object (got {descriptor!r}): run `pulumi up` on "
            f"the primary stack first, then on {stack}"
        )
    cloud = descriptor.get(CLOUD)
    if cloud != source_cloud:
        raise ReplicationSourceError(
            f"stack config 'primaryCloud' must match the primary stack's model store cloud "
            f"(got {source_cloud!r}, the primary's `modelStore` says {cloud!r}): set primaryCloud to "
            f"{cloud} in Pulumi.{stack}.yaml"
        )
    missing = [key for key in REQUIRED_SOURCE_KEYS[source_cloud] if not descriptor.get(key)]
    if missing:
        raise ReplicationSourceError(
            f"the primary's `modelStore` output lacks {', '.join(missing)} (got keys "
            f"{', '.join(sorted(descriptor))}): run `pulumi up` on the primary stack with this version "
            f"of the program, then on {stack}"
        )
    return dict(descriptor)


@dataclass
class _PodSide:
    """How the CronJob pod authenticates to one cloud."""

    env: dict[str, pulumi.Input[str]]
    tokens: dict[str, pulumi.Input[str]]
    """Projected service-account tokens: file name under TOKEN_DIR/<cloud>/ -> audience."""
    principal: pulumi.Input[str]
    depends_on: list[pulumi.Resource]
    config_files: dict[str, pulumi.Input[str]] | None = None
    sa_annotations: dict[str, pulumi.Input[str]] | None = None
    vault_login: VaultLogin | None = None
    """onprem: the S3 key is fetched from a vault by the init container (replication_onprem)."""
    site_ports: pulumi.Input[list[int]] | None = None
    """onprem: TCP ports of the store's S3 endpoint and vault (NetworkPolicy egress)."""


def _token_path(cloud: Cloud) -> str:
    return f"{TOKEN_DIR}/{cloud}/token"


def _rclone_remote(
    remote: str,
    cloud: Cloud,
    region: pulumi.Input[str],
    account: pulumi.Input[str],
    endpoint: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.Input[str]]:
    prefix = f"RCLONE_CONFIG_{remote.upper()}_"
    settings: dict[str, pulumi.Input[str]]
    if cloud == "onprem":
        from components.object_store import replication_onprem

        assert endpoint is not None
        settings = replication_onprem.rclone_remote_settings(endpoint, region)
    elif cloud == "aws":
        settings = {
            "TYPE": "s3",
            "PROVIDER": "AWS",
            "ENV_AUTH": "true",
            "REGION": region,
            "NO_CHECK_BUCKET": "true",
            # Explicit: rclone otherwise carries the source's tier over, and an Azure blob's
            # "Hot" is not an S3 storage class (S3 answers InvalidStorageClass to every copy).
            "STORAGE_CLASS": "STANDARD",
        }
    elif cloud == "gcp":
        settings = {
            "TYPE": "google cloud storage",
            "ENV_AUTH": "true",
            "BUCKET_POLICY_ONLY": "true",
            "NO_CHECK_BUCKET": "true",
        }
    else:
        settings = {"TYPE": "azureblob", "ACCOUNT": account, "ENV_AUTH": "true", "NO_CHECK_CONTAINER": "true"}
    return {prefix + key: value for key, value in settings.items()}


class CrossCloudReplication(pulumi.ComponentResource):
    """Scheduled keyless copy of the primary's model store; see the module docstring."""

    descriptor: pulumi.Output[dict[str, Any]]

    def __init__(
        self, name: str, args: CrossCloudReplicationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "CrossCloudReplication"), name, None, opts)
        target = args.target
        self.plan = plan_replication(args.source_cloud, target.cloud, args.interval_minutes, target.stack)
        self.source = pulumi.Output.from_input(args.source_store).apply(
            lambda d: checked_source(d, args.source_cloud, target.stack)
        )
        prefix = f"{name}-replication"
        # The IAM OIDC provider this creates for the standby cluster's issuer (aws source with a
        # CronJob); IAM allows one per issuer URL, so cert-manager's DNS-01 trust reuses it.
        self.aws_oidc_provider: pulumi.Resource | None = None
        if self.plan.mechanism == STORAGE_TRANSFER_SERVICE:
            job, source_principal, target_principal = self._transfer_service(prefix, args)
        else:
            job, source_principal, target_principal = self._cronjob(prefix, args)

        source = self.source
        target_descriptor = args.target_store.descriptor
        self.descriptor = pulumi.Output.from_input(
            {
                "mechanism": self.plan.mechanism,
                "intervalMinutes": self.plan.interval_minutes,
                "schedule": self.plan.schedule,
                "paused": args.paused,
                "mode": "copy: new and changed objects; nothing is ever deleted on the standby",
                # onprem: the store's S3 key is fetched from the vault for each run, never stored
                # in the cluster; aws/gcp/azure sides use federated identities only.
                "keyless": "onprem" not in (args.source_cloud, target.cloud),
                "source": source.apply(
                    lambda d: {k: d[k] for k in (CLOUD, REGION, BUCKET, URI, ACCOUNT) if k in d}
                ),
                "target": target_descriptor.apply(
                    lambda d: {k: d[k] for k in (CLOUD, REGION, BUCKET, URI, ACCOUNT) if k in d}
                ),
                "identity": {"sourceRead": source_principal, "targetWrite": target_principal},
                "job": job,
            }
        ).apply(dict)
        self.register_outputs({"descriptor": self.descriptor})

    # --- Storage Transfer Service --------------------------------------------------------------

    def _transfer_service(
        self, prefix: str, args: CrossCloudReplicationArgs
    ) -> tuple[dict[str, pulumi.Input[str]], pulumi.Input[str], pulumi.Input[str]]:
        import pulumi_gcp as gcp

        from components.gcp_apis import apis_of
        from components.object_store import replication_gcp
        from components.object_store.gcp import GcpModelStore

        store = _store_of(args.target_store, GcpModelStore)
        target = args.target
        source = self.source
        agent = replication_gcp.transfer_agent(
            self,
            prefix,
            project=store.project,
            bucket_name=store.bucket_name,
            provider=target.provider,
            apis=apis_of(target.gcp_apis, target.stack, "Storage Transfer Service replication"),
        )
        sink = gcp.storage.TransferJobTransferSpecGcsDataSinkArgs(bucket_name=store.bucket_name)
        depends_on: list[pulumi.Resource] = list(agent.grants)
        source_principal: pulumi.Input[str]
        if args.source_cloud == "aws":
            from components.object_store import replication_aws

            role, policy = replication_aws.read_role_for_transfer_service(
                self,
                prefix,
                source=source,
                provider=args.source_provider,
                agent_subject_id=agent.subject_id,
                stack=target.stack,
            )
            depends_on += [role, policy]
            source_principal = role.arn
            spec = gcp.storage.TransferJobTransferSpecArgs(
                aws_s3_data_source=gcp.storage.TransferJobTransferSpecAwsS3DataSourceArgs(
                    bucket_name=source.apply(lambda d: str(d[BUCKET])),
                    role_arn=role.arn,
                ),
                gcs_data_sink=sink,
                transfer_options=replication_gcp.transfer_options(),
            )
        elif args.source_cloud == "azure":
            from components.object_store import replication_azure

            access = replication_azure.read_access(
                self,
                prefix,
                source=source,
                provider=args.source_provider,
                issuer=replication_azure.GOOGLE_ISSUER_URL,
                subject=agent.subject_id,
                stack=target.stack,
                reader="Storage Transfer Service",
            )
            depends_on += [access.credential, access.assignment]
            source_principal = access.principal_id
            spec = gcp.storage.TransferJobTransferSpecArgs(
                azure_blob_storage_data_source=gcp.storage.TransferJobTransferSpecAzureBlobStorageDataSourceArgs(
                    storage_account=source.apply(lambda d: str(d[ACCOUNT])),
                    container=source.apply(lambda d: str(d[BUCKET])),
                    federated_identity_config=(
                        gcp.storage.TransferJobTransferSpecAzureBlobStorageDataSourceFederatedIdentityConfigArgs(
                            client_id=access.client_id,
                            tenant_id=access.tenant_id,
                        )
                    ),
                ),
                gcs_data_sink=sink,
                transfer_options=replication_gcp.transfer_options(),
            )
        else:
            raise ReplicationScheduleError(
                f"Storage Transfer Service cannot read {args.source_cloud} into {target.cloud} here"
            )
        description = pulumi.Output.all(source.apply(lambda d: str(d[URI])), store.bucket_uri).apply(
            lambda uris: (
                f"inference-failover {target.stack}: copy {uris[0]} into {uris[1]} "
                f"every {args.interval_minutes} min"
            )
        )
        job = replication_gcp.transfer_job(
            self,
            prefix,
            project=store.project,
            description=description,
            source=spec,
            interval_minutes=args.interval_minutes,
            paused=args.paused,
            provider=target.provider,
            depends_on=depends_on,
        )
        self.transfer_job = job
        return (
            {"kind": "TransferJob", "name": job.name, "project": store.project},
            source_principal,
            agent.email,
        )

    # --- Kubernetes CronJob --------------------------------------------------------------------

    def _cronjob(
        self, prefix: str, args: CrossCloudReplicationArgs
    ) -> tuple[dict[str, pulumi.Input[str]], pulumi.Input[str], pulumi.Input[str]]:
        target = args.target
        source = self.source
        namespace = args.namespace
        subject = f"system:serviceaccount:{namespace}:{SERVICE_ACCOUNT}"
        issuer = args.target_cluster.oidc_issuer_url.apply(lambda url: _checked_issuer(url, target.stack))
        read = self._source_side(prefix, args, issuer, subject)
        write = self._target_side(prefix, args, issuer, subject)

        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.target_cluster.k8s_provider)
        labels = {
            "app.kubernetes.io/name": CRONJOB_NAME,
            "app.kubernetes.io/part-of": "inference-failover",
            "app.kubernetes.io/component": "model-replication",
        }
        ns = k8s.core.v1.Namespace(
            prefix,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=namespace,
                labels={**labels, "pod-security.kubernetes.io/enforce": "restricted"},
            ),
            opts=k8s_opts,
        )
        site_ports = [side.site_ports for side in (read, write) if side.site_ports is not None]
        replication_network_policy(
            prefix,
            ns,
            target.cloud,
            labels,
            k8s_opts,
            site_ports=pulumi.Output.all(*site_ports).apply(
                lambda lists: sorted({p for ps in lists for p in ps})
            )
            if site_ports
            else None,
        )
        sa = k8s.core.v1.ServiceAccount(
            prefix,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SERVICE_ACCOUNT,
                namespace=ns.metadata.name,
                labels=labels,
                annotations={**(read.sa_annotations or {}), **(write.sa_annotations or {})} or None,
            ),
            # Pods never call the Kubernetes API; the federated tokens are separate projections.
            automount_service_account_token=False,
            opts=k8s_opts,
        )
        volumes: list[k8s.core.v1.VolumeArgs] = [
            k8s.core.v1.VolumeArgs(
                name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Gi")
            ),
        ]
        mounts: list[k8s.core.v1.VolumeMountArgs] = [
            k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")
        ]
        tokens = [
            k8s.core.v1.VolumeProjectionArgs(
                service_account_token=k8s.core.v1.ServiceAccountTokenProjectionArgs(
                    path=f"{cloud}/{file}", audience=audience, expiration_seconds=TOKEN_EXPIRATION_SECONDS
                )
            )
            for cloud, side in ((args.source_cloud, read), (target.cloud, write))
            for file, audience in side.tokens.items()
        ]
        if tokens:
            volumes.append(
                k8s.core.v1.VolumeArgs(
                    name="federated-tokens",
                    projected=k8s.core.v1.ProjectedVolumeSourceArgs(sources=tokens, default_mode=0o440),
                )
            )
            mounts.append(
                k8s.core.v1.VolumeMountArgs(name="federated-tokens", mount_path=TOKEN_DIR, read_only=True)
            )
        depends_on: list[pulumi.Resource] = [sa, *read.depends_on, *write.depends_on]
        config_files = {**(read.config_files or {}), **(write.config_files or {})}
        if config_files:
            config_map = k8s.core.v1.ConfigMap(
                f"{prefix}-gcp-credentials",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name="gcp-external-account", namespace=ns.metadata.name, labels=labels
                ),
                data=config_files,
                opts=k8s_opts,
            )
            depends_on.append(config_map)
            volumes.append(
                k8s.core.v1.VolumeArgs(
                    name="gcp-credentials",
                    config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name="gcp-external-account"),
                )
            )
            mounts.append(
                k8s.core.v1.VolumeMountArgs(
                    name="gcp-credentials", mount_path=GCP_CREDENTIALS_DIR, read_only=True
                )
            )

        store = args.target_store
        target_descriptor = store.descriptor
        logins = [side.vault_login for side in (read, write) if side.vault_login is not None]
        init_containers: list[k8s.core.v1.ContainerArgs] = []
        rclone_config = "/tmp/rclone.conf"
        if logins:
            from components.object_store import replication_onprem

            # The S3 keys exist only in memory, for the life of one copy pod.
            volumes.append(
                k8s.core.v1.VolumeArgs(
                    name="credentials",
                    empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit="1Mi"),
                )
            )
            credentials = k8s.core.v1.VolumeMountArgs(
                name="credentials", mount_path=replication_onprem.CREDENTIALS_DIR
            )
            init_containers.append(
                replication_onprem.login_container(logins, args.vault_login_image, [*mounts, credentials])
            )
            mounts.append(credentials)
            rclone_config = replication_onprem.RCLONE_CONFIG_FILE
        env: dict[str, pulumi.Input[str]] = {
            "HOME": "/tmp",
            "RCLONE_CONFIG": rclone_config,
            **_rclone_remote(
                "source",
                args.source_cloud,
                source.apply(lambda d: str(d.get(S3_REGION) or d.get(REGION, ""))),
                source.apply(lambda d: str(d[ACCOUNT])),
                source.apply(lambda d: str(d.get(ENDPOINT, ""))),
            ),
            **_rclone_remote(
                "target",
                target.cloud,
                target_descriptor.apply(lambda d: str(d.get(S3_REGION) or target.region)),
                target_descriptor.apply(lambda d: str(d[ACCOUNT])),
                target_descriptor.apply(lambda d: str(d.get(ENDPOINT, ""))),
            ),
            **read.env,
            **write.env,
        }
        source_path = source.apply(lambda d: f"source:{d[BUCKET]}")
        target_path = store.bucket_name.apply(lambda b: f"target:{b}")
        container = k8s.core.v1.ContainerArgs(
            name="rclone",
            image=args.rclone_image,
            command=["rclone"],
            args=[
                "copy",
                source_path,
                target_path,
                *RCLONE_COMPARE_FLAGS,
                "--transfers=8",
                "--checkers=16",
                "--fast-list",
                "--retries=3",
                "--low-level-retries=10",
                "--stats=1m",
                "--stats-one-line",
                "--use-json-log",
                "--log-level=INFO",
            ],
            env=[k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in sorted(env.items())],
            volume_mounts=mounts,
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": "250m", "memory": "256Mi"},
                limits={"memory": "1Gi"},
            ),
            security_context=k8s.core.v1.SecurityContextArgs(
                allow_privilege_escalation=False,
                read_only_root_filesystem=True,
                run_as_non_root=True,
                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
            ),
        )
        cronjob = k8s.batch.v1.CronJob(
            prefix,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CRONJOB_NAME, namespace=ns.metadata.name, labels=labels),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule=self.plan.schedule,
                time_zone="Etc/UTC",
                concurrency_policy="Forbid",
                suspend=args.paused,
                starting_deadline_seconds=300,
                successful_jobs_history_limit=3,
                failed_jobs_history_limit=3,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.batch.v1.JobSpecArgs(
                        backoff_limit=2,
                        active_deadline_seconds=args.job_timeout_minutes * 60,
                        template=k8s.core.v1.PodTemplateSpecArgs(
                            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                            spec=k8s.core.v1.PodSpecArgs(
                                service_account_name=SERVICE_ACCOUNT,
                                automount_service_account_token=False,
                                restart_policy="Never",
                                node_selector={"kubernetes.io/os": "linux"},
                                security_context=k8s.core.v1.PodSecurityContextArgs(
                                    run_as_non_root=True,
                                    run_as_user=65532,
                                    run_as_group=65532,
                                    fs_group=65532,
                                    seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                                ),
                                init_containers=init_containers or None,
                                containers=[container],
                                volumes=volumes,
                            ),
                        ),
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=depends_on)),
        )
        self.cronjob = cronjob
        return (
            {"kind": "CronJob", "namespace": namespace, "name": CRONJOB_NAME},
            read.principal,
            write.principal,
        )

    def _source_side(
        self, prefix: str, args: CrossCloudReplicationArgs, issuer: pulumi.Output[str], subject: str
    ) -> _PodSide:
        """Read-only access on the primary bucket for the replication service account."""
        source = self.source
        stack = args.target.stack
        cloud = args.source_cloud
        if cloud == "onprem":
            from components.object_store import replication_onprem

            login, grants, principal = replication_onprem.read_access_for_cluster(
                self,
                prefix,
                source=source,
                provider=args.source_provider,
                issuer_url=issuer,
                subject=subject,
                token_file=f"{TOKEN_DIR}/onprem/vault-source",
                stack=stack,
            )
            return _PodSide(
                env={},
                tokens={"vault-source": replication_onprem.VAULT_AUDIENCE},
                principal=principal,
                depends_on=grants,
                vault_login=login,
                site_ports=source.apply(
                    lambda d: replication_onprem.https_ports(replication_onprem.store_urls(d))
                ),
            )
        if cloud == "aws":
            from components.object_store import replication_aws

            role, policy, oidc = replication_aws.read_role_for_cluster(
                self,
                prefix,
                source=source,
                provider=args.source_provider,
                issuer_url=issuer,
                subject=subject,
                stack=stack,
            )
            self.aws_oidc_provider = oidc
            return _PodSide(
                env=_aws_env(role.arn, source.apply(lambda d: str(d[REGION]))),
                tokens={"token": replication_aws.STS_AUDIENCE},
                principal=role.arn,
                depends_on=[role, policy, oidc],
            )
        if cloud == "gcp":
            from components.object_store import replication_gcp

            access = replication_gcp.read_access_for_cluster(
                self,
                prefix,
                source=source,
                provider=args.source_provider,
                issuer_url=issuer,
                subject=subject,
                token_path=_token_path("gcp"),
                stack=stack,
                name_suffix=args.target.name_suffix,
            )
            return _PodSide(
                env={"GOOGLE_APPLICATION_CREDENTIALS": f"{GCP_CREDENTIALS_DIR}/credentials.json"},
                tokens={"token": access.token_audience},
                principal=access.principal,
                depends_on=[access.pool, access.provider, access.binding],
                config_files={"credentials.json": access.credential_config},
            )
        from components.object_store import replication_azure

        blob = replication_azure.read_access(
            self,
            prefix,
            source=source,
            provider=args.source_provider,
            issuer=issuer,
            subject=subject,
            stack=stack,
            reader="Model replication CronJob",
        )
        return _PodSide(
            env=_azure_env(blob.client_id, blob.tenant_id),
            tokens={"token": replication_azure.TOKEN_EXCHANGE_AUDIENCE},
            principal=blob.principal_id,
            depends_on=[blob.identity, blob.credential, blob.assignment],
        )

    def _target_side(
        self, prefix: str, args: CrossCloudReplicationArgs, issuer: pulumi.Output[str], subject: str
    ) -> _PodSide:
        """Write access on the standby's own bucket for the replication service account."""
        target = args.target
        stack = target.stack
        if target.cloud == "onprem":
            from components.object_store import replication_onprem
            from components.object_store.onprem import OnpremModelStore

            onprem_store = _store_of(args.target_store, OnpremModelStore)
            settings = onprem_store.settings
            login, grants, principal = replication_onprem.write_access_for_cluster(
                self,
                prefix,
                provider=onprem_store.vault_provider,
                vault_address=settings.vault_address,
                auth_path=settings.vault_kubernetes_auth_path,
                kv_mount=settings.vault_kv_mount,
                credentials_path=settings.credentials_path,
                namespace=args.namespace,
                service_account=SERVICE_ACCOUNT,
                token_file=f"{TOKEN_DIR}/onprem/vault-target",
                stack=stack,
                after=[args.target_cluster.federation_ready],
            )
            return _PodSide(
                env={},
                tokens={"vault-target": replication_onprem.VAULT_AUDIENCE},
                principal=principal,
                depends_on=grants,
                vault_login=login,
                site_ports=replication_onprem.https_ports([settings.endpoint, settings.vault_address]),
            )
        if target.cloud == "aws":
            from components.object_store import replication_aws
            from components.object_store.aws import AwsModelStore

            aws_store = _store_of(args.target_store, AwsModelStore)
            role, policy = replication_aws.write_role_for_cluster(
                self,
                prefix,
                account_id=aws_store.account_id,
                bucket_arn=aws_store.bucket_arn,
                kms_key_arn=aws_store.kms_key_arn,
                provider=target.provider,
                issuer_url=issuer,
                subject=subject,
                stack=stack,
                after=[args.target_cluster.federation_ready],
            )
            return _PodSide(
                env=_aws_env(role.arn, target.region),
                tokens={"token": replication_aws.STS_AUDIENCE},
                principal=role.arn,
                depends_on=[role, policy],
            )
        if target.cloud == "gcp":
            from components.object_store import replication_gcp
            from components.object_store.gcp import GcpModelStore

            gcp_store = _store_of(args.target_store, GcpModelStore)
            account, grants = replication_gcp.write_identity_for_cluster(
                self,
                prefix,
                project=gcp_store.project,
                bucket_name=gcp_store.bucket_name,
                provider=target.provider,
                namespace=args.namespace,
                service_account=SERVICE_ACCOUNT,
                stack=stack,
                after=[args.target_cluster.federation_ready],
            )
            # GKE Workload Identity: the metadata server answers as this account; no token file.
            return _PodSide(
                env={},
                tokens={},
                principal=account.email,
                depends_on=[account, *grants],
                sa_annotations={"iam.gke.io/gcp-service-account": account.email},
            )
        from components.object_store import replication_azure
        from components.object_store.azure import AzureModelStore

        azure_store = _store_of(args.target_store, AzureModelStore)
        group = target.azure_resource_group
        if group is None:
            raise ValueError(
                f"replication into azure needs the standby's resource group (got none) for stack '{stack}': "
                "pass Placement(azure_resource_group=...) as infra/providers.py does"
            )
        blob = replication_azure.write_access_for_cluster(
            self,
            prefix,
            provider=target.provider,
            resource_group=group,
            location=target.region,
            container_id=azure_store.container_id,
            issuer=issuer,
            subject=subject,
            stack=stack,
        )
        return _PodSide(
            env=_azure_env(blob.client_id, blob.tenant_id),
            tokens={"token": replication_azure.TOKEN_EXCHANGE_AUDIENCE},
            principal=blob.principal_id,
            depends_on=[blob.identity, blob.credential, blob.assignment],
        )


def _checked_issuer(url: str, stack: str) -> str:
    """The standby cluster's token issuer, which the primary side is told to trust: https only.
    An on-prem cluster has no managed issuer; its URL comes from `serviceAccountIssuer`."""
    if not str(url or "").startswith("https://"):
        raise ReplicationSourceError(
            f"replication into stack '{stack}' needs its cluster's service-account token issuer as an "
            f"https URL (got {url!r}): on cloud: onprem set `serviceAccountIssuer` (the API server's "
            "--service-account-issuer, with its discovery document reachable by the primary side)"
        )
    return url


def _aws_env(role_arn: pulumi.Input[str], region: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """IRSA-style web identity: the projected token file is exchanged for `role_arn` in `region`."""
    return {
        "AWS_ROLE_ARN": role_arn,
        "AWS_WEB_IDENTITY_TOKEN_FILE": _token_path("aws"),
        "AWS_ROLE_SESSION_NAME": CRONJOB_NAME,
        "AWS_REGION": region,
        "AWS_STS_REGIONAL_ENDPOINTS": "regional",
    }


def _azure_env(client_id: pulumi.Input[str], tenant_id: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    from components.object_store import replication_azure

    return {
        "AZURE_CLIENT_ID": client_id,
        "AZURE_TENANT_ID": tenant_id,
        "AZURE_FEDERATED_TOKEN_FILE": _token_path("azure"),
        "AZURE_AUTHORITY_HOST": replication_azure.AUTHORITY_HOST,
    }


_Store = TypeVar("_Store", bound=ModelStore)


def _store_of(store: ModelStore, kind: type[_Store]) -> _Store:
    if not isinstance(store, kind):
        raise TypeError(
            f"target_store must be a {kind.__name__} for a standby on {store.cloud} "
            f"(got {type(store).__name__}): pass the store create_model_store returned for this stack"
        )
    return store

"""Cross-cloud replication: copy the primary's model store into the standby's, on a schedule.

Only the standby stack creates a `CrossCloudReplication`. Everything is keyless: no access key,
client secret, service-account key, shared key or SAS token is created, stored or passed (an
on-prem store's S3 key is fetched from its vault for each run, never stored). The mechanism,
the identities on both sides and the schedule limits of each (primary, standby) pair are one
table, `replication_table.ROUTES`; `plan_replication` takes the first row of the pair whose
schedule accepts `replicationIntervalMinutes`:

| primary -> standby          | mechanism (interval >= 60 min)  | otherwise            |
|-----------------------------|---------------------------------|----------------------|
| aws -> gcp, azure -> gcp    | Storage Transfer Service        | Kubernetes CronJob   |
| every other pair, onprem in | Kubernetes CronJob              | Kubernetes CronJob   |
| either role included        |                                 |                      |

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
from dataclasses import dataclass, field
from typing import Any, Final

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
)
from components.object_store.replication_network import replication_network_policy
from components.object_store.replication_onprem import VaultLogin
from components.object_store.replication_sides import (
    CRONJOB_NAME,
    GCP_CREDENTIALS_DIR,
    SERVICE_ACCOUNT,
    TOKEN_DIR,
    PodSide,
    SideContext,
    TransferContext,
    rclone_remote,
    store_of,
)
from components.object_store.replication_table import (
    CRON_INTERVALS_MINUTES,
    CronJobRoute,
    Route,
    TransferRoute,
    routes_for,
)
from components.problems import ArgsValueError

__all__ = [
    "CRONJOB_NAME",
    "KUBERNETES_CRONJOB",
    "SERVICE_ACCOUNT",
    "STORAGE_TRANSFER_SERVICE",
    "CrossCloudReplication",
    "ReplicationPlan",
    "ReplicationScheduleError",
    "ReplicationSourceError",
    "checked_source",
    "cron_schedule",
    "plan_replication",
]

TOKEN_EXPIRATION_SECONDS: Final = 3600
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
RCLONE_FLAGS: Final = (
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
)
LABELS: Final = {
    "app.kubernetes.io/name": CRONJOB_NAME,
    "app.kubernetes.io/part-of": "inference-failover",
    "app.kubernetes.io/component": "model-replication",
}
CRON_RULE: Final = (
    "a Kubernetes CronJob runs on wall-clock minutes, so the interval must divide an hour "
    "(5, 6, 10, 12, 15, 20, 30) or be whole hours dividing a day (60, 120, 180, 240, 360, 480, 720, 1440)"
)


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
    route: Route
    """The row of `replication_table.ROUTES` this copies by (identities on both sides)."""


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
    """The mechanism and schedule for copying `source` -> `target` every `interval_minutes`: the
    first row of the pair in `replication_table.ROUTES` whose schedule accepts the interval."""
    routes = routes_for(source, target)
    if not routes:
        raise ReplicationScheduleError(
            f"no replication from {source} to {target}: the primary and the standby must be on "
            f"different clouds (or two sites); set `primaryCloud` in Pulumi.{stack}.yaml to the "
            "primary's cloud"
        )
    for route in routes:
        if route.schedule.accepts(interval_minutes):
            schedule = (
                cron_schedule(interval_minutes)
                if isinstance(route, CronJobRoute)
                else f"{interval_minutes * 60}s"
            )
            return ReplicationPlan(route.schedule.mechanism, interval_minutes, schedule, route)
    expected = " or ".join(route.schedule.expected for route in routes)
    suggestion = max(i for i in CRON_INTERVALS_MINUTES if i <= max(interval_minutes, 5))
    raise ReplicationScheduleError(
        f"stack config '{INTERVAL_KEY}' must be {expected} for replication from {source} to {target} "
        f"(got {interval_minutes}): {CRON_RULE}; set it with "
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
class _PodFiles:
    """Volumes and mounts of the copy pod, the init container that fetches site keys, and what
    the CronJob waits for besides the grants."""

    volumes: list[k8s.core.v1.VolumeArgs]
    mounts: list[k8s.core.v1.VolumeMountArgs]
    init_containers: list[k8s.core.v1.ContainerArgs] = field(default_factory=list)
    rclone_config: str = "/tmp/rclone.conf"
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class CrossCloudReplication(pulumi.ComponentResource):
    """Scheduled keyless copy of the primary's model store; see the module docstring."""

    plan: ReplicationPlan
    """Mechanism, interval, schedule and route (replication_table.ROUTES) of this pair."""
    source: pulumi.Output[dict[str, Any]]
    """The primary's `modelStore` output, checked against `source_cloud` (`checked_source`)."""
    aws_oidc_provider: pulumi.Resource | None
    """The IAM OIDC provider created for the standby cluster's issuer (aws primary, CronJob);
    IAM allows one per issuer URL, so cert-manager's DNS-01 trust reuses it. None otherwise."""
    transfer_job: pulumi.Resource
    """Storage Transfer Service only: the recurring transfer job."""
    cronjob: k8s.batch.v1.CronJob
    """CronJob only: the copy CronJob in the standby's cluster."""
    descriptor: pulumi.Output[dict[str, Any]]
    """Exported as `replication`: mechanism, intervalMinutes, schedule, paused, mode, keyless,
    source, target, identity (sourceRead, targetWrite) and job."""

    def __init__(
        self, name: str, args: CrossCloudReplicationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "CrossCloudReplication"), name, None, opts)
        target = args.target
        self.plan = plan_replication(args.source_cloud, target.cloud, args.interval_minutes, target.stack)
        self.source = pulumi.Output.from_input(args.source_store).apply(
            lambda d: checked_source(d, args.source_cloud, target.stack)
        )
        self.aws_oidc_provider = None
        prefix = f"{name}-replication"
        route = self.plan.route
        if isinstance(route, TransferRoute):
            job, source_principal, target_principal = self._transfer_service(prefix, args, route)
        else:
            job, source_principal, target_principal = self._cronjob(prefix, args, route)
        self._descriptor(args, job, source_principal, target_principal)
        self.register_outputs({"descriptor": self.descriptor})

    def _descriptor(
        self,
        args: CrossCloudReplicationArgs,
        job: dict[str, pulumi.Input[str]],
        source_principal: pulumi.Input[str],
        target_principal: pulumi.Input[str],
    ) -> None:
        self.descriptor = pulumi.Output.from_input(
            {
                "mechanism": self.plan.mechanism,
                "intervalMinutes": self.plan.interval_minutes,
                "schedule": self.plan.schedule,
                "paused": args.paused,
                "mode": "copy: new and changed objects; nothing is ever deleted on the standby",
                # onprem: the store's S3 key is fetched from the vault for each run, never stored
                # in the cluster; aws/gcp/azure sides use federated identities only.
                "keyless": "onprem" not in (args.source_cloud, args.target.cloud),
                "source": self.source.apply(_summary),
                "target": args.target_store.descriptor.apply(_summary),
                "identity": {"sourceRead": source_principal, "targetWrite": target_principal},
                "job": job,
            }
        ).apply(dict)

    # --- Storage Transfer Service --------------------------------------------------------------

    def _transfer_service(
        self, prefix: str, args: CrossCloudReplicationArgs, route: TransferRoute
    ) -> tuple[dict[str, pulumi.Input[str]], pulumi.Input[str], pulumi.Input[str]]:
        """The transfer agent (sink roles on the standby's bucket), the primary-side identity of
        `route.read`, and the recurring job."""
        import pulumi_gcp as gcp

        from components.gcp_apis import apis_of
        from components.object_store import replication_gcp
        from components.object_store.gcp import GcpModelStore

        store = store_of(args.target_store, GcpModelStore)
        target = args.target
        agent = replication_gcp.transfer_agent(
            self,
            prefix,
            project=store.project,
            bucket_name=store.bucket_name,
            provider=target.provider,
            apis=apis_of(target.gcp_apis, target.stack, "Storage Transfer Service replication"),
        )
        sink = gcp.storage.TransferJobTransferSpecGcsDataSinkArgs(bucket_name=store.bucket_name)
        read = route.read.create(TransferContext(self, prefix, args, self.source, agent, sink))
        description = pulumi.Output.all(self.source.apply(lambda d: str(d[URI])), store.bucket_uri).apply(
            lambda uris: (
                f"inference-failover {target.stack}: copy {uris[0]} into {uris[1]} "
                f"every {args.interval_minutes} min"
            )
        )
        self.transfer_job = replication_gcp.transfer_job(
            self,
            prefix,
            project=store.project,
            description=description,
            source=read.spec,
            interval_minutes=args.interval_minutes,
            paused=args.paused,
            provider=target.provider,
            depends_on=[*agent.grants, *read.depends_on],
        )
        job: dict[str, pulumi.Input[str]] = {
            "kind": "TransferJob",
            "name": self.transfer_job.name,
            "project": store.project,
        }
        return job, read.principal, agent.email

    # --- Kubernetes CronJob --------------------------------------------------------------------

    def _cronjob(
        self, prefix: str, args: CrossCloudReplicationArgs, route: CronJobRoute
    ) -> tuple[dict[str, pulumi.Input[str]], pulumi.Input[str], pulumi.Input[str]]:
        """Both sides' grants (`route.read`, `route.write`), then the namespace, its network policy,
        the service account, the pod's files and the CronJob in the standby's cluster."""
        target = args.target
        subject = f"system:serviceaccount:{args.namespace}:{SERVICE_ACCOUNT}"
        issuer = args.target_cluster.oidc_issuer_url.apply(lambda url: _checked_issuer(url, target.stack))
        sides = SideContext(self, prefix, args, self.source, issuer, subject)
        read = route.read.create(sides)
        write = route.write.create(sides)
        self.aws_oidc_provider = read.oidc_provider

        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.target_cluster.k8s_provider)
        ns = self._namespace(prefix, args.namespace, k8s_opts)
        self._network_policy(prefix, ns, target.cloud, (read, write), k8s_opts)
        sa = self._service_account(prefix, ns, (read, write), k8s_opts)
        files = self._pod_files(prefix, ns, args, (read, write), k8s_opts)
        container = self._rclone(args, read, write, files)
        self.cronjob = self._copy_schedule(
            prefix=prefix,
            ns=ns,
            args=args,
            files=files,
            container=container,
            depends_on=[sa, *read.depends_on, *write.depends_on, *files.depends_on],
            opts=k8s_opts,
        )
        job: dict[str, pulumi.Input[str]] = {
            "kind": "CronJob",
            "namespace": args.namespace,
            "name": CRONJOB_NAME,
        }
        return job, read.principal, write.principal

    def _namespace(self, prefix: str, namespace: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(
            prefix,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=namespace,
                labels={**LABELS, "pod-security.kubernetes.io/enforce": "restricted"},
            ),
            opts=opts,
        )

    def _network_policy(
        self,
        prefix: str,
        ns: k8s.core.v1.Namespace,
        target_cloud: Cloud,
        sides: tuple[PodSide, PodSide],
        opts: pulumi.ResourceOptions,
    ) -> None:
        """No ingress; egress to DNS and HTTPS, plus an on-prem side's store and vault ports."""
        site_ports = [side.site_ports for side in sides if side.site_ports is not None]
        replication_network_policy(
            prefix,
            ns,
            target_cloud,
            LABELS,
            opts,
            site_ports=pulumi.Output.all(*site_ports).apply(
                lambda lists: sorted({p for ps in lists for p in ps})
            )
            if site_ports
            else None,
        )

    def _service_account(
        self,
        prefix: str,
        ns: k8s.core.v1.Namespace,
        sides: tuple[PodSide, PodSide],
        opts: pulumi.ResourceOptions,
    ) -> k8s.core.v1.ServiceAccount:
        read, write = sides
        return k8s.core.v1.ServiceAccount(
            prefix,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SERVICE_ACCOUNT,
                namespace=ns.metadata.name,
                labels=LABELS,
                annotations={**(read.sa_annotations or {}), **(write.sa_annotations or {})} or None,
            ),
            # Pods never call the Kubernetes API; the federated tokens are separate projections.
            automount_service_account_token=False,
            opts=opts,
        )

    def _pod_files(
        self,
        prefix: str,
        ns: k8s.core.v1.Namespace,
        args: CrossCloudReplicationArgs,
        sides: tuple[PodSide, PodSide],
        opts: pulumi.ResourceOptions,
    ) -> _PodFiles:
        """/tmp, the projected tokens of both sides, the GCP credential file and the site keys."""
        read, write = sides
        files = _PodFiles(
            volumes=[
                k8s.core.v1.VolumeArgs(
                    name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Gi")
                )
            ],
            mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
        )
        tokens = [
            k8s.core.v1.VolumeProjectionArgs(
                service_account_token=k8s.core.v1.ServiceAccountTokenProjectionArgs(
                    path=f"{cloud}/{file}", audience=audience, expiration_seconds=TOKEN_EXPIRATION_SECONDS
                )
            )
            for cloud, side in ((args.source_cloud, read), (args.target.cloud, write))
            for file, audience in side.tokens.items()
        ]
        if tokens:
            files.volumes.append(
                k8s.core.v1.VolumeArgs(
                    name="federated-tokens",
                    projected=k8s.core.v1.ProjectedVolumeSourceArgs(sources=tokens, default_mode=0o440),
                )
            )
            files.mounts.append(
                k8s.core.v1.VolumeMountArgs(name="federated-tokens", mount_path=TOKEN_DIR, read_only=True)
            )
        self._credential_files(
            prefix, ns, {**(read.config_files or {}), **(write.config_files or {})}, files, opts
        )
        self._vault_login(args, [side.vault_login for side in sides if side.vault_login is not None], files)
        return files

    def _credential_files(
        self,
        prefix: str,
        ns: k8s.core.v1.Namespace,
        config_files: dict[str, pulumi.Input[str]],
        files: _PodFiles,
        opts: pulumi.ResourceOptions,
    ) -> None:
        """The GCP external-account file (no secret in it), as a ConfigMap mounted read-only."""
        if not config_files:
            return
        config_map = k8s.core.v1.ConfigMap(
            f"{prefix}-gcp-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="gcp-external-account", namespace=ns.metadata.name, labels=LABELS
            ),
            data=config_files,
            opts=opts,
        )
        files.depends_on.append(config_map)
        files.volumes.append(
            k8s.core.v1.VolumeArgs(
                name="gcp-credentials",
                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name="gcp-external-account"),
            )
        )
        files.mounts.append(
            k8s.core.v1.VolumeMountArgs(
                name="gcp-credentials", mount_path=GCP_CREDENTIALS_DIR, read_only=True
            )
        )

    def _vault_login(
        self, args: CrossCloudReplicationArgs, logins: list[VaultLogin], files: _PodFiles
    ) -> None:
        """An on-prem side: the init container writes the S3 keys into a memory-backed rclone.conf."""
        if not logins:
            return
        from components.object_store import replication_onprem

        # The S3 keys exist only in memory, for the life of one copy pod.
        files.volumes.append(
            k8s.core.v1.VolumeArgs(
                name="credentials",
                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit="1Mi"),
            )
        )
        credentials = k8s.core.v1.VolumeMountArgs(
            name="credentials", mount_path=replication_onprem.CREDENTIALS_DIR
        )
        files.init_containers.append(
            replication_onprem.login_container(logins, args.vault_login_image, [*files.mounts, credentials])
        )
        files.mounts.append(credentials)
        files.rclone_config = replication_onprem.RCLONE_CONFIG_FILE

    def _rclone(
        self, args: CrossCloudReplicationArgs, read: PodSide, write: PodSide, files: _PodFiles
    ) -> k8s.core.v1.ContainerArgs:
        """The copy container: `rclone copy source:<bucket> target:<bucket>`, remotes from env."""
        source = self.source
        target_descriptor = args.target_store.descriptor
        env: dict[str, pulumi.Input[str]] = {
            "HOME": "/tmp",
            "RCLONE_CONFIG": files.rclone_config,
            **rclone_remote(
                "source",
                args.source_cloud,
                source.apply(lambda d: str(d.get(S3_REGION) or d.get(REGION, ""))),
                source.apply(lambda d: str(d[ACCOUNT])),
                source.apply(lambda d: str(d.get(ENDPOINT, ""))),
            ),
            **rclone_remote(
                "target",
                args.target.cloud,
                target_descriptor.apply(lambda d: str(d.get(S3_REGION) or args.target.region)),
                target_descriptor.apply(lambda d: str(d[ACCOUNT])),
                target_descriptor.apply(lambda d: str(d.get(ENDPOINT, ""))),
            ),
            **read.env,
            **write.env,
        }
        return k8s.core.v1.ContainerArgs(
            name="rclone",
            image=args.rclone_image,
            command=["rclone"],
            args=[
                "copy",
                source.apply(lambda d: f"source:{d[BUCKET]}"),
                args.target_store.bucket_name.apply(lambda b: f"target:{b}"),
                *RCLONE_FLAGS,
            ],
            env=[k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in sorted(env.items())],
            volume_mounts=files.mounts,
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

    def _copy_schedule(
        self,
        *,
        prefix: str,
        ns: k8s.core.v1.Namespace,
        args: CrossCloudReplicationArgs,
        files: _PodFiles,
        container: k8s.core.v1.ContainerArgs,
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions,
    ) -> k8s.batch.v1.CronJob:
        """The CronJob: UTC schedule, never overlapping, stopped after `job_timeout_minutes`."""
        pod = k8s.core.v1.PodSpecArgs(
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
            init_containers=files.init_containers or None,
            containers=[container],
            volumes=files.volumes,
        )
        return k8s.batch.v1.CronJob(
            prefix,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CRONJOB_NAME, namespace=ns.metadata.name, labels=LABELS),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule=self.plan.schedule,
                time_zone="Etc/UTC",
                concurrency_policy="Forbid",
                suspend=args.paused,
                starting_deadline_seconds=300,
                successful_jobs_history_limit=3,
                failed_jobs_history_limit=3,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=LABELS),
                    spec=k8s.batch.v1.JobSpecArgs(
                        backoff_limit=2,
                        active_deadline_seconds=args.job_timeout_minutes * 60,
                        template=k8s.core.v1.PodTemplateSpecArgs(
                            metadata=k8s.meta.v1.ObjectMetaArgs(labels=LABELS), spec=pod
                        ),
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=depends_on)),
        )


def _summary(descriptor: Mapping[str, Any]) -> dict[str, Any]:
    """The descriptor keys every cloud has: cloud, region, bucket, uri, account."""
    return {k: descriptor[k] for k in (CLOUD, REGION, BUCKET, URI, ACCOUNT) if k in descriptor}


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

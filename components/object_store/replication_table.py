"""Replication as a table: (primary cloud, standby cloud) -> mechanism, identities, schedule limits.

`ROUTES` reads top to bottom; where a pair has two rows, the first whose schedule accepts
`replicationIntervalMinutes` is taken (`plan_replication` in replication.py). Each identity names
what the copier is on that side and the function in replication_sides.py that creates it.

Why the rows are what they are:
- Storage Transfer Service (Google's managed copy service; nothing runs in the standby cluster)
  reads S3 and Azure Blob keylessly, through federation to its service agent. It only runs into
  GCS, and at most hourly. It would need an on-prem store's access key in Google's service (or an
  on-prem transfer agent), so copies from a site into gcp run as a CronJob.
- AWS DataSync and Azure Storage Mover need keys, SAS tokens or agents for another cloud's
  storage, so copies into aws and azure run as a CronJob: a pinned rclone in the standby's own
  cluster, with the cluster's projected service-account tokens exchanged keylessly on both sides.
- An on-prem store (S3-compatible) has no federation that works across stores: its key is read
  from the site's vault by the copy pod, for one run, and never stored (replication_onprem.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from components.common import Cloud
from components.object_store import replication_sides as sides
from components.object_store.args import KUBERNETES_CRONJOB, STORAGE_TRANSFER_SERVICE, Mechanism

CRON_INTERVALS_MINUTES: Final = (5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440)
STS_MIN_INTERVAL_MINUTES: Final = 60


@dataclass(frozen=True)
class Schedule:
    """What a mechanism can repeat at."""

    mechanism: Mechanism
    min_minutes: int
    exact_minutes: tuple[int, ...] | None
    """Only these intervals; None: any whole number of minutes from `min_minutes` up."""
    expected: str
    """How an error names the intervals it accepts."""

    def accepts(self, minutes: int) -> bool:
        if self.exact_minutes is not None:
            return minutes in self.exact_minutes
        return minutes >= self.min_minutes


STORAGE_TRANSFER: Final = Schedule(
    STORAGE_TRANSFER_SERVICE,
    min_minutes=STS_MIN_INTERVAL_MINUTES,
    exact_minutes=None,
    # `repeatInterval` is a duration: 90 means every 90 minutes.
    expected=f"at least {STS_MIN_INTERVAL_MINUTES} (Storage Transfer Service repeats at most hourly)",
)
CRONJOB: Final = Schedule(
    KUBERNETES_CRONJOB,
    min_minutes=CRON_INTERVALS_MINUTES[0],
    # Cron runs on wall-clock minutes: an interval must divide an hour or be whole hours dividing
    # a day; anything else (45, 90, ...) would fire at uneven intervals.
    exact_minutes=CRON_INTERVALS_MINUTES,
    expected="a CronJob interval",
)


@dataclass(frozen=True)
class PodIdentity:
    """What the copy pod is on one side (CronJob), and the function that grants it."""

    cloud: Cloud
    what: str
    create: Callable[[sides.SideContext], sides.PodSide]


@dataclass(frozen=True)
class AgentIdentity:
    """What Storage Transfer Service's agent is on the primary's side, and the function granting it."""

    cloud: Cloud
    what: str
    create: Callable[[sides.TransferContext], sides.TransferSource]


# Read the primary's bucket: read-only, on that bucket (and its key) only.
READ_AWS: Final = PodIdentity(
    "aws", "IAM OIDC provider for the standby's issuer + read-only role", sides.read_aws
)
READ_GCP: Final = PodIdentity(
    "gcp", "workload identity pool + objectViewer for one principal", sides.read_gcp
)
READ_AZURE: Final = PodIdentity(
    "azure", "federated user-assigned identity, Blob Data Reader", sides.read_azure
)
READ_ONPREM: Final = PodIdentity(
    "onprem", "JWT role in the primary's vault: the read-only S3 key", sides.read_onprem
)
AGENT_READS_AWS: Final = AgentIdentity(
    "aws", "IAM role trusting the agent's Google subject id", sides.transfer_from_aws
)
AGENT_READS_AZURE: Final = AgentIdentity(
    "azure",
    "federated user-assigned identity for the agent's subject, Blob Data Reader",
    sides.transfer_from_azure,
)
# Write the standby's own bucket, with the standby cloud's workload identity.
WRITE_AWS: Final = PodIdentity("aws", "IRSA role: write its own bucket", sides.write_aws)
WRITE_GCP: Final = PodIdentity("gcp", "GKE Workload Identity service account, objectUser", sides.write_gcp)
WRITE_AZURE: Final = PodIdentity(
    "azure", "federated user-assigned identity, Blob Data Contributor", sides.write_azure
)
WRITE_ONPREM: Final = PodIdentity(
    "onprem", "Kubernetes auth role in its own vault: the deployer key", sides.write_onprem
)
AGENT_WRITES_GCS: Final = (
    "the project's Storage Transfer Service agent, with the sink roles on its own bucket"
)


@dataclass(frozen=True)
class CronJobRoute:
    """A pinned rclone CronJob in the standby's cluster reads with `read` and writes with `write`."""

    source: Cloud
    target: Cloud
    read: PodIdentity
    write: PodIdentity
    schedule: Schedule = CRONJOB


@dataclass(frozen=True)
class TransferRoute:
    """Storage Transfer Service copies into the standby's GCS bucket, reading with `read`."""

    source: Cloud
    target: Cloud
    read: AgentIdentity
    write: str = AGENT_WRITES_GCS
    schedule: Schedule = STORAGE_TRANSFER


Route = CronJobRoute | TransferRoute

ROUTES: Final[tuple[Route, ...]] = (
    # (primary, standby, how the copier reads the primary[, how it writes the standby]). The row's
    # type is the mechanism and carries its schedule limits (STORAGE_TRANSFER, CRONJOB above).
    TransferRoute("aws", "gcp", AGENT_READS_AWS),  # every 60 minutes or slower
    CronJobRoute("aws", "gcp", READ_AWS, WRITE_GCP),  # more often
    CronJobRoute("aws", "azure", READ_AWS, WRITE_AZURE),
    CronJobRoute("aws", "onprem", READ_AWS, WRITE_ONPREM),
    CronJobRoute("gcp", "aws", READ_GCP, WRITE_AWS),
    CronJobRoute("gcp", "azure", READ_GCP, WRITE_AZURE),
    CronJobRoute("gcp", "onprem", READ_GCP, WRITE_ONPREM),
    TransferRoute("azure", "gcp", AGENT_READS_AZURE),  # every 60 minutes or slower
    CronJobRoute("azure", "gcp", READ_AZURE, WRITE_GCP),  # more often
    CronJobRoute("azure", "aws", READ_AZURE, WRITE_AWS),
    CronJobRoute("azure", "onprem", READ_AZURE, WRITE_ONPREM),
    CronJobRoute("onprem", "aws", READ_ONPREM, WRITE_AWS),
    CronJobRoute("onprem", "gcp", READ_ONPREM, WRITE_GCP),
    CronJobRoute("onprem", "azure", READ_ONPREM, WRITE_AZURE),
    # Two sites are two failure domains; two stacks on one cloud are not (no aws -> aws row).
    CronJobRoute("onprem", "onprem", READ_ONPREM, WRITE_ONPREM),
)


def routes_for(source: Cloud, target: Cloud) -> list[Route]:
    """The rows of `source` -> `target`, preferred first."""
    return [route for route in ROUTES if (route.source, route.target) == (source, target)]

"""RTO and RPO targets against what the config can achieve.

Detection (the part of an automatic failover the config decides): the DNS authority's health
checks see `healthCheckFailureThreshold` consecutive failures, one every
`healthCheckIntervalSeconds`, then resolvers drop the cached answer after `dnsTtlSeconds`. All three
authorities take the interval and threshold with the same meaning here (components/dns: Route 53
`failure_threshold`, Cloud DNS `unhealthy_threshold`, Traffic Manager tolerated failures =
threshold - 1, since it marks the endpoint degraded on the failure after the tolerated ones).
PowerDNS's `ifurlup` takes them as its `interval` and `minimumFailures` options (5.0 and later);
an older server probes every `lua-health-checks-interval`, which the record's provider refuses
when it is slower than the interval, and drops an address on its first failure, so the budget
is an upper bound there too (measured: tests/components/test_powerdns_failover.py).

Worst-case RPO: a change written just after a copy run started is picked up by the next run,
`replicationIntervalMinutes` later, plus the mechanism's own delay before that run copies:

| mechanism                 | delay  | why                                                          |
|---------------------------|--------|--------------------------------------------------------------|
| kubernetes-cronjob        | 5 min  | the CronJob's startingDeadlineSeconds (300) in replication.py:  |
|                           |        | a run may start up to that late and still count              |
| storage-transfer-service  | 15 min | Google documents no bound ("transfers may start later than    |
|                           |        | this time", Schedule reference, read 2026-12); an allowance   |

Copy duration itself is not included: it depends on how much changed (a first copy of a model
takes long; later runs copy only changed objects).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from infra.config import StackConfig

MECHANISM_DELAY_MINUTES: Final = {"kubernetes-cronjob": 5, "storage-transfer-service": 15}
AUTHORITY: Final = {
    "aws": "Route 53",
    "gcp": "Cloud DNS",
    "azure": "Traffic Manager",
    "powerdns": "PowerDNS ifurlup",
}


@dataclass(frozen=True)
class Budgets:
    detection_seconds: int
    """interval x threshold + TTL."""
    detection_formula: str
    rto_target_seconds: int | None
    rpo_worst_minutes: int | None
    """None on a primary (nothing is replicated into it)."""
    rpo_formula: str
    rpo_target_minutes: int | None

    def describe(self) -> list[str]:
        rto = f"target {self.rto_target_seconds} s" if self.rto_target_seconds else "no rtoTargetSeconds set"
        lines = [f"RTO budget (automatic failover detection): {self.detection_formula} ({rto})"]
        if self.rpo_worst_minutes is not None:
            rpo = (
                f"target {self.rpo_target_minutes} min"
                if self.rpo_target_minutes
                else "no rpoTargetMinutes set"
            )
            lines.append(f"RPO budget (worst case): {self.rpo_formula} ({rpo})")
        return lines


def detection_budget_seconds(interval_seconds: int, failure_threshold: int, ttl_seconds: int) -> int:
    """Worst case from an endpoint failing to resolvers answering the other side (every authority,
    PowerDNS included: its ifurlup `interval` x `minimumFailures`, then the record's TTL)."""
    return interval_seconds * failure_threshold + ttl_seconds


def budgets(cfg: StackConfig) -> Budgets:
    dns = cfg.dns
    detection = detection_budget_seconds(
        dns.health_check_interval_seconds, dns.health_check_failure_threshold, dns.ttl_seconds
    )
    formula = (
        f"{AUTHORITY[dns.provider]}: {dns.health_check_interval_seconds} s interval x "
        f"{dns.health_check_failure_threshold} failures + {dns.ttl_seconds} s TTL = {detection} s"
    )
    rpo: int | None = None
    rpo_formula = ""
    if cfg.is_standby and cfg.primary_cloud is not None:
        mechanism = _mechanism(cfg)
        if mechanism is not None:
            delay = MECHANISM_DELAY_MINUTES[mechanism]
            rpo = cfg.replication_interval_minutes + delay
            rpo_formula = (
                f"{cfg.replication_interval_minutes} min replication interval + {delay} min {mechanism} "
                f"delay = {rpo} min"
            )
    return Budgets(detection, formula, cfg.rto_target_seconds, rpo, rpo_formula, cfg.rpo_target_minutes)


def _mechanism(cfg: StackConfig) -> str | None:
    from components.object_store.replication import ReplicationScheduleError, plan_replication

    assert cfg.primary_cloud is not None
    try:
        plan = plan_replication(cfg.primary_cloud, cfg.cloud, cfg.replication_interval_minutes, cfg.stack)
    except ReplicationScheduleError:
        return None  # reported by the check pass under replicationIntervalMinutes
    return str(plan.mechanism)


def check_targets(cfg: StackConfig) -> list[tuple[str, str]]:
    """(key, message) for each target the config cannot meet, naming the keys to change."""
    b = budgets(cfg)
    found: list[tuple[str, str]] = []
    if b.rto_target_seconds is not None and b.detection_seconds > b.rto_target_seconds:
        found.append(
            (
                "rtoTargetSeconds",
                f"stack config 'rtoTargetSeconds' ({b.rto_target_seconds}) cannot be met: detection "
                f"alone takes {b.detection_formula}; lower healthCheckIntervalSeconds, "
                "healthCheckFailureThreshold or dnsTtlSeconds (in both stack files), "
                "or raise rtoTargetSeconds",
            )
        )
    if cfg.rpo_target_minutes is not None and not cfg.is_standby:
        found.append(
            (
                "rpoTargetMinutes",
                f"stack config 'rpoTargetMinutes' must be unset on a primary stack "
                f"(got {cfg.rpo_target_minutes}): replication runs in the standby; "
                "set it in the standby's file",
            )
        )
    elif (
        b.rpo_target_minutes is not None
        and b.rpo_worst_minutes is not None
        and b.rpo_worst_minutes > b.rpo_target_minutes
    ):
        found.append(
            (
                "rpoTargetMinutes",
                f"stack config 'rpoTargetMinutes' ({b.rpo_target_minutes}) cannot be met: the worst case "
                f"is {b.rpo_formula}; lower replicationIntervalMinutes or raise rpoTargetMinutes",
            )
        )
    return found

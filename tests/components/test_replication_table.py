"""Replication as a table (issue 13): every (primary, standby) pair has its rows in
`replication_table.ROUTES`, each side's identity is on that side's cloud, and the mechanism the
program plans is the table's first row whose schedule accepts the interval."""

from __future__ import annotations

import itertools

import pytest

from components.common import Cloud
from components.object_store.args import KUBERNETES_CRONJOB, STORAGE_TRANSFER_SERVICE
from components.object_store.replication import ReplicationScheduleError, plan_replication
from components.object_store.replication_table import (
    CRONJOB,
    ROUTES,
    STORAGE_TRANSFER,
    CronJobRoute,
    TransferRoute,
    routes_for,
)

TARGETS: tuple[Cloud, ...] = ("aws", "gcp", "azure", "onprem")
PAIRS = [(s, t) for s, t in itertools.product(TARGETS, repeat=2) if s != t or s == "onprem"]


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}-to-{t}" for s, t in PAIRS])
def test_every_pair_ends_in_a_cronjob_row_with_identities_on_its_own_clouds(
    source: Cloud, target: Cloud
) -> None:
    routes = routes_for(source, target)
    assert routes, f"no row for {source} -> {target}"
    assert isinstance(routes[-1], CronJobRoute)  # a CronJob can always copy; it is the fallback
    for route in routes:
        assert route.read.cloud == source
        if isinstance(route, CronJobRoute):
            assert route.write.cloud == target
    assert len({route.schedule.mechanism for route in routes}) == len(routes)


def test_only_the_keyless_managed_pairs_have_a_storage_transfer_row() -> None:
    managed = {(r.source, r.target) for r in ROUTES if isinstance(r, TransferRoute)}
    assert managed == {("aws", "gcp"), ("azure", "gcp")}
    assert all(r.schedule is STORAGE_TRANSFER for r in ROUTES if isinstance(r, TransferRoute))
    assert all(r.schedule is CRONJOB for r in ROUTES if isinstance(r, CronJobRoute))


def test_no_row_copies_between_two_stacks_on_one_cloud() -> None:
    assert not [r for r in ROUTES if r.source == r.target and r.source != "onprem"]
    with pytest.raises(ReplicationScheduleError, match=r"no replication from aws to aws.*primaryCloud"):
        plan_replication("aws", "aws", 60, "standby")


@pytest.mark.parametrize("interval", [5, 30, 60, 90, 120, 1440])
@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}-to-{t}" for s, t in PAIRS])
def test_the_plan_is_the_first_row_whose_schedule_accepts_the_interval(
    source: Cloud, target: Cloud, interval: int
) -> None:
    fitting = [r for r in routes_for(source, target) if r.schedule.accepts(interval)]
    if not fitting:
        with pytest.raises(ReplicationScheduleError, match=rf"\(got {interval}\)"):
            plan_replication(source, target, interval, "standby")
        return
    plan = plan_replication(source, target, interval, "standby")
    assert plan.route is fitting[0]
    managed = (source, target) in {("aws", "gcp"), ("azure", "gcp")} and interval >= 60
    assert plan.mechanism == (STORAGE_TRANSFER_SERVICE if managed else KUBERNETES_CRONJOB)

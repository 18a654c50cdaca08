"""The cutover CLI against the real stack program: output names, and config it may set.

A cutover only changes `capacity`, `dnsRouting` and `trafficWeight`, one stack at a time. Every
intermediate config it plans must be one the real program accepts, with the other stack's
outputs as last applied (the standby checks its DNS settings against the primary's exported
`dns` descriptor), and the weight the DNS component publishes must be the one the plan expects.
This runs the real program under the mocks harness with the shipped stack files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from cutover import checks
from cutover.plan import SIDES, Side, StackState, plan_cutover
from cutover.verify import StoreLocation
from infra import outputs
from offline.harness import ProgramRun, load_stack_config, run_stack
from tests.support import PAIR_IDS, PAIRS, TEST_SECRETS, pair, primary_overrides, standby_overrides


def test_the_cli_reads_the_output_names_the_program_exports() -> None:
    assert checks.ENDPOINT_URL == outputs.ENDPOINT_URL
    assert checks.ENDPOINT_HOST == outputs.ENDPOINT_HOST
    assert checks.SERVICE_FQDN == outputs.SERVICE_FQDN
    assert checks.MODEL_STORE == outputs.MODEL_STORE


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_outputs_of_every_cloud_pair_give_the_cli_endpoints_and_store_locations(
    primary: str, standby: str
) -> None:
    for run in pair(primary, standby):
        out = run.outputs
        assert str(out[outputs.ENDPOINT_URL]).startswith("http"), out[outputs.ENDPOINT_URL]
        assert out[outputs.ENDPOINT_HOST]
        assert out[outputs.SERVICE_FQDN] == run.config.dns.fqdn
        location = StoreLocation.from_descriptor(out[outputs.MODEL_STORE], prefix=run.config.model_path)
        assert location.cloud == run.config.cloud
        assert location.key_prefix == run.config.model_path


def _state(side: Side, config: Mapping[str, Any]) -> StackState:
    return StackState(
        side=side,
        stack=side,
        role=side,
        capacity=config.get("capacity"),
        routing=config.get("dnsRouting"),
        weight=config.get("trafficWeight"),
    )


def _shipped_config(stack: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    config, _ = load_stack_config(stack, overrides=dict(overrides))
    prefix = "inference-failover:"
    return {k.removeprefix(prefix): v for k, v in config.items() if k.startswith(prefix)}


def _apply(
    side: Side,
    config: Mapping[Side, dict[str, Any]],
    base: Mapping[Side, dict[str, Any]],
    primary_out: dict[str, Any],
) -> ProgramRun:
    # Keys the plan removed must be removed from the run too (None removes in load_stack_config).
    overrides: dict[str, Any] = dict(base[side])
    for key in ("capacity", "dnsRouting", "trafficWeight"):
        overrides[key] = config[side].get(key)
    if side == "primary":
        return run_stack("primary", overrides, TEST_SECRETS)
    ref = _shipped_config("standby", base["standby"])["primaryStack"]
    return run_stack("standby", overrides, TEST_SECRETS, stack_outputs={ref: primary_out})


# Each DNS authority with a cloud pair it supports (Cloud DNS needs IP endpoints, so no AWS ELB
# host name, and 30 s probes).
AUTHORITIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "aws": ("aws", "gcp", {"dnsProvider": "aws"}),
    "azure": ("aws", "gcp", {"dnsProvider": "azure", "dnsResourceGroup": "dns-rg"}),
    "gcp": (
        "gcp",
        "azure",
        {"dnsProvider": "gcp", "gcpProject": "acme-inference-standby", "healthCheckIntervalSeconds": 30},
    ),
}


@pytest.mark.parametrize("authority", sorted(AUTHORITIES))
def test_every_routing_change_of_a_cutover_and_failback_is_accepted_by_the_program(authority: str) -> None:
    primary, standby, dns = AUTHORITIES[authority]
    base: dict[Side, dict[str, Any]] = {
        "primary": {**primary_overrides(primary), **dns},
        "standby": {**standby_overrides(primary, standby), **dns},
    }
    config: dict[Side, dict[str, Any]] = {side: _shipped_config(side, base[side]) for side in SIDES}
    states: dict[Side, StackState] = {side: _state(side, config[side]) for side in SIDES}
    out, after = plan_cutover(states, "standby", (50, 100))
    back, _ = plan_cutover(after, "primary", (100,))

    primary_out = run_stack("primary", base["primary"], TEST_SECRETS).outputs
    applied: list[str] = []
    for step in [*out, *back]:
        for action in step.actions():
            if action.kind == "set":
                assert action.change is not None
                config[action.side][action.change.key] = action.change.after
                continue
            if step.kind in ("scale-up", "demote"):
                continue  # capacity only: warm and full are covered by the cluster's own tests
            run = _apply(action.side, config, base, primary_out)
            applied.append(f"{step.id}:{action.side}")
            expected = _state(action.side, config[action.side])
            dns_out = run.outputs[outputs.DNS]
            assert dns_out["routing"] == expected.effective_routing, f"{step.id}: {action.describe()}"
            assert dns_out["weight"] == expected.effective_weight, f"{step.id}: {action.describe()}"
            if action.side == "primary":
                primary_out = run.outputs
    assert applied == [
        "routing:standby",
        "routing:primary",
        "shift-50:standby",
        "shift-50:primary",
        "shift-100:standby",
        "shift-100:primary",
        "shift-100:primary",
        "shift-100:standby",
        "restore-routing:primary",
        "restore-routing:standby",
    ]

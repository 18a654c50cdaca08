"""Traffic Manager ownership: no stack's apply can remove the other stack's endpoint.

Both shipped stacks (moved to aws -> gcp with Azure as DNS authority) are applied, in both
orders, to a model of ARM's Traffic Manager API (tests/components/arm_traffic_manager.py); after every
apply the profile must hold both endpoints, each aimed at its stack's static address.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
from pulumi.runtime.settings import SETTINGS

from infra import outputs
from infra.config import PROJECT
from offline.harness import ProgramError, ProgramRun, load_stack_config, run_stack
from tests.components.arm_traffic_manager import ENDPOINT, PROFILE, ArmError, TrafficManagerArm
from tests.support import (
    AUTHORITY_OVERRIDES,
    TEST_SECRETS,
    combination,
    primary_overrides,
    standby_overrides,
)

PAIR = ("aws", "gcp")
# A change that makes the primary PUT its profile again (routing method Priority -> Weighted);
# at weights 100/0 it may be applied to the two stacks in either order.
UPDATE = {"dnsRouting": "weighted"}


def _overrides(role: str) -> dict[str, object]:
    base = primary_overrides(PAIR[0]) if role == "primary" else standby_overrides(*PAIR)
    return {**base, **AUTHORITY_OVERRIDES["azure"], **UPDATE}


def _updated_primary() -> ProgramRun:
    return run_stack("primary", _overrides("primary"), TEST_SECRETS)


def _updated_standby(primary_outputs: dict[str, object]) -> ProgramRun:
    overrides = _overrides("standby")
    ref = load_stack_config("standby", overrides=overrides)[0][f"{PROJECT}:primaryStack"]
    return run_stack("standby", overrides, TEST_SECRETS, stack_outputs={ref: primary_outputs})


def _endpoint_name(run: ProgramRun) -> str:
    return str(run.one(ENDPOINT).inputs["endpointName"])


def _assert_both_endpoints(arm: TrafficManagerArm, primary: ProgramRun, standby: ProgramRun) -> None:
    live = arm.endpoints()
    assert set(live) == {_endpoint_name(primary), _endpoint_name(standby)}
    for run in (primary, standby):
        body = live[_endpoint_name(run)]
        assert body["target"] == run.outputs[outputs.ENDPOINT_HOST]
        assert body["priority"] == {"primary": 1, "standby": 2}[run.config.role]


def _deployed() -> tuple[TrafficManagerArm, ProgramRun, ProgramRun]:
    primary, standby = combination(*PAIR, "azure")
    arm = TrafficManagerArm()
    arm.apply(primary)
    arm.apply(standby)
    _assert_both_endpoints(arm, primary, standby)
    return arm, primary, standby


@pytest.mark.parametrize("first", ["primary", "standby"])
def test_applying_the_two_stacks_in_either_order_keeps_both_endpoints(first: str) -> None:
    arm, primary, standby = _deployed()
    if first == "primary":
        new_primary = _updated_primary()
        arm.apply(new_primary)
        _assert_both_endpoints(arm, new_primary, standby)
        new_standby = _updated_standby(new_primary.outputs)
        arm.apply(new_standby)
    else:
        # The standby goes first, still reading the primary's previous outputs.
        new_standby = _updated_standby(primary.outputs)
        arm.apply(new_standby)
        _assert_both_endpoints(arm, primary, new_standby)
        new_primary = _updated_primary()
        arm.apply(new_primary)
    _assert_both_endpoints(arm, new_primary, new_standby)
    # The primary's profile really was sent again with a new routing method.
    assert new_primary.one(PROFILE).inputs["trafficRoutingMethod"] == "Weighted"
    # Re-applying either stack unchanged (a no-op `pulumi up`) keeps both too.
    arm.apply(new_standby)
    arm.apply(new_primary)
    _assert_both_endpoints(arm, new_primary, new_standby)


def test_profile_never_declares_endpoints_and_ignores_changes_to_them() -> None:
    primary, _ = combination(*PAIR, "azure")
    profile = primary.one(PROFILE)
    assert "endpoints" not in profile.inputs
    assert "endpoints" in profile.ignore_changes
    assert profile.protect


def test_each_stack_owns_exactly_its_own_endpoint() -> None:
    primary, standby = combination(*PAIR, "azure")
    assert not standby.of_type(PROFILE)  # the standby never PUTs the profile
    assert _endpoint_name(primary) != _endpoint_name(standby)
    for run in (primary, standby):
        assert run.one(ENDPOINT).protect


def test_inline_endpoints_would_delete_the_other_stacks_endpoint() -> None:
    """The model catches the defect this design prevents: a profile PUT carrying an endpoint list."""
    arm, primary, _ = _deployed()
    profile = primary.one(PROFILE)
    own = dict(primary.one(ENDPOINT).inputs, name=_endpoint_name(primary))
    inline = dataclasses.replace(profile, inputs={**profile.inputs, "endpoints": [own]}, ignore_changes=())
    arm.apply(
        dataclasses.replace(primary, resources=[inline if r is profile else r for r in primary.resources])
    )
    assert set(arm.endpoints()) == {_endpoint_name(primary)}


def test_ignore_changes_keeps_a_later_inline_endpoint_list_out_of_the_put() -> None:
    arm, primary, standby = _deployed()
    profile = primary.one(PROFILE)
    own = dict(primary.one(ENDPOINT).inputs, name=_endpoint_name(primary))
    inline = dataclasses.replace(profile, inputs={**profile.inputs, "endpoints": [own]})
    arm.apply(
        dataclasses.replace(primary, resources=[inline if r is profile else r for r in primary.resources])
    )
    _assert_both_endpoints(arm, primary, standby)


def test_standby_endpoint_needs_the_primary_profile_first() -> None:
    _, standby = combination(*PAIR, "azure")
    with pytest.raises(ArmError, match="ParentResourceNotFound"):
        TrafficManagerArm().apply(standby)


def test_standby_refuses_an_endpoint_name_the_primary_already_uses() -> None:
    """Same name in one profile = one endpoint: the standby's PUT would overwrite the primary's."""
    primary, standby = combination(*PAIR, "azure")
    clashing = copy.deepcopy(primary.outputs)
    clashing[outputs.DNS]["trafficManager"]["endpointName"] = _endpoint_name(standby)
    overrides = {**standby_overrides(*PAIR), **AUTHORITY_OVERRIDES["azure"]}
    ref = load_stack_config("standby", overrides=overrides)[0][f"{PROJECT}:primaryStack"]
    with pytest.raises(ProgramError) as caught:
        run_stack("standby", overrides, TEST_SECRETS, stack_outputs={ref: clashing})
    SETTINGS.outputs.clear()
    message = str(caught.value)
    assert f"Traffic Manager endpoint is also named '{_endpoint_name(standby)}'" in message
    assert "give the two stacks different stack names" in message
    assert "Output object at" not in message

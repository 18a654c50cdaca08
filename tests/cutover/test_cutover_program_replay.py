"""Every apply of a cutover from mixed start states, replayed through the real program under mocks.

The property tests decide each apply with the program's config and DNS checks as functions;
here each `up` of the model also runs the whole stack program (offline/harness.py, the shipped
stack files with the run's cutover keys, the standby reading the primary's last mocked outputs
through its StackReference) and the test compares what the program exports (capacity, DNS
routing and weight) with the model, and that the program accepts every intermediate config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cutover.journal import RunSpec
from cutover.plan import SIDES
from cutover.stack_ops import ApplySummary
from offline.harness import load_stack_config, run_stack
from tests.cutover.cutover_model import CUTOVER_KEYS, Config, ModelStacks
from tests.cutover.test_cutover_properties import STACKS, ModelRunner
from tests.support import TEST_SECRETS


class ProgramCheckedStacks(ModelStacks):
    """ModelStacks whose every apply also runs the real program under mocks."""

    primary_outputs: dict[str, Any]
    runs: list[str]

    def up(self, stack: str) -> ApplySummary:
        summary = super().up(stack)
        overrides: dict[str, Any] = {key: self.config[stack].get(key) for key in CUTOVER_KEYS}
        if stack == "primary":
            run = run_stack("primary", overrides, TEST_SECRETS)
            self.primary_outputs = run.outputs
        else:
            config, _ = load_stack_config("standby")
            ref = config["inference-failover:primaryStack"]
            run = run_stack("standby", overrides, TEST_SECRETS, stack_outputs={ref: self.primary_outputs})
        applied = self.applied[stack]
        exported = (run.outputs["capacity"], run.outputs["dns"]["routing"], run.outputs["dns"]["weight"])
        assert exported == (applied.capacity, applied.descriptor["routing"], applied.served), self.current
        self.runs.append(f"{self.current}:{stack}")
        return summary


def deployed(config: dict[str, Config]) -> ProgramCheckedStacks:
    model = ModelStacks.deployed(config)
    checked = ProgramCheckedStacks(model.config, model.applied)
    checked.runs = []
    checked.primary_outputs = run_stack(
        "primary", {k: config["primary"].get(k) for k in CUTOVER_KEYS}, TEST_SECRETS
    ).outputs
    return checked


START_STATES: list[tuple[str, dict[str, Config], RunSpec]] = [
    (
        "failback-from-a-split",
        {
            "primary": {"capacity": "full", "dnsRouting": "weighted", "trafficWeight": "50"},
            "standby": {"capacity": "full", "dnsRouting": "weighted", "trafficWeight": "50"},
        },
        RunSpec("execute", "primary", (100,), STACKS),
    ),
    (
        "cutover-with-leftover-weights-under-failover",
        {
            "primary": {"capacity": "full", "trafficWeight": "0"},
            "standby": {"capacity": "warm", "trafficWeight": "100"},
        },
        RunSpec("execute", "standby", (50, 100), STACKS),
    ),
    (
        "drill-from-unset-capacity",
        {"primary": {}, "standby": {}},
        RunSpec("drill", "standby", (100,), STACKS),
    ),
    (
        # Hand-edited weights summing below 100: both records rise in the 10 % step.
        "cutover-from-a-split-below-100",
        {
            "primary": {"capacity": "warm", "dnsRouting": "weighted", "trafficWeight": "10"},
            "standby": {"dnsRouting": "weighted", "trafficWeight": "1"},
        },
        RunSpec("execute", "standby", (10, 100), STACKS),
    ),
]


@pytest.mark.parametrize(("start", "spec"), [s[1:] for s in START_STATES], ids=[s[0] for s in START_STATES])
def test_the_program_accepts_every_intermediate_config_and_exports_what_the_model_serves(
    tmp_path: Path, start: dict[str, Config], spec: RunSpec
) -> None:
    model = deployed(start)
    runner = ModelRunner(model, tmp_path / "j.json")
    journal, _ = runner.open_run(spec, lambda: runner.plan(spec))

    runner.run(journal, resumed=False)

    assert model.runs, "no apply ran"
    assert runner.weight_mismatches == []
    end = "primary" if spec.command == "drill" else spec.to
    assert model.served()[end] == 100
    assert all(model.config[s] == dict(model.applied[s].config) for s in SIDES)


IGNORED_WEIGHT = (
    "trafficWeight=40 is ignored with dnsRouting=failover: the primary answers while healthy and the "
    "standby only when it is not; set dnsRouting: weighted in both stacks to split traffic"
)
PRIMARY_AT_ZERO = "trafficWeight is 0 on the primary: it serves only when the standby is unhealthy"
HALF_SWITCHED = (
    "dnsRouting is 'weighted' here and 'failover' on the primary stack 'primary': harmless while the "
    "weights are 100/0 (both modes route the same), but apply the other stack to finish the switch"
)


def open_api(stack: str) -> str:
    """The shipped stack files leave the Kubernetes API open to any address (kubernetesApiAllowedCidrs)."""
    return (
        "kubernetesApiAllowedCidrs admits 0.0.0.0/0: the Kubernetes API endpoint accepts connections from "
        "any address (every request still needs cloud IAM credentials); narrow it to your deployer and "
        f"CI egress ranges in Pulumi.{stack}.yaml"
    )


OPEN_P, OPEN_S = open_api("primary"), open_api("standby")


@pytest.mark.parametrize(
    ("primary", "standby", "warned"),
    [
        ({}, {}, ([OPEN_P], [OPEN_S])),
        (
            {"dnsRouting": "weighted", "trafficWeight": 0},
            {"dnsRouting": "weighted", "trafficWeight": 100, "capacity": "full"},
            ([OPEN_P, PRIMARY_AT_ZERO], [OPEN_S]),
        ),
        ({"trafficWeight": 40}, {}, ([IGNORED_WEIGHT, OPEN_P], [OPEN_S])),
        ({}, {"dnsRouting": "weighted"}, ([OPEN_P], [HALF_SWITCHED, OPEN_S])),
        ({"dnsRouting": "weighted", "trafficWeight": 100}, {"dnsRouting": "weighted"}, ([OPEN_P], [OPEN_S])),
    ],
    ids=["shipped", "primary-at-zero", "ignored-weight", "half-switched", "both-weighted"],
)
def test_the_program_gives_exactly_the_warnings_due(
    primary: dict[str, Any], standby: dict[str, Any], warned: tuple[list[str], list[str]]
) -> None:
    from offline.harness import run_pair

    primary_run, standby_run = run_pair(primary, standby, TEST_SECRETS)

    assert (primary_run.warnings, standby_run.warnings) == warned

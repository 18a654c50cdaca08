"""No resource moves (issue 13): every combination plans what tests/data/plan_snapshots holds.

A failure lists each resource that is gone, new, or changed, with the fields. If the change of plan
is intended, regenerate with `PYTHONPATH=$PWD .venv/bin/python tools/plan_snapshot.py` and say why
in the commit; a rename keeps its state only with `aliases=[old URN]`.
"""

from __future__ import annotations

import copy

import pytest

from tests import plan_guard


@pytest.mark.parametrize("stack", plan_guard.SHIPPED)
def test_the_shipped_stack_files_plan_what_was_saved(stack: str) -> None:
    assert plan_guard.differences(plan_guard.read(stack), plan_guard.shipped_plan(stack)) == []


@pytest.mark.parametrize("case", plan_guard.CASES, ids=plan_guard.CASE_IDS)
def test_every_combination_plans_what_was_saved(case: tuple[str, str, str]) -> None:
    name = plan_guard.CASE_IDS[plan_guard.CASES.index(case)]
    assert plan_guard.differences(plan_guard.read(name), plan_guard.case_plan(case)) == []


@pytest.mark.parametrize("name", list(plan_guard.EXTRA))
def test_every_named_variant_plans_what_was_saved(name: str) -> None:
    assert plan_guard.differences(plan_guard.read(name), plan_guard.extra_plan(name)) == []


# --- the guard itself notices what a refactor could break ------------------------------------------


def _saved() -> dict[str, list[dict[str, object]]]:
    return plan_guard.read("primary")


def _deployment(plan: dict[str, list[dict[str, object]]]) -> dict[str, object]:
    return next(r for r in plan["primary"] if str(r["urn"]).endswith("apps/v1:Deployment::primary-server"))


def test_the_guard_reports_a_changed_input_by_name() -> None:
    now = copy.deepcopy(_saved())
    deployment = _deployment(now)
    deployment["inputs"] = {**deployment["inputs"], "spec": {"replicas": 7}}  # type: ignore[dict-item]
    assert plan_guard.differences(_saved(), now) == [f"primary: {deployment['urn']} changed ['inputs.spec']"]


def test_the_guard_reports_a_changed_option() -> None:
    now = copy.deepcopy(_saved())
    deployment = _deployment(now)
    deployment["options"] = {**deployment["options"], "protect": True}  # type: ignore[dict-item]
    assert plan_guard.differences(_saved(), now) == [f"primary: {deployment['urn']} changed ['options']"]


def test_a_rename_without_an_alias_is_a_move() -> None:
    now = copy.deepcopy(_saved())
    deployment = _deployment(now)
    old = deployment["urn"]
    deployment["urn"] = f"{old}-renamed"
    assert plan_guard.differences(_saved(), now) == [
        f"primary: {old} is gone (a rename needs aliases=[old URN])",
        f"primary: {old}-renamed is new",
    ]


def test_a_rename_with_an_alias_to_the_old_urn_is_not_a_move() -> None:
    now = copy.deepcopy(_saved())
    deployment = _deployment(now)
    old = deployment["urn"]
    deployment["urn"], deployment["aliases"] = f"{old}-renamed", [old]
    assert plan_guard.differences(_saved(), now) == []
    deployment["inputs"] = {}
    assert plan_guard.differences(_saved(), now) != []

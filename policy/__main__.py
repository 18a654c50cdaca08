"""The policy pack: `pulumi preview --policy-pack policy` (from the project root).

Every rule of policy.rules becomes one mandatory policy. The rules are plain functions so the
test suite runs them on every cloud pair's plan without the policy engine; only this file
imports pulumi_policy, and only here is the PolicyPack built (it waits for the engine).
"""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.rules import RULES, PlannedResource, ResourceRule, Rule, StackRule


def _resource_validator(check: ResourceRule) -> Callable[[Any, Any], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in check(args.resource_type, args.props):
            report_violation(message, args.urn)

    return validate


def _stack_validator(check: StackRule) -> Callable[[Any, Any], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        planned = [
            PlannedResource(
                type=r.resource_type,
                name=r.name,
                props=r.props,
                urn=r.urn,
                dependencies=tuple(d.urn for d in r.dependencies),
            )
            for r in args.resources
        ]
        for resource, message in check(planned):
            report_violation(message, resource.urn)

    return validate


def _policy(rule: Rule) -> Any:
    if rule.stack is not None:
        return StackValidationPolicy(
            name=rule.name,
            description=rule.description,
            enforcement_level=EnforcementLevel.MANDATORY,
            validate=_stack_validator(rule.stack),
        )
    assert rule.resource is not None
    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=_resource_validator(rule.resource),
    )


PolicyPack(name="inference-failover-secure-defaults", policies=[_policy(rule) for rule in RULES])

"""Offline plan: run the real program for a stack under mocks and list what it would create.

    python -m infra.plan primary            # table for people
    python -m infra.plan standby --json     # [{"urn","type","name","parent","inputs"}] for machines

Needs no credentials and no pulumi CLI. The standby's StackReference is answered with the
primary's own mocked outputs, so the plan shows the cross-stack wiring users will get.
Secret values are masked everywhere; secrets a stack file does not hold (they are set with
`pulumi config set --secret`) are filled with a placeholder and said so.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.capacity import render_estimate
from infra.check import check_stacks, run_quietly_on_broken_pipe
from infra.config import DOCKER_HUB_TOKEN, PROJECT, ConfigError
from infra.targets import budgets
from offline.harness import (
    ROOT,
    SECRET_PLACEHOLDER,
    ProgramError,
    ProgramRun,
    Registered,
    load_stack_config,
    run_stack,
)

MASK = "[secret]"

# Inputs worth a glance in the table, most telling first. Types with nested settings that
# matter (GPU pools, workloads) name dotted paths; everything else falls back to the generic list.
_KEY_PATHS: dict[str, tuple[str, ...]] = {
    "aws:eks/nodeGroup:NodeGroup": ("instanceTypes", "amiType", "scalingConfig", "taints.0.key"),
    "gcp:container/nodePool:NodePool": (
        "nodeConfig.machineType",
        "nodeConfig.guestAccelerators.0.type",
        "nodeConfig.guestAccelerators.0.count",
        "autoscaling.totalMinNodeCount",
        "autoscaling.totalMaxNodeCount",
        "nodeCount",
    ),
    "azure-native:containerservice:AgentPool": ("vmSize", "count", "minCount", "maxCount", "nodeTaints"),
    "kubernetes:apps/v1:Deployment": (
        "spec.replicas",
        "spec.template.spec.containers.0.image",
        "spec.template.spec.containers.0.resources.limits",
    ),
    "kubernetes:batch/v1:CronJob": ("spec.schedule", "spec.suspend"),
    "kubernetes:core/v1:Service": ("spec.type", "spec.ports.0.port"),
    "kubernetes:policy/v1:PodDisruptionBudget": ("spec.maxUnavailable", "spec.minAvailable"),
}
_KEY_SETTINGS = (
    "instanceTypes", "machineType", "vmSize", "amiType", "scalingConfig", "nodeCount", "count",
    "minCount", "maxCount", "initialNodeCount", "autoscaling", "guestAccelerators", "replicas",
    "kubernetesVersion", "version", "location", "region", "sku", "kind", "enableKeyRotation",
    "rotationPeriod", "ttl", "type", "failoverRoutingPolicy", "weightedRoutingPolicy",
    "trafficRoutingMethod", "priority", "weight", "failureThreshold", "requestInterval",
    "resourcePath", "schedule", "storageClass", "status", "role",
)  # fmt: skip


def _lookup(inputs: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(inputs, list) and part.isdigit() and int(part) < len(inputs):
            inputs = inputs[int(part)]
        elif isinstance(inputs, dict) and part in inputs:
            inputs = inputs[part]
        else:
            return None
    return inputs


def _config_and_missing_secrets(stack: str, root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The stack's config, and a placeholder for each secretNames entry its file does not hold."""
    config, _ = load_stack_config(stack, root)  # secretNames always set: schema default
    names = json.loads(config[f"{PROJECT}:secretNames"])
    if f"{PROJECT}:dockerHubUsername" in config:
        names.append(DOCKER_HUB_TOKEN)
    # Only secrets the file does not hold at all get the placeholder: a plain-text value stays plain
    # text, so parse_config refuses it exactly as `pulumi up` would.
    return config, {n: SECRET_PLACEHOLDER for n in names if f"{PROJECT}:{n}" not in config}


def plan_stack(stack: str, root: Path = ROOT) -> tuple[ProgramRun, list[str]]:
    """The mocked run of `stack` (its primary first, for a standby) and notes for the reader."""
    notes: list[str] = []
    config, secrets = _config_and_missing_secrets(stack, root)
    if secrets:
        notes.append(
            f"secrets {', '.join(sorted(secrets))} are not in Pulumi.{stack}.yaml; a placeholder stands in "
            f"(set them with `pulumi config set --secret <name> <value> -s {stack}`)"
        )
    ref = config.get(f"{PROJECT}:primaryStack")
    stack_outputs = None
    if ref:
        primary_stack = ref.rsplit("/", 1)[-1]
        _, primary_secrets = _config_and_missing_secrets(primary_stack, root)
        primary = run_stack(primary_stack, secrets=primary_secrets, root=root)
        stack_outputs = {ref: primary.outputs}
        notes.append(f"StackReference {ref} answered with the mocked outputs of Pulumi.{primary_stack}.yaml")
    run = run_stack(stack, secrets=secrets, stack_outputs=stack_outputs, root=root)
    return run, notes + run.warnings + budgets(run.config).describe()


def _mask(value: Any, secret_values: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, secret_values) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, secret_values) for v in value]
    if isinstance(value, str) and any(s in value for s in secret_values):
        return MASK
    return value


def _masked_inputs(resource: Registered, secret_values: set[str]) -> dict[str, Any]:
    inputs = {k: (MASK if k in resource.secret_inputs else v) for k, v in resource.inputs.items()}
    return _mask(inputs, secret_values)


def to_json(run: ProgramRun, secret_values: set[str]) -> list[dict[str, Any]]:
    return [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent or None,
            "inputs": _masked_inputs(r, secret_values),
        }
        for r in run.resources
    ]


def _integral(value: Any) -> Any:
    """Mocks hand numbers back as floats; show 2.0 as 2."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _brief(value: Any, limit: int = 60) -> str:
    value = _integral(value)
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def key_settings(type_token: str, inputs: dict[str, Any], limit: int = 4) -> str:
    paths = _KEY_PATHS.get(type_token, _KEY_SETTINGS)
    picked = [
        f"{[part for part in path.split('.') if not part.isdigit()][-1]}={_brief(value)}"
        for path in paths
        if (value := _lookup(inputs, path)) not in (None, "", [], {})
    ]
    return "  ".join(picked[:limit])


def render_table(run: ProgramRun, notes: list[str], secret_values: set[str]) -> str:
    from rich.console import Console
    from rich.table import Table

    # Child components share their parent's name, so the parent column shows Type(name).
    names = {r.urn: f"{r.type.rsplit(':', 1)[-1]}({r.name})" for r in run.resources}
    table = Table(title=f"Offline plan for stack '{run.stack}' ({run.config.role} on {run.config.cloud})")
    for column in ("#", "type", "name", "parent", "key settings"):
        table.add_column(column, overflow="fold")
    for index, r in enumerate(run.resources, 1):
        table.add_row(
            str(index),
            r.type,
            r.name,
            names.get(r.parent, ""),
            key_settings(r.type, _masked_inputs(r, secret_values)),
        )
    buffer = io.StringIO()
    console = Console(width=200, file=buffer, no_color=True)
    console.print(table)
    for note in notes:
        console.print(f"note: {note}", soft_wrap=True)
    console.print(f"{len(run.resources)} resources; nothing was created (Pulumi mocks, no credentials used).")
    return buffer.getvalue()


def monthly_cost_line(run: ProgramRun, root: Path = ROOT) -> str:
    """The plan's last line: what the stack costs a month (infra.cost), or why it cannot say."""
    from infra.cost import OVERRIDES_KEY, CostError, parse_overrides, price

    try:
        config, _ = load_stack_config(run.stack, root)
        report = price(run, parse_overrides(config.get(f"{PROJECT}:{OVERRIDES_KEY}"), run.stack))
    except (CostError, ProgramError) as exc:
        return f"monthly cost: unknown: {exc}"
    from infra.cost_budget import budget_warning

    alerting = run.config.alerting
    warning = budget_warning(report, alerting.budget_monthly_usd if alerting else None)
    return (f"warning: {warning}\n" if warning else "") + (
        f"monthly cost: ${report.monthly_usd:,.2f} at {report.capacity} capacity "
        f"(${report.full_capacity_monthly_usd:,.2f} at full); details: python -m infra.cost {run.stack}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="stack name: primary, standby, or any Pulumi.<stack>.yaml here")
    parser.add_argument("--json", action="store_true", help="machine-readable resource list")
    parser.add_argument(
        "--workdir", type=Path, default=ROOT, help="project directory (default: this checkout)"
    )
    args = parser.parse_args(argv)
    checked = check_stacks(args.workdir, [args.stack])
    if not checked.ok:
        for problem in checked.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(checked.problems)} problem(s) found; nothing was planned", file=sys.stderr)
        return 2
    try:
        run, notes = plan_stack(args.stack, args.workdir)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ProgramError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # Offline, every secret value is the placeholder: secure values cannot be decrypted here and
    # unset ones are filled with it.
    secret_values = {SECRET_PLACEHOLDER}
    if args.json:
        json.dump(to_json(run, secret_values), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_table(run, notes, secret_values))
        sys.stdout.write(render_estimate(run.config))
        sys.stdout.write(monthly_cost_line(run, args.workdir) + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(run_quietly_on_broken_pipe(main))

"""`failover inventory`: one row per stack of what runs where, and what happens when it fails.

Built from the two stack files (validated by `infra.check`, so the same rules as `pulumi up`), the
stacks' outputs (cluster, model location, secrets) and the audit store (the last completed drill).
The first thing to hand over when someone asks "what happens if this provider changes terms?".
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from cutover.errors import UsageError

AUTHORITY = {
    "aws": "Route 53",
    "gcp": "Cloud DNS",
    "azure": "Azure Traffic Manager + Azure DNS",
    "powerdns": "PowerDNS (self-hosted, LUA ifurlup record)",
}
SECRETS_BACKEND = {
    "aws": "AWS Secrets Manager (customer-managed KMS key)",
    "gcp": "GCP Secret Manager (customer-managed Cloud KMS key)",
    "azure": "Azure Key Vault",
    "onprem": "OpenBao / HashiCorp Vault on the site (KV v2, Kubernetes auth)",
}
RUNBOOKS = "runbooks/primary-outage.md (cut over), runbooks/failback.md (come back)"
COLUMNS = (
    "service",
    "stack",
    "role",
    "cloud",
    "region",
    "cluster",
    "gpu",
    "model",
    "model_artefacts",
    "auth",
    "secrets_backend",
    "dns_authority",
    "failover_plan",
    "rto_target",
    "rpo",
    "last_drill",
)
FORMATS = ("table", "csv", "yaml", "json")


def rows(
    workdir: Path,
    stacks: Mapping[str, str],
    outputs: Mapping[str, Mapping[str, Any]],
    last_drills: Mapping[str, str | None],
) -> list[dict[str, str]]:
    """One row per stack (primary first)."""
    from infra.check import check_stacks
    from infra.targets import budgets

    checked = check_stacks(workdir, list(stacks.values()))
    if not checked.ok:
        raise UsageError(
            "the stack files do not pass `python -m infra.check`: "
            + "; ".join(str(p) for p in checked.problems),
            "fix them first (`python -m infra.check` lists every problem with its line)",
        )
    found = []
    for stack in stacks.values():
        cfg = checked.files[stack.rsplit("/", 1)[-1]].parsed
        assert cfg is not None
        out = outputs.get(stack, {})
        b = budgets(cfg)
        rto = f"detection {b.detection_seconds}s ({b.detection_formula})"
        rto = f"target {cfg.rto_target_seconds}s; {rto}" if cfg.rto_target_seconds else f"no target; {rto}"
        if cfg.is_standby:
            rpo = f"worst case {b.rpo_worst_minutes} min ({b.rpo_formula})"
            rpo = (
                f"target {cfg.rpo_target_minutes} min; {rpo}"
                if cfg.rpo_target_minutes
                else f"no target; {rpo}"
            )
        else:
            rpo = "source of replication (the standby's copy lags by its RPO)"
        plan = (
            f"{cfg.dns.routing} routing"
            + (
                f", weight {cfg.dns.weight}"
                if cfg.dns.routing == "weighted"
                else ", health-checked automatic"
            )
            + f"; {RUNBOOKS}"
        )
        found.append(
            {
                "service": cfg.dns.fqdn,
                "stack": stack,
                "role": cfg.role,
                "cloud": cfg.cloud,
                "region": cfg.region,
                "cluster": str(out.get("clusterName") or "(not deployed)"),
                "gpu": f"{cfg.gpu.shape.machine_type} ({cfg.gpu.gpus_per_node} x {cfg.gpu.gpu_type}); "
                f"{cfg.effective_node_count} node(s) now ({cfg.capacity}), {cfg.gpu.node_count} at full",
                "model": cfg.model_name,
                "model_artefacts": str(out.get("modelUri") or f"<{cfg.cloud} model bucket>/{cfg.model_path}"),
                "auth": "API key (Bearer) on every route; " + ", ".join(cfg.secret_names),
                "secrets_backend": SECRETS_BACKEND[cfg.cloud],
                "dns_authority": AUTHORITY[cfg.dns.provider],
                "failover_plan": plan,
                "rto_target": rto,
                "rpo": rpo,
                "last_drill": last_drills.get(stack) or "never (no completed drill in the audit store)",
            }
        )
    return found


def render(found: list[dict[str, str]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(found, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(found, sort_keys=False, width=1000)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(found)
        return buffer.getvalue()
    from rich.console import Console
    from rich.table import Table

    table = Table(title="failover inventory", show_lines=True)
    table.add_column("")
    for row in found:
        table.add_column(row["stack"], overflow="fold")
    for column in COLUMNS:
        table.add_row(column, *(row[column] for row in found))
    buffer = io.StringIO()
    Console(file=buffer, width=160, no_color=True).print(table)
    return buffer.getvalue()


def last_completed_drill(records: Sequence[Mapping[str, Any]]) -> str | None:
    finished = [
        str((r.get("event") or {}).get("recorded_at"))
        for r in records
        if (r.get("event") or {}).get("command") == "drill"
        and (r.get("event") or {}).get("event") == "run-finished"
        and (r.get("event") or {}).get("outcome") == "completed"
    ]
    return max(finished) if finished else None

"""Issue 13's rule that makes a refactor safe: no resource may move.

`snapshot(case)` is every resource a combination plans: URN, type, parent, provider, resource
options and masked inputs, for both stacks. `tools/plan_snapshot.py` saves one per combination under
tests/data/plan_snapshots/ (gzip, deterministic); `tests/test_plan_snapshots.py` checks that the
code still plans exactly that. A resource whose URN changed passes only when it names its old URN
in `aliases` (a Pulumi alias: the engine then moves state instead of replacing).

Regenerate only for an intended change of plan, and say so in the commit:
    PYTHONPATH=$PWD .venv/bin/python tools/plan_snapshot.py
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

from infra.plan import MASK, to_json
from offline.harness import ProgramRun
from offline.mock_outputs import randomness
from tests import support

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = REPO / "tests" / "data" / "plan_snapshots"

CASES: list[tuple[str, str, str]] = sorted(
    {*support.COMBINATIONS, *support.POWERDNS_COMBINATIONS, *support.ONPREM_COMBINATIONS}
)
"""Every cloud pair and site pair with every DNS authority (cloud and self-hosted)."""
CASE_IDS = [f"{p}-to-{s}-dns-{a}" for p, s, a in CASES]
EXTRA: dict[str, tuple[tuple[str, str, str], dict[str, Any]]] = {
    # What the combinations leave out: Storage Transfer Service (hourly or slower into gcp), a
    # paused copy, and a site store without SSE-S3. The overrides apply to the standby.
    "aws-to-gcp-dns-aws-sts-hourly": (("aws", "gcp", "aws"), {"replicationIntervalMinutes": 60}),
    "azure-to-gcp-dns-gcp-sts-paused": (
        ("azure", "gcp", "gcp"),
        {"replicationIntervalMinutes": 120, "replicationPaused": True},
    ),
    "gcp-to-aws-dns-aws-paused": (("gcp", "aws", "aws"), {"replicationPaused": True}),
    "azure-to-onprem-dns-powerdns-hourly": (
        ("azure", "onprem", "powerdns"),
        {"replicationIntervalMinutes": 60},
    ),
}
"""Named variants of a combination, saved and checked like the others."""
SHIPPED = ("primary", "standby")
"""The stack files exactly as shipped (`python -m infra.plan <stack> --json`)."""


def _secret_values(authority: str | None) -> set[str]:
    values = set(support.TEST_SECRETS.values())
    if authority:
        values |= set(support.authority_secrets(authority).values())
    return values


def describe(run: ProgramRun, secret_values: set[str]) -> list[dict[str, Any]]:
    """The plan's resources with what a refactor must not change, in registration-independent order."""
    by_urn = {r.urn: r for r in run.resources}
    # A digest of a secret (the provided certificate's, which rolls the pods) is as fresh as the
    # test certificate generated for this process: name it instead.
    digests = {hashlib.sha256(v.encode()).hexdigest(): "<sha256 of a secret>" for v in secret_values}
    rows = []
    for row in to_json(run, secret_values):
        r = by_urn[row["urn"]]
        row["inputs"] = _substitute(row["inputs"], digests)
        row["custom"] = r.custom
        row["provider"] = r.provider.rsplit("::", 1)[0] if r.provider else None
        row["options"] = {
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
            "ignoreChanges": sorted(r.ignore_changes),
            "replaceOnChanges": sorted(r.replace_on_changes),
            "deleteBeforeReplace": r.delete_before_replace,
            "dependsOn": sorted(r.dependencies),
        }
        row["aliases"] = sorted(r.aliases)
        rows.append(row)
    return sorted(rows, key=lambda row: row["urn"])


def _substitute(value: Any, digests: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, digests) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, digests) for v in value]
    if isinstance(value, str):
        # A path inside this checkout (a site's kubeconfigPath) reads the same from any clone.
        return digests.get(value, value).replace(str(REPO), "<repo>")
    return value


def case_plan(case: tuple[str, str, str]) -> dict[str, Any]:
    """A fresh (uncached) run with pulumi-random seeded per resource, so two runs compare equal."""
    primary, standby, authority = case
    with randomness.seeded():
        p, s = support.combination.__wrapped__(primary, standby, authority)
    secrets = _secret_values(authority)
    return {"primary": describe(p, secrets), "standby": describe(s, secrets)}


def extra_plan(name: str) -> dict[str, Any]:
    """A combination with EXTRA[name]'s standby overrides, fresh and seeded like case_plan."""
    (primary, standby, authority), extra = EXTRA[name]
    with randomness.seeded():
        p, s = support.combination.__wrapped__(primary, standby, authority, tuple(extra.items()))
    secrets = _secret_values(authority)
    return {"primary": describe(p, secrets), "standby": describe(s, secrets)}


def shipped_plan(stack: str) -> dict[str, Any]:
    with randomness.seeded():
        run = support.shipped.__wrapped__(stack)
    return {stack: describe(run, _secret_values(None))}


def path_for(name: str) -> Path:
    return SNAPSHOT_DIR / f"{name}.json.gz"


def write(name: str, plan: dict[str, Any]) -> None:
    text = json.dumps(plan, indent=1, sort_keys=True, default=str).encode()
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    with path_for(name).open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(text)


def read(name: str) -> dict[str, Any]:
    with gzip.open(path_for(name), "rb") as gz:
        return json.loads(gz.read())


def differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What moved, one line per resource: gone, new (unaliased), or changed (which fields)."""
    problems: list[str] = []
    for stack in sorted(set(saved) | set(now)):
        before = {row["urn"]: row for row in saved.get(stack, [])}
        after = {row["urn"]: row for row in now.get(stack, [])}
        aliased = {alias: urn for urn, row in after.items() for alias in row.get("aliases", [])}
        for urn in sorted(set(before) - set(after)):
            if urn in aliased:
                new = dict(after[aliased[urn]])
                old = before[urn]
                changed = _changed_fields(old, new, ignore={"urn", "name", "aliases", "parent"})
                if changed:
                    problems.append(f"{stack}: {urn} (aliased as {aliased[urn]}) changed {changed}")
                continue
            problems.append(f"{stack}: {urn} is gone (a rename needs aliases=[old URN])")
        for urn in sorted(set(after) - set(before)):
            if not set(after[urn].get("aliases", [])) & set(before):
                problems.append(f"{stack}: {urn} is new")
        for urn in sorted(set(before) & set(after)):
            changed = _changed_fields(before[urn], after[urn], ignore={"aliases"})
            if changed:
                problems.append(f"{stack}: {urn} changed {changed}")
    return problems


def _changed_fields(old: dict[str, Any], new: dict[str, Any], ignore: set[str]) -> list[str]:
    fields: list[str] = []
    for key in sorted((set(old) | set(new)) - ignore):
        if key == "inputs":
            fields += [f"inputs.{k}" for k in _diff_keys(old.get(key, {}), new.get(key, {}))]
        elif old.get(key) != new.get(key):
            fields.append(key)
    return fields


def _diff_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    absent = MASK + "absent"
    return sorted(k for k in set(old) | set(new) if old.get(k, absent) != new.get(k, absent))

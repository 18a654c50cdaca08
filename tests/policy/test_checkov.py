"""An independent scanner: checkov over every rendered manifest and AWS/GCP resource of every pair.

Every Kubernetes object both stacks of all six pairs would create is written as YAML (the object
the Kubernetes provider sends, from the mocked plan); every AWS and GCP resource is written as a
Terraform plan (tests/policy/terraform_plan.py: the bridged providers' Terraform twins). Both are scanned
by the pinned checkov (tools/install-checkov.sh installs it into .tools/checkov; tools/dev.sh test
runs that). A failure fails the test unless tests/policy/checkov_skips.yaml names its check and the
objects (glob patterns) with a reason. Azure (azure-native) has no form checkov reads.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.harness import ROOT
from tests.components.inference_cluster_support import kubernetes_objects, manifest
from tests.policy.terraform_plan import plan_of
from tests.support import PAIRS, pair

CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIPS_FILE = Path(__file__).with_name("checkov_skips.yaml")


def _pinned_version() -> str:
    scan = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["scan"]
    return next(r for r in scan if r.startswith("checkov==")).removeprefix("checkov==")


def _render_manifests(directory: Path) -> int:
    count = 0
    for primary, standby in PAIRS:
        for run in pair(primary, standby):
            target = directory / f"{primary}-to-{standby}" / run.stack
            target.mkdir(parents=True)
            for resource in kubernetes_objects(run):
                if resource.type.startswith("pulumi:providers:"):
                    continue
                body = yaml.safe_dump(manifest(resource), sort_keys=False)
                (target / f"{resource.name}.yaml").write_text(body)
                count += 1
    return count


def _render_plans(directory: Path) -> int:
    count = 0
    for primary, standby in PAIRS:
        for run in pair(primary, standby):
            plan = plan_of(run)
            resources = plan["planned_values"]["root_module"]["resources"]
            if resources:
                (directory / f"{primary}-to-{standby}-{run.stack}.json").write_text(json.dumps(plan))
                count += len(resources)
    return count


def _scan(directory: Path, framework: str) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed at {CHECKOV}: run `bash tools/install-checkov.sh`")
    version = subprocess.run([str(CHECKOV), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == _pinned_version(), "re-run tools/install-checkov.sh"
    # --skip-download: checkov otherwise calls its vendor's API for guideline links; the tests
    # never send traffic off this machine. Exit code 1 means "checks failed"; the JSON says which.
    command = [str(CHECKOV), "-d", str(directory), "--framework", framework, "-o", "json"]
    done = subprocess.run(
        [*command, "--quiet", "--compact", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert "prismacloud" not in done.stderr and "bridgecrew" not in done.stderr, done.stderr[-2000:]
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    (found,) = [r for r in reports if r["check_type"] == framework]
    return found  # type: ignore[no-any-return]


def _skips() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(SKIPS_FILE.read_text())  # type: ignore[no-any-return]


def test_every_skip_has_a_written_reason_and_named_objects() -> None:
    for check, entry in _skips().items():
        assert check.startswith(("CKV_", "CKV2_")), check
        assert len(str(entry.get("reason", "")).split()) >= 5, f"{check}: give a reason"
        assert entry.get("objects"), f"{check}: name the objects it applies to"


def _judge(report: dict[str, Any], what: str) -> None:
    summary = report["summary"]
    failed = report["results"]["failed_checks"]
    skips = _skips()

    def pattern_for(finding: dict[str, Any]) -> str | None:
        patterns = skips.get(finding["check_id"], {}).get("objects", [])
        return next((p for p in patterns if fnmatch.fnmatchcase(finding["resource"], p)), None)

    accepted = [f for f in failed if pattern_for(f) is not None]
    unexplained = sorted(
        {f"{f['check_id']} ({f['check_name']}) on {f['resource']} in {f['file_path']}" for f in failed}
        - {f"{f['check_id']} ({f['check_name']}) on {f['resource']} in {f['file_path']}" for f in accepted}
    )
    print(
        f"\ncheckov {_pinned_version()} over {what} of {len(PAIRS)} pairs: "
        f"{summary['passed']} passed, {summary['failed']} failed "
        f"({len(accepted)} accepted by tests/policy/checkov_skips.yaml, {len(unexplained)} not)"
    )
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0 and summary["resource_count"] > 0
    prefix = "CKV_K8S_" if report["check_type"] == "kubernetes" else ("CKV_AWS_", "CKV2_", "CKV_GCP_")
    used = {(f["check_id"], pattern_for(f)) for f in accepted}
    stale = [
        (check, pattern)
        for check, entry in skips.items()
        if check.startswith(prefix)
        for pattern in entry["objects"]
        if (check, pattern) not in used
    ]
    assert stale == [], f"skip entries that no longer match a failure (remove them): {stale}"
    assert unexplained == []


def test_checkov_finds_no_unexplained_failure_in_any_kubernetes_manifest(tmp_path: Path) -> None:
    rendered = _render_manifests(tmp_path)
    _judge(_scan(tmp_path, "kubernetes"), f"{rendered} Kubernetes manifests")


def test_checkov_finds_no_unexplained_failure_in_any_aws_or_gcp_resource(tmp_path: Path) -> None:
    rendered = _render_plans(tmp_path)
    _judge(_scan(tmp_path, "terraform_plan"), f"{rendered} AWS/GCP resources")

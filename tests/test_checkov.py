"""An independent scanner: checkov over every rendered Kubernetes manifest of every cloud pair.

Every Kubernetes object both stacks of all six pairs would create is written as YAML (the object
the Kubernetes provider sends, from the mocked plan) and scanned by the pinned checkov
(tools/install-checkov.sh installs it into .tools/checkov; tools/dev.sh test runs that). A
failure fails the test unless tests/checkov_skips.yaml names its check and object with a reason.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.harness import ROOT
from tests.support import PAIRS, pair
from tests.test_inference_cluster_support import kubernetes_objects, manifest

CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIPS_FILE = Path(__file__).with_name("checkov_skips.yaml")


def _pinned_version() -> str:
    scan = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["scan"]
    return next(r for r in scan if r.startswith("checkov==")).removeprefix("checkov==")


def _render(directory: Path) -> int:
    count = 0
    for primary, standby in PAIRS:
        for run in pair(primary, standby):
            target = directory / f"{primary}-to-{standby}" / run.stack
            target.mkdir(parents=True)
            for resource in kubernetes_objects(run):
                if resource.type.startswith("pulumi:providers:"):
                    continue
                (target / f"{resource.name}.yaml").write_text(
                    yaml.safe_dump(manifest(resource), sort_keys=False)
                )
                count += 1
    return count


def _scan(directory: Path) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed at {CHECKOV}: run `bash tools/install-checkov.sh`")
    version = subprocess.run([str(CHECKOV), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == _pinned_version(), "re-run tools/install-checkov.sh"
    # --skip-download: checkov otherwise calls its vendor's API for guideline links; the tests
    # never send traffic off this machine. Exit code 1 means "checks failed"; the JSON says which.
    done = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(directory),
            "--framework",
            "kubernetes",
            "-o",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert "prismacloud" not in done.stderr and "bridgecrew" not in done.stderr, done.stderr[-2000:]
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    (kubernetes,) = [r for r in reports if r["check_type"] == "kubernetes"]
    return kubernetes  # type: ignore[no-any-return]


def _skips() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(SKIPS_FILE.read_text())  # type: ignore[no-any-return]


def test_every_skip_has_a_written_reason_and_named_objects() -> None:
    for check, entry in _skips().items():
        assert check.startswith("CKV_K8S_"), check
        assert len(str(entry.get("reason", "")).split()) >= 5, f"{check}: give a reason"
        assert entry.get("objects"), f"{check}: name the objects it applies to"


def test_checkov_finds_no_unexplained_failure_in_any_pair(tmp_path: Path) -> None:
    rendered = _render(tmp_path)
    report = _scan(tmp_path)
    summary = report["summary"]
    failed = report["results"]["failed_checks"]
    skips = _skips()
    accepted = [f for f in failed if f["resource"] in skips.get(f["check_id"], {}).get("objects", [])]
    unexplained = sorted(
        {f"{f['check_id']} ({f['check_name']}) on {f['resource']} in {f['file_path']}" for f in failed}
        - {f"{f['check_id']} ({f['check_name']}) on {f['resource']} in {f['file_path']}" for f in accepted}
    )
    print(
        f"\ncheckov {_pinned_version()} over {rendered} manifests of {len(PAIRS)} pairs: "
        f"{summary['passed']} passed, {summary['failed']} failed "
        f"({len(accepted)} accepted by tests/checkov_skips.yaml, {len(unexplained)} not)"
    )
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0 and summary["resource_count"] > 0
    used = {(f["check_id"], f["resource"]) for f in accepted}
    stale = [(c, o) for c, e in skips.items() for o in e["objects"] if (c, o) not in used]
    assert stale == [], f"skip entries that no longer match a failure (remove them): {stale}"
    assert unexplained == []

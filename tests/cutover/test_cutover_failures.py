"""One test per failure class the runbooks name, with the exit code they promise, and a status that
understands a completed cutover.

The state-backend failures go through the real Automation API path (`AutomationStackOps`) with a
stand-in `pulumi` on PATH (tests/cutover/fake_pulumi.py) that fails the way the real CLI does.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cutover import cli
from cutover.errors import ExitCode
from cutover.journal import Journal
from tests.cutover.cutover_support import ModelServer, Sides, run
from tests.cutover.cutover_support import sides as sides  # noqa: PLC0414 (pytest fixture)
from tests.dns_server import powerdns as powerdns  # noqa: PLC0414 (pytest fixture)

ROOT = Path(__file__).resolve().parents[2]
EXECUTE = (
    "execute",
    "--to",
    "standby",
    "--yes",
    "--soak-seconds",
    "0",
    "--skip-store-parity",
    "--reason",
    "test",
)
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ")


def project_copy(tmp_path: Path) -> Path:
    workdir = tmp_path / "project"
    workdir.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.standby.yaml"):
        shutil.copy(ROOT / name, workdir / name)
    return workdir


@pytest.fixture
def fake_pulumi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Put the stand-in pulumi first on PATH; returns its call log."""
    from importlib.metadata import version

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(
        f'#!/bin/sh\nif [ "$1" = version ]; then echo v{version("pulumi")}; exit 0; fi\n'
        f'exec {sys.executable} {ROOT / "tests" / "cutover" / "fake_pulumi.py"} "$@"\n'
    )
    script.chmod(0o755)
    log = tmp_path / "pulumi-calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    return log


@pytest.fixture
def standby_server() -> Iterator[ModelServer]:
    server = ModelServer("127.0.0.1")
    yield server
    server.stop()


def outputs_files(tmp_path: Path, standby: ModelServer) -> list[str]:
    files = []
    for side, url in (("primary", "http://127.0.0.1:9"), ("standby", standby.url)):
        path = tmp_path / f"{side}.json"
        path.write_text(json.dumps({"endpointUrl": url, "serviceFqdn": "api.example.com"}))
        files += [f"--{side}-outputs", str(path)]
    return files


# --- the state backend ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("status",), EXECUTE])
def test_unreachable_state_backend_exits_5_as_the_runbook_says(
    fake_pulumi: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...],
) -> None:
    monkeypatch.setenv("FAKE_PULUMI_MODE", "unreachable")

    code = cli.run(["--workdir", str(project_copy(tmp_path)), *command])

    assert code == ExitCode.PULUMI_UNAVAILABLE == 5
    err = capsys.readouterr().err
    assert "the Pulumi state backend for stack 'primary' cannot be reached" in err
    assert "no such host" in err and "--primary-outputs" in err
    assert "Traceback" not in err
    assert fake_pulumi.exists()  # it really went through the stand-in CLI


@pytest.mark.parametrize(
    ("mode", "who"),
    [
        ("locked", "alice@oncall-laptop (pid 4242) since 2026-12-01T23:58:07Z"),
        ("locked-cloud", "another update (the Pulumi Cloud backend does not say whose"),
    ],
)
def test_stack_lock_held_by_another_operator_says_who_since_when_and_that_resume_is_not_the_fix(  # noqa: PLR0917
    fake_pulumi: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    standby_server: ModelServer,
    mode: str,
    who: str,
) -> None:
    monkeypatch.setenv("FAKE_PULUMI_MODE", mode)
    workdir = project_copy(tmp_path)

    code = cli.run(
        [
            "--workdir",
            str(workdir),
            *outputs_files(tmp_path, standby_server),
            "--insecure-http",  # the stand-in model server speaks plain HTTP on loopback
            "--poll-interval-seconds",
            "0.05",
            *EXECUTE,
        ]
    )

    assert code == ExitCode.STACK_LOCKED == 8
    err = capsys.readouterr().err
    assert f"stack 'standby' is locked by {who}" in err
    assert "`failover resume` is not the fix" in err
    calls = [json.loads(line) for line in fake_pulumi.read_text().splitlines()]
    assert any(c[:1] == ["up"] or "up" in c for c in calls)
    journal = Journal.load(workdir / ".cutover-journal.json")
    assert journal is not None and journal.status == "running"  # nothing recorded past the lock


# --- status after a completed cutover -------------------------------------------------------------


def test_status_after_a_completed_cutover_with_the_primary_dead_exits_0_and_says_since_when(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.json"
    assert run(sides, journal, *EXECUTE) == ExitCode.OK
    sides.primary.stop()
    capsys.readouterr()

    code = run(sides, journal, "--probe-timeout-seconds", "1", "status", "--skip-store-parity")

    assert code == ExitCode.OK
    out = capsys.readouterr().out
    loaded = Journal.load(journal)
    assert loaded is not None
    since = loaded.step_record("shift-100")["completed_at"]
    assert f"serving from standby; primary down (expected since {since}: run {loaded.run_id}" in out
    assert "expected: primary (primary): GET" in out
    assert "status: ok" in out


def test_status_with_the_primary_dead_and_no_completed_run_is_a_problem(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sides.primary.healthy = False

    code = run(sides, tmp_path / "none.json", "status", "--skip-store-parity")

    assert code == ExitCode.UNHEALTHY
    out = capsys.readouterr().out
    assert "serving from primary; standby healthy" in out
    assert "problem: primary (primary): GET" in out


def test_status_json_carries_the_headline_and_expected_findings(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.json"
    assert run(sides, journal, *EXECUTE) == ExitCode.OK
    sides.primary.healthy = False
    capsys.readouterr()

    assert run(sides, journal, "--json", "status", "--skip-store-parity") == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["serving"] == "standby"
    assert data["headline"].startswith("serving from standby; primary down (expected since ")
    assert data["expected"] and data["problems"] == []
    assert STAMP.match(data["checked_at"] + " ")


def test_every_human_status_line_is_timestamped(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(sides, tmp_path / "j.json", "status", "--skip-store-parity") == ExitCode.OK
    out = capsys.readouterr().out
    table_end = max(i for i, line in enumerate(out.splitlines()) if line.startswith("└"))
    lines = [line for line in out.splitlines()[table_end + 1 :] if line.strip()]
    assert len(lines) >= 4
    assert all(STAMP.match(line) for line in lines), lines
    assert "failover status at 20" in out


def test_a_hung_side_costs_one_probe_timeout_not_one_per_check(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Accepts connections (the kernel's backlog) and never answers: a hung load balancer.
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)
    try:
        sides.stacks.extra_outputs["standby"] = {"endpointUrl": f"https://127.0.0.1:{hung.getsockname()[1]}"}
        started = time.monotonic()
        code = run(
            sides, tmp_path / "j.json", "--probe-timeout-seconds", "2", "status", "--skip-store-parity"
        )
        elapsed = time.monotonic() - started
    finally:
        hung.close()

    assert code == ExitCode.UNHEALTHY
    assert "timed out after 2s" in capsys.readouterr().out
    # Before: /health and /v1/models one after the other, each side in turn (>= 4 s here).
    assert elapsed < 3.5, elapsed


def test_plan_prints_both_budgets_and_json_carries_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["--workdir", str(ROOT), "--json", "plan", "--to", "standby"]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert data["budgets"]["primary"] == [
        "RTO budget (automatic failover detection): Route 53: 10 s interval x 3 failures + 30 s TTL = 60 s "
        "(no rtoTargetSeconds set)"
    ]
    assert data["budgets"]["standby"][1].startswith(
        "RPO budget (worst case): 15 min replication interval + 5 min"
    )


def test_json_into_a_closed_pipe_ends_quietly() -> None:
    import os
    import subprocess

    proc = subprocess.run(
        f"{sys.executable} -m cutover --json plan --to standby | head -c 1",
        shell=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout == "{"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr

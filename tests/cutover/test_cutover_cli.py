"""The `failover` command line: probes, offline use, missing pulumi CLI, errors and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cutover import cli
from cutover.errors import ExitCode
from cutover.journal import Journal
from cutover.probes import API_KEY_ENV, ProbeTls, SideProbe, plain_http_refusal, probe_side
from cutover.stack_ops import ApplySummary, AutomationStackOps, pulumi_cli
from tests.cutover.cutover_support import MODEL, ROOT, ModelServer, Sides, run
from tests.cutover.cutover_support import sides as sides  # noqa: PLC0414 (pytest fixture)
from tests.dns_server import free_port
from tests.dns_server import powerdns as powerdns  # noqa: PLC0414 (pytest fixture)
from tests.edge_support import EdgePki, make_pki

SERVICE = "api.example.com"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[EdgePki, tuple[Path, Path]]:
    directory = tmp_path_factory.mktemp("probe-tls")
    found = make_pki(directory, SERVICE)
    (directory / "tls.crt").write_bytes(found.cert_pem)
    (directory / "tls.key").write_bytes(found.key_pem)
    return found, (directory / "tls.crt", directory / "tls.key")


@pytest.fixture
def tls(pki: tuple[EdgePki, tuple[Path, Path]]) -> ProbeTls:
    return ProbeTls(ca_bundle=str(pki[0].ca_file))


@pytest.fixture
def server(pki: tuple[EdgePki, tuple[Path, Path]]) -> Any:
    found = ModelServer("127.0.0.1", tls=pki[1])
    yield found
    found.stop()


def probe(url: str | None, tls: ProbeTls, **kwargs: Any) -> SideProbe:
    return probe_side(url, MODEL, service_name=SERVICE, tls=tls, **kwargs)


@pytest.fixture
def no_pulumi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A PATH on which no pulumi CLI can be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def project_copy(tmp_path: Path) -> Path:
    """A workdir with the shipped Pulumi.yaml and stack files (what the CLI reads config from)."""
    workdir = tmp_path / "project"
    workdir.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.standby.yaml"):
        shutil.copy(ROOT / name, workdir / name)
    return workdir


# --- probes ------------------------------------------------------------------------------------


def test_probe_reads_health_and_served_models_like_vllm_answers(server: ModelServer, tls: ProbeTls) -> None:
    found = probe(server.url, tls)

    assert server.url.startswith("https://127.0.0.1:")
    assert found.ok
    assert found.health_status == 200
    assert found.models == (MODEL,)
    assert found.latency_ms is not None and found.latency_ms >= 0


def test_probe_verifies_the_certificate_for_the_service_name(server: ModelServer, tls: ProbeTls) -> None:
    wrong_name = probe_side(server.url, MODEL, service_name="other.example.com", tls=tls)
    system_cas = probe_side(server.url, MODEL, service_name=SERVICE)

    for failed in (wrong_name, system_cas):
        assert not failed.healthy and failed.health_status is None
        assert "CERTIFICATE_VERIFY_FAILED" in failed.problems[0]
    assert server.requests["/health"] == 0


def test_probe_refuses_plain_http_unless_told_it_is_a_local_test(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = ModelServer("127.0.0.1", api_key="s3cret")
    monkeypatch.setenv(API_KEY_ENV, "s3cret")
    try:
        refused = probe_side(plain.url, MODEL)
        sent = sum(plain.requests.values())
        allowed = probe_side(plain.url, MODEL, tls=ProbeTls(insecure_http=True))
    finally:
        plain.stop()

    assert refused.problems == (plain_http_refusal(plain.url),)
    assert "--insecure-http" in refused.problems[0] and not refused.ok
    assert sent == 0  # nothing, least of all the key, went over the wire
    assert allowed.ok


def test_probe_sends_the_api_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, pki: tuple[EdgePki, tuple[Path, Path]], tls: ProbeTls
) -> None:
    protected = ModelServer("127.0.0.1", api_key="s3cret", tls=pki[1])
    try:
        monkeypatch.delenv(API_KEY_ENV, raising=False)
        refused = probe(protected.url, tls)
        monkeypatch.setenv(API_KEY_ENV, "s3cret")
        allowed = probe(protected.url, tls)
    finally:
        protected.stop()

    assert not refused.ok
    assert refused.problems == (
        f"GET {protected.url}/v1/models answered 401: set {API_KEY_ENV} to the server's API key",
    )
    assert allowed.ok


def test_probe_of_a_server_serving_another_model_names_both(server: ModelServer, tls: ProbeTls) -> None:
    server.model = "mistral-7b-instruct"

    found = probe(server.url, tls)

    assert found.healthy and not found.serves_model
    assert found.problems == (f"{server.url}/v1/models lists mistral-7b-instruct, not {MODEL}",)


def test_probe_of_an_unreachable_endpoint_says_what_failed(tls: ProbeTls) -> None:
    url = f"https://127.0.0.1:{free_port()}"

    found = probe(url, tls, timeout_seconds=1)

    assert not found.healthy and found.health_status is None
    assert found.problems[0].startswith(f"GET {url}/health failed:")


def test_probe_of_a_stack_without_endpoint_output_says_so() -> None:
    assert probe_side(None, MODEL).problems == ("the stack has no endpointUrl output (not deployed yet?)",)


# --- without the pulumi CLI ------------------------------------------------------------------------


@pytest.mark.usefixtures("no_pulumi")
def test_execute_without_pulumi_cli_exits_pulumi_unavailable_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.run(
        ["--workdir", str(project_copy(tmp_path)), "execute", "--to", "standby", "--yes", "--reason", "test"]
    )

    assert code == ExitCode.PULUMI_UNAVAILABLE
    err = capsys.readouterr().err
    assert "the pulumi CLI is not on PATH" in err
    assert "https://www.pulumi.com/docs/install/" in err
    assert "--primary-outputs" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("no_pulumi")
def test_plan_works_offline_from_the_stack_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workdir = project_copy(tmp_path)
    (workdir / "Pulumi.standby.yaml").write_text(
        (workdir / "Pulumi.standby.yaml").read_text().replace("capacity: warm", "capacity: full")
    )

    code = cli.run(["--workdir", str(workdir), "--json", "plan", "--to", "standby", "--steps", "50,100"])

    assert code == ExitCode.OK
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert [s["id"] for s in plan] == ["precheck", "routing", "shift-50", "shift-100", "demote"]


@pytest.mark.usefixtures("no_pulumi")
def test_staged_shift_starts_small_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --steps the first shift moves 5 % of traffic, as the runbooks do, so the first
    canary runs while few clients reach the target."""
    workdir = project_copy(tmp_path)
    assert cli.run(["--workdir", str(workdir), "--json", "plan", "--to", "standby"]) == ExitCode.OK
    ids = [s["id"] for s in json.loads(capsys.readouterr().out)["plan"]]
    assert [i for i in ids if i.startswith("shift-")] == ["shift-5", "shift-25", "shift-50", "shift-100"]


@pytest.mark.usefixtures("no_pulumi")
def test_status_without_pulumi_needs_outputs_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.run(["--workdir", str(project_copy(tmp_path)), "status"])

    assert code == ExitCode.PULUMI_UNAVAILABLE
    assert "no outputs file was given for stack 'primary'" in capsys.readouterr().err


@pytest.mark.usefixtures("no_pulumi")
def test_status_and_dry_run_work_from_outputs_files_without_pulumi(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = project_copy(tmp_path)
    files = []
    for stack in ("primary", "standby"):
        path = tmp_path / f"{stack}.json"
        path.write_text(json.dumps(sides.stacks.outputs(stack)))
        files += [f"--{stack}-outputs", str(path)]
    common = ["--workdir", str(workdir), "--dns-server", sides.dns.address, *files, "--json"]
    common += ["--ca-bundle", str(sides.ca_bundle)]

    status_code = cli.run([*common, "status", "--skip-store-parity"])
    status = json.loads(capsys.readouterr().out)
    dry_code = cli.run([*common, "execute", "--to", "standby", "--dry-run", "--skip-store-parity"])
    dry = json.loads(capsys.readouterr().out)

    assert status_code == ExitCode.OK
    assert status["sides"]["standby"]["probe"]["ok"] is True
    assert status["dns"]["sides_seen"] == ["primary"]
    assert dry_code == ExitCode.OK
    assert dry["pending"][:3] == ["precheck", "scale-up", "routing"]
    assert not (workdir / ".cutover-journal.json").exists()


@pytest.mark.usefixtures("no_pulumi")
def test_status_refuses_plain_http_endpoints_and_insecure_http_allows_them_for_local_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = ModelServer("127.0.0.1")
    try:
        files = []
        for stack in ("primary", "standby"):
            path = tmp_path / f"{stack}.json"
            path.write_text(json.dumps({"endpointUrl": plain.url, "serviceFqdn": SERVICE, "cloud": "aws"}))
            files += [f"--{stack}-outputs", str(path)]
        common = ["--workdir", str(project_copy(tmp_path)), *files, "--json"]
        refused_code = cli.run([*common, "status", "--skip-store-parity"])
        refused = json.loads(capsys.readouterr().out)
        sent = sum(plain.requests.values())
        cli.run([*common, "--insecure-http", "status", "--skip-store-parity"])
        allowed = json.loads(capsys.readouterr().out)
    finally:
        plain.stop()

    assert refused_code != ExitCode.OK
    assert refused["sides"]["primary"]["probe"]["problems"] == [plain_http_refusal(plain.url)]
    assert sent == 0
    assert allowed["sides"]["primary"]["probe"]["ok"] is True


def test_a_missing_ca_bundle_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.run(
        ["--workdir", str(project_copy(tmp_path)), "--ca-bundle", str(tmp_path / "nope.pem"), "status"]
    )

    assert code == ExitCode.USAGE
    assert "--ca-bundle" in capsys.readouterr().err


def test_an_outputs_file_that_is_not_json_is_a_usage_error_saying_how_to_make_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "primary.json"
    bad.write_text("Current stack outputs (3):")
    good = tmp_path / "standby.json"
    good.write_text("{}")

    code = cli.run(
        [
            "--workdir",
            str(project_copy(tmp_path)),
            "--primary-outputs",
            str(bad),
            "--standby-outputs",
            str(good),
            "status",
        ]
    )

    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert f"outputs file {bad} for stack 'primary' is not JSON" in err
    assert f"pulumi stack output --json --show-secrets -s primary > {bad}" in err


@pytest.mark.skipif(
    pulumi_cli() is None, reason="needs the pulumi CLI (https://www.pulumi.com/docs/install/)"
)
def test_automation_stack_ops_refuses_a_directory_without_a_project(tmp_path: Path) -> None:
    from cutover.errors import UsageError

    with pytest.raises(UsageError, match=r"has no Pulumi\.yaml"):
        AutomationStackOps(tmp_path)


# --- errors, confirmation, exit codes ------------------------------------------------------------


class ExplodingOps:
    read_only = False

    def outputs(self, stack: str) -> dict[str, Any]:
        raise RuntimeError("backend returned HTTP 502")

    def get_config(self, stack: str, key: str) -> str | None:
        return None

    def set_config(self, stack: str, key: str, value: str) -> None:
        raise AssertionError("must not be called")

    def remove_config(self, stack: str, key: str) -> None:
        raise AssertionError("must not be called")

    def up(self, stack: str) -> ApplySummary:
        raise AssertionError("must not be called")


def test_unexpected_errors_are_one_line_and_tracebacks_need_debug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.run(["--workdir", str(tmp_path), "status"], ops=ExplodingOps())
    quiet = capsys.readouterr().err
    debug_code = cli.run(["--workdir", str(tmp_path), "--debug", "status"], ops=ExplodingOps())
    loud = capsys.readouterr().err

    assert code == debug_code == ExitCode.ERROR
    assert "unexpected error: RuntimeError: backend returned HTTP 502" in quiet
    assert "Traceback" not in quiet
    assert "Traceback" in loud


def test_execute_without_yes_and_without_a_terminal_changes_nothing(
    sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", open(__file__))  # noqa: SIM115 - a non-tty stdin

    code = run(sides, tmp_path / "j.json", "execute", "--to", "standby")

    assert code == ExitCode.USAGE
    assert sides.stacks.calls == []
    assert "pass --yes" in capsys.readouterr().err
    journal = Journal.load(tmp_path / "j.json")
    assert journal is not None and journal.status == "aborted"


def test_resume_without_a_journal_says_there_is_nothing_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.run(["--workdir", str(tmp_path), "--json", "resume", "--reason", "t"], ops=ExplodingOps())

    assert code == ExitCode.USAGE
    error = json.loads(capsys.readouterr().out)
    assert error["exit_name"] == "USAGE"
    assert (
        error["message"]
        == f"no journal at {tmp_path / '.cutover-journal.json'}, so there is no run to resume"
    )


def test_a_corrupt_journal_is_a_conflict_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".cutover-journal.json").write_text('{"version": 1, "run_id": ')

    code = cli.run(["--workdir", str(tmp_path), "rollback", "--reason", "test"], ops=ExplodingOps())

    assert code == ExitCode.JOURNAL_CONFLICT
    assert "is not valid JSON" in capsys.readouterr().err


def test_the_installed_entry_point_exits_with_the_named_code(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from cutover.cli import main; main()", "--workdir", str(tmp_path), "resume"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )

    assert result.returncode == ExitCode.USAGE
    assert "no journal at" in result.stderr
    assert "fix:" in result.stderr


def test_a_bad_command_line_exits_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["plan", "--to", "sideways"]) == ExitCode.USAGE
    assert "argument --to: invalid choice: 'sideways'" in capsys.readouterr().err
    assert cli.run(["--help"]) == ExitCode.OK
    assert "exit codes: 0 OK, 1 ERROR, 2 USAGE, 3 PRECHECK_FAILED" in capsys.readouterr().out

"""`failover rotate-key` against real HTTP servers that accept the keys each stack's applied config
names (apiKey and apiKeyNext, as the edge proxy does), through the simulated stacks' `pulumi up`."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import httpx
import pytest

from cutover.errors import ExitCode
from cutover.journal import Journal
from tests.cutover.cutover_support import InjectedCrash, Sides, run

OLD = "old-key-0123456789abcdef"
NEW = "new-key-fedcba9876543210"
ROTATE = ("rotate-key", "--yes", "--reason", "credential revocation drill", "--ticket", "SEC-7")


def keys_of(sides: Sides, stack: str) -> set[str]:
    applied = sides.stacks.applied[stack]
    return {applied[k] for k in ("apiKey", "apiKeyNext") if applied.get(k)}


@pytest.fixture
def keyed(sides: Sides, monkeypatch: pytest.MonkeyPatch) -> Sides:
    """Both stacks hold apiKey=OLD; each server accepts exactly the keys its applied config names."""
    servers = {"primary": sides.primary, "standby": sides.standby}
    for stack, server in servers.items():
        sides.stacks.config[stack]["apiKey"] = OLD
        sides.stacks.applied[stack]["apiKey"] = OLD
        server.api_keys = {OLD}
    sides.stacks.on_up = lambda stack: setattr(servers[stack], "api_keys", keys_of(sides, stack))
    monkeypatch.setenv("FAILOVER_API_KEY", OLD)
    monkeypatch.setenv("FAILOVER_NEW_API_KEY", NEW)
    return sides


def accepted(sides: Sides, key: str) -> dict[str, bool]:
    # The test servers speak HTTPS for the service name, signed by the test CA.
    context = ssl.create_default_context(cafile=str(sides.ca_bundle))
    with httpx.Client(verify=context) as client:
        return {
            server.host: client.get(
                f"{server.url}/v1/models",
                headers={"Authorization": f"Bearer {key}", "Host": sides.stacks.fqdn},
                extensions={"sni_hostname": sides.stacks.fqdn},
            ).status_code
            == 200
            for server in (sides.primary, sides.standby)
        }


def test_rotate_key_stages_both_keys_then_revokes_the_old_one_everywhere(
    keyed: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_path = tmp_path / "j.json"

    code = run(keyed, journal_path, *ROTATE)

    assert code == ExitCode.OK
    assert all(accepted(keyed, NEW).values()) and not any(accepted(keyed, OLD).values())
    for stack in ("primary", "standby"):
        assert keyed.stacks.config[stack]["apiKey"] == NEW
        assert "apiKeyNext" not in keyed.stacks.config[stack]
        assert keyed.stacks.secret_keys[stack] >= {"apiKey", "apiKeyNext"}
    assert keyed.stacks.calls == [
        ("set-secret", "primary", "apiKeyNext", "[secret]"),
        ("up", "primary"),
        ("set-secret", "standby", "apiKeyNext", "[secret]"),
        ("up", "standby"),
        ("set-secret", "primary", "apiKey", "[secret]"),
        ("rm", "primary", "apiKeyNext"),
        ("up", "primary"),
        ("set-secret", "standby", "apiKey", "[secret]"),
        ("rm", "standby", "apiKeyNext"),
        ("up", "standby"),
    ]
    out = capsys.readouterr().out
    assert "old key refused everywhere after" in out
    text = journal_path.read_text()
    assert OLD not in text and NEW not in text  # only fingerprints
    journal = Journal.load(journal_path)
    assert journal is not None and journal.status == "completed"
    assert journal.completed_step_ids() == ["precheck", "stage", "promote"]


def test_rotate_key_json_reports_the_time_until_the_old_key_is_refused(
    keyed: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keyed.stacks.config["primary"]["rtoTargetSeconds"] = "300"
    assert run(keyed, tmp_path / "j.json", "--json", *ROTATE) == ExitCode.OK
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "completed"
    assert 0 < result["old_key_refused_after_seconds"] < 30
    assert result["rto_target_seconds"] == 300 and result["within_rto"] is True
    assert [r["ok"] for r in result["audit"]] == [False, False]  # no auditStore outputs here: said so


def test_a_rotation_killed_mid_way_resumes_without_repeating_an_action(keyed: Sides, tmp_path: Path) -> None:
    journal_path = tmp_path / "j.json"
    keyed.stacks.crash_at = 5  # after the stage step, inside promote
    with pytest.raises(InjectedCrash):
        run(keyed, journal_path, *ROTATE)
    assert all(accepted(keyed, OLD).values())  # still serving with the old key

    assert run(keyed, journal_path, "resume", "--reason", "continue after crash") == ExitCode.OK

    assert keyed.stacks.ups == {"primary": 2, "standby": 2}
    assert not any(accepted(keyed, OLD).values()) and all(accepted(keyed, NEW).values())


def test_a_rotation_killed_as_the_new_key_is_staged_rolls_back_without_leaving_it_behind(
    keyed: Sides, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal_path = tmp_path / "j.json"
    stage = keyed.stacks.set_secret_config

    def staged_then_killed(stack: str, key: str, value: str) -> None:
        stage(stack, key, value)
        raise InjectedCrash("killed after `pulumi config set --secret`, before the journal heard of it")

    monkeypatch.setattr(keyed.stacks, "set_secret_config", staged_then_killed)
    with pytest.raises(InjectedCrash):
        run(keyed, journal_path, *ROTATE)
    monkeypatch.setattr(keyed.stacks, "set_secret_config", stage)
    assert keyed.stacks.config["primary"]["apiKeyNext"] == NEW  # in the stack file, not yet applied

    assert run(keyed, journal_path, "rollback", "--reason", "abandon the rotation") == ExitCode.OK

    # Left in the file, the next `pulumi up` of the primary would make the new key live.
    assert "apiKeyNext" not in keyed.stacks.config["primary"]
    assert all(accepted(keyed, OLD).values()) and not any(accepted(keyed, NEW).values())


def test_resume_with_other_keys_is_refused(
    keyed: Sides, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_path = tmp_path / "j.json"
    keyed.stacks.crash_at = 2
    with pytest.raises(InjectedCrash):
        run(keyed, journal_path, *ROTATE)
    monkeypatch.setenv("FAILOVER_NEW_API_KEY", "another-key-0000000000")

    assert run(keyed, journal_path, "resume", "--reason", "continue") == ExitCode.USAGE
    assert "not the keys this rotation started with" in capsys.readouterr().err


def test_a_side_that_does_not_take_the_new_key_rolls_the_rotation_back(keyed: Sides, tmp_path: Path) -> None:
    # The standby's proxy ignores apiKeyNext (say, an old image): staging cannot verify there.
    keyed.stacks.on_up = lambda stack: setattr(
        keyed.primary if stack == "primary" else keyed.standby,
        "api_keys",
        keys_of(keyed, stack) if stack == "primary" else {keyed.stacks.applied[stack]["apiKey"]},
    )

    code = run(keyed, tmp_path / "j.json", *ROTATE)

    assert code == ExitCode.VERIFY_FAILED_ROLLED_BACK
    for stack in ("primary", "standby"):
        assert keyed.stacks.config[stack]["apiKey"] == OLD
        assert "apiKeyNext" not in keyed.stacks.config[stack]
    assert all(accepted(keyed, OLD).values()) and not any(accepted(keyed, NEW).values())


def test_an_old_key_still_accepted_after_promote_stops_without_re_enabling_it(
    keyed: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_path = tmp_path / "j.json"
    stale = {"on": True}

    def on_up(stack: str) -> None:
        server = keyed.primary if stack == "primary" else keyed.standby
        # The standby's proxy keeps the old key in memory until it is restarted.
        server.api_keys = keys_of(keyed, stack) | ({OLD} if stack == "standby" and stale["on"] else set())

    keyed.stacks.on_up = on_up

    code = run(keyed, journal_path, *ROTATE)

    assert code == ExitCode.UNHEALTHY
    assert "nothing was rolled back" in capsys.readouterr().err
    assert keyed.stacks.config["standby"]["apiKey"] == NEW
    stale["on"] = False
    keyed.standby.api_keys = {NEW}  # restarted

    assert run(keyed, journal_path, "resume", "--reason", "proxy restarted") == ExitCode.OK
    assert not any(accepted(keyed, OLD).values())


def test_rotate_key_needs_both_keys_and_a_reason(
    keyed: Sides, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAILOVER_NEW_API_KEY", OLD)
    assert run(keyed, tmp_path / "j.json", *ROTATE) == ExitCode.USAGE
    assert "is the same as FAILOVER_API_KEY" in capsys.readouterr().err
    monkeypatch.delenv("FAILOVER_NEW_API_KEY")
    assert run(keyed, tmp_path / "j.json", *ROTATE) == ExitCode.USAGE
    assert keyed.stacks.calls == []


def test_rotate_key_dry_run_shows_fingerprints_never_keys(
    keyed: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(keyed, tmp_path / "j.json", "--json", "rotate-key", "--dry-run") == ExitCode.OK
    out = capsys.readouterr().out
    actions = [a for step in json.loads(out)["plan"] for a in step["actions"]]
    assert "pulumi config set primary: apiKeyNext (unset) -> [secret sha256:" in actions[0]
    assert OLD not in out and NEW not in out
    assert keyed.stacks.calls == []

"""`python -m infra.check`: one validation pass over both stack files, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.check import Problem, check_stacks
from infra.check import main as check_main
from infra.config import KNOWN_KEYS, PROJECT
from infra.plan import main as plan_main

ROOT = Path(__file__).resolve().parents[2]
P = f"{PROJECT}:"


def project(tmp: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.standby.yaml"):
        shutil.copy(ROOT / name, tmp / name)
    return tmp


def edit(tmp: Path, stack: str, **changes: Any) -> None:
    """Set (or with None remove) un-namespaced keys in Pulumi.<stack>.yaml."""
    path = tmp / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            doc["config"].pop(P + key, None)
        else:
            doc["config"][P + key] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def messages(tmp: Path) -> list[str]:
    return [str(p) for p in check_stacks(tmp).problems]


def run_module(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", *argv],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_shipped_stack_files_pass_every_check() -> None:
    result = check_stacks(ROOT)
    assert result.ok, result.problems
    assert sorted(result.files) == ["primary", "standby"]
    assert any("apiKey" in note for note in result.notes)  # not in the files: a note, not a problem


def test_yaml_syntax_error_names_file_and_line_and_exits_2(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / "Pulumi.standby.yaml").write_text("config:\n  inference-failover:cloud: [gcp\n")
    proc = run_module("infra.check", "--workdir", str(tmp_path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "Pulumi.standby.yaml:" in proc.stderr and "not valid YAML" in proc.stderr


def test_tab_indentation_is_named_with_its_line(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / "Pulumi.primary.yaml").write_text("config:\n\tinference-failover:cloud: aws\n")
    found = messages(tmp_path)
    assert found == [found[0]] and found[0].startswith("Pulumi.primary.yaml:2: ")
    assert "never tabs" in found[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"just a string"\n', "Pulumi.primary.yaml:1: must be a YAML mapping with a 'config:' key"),
        ("config:\n  - a\n  - b\n", "Pulumi.primary.yaml:1: 'config:' must be a mapping"),
        ("- 1\n- 2\n", "Pulumi.primary.yaml:1: must be a YAML mapping"),
    ],
)
def test_file_of_the_wrong_shape_is_one_clear_problem(tmp_path: Path, text: str, expected: str) -> None:
    project(tmp_path)
    (tmp_path / "Pulumi.primary.yaml").write_text(text)
    found = messages(tmp_path)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_keys_without_the_config_wrapper_get_a_hint_not_nine_must_be_set(tmp_path: Path) -> None:
    project(tmp_path)
    doc = yaml.safe_load((tmp_path / "Pulumi.primary.yaml").read_text())
    (tmp_path / "Pulumi.primary.yaml").write_text(yaml.safe_dump(doc["config"], sort_keys=False))
    found = messages(tmp_path)
    assert found and all("stack settings go under 'config:'" in m for m in found)
    assert not any("must be set" in m for m in found)
    assert found[0].startswith("Pulumi.primary.yaml:1: ")


def test_list_key_given_a_scalar_and_scalar_key_given_a_list_name_key_and_line(tmp_path: Path) -> None:
    project(tmp_path)
    edit(tmp_path, "primary", secretNames="apiKey", region=["us-east-1"])
    found = messages(tmp_path)
    assert any("'secretNames' must be a YAML list" in m for m in found), found
    assert any("'region' must be a single value" in m and m.startswith("Pulumi.primary.yaml:") for m in found)


def test_workdir_without_pulumi_yaml_exits_2_naming_it(tmp_path: Path) -> None:
    proc = run_module("infra.check", "--workdir", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no Pulumi.yaml" in proc.stderr


def test_plain_text_secret_is_refused_offline_by_check_and_plan(tmp_path: Path) -> None:
    project(tmp_path)
    edit(tmp_path, "primary", apiKey="hunter2")
    found = messages(tmp_path)
    assert any("'apiKey' must be a secret, not plain text" in m for m in found), found
    assert not any("hunter2" in m for m in found)
    assert plan_main(["primary", "--workdir", str(tmp_path)]) == 2


def test_secure_value_counts_as_a_secret(tmp_path: Path) -> None:
    project(tmp_path)
    edit(tmp_path, "primary", apiKey={"secure": "v1:abc"})
    assert check_stacks(tmp_path).ok


def test_provided_certificate_stored_as_secure_values_passes_the_check(tmp_path: Path) -> None:
    """Ciphertext cannot be decrypted offline: the certificate is checked at `pulumi up`, not here."""
    project(tmp_path)
    edit(
        tmp_path,
        "primary",
        tlsCertificate="provided",
        tlsCertificateChain={"secure": "v1:chain"},
        tlsPrivateKey={"secure": "v1:key"},
    )
    result = check_stacks(tmp_path)
    assert result.ok, [str(p) for p in result.problems]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("acme/inference-failover/nothere", "names stack 'nothere', but there is no Pulumi.nothere.yaml"),
        ("acme/inference-failover/standby", "names this stack itself"),
    ],
)
def test_primary_stack_that_does_not_resolve_to_a_primary_names_primary_stack(
    tmp_path: Path, ref: str, expected: str
) -> None:
    project(tmp_path)
    edit(tmp_path, "standby", primaryStack=ref)
    found = messages(tmp_path)
    assert any("'primaryStack'" in m and expected in m for m in found), found


def test_primary_stack_naming_another_standby_is_refused(tmp_path: Path) -> None:
    project(tmp_path)
    shutil.copy(tmp_path / "Pulumi.standby.yaml", tmp_path / "Pulumi.standby2.yaml")
    edit(tmp_path, "standby", primaryStack="acme/inference-failover/standby2")
    found = [str(p) for p in check_stacks(tmp_path, ["standby"]).problems]
    assert any("whose role is standby, not primary" in m for m in found), found


def test_primary_cloud_and_shared_keys_must_agree_with_the_primary_file(tmp_path: Path) -> None:
    project(tmp_path)
    edit(tmp_path, "standby", primaryCloud="azure", dnsZone="example.org", healthCheckFailureThreshold=5)
    found = messages(tmp_path)
    assert any("'primaryCloud' must be the primary's cloud (aws" in m for m in found), found
    assert any("'dnsZone' must be the same in both stacks" in m for m in found)
    assert any("'healthCheckFailureThreshold' must be the same in both stacks" in m for m in found)
    assert all(m.startswith("Pulumi.standby.yaml:") for m in found)


def test_cloud_dns_interval_and_empty_secrets_are_checked_before_the_program(tmp_path: Path) -> None:
    project(tmp_path)
    for stack in ("primary", "standby"):
        edit(tmp_path, stack, dnsProvider="gcp", gcpProject="acme-dns-project")
    found = messages(tmp_path)
    assert sum("'healthCheckIntervalSeconds' must be 30 when dnsProvider is gcp" in m for m in found) == 2
    # An empty secretNames is refused by the config itself (the edge's apiKey must be listed), so the
    # per-authority checks never see it; check it on its own.
    for stack in ("primary", "standby"):
        edit(tmp_path, stack, secretNames=[])
    found = messages(tmp_path)
    assert found == [
        f"Pulumi.{stack}.yaml:{line}: stack config 'secretNames' must be a list that contains apiKey (the "
        f"edge's API key) (got []): add apiKey to secretNames in Pulumi.{stack}.yaml"
        for stack, line in (("primary", 27), ("standby", 30))
    ]


def test_replication_schedule_of_the_pair_is_checked_up_front(tmp_path: Path) -> None:
    project(tmp_path)
    edit(tmp_path, "standby", replicationIntervalMinutes=45)
    found = messages(tmp_path)
    assert any("'replicationIntervalMinutes'" in m and "(got 45)" in m for m in found), found


def test_rto_target_the_config_cannot_meet_names_the_keys(tmp_path: Path) -> None:
    project(tmp_path)
    edit(tmp_path, "primary", rtoTargetSeconds=45)  # 10 s x 3 + 30 s TTL = 60 s
    found = messages(tmp_path)
    assert any(
        "'rtoTargetSeconds' (45) cannot be met" in m and "= 60 s" in m and "dnsTtlSeconds" in m for m in found
    ), found
    edit(tmp_path, "primary", rtoTargetSeconds=60)
    assert check_stacks(tmp_path).ok


def test_rpo_target_counts_interval_plus_mechanism_delay(tmp_path: Path) -> None:
    project(tmp_path)
    edit(tmp_path, "standby", rpoTargetMinutes=19)  # 15 min interval + 5 min CronJob start deadline
    found = messages(tmp_path)
    assert any("'rpoTargetMinutes' (19) cannot be met" in m and "= 20 min" in m for m in found), found
    edit(tmp_path, "standby", rpoTargetMinutes=20)
    assert check_stacks(tmp_path).ok
    edit(tmp_path, "primary", rpoTargetMinutes=30)
    assert any("must be unset on a primary" in m for m in messages(tmp_path))


def test_offline_plan_prints_both_budgets(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_main(["standby"]) == 0
    out = capsys.readouterr().out
    assert "RTO budget (automatic failover detection): Route 53: 10 s interval x 3 failures + 30 s TTL" in out
    assert "RPO budget (worst case): 15 min replication interval + 5 min kubernetes-cronjob delay" in out


def test_json_into_a_closed_pipe_is_not_a_traceback() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for module in ("infra.plan primary --json", "infra.check --json"):
        proc = subprocess.run(
            f"{sys.executable} -m {module} | head -c 1",
            shell=True,
            check=False,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


def test_check_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_main(["--workdir", str(ROOT)]) == 0
    project(tmp_path)
    edit(tmp_path, "primary", cloud="awz")
    assert check_main(["--workdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.primary.yaml:" in err and "'awz'" in err


# --- property-based: no input gives a traceback, every problem names a key or a line ------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["aws", "gcp", "azure", "primary", "standby", "l4", "warm", "30", "", "0x"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
)
_keys = st.sampled_from([*sorted(KNOWN_KEYS), "apiKey", "typoKey", "aws:region"])


def _located(problem: Problem) -> bool:
    return bool(problem.key) or problem.line > 0


def _no_internal_reprs(problem: Problem) -> bool:
    return " object at 0x" not in problem.message and "Output(" not in problem.message


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(_keys, _values, max_size=5), stack=st.sampled_from(["primary", "standby"]))
def test_any_mutation_of_a_real_stack_file_is_reported_never_raised(
    tmp_path_factory: pytest.TempPathFactory, changes: dict[str, Any], stack: str
) -> None:
    tmp = project(tmp_path_factory.mktemp("mut"))
    path = tmp / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        doc["config"][key if ":" in key else P + key] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = check_stacks(tmp)
    for problem in result.problems:
        assert _located(problem) and _no_internal_reprs(problem), problem
        if problem.key:
            assert problem.key in problem.message or problem.key == "config", problem


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=80), _values.map(yaml.safe_dump)))
def test_any_text_as_a_stack_file_is_reported_never_raised(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    tmp = project(tmp_path_factory.mktemp("txt"))
    (tmp / "Pulumi.standby.yaml").write_text(text)
    result = check_stacks(tmp)
    assert all(_located(p) and _no_internal_reprs(p) for p in result.problems)


@pytest.mark.parametrize(
    "text",
    [
        "config:\n  inference-failover:cloud: [aws\n",
        "config:\n\tinference-failover:cloud: aws\n",
        '"just a string"\n',
        "config:\n  - a\n",
        "config:\n  inference-failover:secretNames: apiKey\n",
        "inference-failover:cloud: aws\n",
    ],
)
def test_offline_plan_of_a_malformed_file_exits_2_without_a_traceback(tmp_path: Path, text: str) -> None:
    project(tmp_path)
    (tmp_path / "Pulumi.primary.yaml").write_text(text)
    proc = run_module("infra.plan", "primary", "--workdir", str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Pulumi.primary.yaml" in proc.stderr


# --- the same rules inside `pulumi up` (infra/__main__.py) ---------------------------------------


def _entry_point(cfg: Any, secrets: Any) -> dict[str, Any]:
    import runpy

    runpy.run_path(str(ROOT / "infra" / "__main__.py"), run_name="__main__")
    return {}


def _standby_through_entry_point(**overrides: Any) -> Any:
    from offline.harness import run_stack
    from tests.support import TEST_SECRETS, shipped

    primary = shipped("primary")
    ref = "acme/inference-failover/primary"
    return run_stack(
        "standby", overrides, TEST_SECRETS, stack_outputs={ref: primary.outputs}, program=_entry_point
    )


def test_pulumi_up_of_the_shipped_standby_passes_the_program_checks() -> None:
    run = _standby_through_entry_point()
    assert run.resources


def test_pulumi_up_refuses_a_cross_stack_disagreement_before_any_resource_without_internal_text() -> None:
    from offline.harness import ProgramError

    with pytest.raises(ProgramError) as raised:
        _standby_through_entry_point(dnsZone="example.org", primaryCloud="azure")
    text = str(raised.value)
    line = next(
        n
        for n, text_line in enumerate((ROOT / "Pulumi.standby.yaml").read_text().splitlines(), 1)
        if text_line.strip().startswith(f"{P}dnsZone:")
    )
    assert f"Pulumi.standby.yaml:{line}: stack config 'dnsZone' must be the same in both stacks" in text
    assert "'primaryCloud' must be the primary's cloud (aws, in Pulumi.primary.yaml)" in text
    assert " object at 0x" not in text and "Traceback" not in text


def test_qualified_stack_names_read_the_same_stack_files() -> None:
    result = check_stacks(ROOT, ["acme/primary", "acme/inference-failover/standby"])
    assert result.ok and sorted(result.files) == ["primary", "standby"]


def test_api_key_next_is_an_optional_secret_refused_in_plain_text(tmp_path: Path) -> None:
    project(tmp_path)
    edit(tmp_path, "primary", apiKeyNext={"secure": "v1:abc"})
    assert check_stacks(tmp_path).ok
    edit(tmp_path, "primary", apiKeyNext="hunter2-next")
    found = messages(tmp_path)
    assert any("'apiKeyNext' must be a secret, not plain text" in m for m in found), found
    assert not any("hunter2" in m for m in found)


def test_an_empty_stack_file_is_a_stack_with_no_config_reported_key_by_key(tmp_path: Path) -> None:
    # `pulumi stack init` leaves no config: the file is valid YAML (nothing), so the check names the
    # keys the stack lacks instead of calling the file's shape wrong ("got a mapping" before).
    project(tmp_path)
    (tmp_path / "Pulumi.primary.yaml").write_text("")
    found = [m for m in messages(tmp_path) if "Pulumi.primary.yaml" in m or "primary" in m]
    assert found, "an empty primary must still be refused"
    assert not any("must be a YAML mapping" in m for m in found), found
    assert any("'cloud'" in m or "'role'" in m for m in found), found


def test_a_bad_secret_name_is_reported_once_on_secret_names_own_line(tmp_path: Path) -> None:
    # Found by the property test above: '' in secretNames also came back as an unknown key '' with
    # no line, because the check gave it a secret placeholder first.
    project(tmp_path)
    # A list parse_config refuses as a whole (None is no name) while the check read '' from it.
    edit(tmp_path, "primary", secretNames=[None, ""])
    problems = check_stacks(tmp_path).problems
    assert problems, "the bad list must be refused"
    assert "secretNames" in {p.key for p in problems}
    assert "" not in {p.key for p in problems}, [str(p) for p in problems]

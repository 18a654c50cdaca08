"""The audit trail against real local storage servers: moto (S3 with Object Lock), fake-gcs-server
and Azurite, and end to end through the `failover` CLI.

What each emulator enforces (measured by the tests below, moto 5.2, fake-gcs-server, Azurite 3):

- a second write of the same record (the create-only precondition the CLI sends) is refused by
  all three: moto 412 PreconditionFailed, fake-gcs-server 412, Azurite 409 BlobAlreadyExists;
- deleting a record under the bucket's lock is refused by moto (Object Lock COMPLIANCE: AccessDenied)
  only; fake-gcs-server ignores retention policies and Azurite does not implement immutability
  policies ("Current API is not implemented yet"), so both let a delete through.

So the bucket-level lock is proven on moto only; on GCS and Azure it rests on the component's
configuration (tests/components/test_audit_store.py) and the clouds' documented behaviour, and the hash chain
catches what an emulator lets through.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cutover.audit import (
    AuditBackend,
    AzureBackend,
    GcsBackend,
    RecordExistsError,
    S3Backend,
    append_record,
    encode,
    read_chain,
    record_key,
)
from cutover.errors import ExitCode
from tests.cutover.cutover_support import Sides, run
from tests.cutover.cutover_support import sides as sides  # noqa: PLC0414 (pytest fixture)
from tests.dns_server import powerdns as powerdns  # noqa: PLC0414 (pytest fixture)
from tests.emulators import (
    AZURITE_ACCOUNT,
    Emulator,
    azure_service_client,
    gcs_client,
    s3_client,
    unique_bucket_name,
)
from tests.emulators import azurite as azurite  # noqa: PLC0414 (pytest fixture)
from tests.emulators import fake_gcs as fake_gcs  # noqa: PLC0414 (pytest fixture)
from tests.emulators import moto_s3 as moto_s3  # noqa: PLC0414 (pytest fixture)

# A three-step plan: the records below count its steps (the CLI default is 5,25,50,100).
EXECUTE = (
    "execute",
    "--to",
    "standby",
    "--steps",
    "10,50,100",
    "--yes",
    "--soak-seconds",
    "0",
    "--skip-store-parity",
)


def locked_s3_bucket(moto: Emulator) -> str:
    """An S3 bucket as components/audit/aws.py configures it: Object Lock, COMPLIANCE, 1 day."""
    name = unique_bucket_name("audit")
    client = s3_client(moto)
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    client.put_object_lock_configuration(
        Bucket=name,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    return name


def gcs_bucket(emulator: Emulator) -> str:
    name = unique_bucket_name("audit")
    gcs_client(emulator).create_bucket(name)
    return name


def azure_container(emulator: Emulator) -> str:
    name = unique_bucket_name("audit")
    azure_service_client(emulator).create_container(name)
    return name


@dataclass
class Store:
    cloud: str
    descriptor: dict[str, Any]
    endpoint: str

    def backend(self) -> AuditBackend:
        return {"aws": S3Backend, "gcp": GcsBackend, "azure": AzureBackend}[self.cloud](
            self.descriptor, self.endpoint
        )


@pytest.fixture(params=["aws", "gcp", "azure"])
def store(request: pytest.FixtureRequest) -> Store:
    cloud = request.param
    if cloud == "aws":
        moto: Emulator = request.getfixturevalue("moto_s3")
        return Store(
            "aws",
            {"cloud": "aws", "bucket": locked_s3_bucket(moto), "region": "us-east-1"},
            moto.endpoint_url,
        )
    if cloud == "gcp":
        emulator: Emulator = request.getfixturevalue("fake_gcs")
        return Store("gcp", {"cloud": "gcp", "bucket": gcs_bucket(emulator)}, emulator.endpoint_url)
    emulator = request.getfixturevalue("azurite")
    return Store(
        "azure",
        {
            "cloud": "azure",
            "bucket": azure_container(emulator),
            "account": AZURITE_ACCOUNT,
            "retentionDays": 1,
        },
        emulator.endpoint_url,
    )


def test_records_chain_in_order_and_verify(store: Store) -> None:
    backend = store.backend()
    for n in range(3):
        assert append_record(backend, {"event": "step", "step": f"s{n}"}) == n + 1

    report = read_chain(backend)

    assert report.ok, report.problems
    assert [r["seq"] for r in report.records] == [1, 2, 3]
    assert report.records[0]["prev_sha256"] is None
    assert all(r["prev_sha256"] for r in report.records[1:])


def test_a_second_write_of_the_same_record_is_refused_by_the_emulator(store: Store) -> None:
    backend = store.backend()
    append_record(backend, {"event": "first"})

    with pytest.raises(RecordExistsError):
        backend.create(record_key(1), encode({"seq": 1, "event": {"forged": True}}))

    assert json.loads(backend.read(record_key(1)))["event"]["event"] == "first"


def test_moto_object_lock_refuses_deleting_a_record_version(moto_s3: Emulator) -> None:
    bucket = locked_s3_bucket(moto_s3)
    backend = S3Backend({"cloud": "aws", "bucket": bucket}, moto_s3.endpoint_url)
    append_record(backend, {"event": "x"})
    client = s3_client(moto_s3)
    head = client.head_object(Bucket=bucket, Key=record_key(1))
    assert head["ObjectLockMode"] == "COMPLIANCE"

    with pytest.raises(client.exceptions.ClientError, match="AccessDenied"):
        client.delete_object(Bucket=bucket, Key=record_key(1), VersionId=head["VersionId"])


def test_on_s3_even_the_newest_record_cannot_be_edited_or_deleted_unnoticed(moto_s3: Emulator) -> None:
    bucket = locked_s3_bucket(moto_s3)
    backend = S3Backend({"cloud": "aws", "bucket": bucket}, moto_s3.endpoint_url)
    for n in range(3):
        append_record(backend, {"n": n})
    client = s3_client(moto_s3)
    client.put_object(Bucket=bucket, Key=record_key(3), Body=b'{"forged": true}')  # a new version
    client.delete_object(Bucket=bucket, Key=record_key(2))  # a delete marker; the version stays

    problems = read_chain(backend).problems

    assert f"{record_key(3)} has 2 versions: it was overwritten" in problems
    assert f"{record_key(2)} has a delete marker: it was deleted (the locked version remains)" in problems


def test_fake_gcs_and_azurite_do_not_enforce_bucket_locks_so_the_chain_catches_deletes(
    fake_gcs: Emulator, azurite: Emulator
) -> None:
    # Documented emulator limits (see the module docstring): deleting a record goes through there,
    # and `read_chain` is what notices.
    gcs = GcsBackend({"cloud": "gcp", "bucket": gcs_bucket(fake_gcs)}, fake_gcs.endpoint_url)
    for n in range(3):
        append_record(gcs, {"n": n})
    gcs.bucket.blob(record_key(2)).delete()
    assert read_chain(gcs).problems == ["records 2..2 are missing before record 3 (deleted?)"]

    container = azure_container(azurite)
    blob = AzureBackend(
        {"cloud": "azure", "bucket": container, "account": AZURITE_ACCOUNT}, azurite.endpoint_url
    )
    for n in range(3):
        append_record(blob, {"n": n})
    blob.container.upload_blob(record_key(1), encode({"seq": 1, "event": {"edited": True}}), overwrite=True)
    assert read_chain(blob).problems == ["record 2 does not chain to record 1: record 1 was edited"]


class RacingBackend:
    """Another operator appends between our listing and our write, once."""

    def __init__(self, inner: AuditBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.raced = False

    def list_keys(self) -> list[str]:
        return self.inner.list_keys()

    def read(self, key: str) -> bytes:
        return self.inner.read(key)

    def create(self, key: str, body: bytes) -> None:
        if not self.raced:
            self.raced = True
            append_record(self.inner, {"event": "the other operator"})
        self.inner.create(key, body)


def test_two_operators_appending_at_once_both_land_in_one_chain(moto_s3: Emulator) -> None:
    inner = S3Backend({"cloud": "aws", "bucket": locked_s3_bucket(moto_s3)}, moto_s3.endpoint_url)
    append_record(inner, {"event": "first"})

    assert append_record(RacingBackend(inner), {"event": "ours"}) == 3

    report = read_chain(inner)
    assert report.ok
    assert [r["event"]["event"] for r in report.records] == ["first", "the other operator", "ours"]


# --- end to end through the CLI -------------------------------------------------------------------


@pytest.fixture
def audited(
    sides: Sides, moto_s3: Emulator, fake_gcs: Emulator
) -> Iterator[tuple[Sides, list[str], Store, Store]]:
    """The simulated stacks export auditStore outputs on moto (primary, aws) and fake-gcs (standby)."""
    primary = Store(
        "aws",
        {"cloud": "aws", "bucket": locked_s3_bucket(moto_s3), "region": "us-east-1"},
        moto_s3.endpoint_url,
    )
    standby = Store("gcp", {"cloud": "gcp", "bucket": gcs_bucket(fake_gcs)}, fake_gcs.endpoint_url)
    sides.stacks.extra_outputs["primary"] = {"auditStore": primary.descriptor, "cloud": "aws"}
    sides.stacks.extra_outputs["standby"] = {"auditStore": standby.descriptor, "cloud": "gcp"}
    endpoints = ["--primary-store-endpoint", primary.endpoint, "--standby-store-endpoint", standby.endpoint]
    yield sides, endpoints, primary, standby


def test_execute_writes_who_why_and_every_step_to_both_stacks_audit_stores(
    audited: tuple[Sides, list[str], Store, Store], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sides, endpoints, primary, standby = audited

    code = run(
        sides, tmp_path / "j.json", *endpoints, *EXECUTE, "--reason", "primary outage", "--ticket", "INC-42"
    )

    assert code == ExitCode.OK
    for store in (primary, standby):
        report = read_chain(store.backend())
        assert report.ok
        events = [r["event"] for r in report.records]
        assert events[0]["event"] == "run-started"
        assert [e["step"] for e in events if e["event"] == "step"] == [
            "precheck", "scale-up", "routing", "shift-10", "shift-50", "shift-100", "demote"
        ]  # fmt: skip
        assert events[-1]["event"] == "run-finished" and events[-1]["outcome"] == "completed"
        assert all(e["reason"] == "primary outage" and e["ticket"] == "INC-42" for e in events)
        assert all(e["command"] == "execute" and e["run_id"] == events[0]["run_id"] for e in events)
        step = next(e for e in events if e.get("step") == "shift-100")
        assert step["outcome"] == "completed" and step["started_at"] <= step["finished_at"]
        operator = events[0]["operator"]
        assert "@" in operator["os_user"]
        assert operator["cloud_identities"]["aws"].startswith("arn:aws:sts::")  # moto's STS answered
    capsys.readouterr()

    assert (
        run(sides, tmp_path / "j.json", *endpoints, "audit", "--verify", "--command", "execute")
        == ExitCode.OK
    )
    out = capsys.readouterr().out
    assert "audit chain intact: primary 9 records, standby 9 records" in out
    assert "shift-100" in out and "primary outage" in out

    run_id = read_chain(primary.backend()).records[0]["event"]["run_id"]
    assert run(sides, tmp_path / "j.json", *endpoints, "audit", "--format", "csv", "--run", run_id) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith(
        "stack,seq,recorded_at,command,run_id,event,step,outcome,operator,reason,ticket"
    )
    assert len(rows) == 1 + 2 * 9 and all(f",{run_id}," in row for row in rows[1:])
    assert (
        run(sides, tmp_path / "j.json", *endpoints, "audit", "--format", "csv", "--since", "2999-01-01") == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_state_changing_commands_refuse_to_run_without_a_reason(sides: Sides, tmp_path: Path) -> None:
    from cutover import cli

    argv = sides.argv(*EXECUTE, journal=tmp_path / "j.json")
    argv.remove("--reason")
    argv.remove("test run")

    assert cli.run(argv, ops=sides.stacks) == ExitCode.USAGE
    assert sides.stacks.calls == []


def test_an_unreachable_audit_store_is_reported_and_the_run_goes_on(
    audited: tuple[Sides, list[str], Store, Store], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sides, endpoints, primary, _ = audited
    endpoints[3] = "http://127.0.0.1:9"  # the standby cloud's storage is down

    code = run(sides, tmp_path / "j.json", *endpoints, *EXECUTE, "--reason", "drill")

    assert code == ExitCode.OK
    assert "warning: audit record not written to stack standby" in capsys.readouterr().out
    assert len(read_chain(primary.backend()).records) == 9


def test_audit_verify_exits_7_when_a_record_was_deleted(
    audited: tuple[Sides, list[str], Store, Store], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sides, endpoints, _, standby = audited
    assert run(sides, tmp_path / "j.json", *endpoints, *EXECUTE, "--reason", "drill") == ExitCode.OK
    backend = standby.backend()
    assert isinstance(backend, GcsBackend)
    backend.bucket.blob(record_key(4)).delete()  # fake-gcs does not enforce the retention lock
    capsys.readouterr()

    code = run(sides, tmp_path / "j.json", *endpoints, "audit", "--verify")

    assert code == ExitCode.UNHEALTHY
    assert "standby: records 4..4 are missing before record 5 (deleted?)" in capsys.readouterr().err


DRILL = ("drill", "--yes", "--soak-seconds", "0", "--hold-seconds", "0", "--skip-store-parity")


def test_inventory_shows_both_stacks_and_the_last_completed_drill_from_the_audit_store(
    audited: tuple[Sides, list[str], Store, Store], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sides, endpoints, primary, _ = audited
    journal = tmp_path / "j.json"
    assert run(sides, journal, *endpoints, "inventory", "--format", "json") == ExitCode.OK
    before = json.loads(capsys.readouterr().out)
    assert [row["last_drill"] for row in before] == ["never (no completed drill in the audit store)"] * 2

    assert run(sides, journal, *endpoints, *DRILL, "--reason", "quarterly drill") == ExitCode.OK
    finished = [r["event"] for r in read_chain(primary.backend()).records][-1]
    assert finished["event"] == "run-finished" and finished["outcome"] == "completed"
    capsys.readouterr()

    assert run(sides, journal, *endpoints, "inventory", "--format", "json") == ExitCode.OK
    rows = json.loads(capsys.readouterr().out)
    assert [(r["stack"], r["role"], r["cloud"], r["region"]) for r in rows] == [
        ("primary", "primary", "aws", "us-east-1"),
        ("standby", "standby", "gcp", "us-central1"),
    ]
    assert rows[0]["last_drill"] == finished["recorded_at"]
    assert rows[0]["service"] == "api.example.com" and rows[0]["dns_authority"] == "Route 53"
    assert rows[1]["rpo"].startswith("no target; worst case 20 min")
    assert rows[0]["rto_target"].startswith("no target; detection 60s")

    for fmt in ("csv", "yaml", "table"):
        assert run(sides, journal, *endpoints, "inventory", "--format", fmt) == ExitCode.OK
        text = capsys.readouterr().out
        assert "us-central1" in text
    assert run(sides, journal, *endpoints, "inventory", "--format", "csv") == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("service,stack,role,cloud,region,cluster,gpu,model") and len(lines) == 3

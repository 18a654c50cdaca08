"""Failure injection for the run journal and its lock: each failure is a clear error, nothing is lost.

Writes fail the way the kernel fails them (an OSError with the real errno, raised where the
kernel raises it: creating the temp file, writing, fsync, rename); these tests run as root in CI,
where a chmod-ed directory would not stop a write, so a read-only directory is injected as EROFS.
After every failure the journal on disk is the last complete one and no temp file is left.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from cutover.errors import ExitCode, JournalConflict, JournalUnwritable, StackLocked
from cutover.journal import FORMAT_VERSION, Journal, RunSpec, run_lock, write_atomic
from cutover.plan import SIDES, StackState, plan_cutover
from tests.cutover.cutover_model import ModelStacks, shipped_cutover_config
from tests.cutover.test_cutover_properties import STACKS, ModelRunner

SPEC = RunSpec("execute", "standby", (50, 100), STACKS)


def new_journal(path: Path) -> Journal:
    states = {side: StackState(side, side, side) for side in SIDES}
    steps, _ = plan_cutover(states, "standby", SPEC.percents)
    return Journal.create(path, SPEC, steps, {s: st.to_dict() for s, st in states.items()})


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def failing(where: str, code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next call of `where` (a function the journal writer uses) fail with errno `code`."""
    module, name = where.rsplit(".", 1)
    target = {"os": os, "tempfile": __import__("tempfile")}[module]

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(target, name, fail)


@pytest.mark.parametrize(
    ("where", "code", "said"),
    [
        ("os.fsync", errno.ENOSPC, "No space left on device (ENOSPC)"),
        ("tempfile.mkstemp", errno.EROFS, "Read-only file system (EROFS)"),
        ("tempfile.mkstemp", errno.EACCES, "Permission denied (EACCES)"),
        ("os.replace", errno.EIO, "Input/output error (EIO)"),
    ],
    ids=["full-disk", "read-only-directory", "no-permission", "rename-fails"],
)
def test_a_failed_journal_write_is_a_clear_error_and_keeps_the_previous_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, code: int, said: str
) -> None:
    path = tmp_path / "j.json"
    journal = new_journal(path)
    before = path.read_text()
    failing(where, code, monkeypatch)

    with pytest.raises(JournalUnwritable) as caught:
        journal.action_done("scale-up#0")

    assert caught.value.message.startswith("cannot ")
    assert f"{path}: {said}" in caught.value.message
    assert "the journal on disk is the last complete one" in caught.value.message
    assert "`failover resume`" in caught.value.fix and str(tmp_path) in caught.value.fix
    assert caught.value.exit_code == ExitCode.ERROR
    monkeypatch.undo()
    assert path.read_text() == before
    assert leftovers(tmp_path) == []
    assert Journal.load(path) is not None


def test_a_full_disk_while_writing_the_bytes_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.json"
    write_atomic(path, "old\n")
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, text: str) -> int:
            self.handle.write(text[: len(text) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))

    with pytest.raises(JournalUnwritable, match="No space left on device"):
        write_atomic(path, "new content that does not fit\n")

    assert path.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_a_failed_journal_write_stops_the_run_and_resume_finishes_it_after_the_disk_is_freed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = {s: shipped_cutover_config(s) for s in SIDES}
    model = ModelStacks.deployed(shipped)
    clean = ModelStacks.deployed(shipped)
    clean_runner = ModelRunner(clean, tmp_path / "clean.json")
    clean_runner.run(clean_runner.open_run(SPEC, lambda: clean_runner.plan(SPEC))[0], resumed=False)
    runner = ModelRunner(model, tmp_path / "j.json")
    journal, _ = runner.open_run(SPEC, lambda: runner.plan(SPEC))
    real_write = write_atomic

    def disk_full_once_the_first_apply_is_done(path: Path, text: str) -> None:
        if "scale-up#1" not in json.loads(text)["done_actions"]:
            real_write(path, text)
            return
        with mock.patch("os.fsync", side_effect=OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))):
            real_write(path, text)

    monkeypatch.setattr("cutover.journal.write_atomic", disk_full_once_the_first_apply_is_done)
    with pytest.raises(JournalUnwritable, match="No space left on device"):
        runner.run(journal, resumed=False)

    assert model.calls == [("set", "standby", "capacity", "full"), ("up", "standby")]
    on_disk = Journal.load(journal.path)
    assert on_disk is not None and on_disk.status == "running"
    assert list(on_disk.done_actions) == ["scale-up#0"]
    assert on_disk.attempted_actions == ["scale-up#0", "scale-up#1"]

    monkeypatch.undo()
    ModelRunner(model, journal.path).run(on_disk, resumed=True)

    assert model.snapshot() == clean.snapshot()
    # The apply whose record was lost runs again (an apply is idempotent); nothing else repeats.
    assert model.calls == [("set", "standby", "capacity", "full"), ("up", "standby"), *clean.calls[1:]]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{\n", "is not valid JSON"),
        ("", "is not valid JSON"),
        ('[{"version": 1}]', "must hold a JSON object (got list)"),
        ('"running"', "must hold a JSON object (got str)"),
        ('{"version": 2}', "has format 2, expected version 1 (written by a newer failover)"),
        ('{"version": "1"}', "has format '1', expected version 1"),
        ("{}", "has format None, expected version 1"),
        ('{"version": 1, "run_id": "abc"}', "lacks or has malformed spec, status, plan, done_actions, steps"),
        (
            '{"version": 1, "run_id": 7, "spec": {}, "status": "running", "plan": [], "done_actions": {}, '
            '"steps": []}',
            "lacks or has malformed run_id, steps",
        ),
    ],
    ids=[
        "torn",
        "empty",
        "list",
        "string",
        "future-version",
        "version-as-text",
        "no-version",
        "missing-keys",
        "wrong-types",
    ],
)
def test_an_unusable_journal_is_refused_and_left_untouched(tmp_path: Path, content: str, said: str) -> None:
    path = tmp_path / "j.json"
    path.write_text(content)

    with pytest.raises(JournalConflict) as caught:
        Journal.load(path)

    assert said in caught.value.message
    assert str(path) in caught.value.message
    if "newer" not in said:
        assert caught.value.fix == (
            f"inspect it; if no run is in progress, move it away (mv {path} {path}.bad) and start again"
        )
    assert path.read_text() == content


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2", "has format 2, expected version 1 (written by a newer failover)"),
        ('"2"', "has format '2', expected version 1"),
        ("0", "has format 0, expected version 1"),
        ("true", "has format True, expected version 1"),
        ("null", "has format None, expected version 1"),
    ],
)
def test_the_version_message_says_newer_only_for_a_higher_number(
    tmp_path: Path, version: str, message: str
) -> None:
    path = tmp_path / "j.json"
    path.write_text(f'{{"version": {version}}}')

    with pytest.raises(JournalConflict) as caught:
        Journal.load(path)

    assert caught.value.message == f"journal {path} {message}"
    newer = "newer" in message
    assert (caught.value.fix == "upgrade failover to the version that wrote it") is newer


def test_a_rename_reported_as_failed_after_it_happened_is_still_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def renamed_then_failed(src: Any, dst: Any) -> None:  # as NFS can report a retried rename
        real_replace(src, dst)
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "replace", renamed_then_failed)
    path = tmp_path / "j.json"

    with pytest.raises(JournalUnwritable, match="Input/output error"):
        write_atomic(path, "new\n")

    assert leftovers(tmp_path) == []


def test_a_torn_journal_from_a_crash_mid_write_is_refused_by_a_new_run_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "j.json"
    full = new_journal(path)
    full.action_done("scale-up#0")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # what a non-atomic writer would leave behind
    model = ModelStacks.deployed({s: shipped_cutover_config(s) for s in SIDES})

    with pytest.raises(JournalConflict, match="is not valid JSON") as caught:
        ModelRunner(model, path).open_run(SPEC, lambda: [])

    assert f"mv {path} {path}.bad" in caught.value.fix
    assert path.read_text() == text[: len(text) // 2]
    assert model.calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.json"]


def test_a_future_version_says_to_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "j.json"
    data = json.loads(json.dumps(new_journal(path).data))
    data["version"] = FORMAT_VERSION + 1
    path.write_text(json.dumps(data))

    with pytest.raises(JournalConflict) as caught:
        Journal.load(path)

    assert caught.value.fix == "upgrade failover to the version that wrote it"


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "j.json"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], check=True, capture_output=True, text=True
    )
    (tmp_path / "j.json.lock").write_text(dead.stdout.strip() + " (a dead run, longer than any pid)")

    with run_lock(path):
        assert (tmp_path / "j.json.lock").read_text().startswith(f"pid {os.getpid()}, user ")


def test_a_lock_held_by_a_live_process_is_refused_naming_its_pid(tmp_path: Path) -> None:
    path = tmp_path / "j.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"f = open({str(path) + '.lock'!r}, 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
            "f.seek(0); f.truncate(); f.write(str(os.getpid())); f.flush()\n"
            "print('locked', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(StackLocked) as caught, run_lock(path):
            pass
        assert caught.value.message == f"another failover run holds {path}.lock ({holder.pid})"
        assert "`failover resume`" in caught.value.fix
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    with run_lock(path):  # released with its holder
        pass


def test_a_lock_in_a_read_only_directory_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(self: Path, *args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(Path, "open", read_only)

    with (
        pytest.raises(
            JournalUnwritable, match=r"cannot open the run lock .*j.json.lock: Read-only file system"
        ),
        run_lock(tmp_path / "j.json"),
    ):
        pass


def test_archiving_a_finished_journal_that_cannot_be_moved_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.json"
    journal = new_journal(path)
    journal.set_status("completed")
    failing("os.replace", errno.EXDEV, monkeypatch)

    with pytest.raises(JournalUnwritable, match="cannot archive the finished journal"):
        journal.archive()

    monkeypatch.undo()
    assert (Journal.load(path) or journal).status == "completed"


def test_each_step_keeps_its_verification_in_the_journal(tmp_path: Path) -> None:
    model = ModelStacks.deployed({s: shipped_cutover_config(s) for s in SIDES})
    runner = ModelRunner(model, tmp_path / "j.json")
    journal, _ = runner.open_run(SPEC, lambda: runner.plan(SPEC))
    runner.run(journal, resumed=False)

    on_disk = Journal.load(journal.path)
    assert on_disk is not None
    assert on_disk.completed_step_ids() == [s.id for s in on_disk.plan]
    shift = on_disk.step_record("shift-50")
    assert shift["verification"] == {
        "checks": [{"name": "model", "ok": True, "detail": "served {'primary': 50, 'standby': 50}"}]
    }
    assert shift["started_at"] <= shift["completed_at"]
    assert on_disk.data["action_details"]["shift-50#1"]["result"] == "succeeded"
    assert "in_flight" not in on_disk.data


# --- what the journal records, read back ---------------------------------------------------------


def test_a_write_is_fsynced_file_then_directory_through_a_hidden_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stat

    synced: list[str] = []
    renamed: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        renamed.append((Path(src).name, str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    path = tmp_path / "deeper" / "still" / "j.json"

    write_atomic(path, "one\n")
    write_atomic(path, "two\n")

    assert path.read_text() == "two\n"
    assert synced == ["file", "dir", "file", "dir"]
    assert [dst for _, dst in renamed] == [str(path), str(path)]
    assert all(src.startswith(".j.json.") and src.endswith(".tmp") for src, _ in renamed)


def test_a_new_journal_holds_the_run_and_nothing_done(tmp_path: Path) -> None:
    import re

    path = tmp_path / "j.json"
    journal = new_journal(path)

    data = json.loads(path.read_text())
    assert data["version"] == FORMAT_VERSION == 1
    assert re.fullmatch(r"[0-9a-f]{12}", data["run_id"]) and journal.run_id == data["run_id"]
    assert data["status"] == "running" and journal.status == "running"
    assert data["spec"] == {
        "command": "execute",
        "to": "standby",
        "percents": [50, 100],
        "stacks": {"primary": "primary", "standby": "standby"},
    }
    assert journal.spec == SPEC
    assert data["done_actions"] == {} and data["steps"] == {}
    assert data["failure"] is None and data["rollback"] is None
    assert data["options"] == {} and journal.options == {}
    assert data["states_before"]["standby"]["capacity"] == "warm"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", data["created_at"])
    assert [s.id for s in journal.plan] == [s["id"] for s in data["plan"]]
    assert journal.rollback_plan is None and journal.rollback_done == {}
    assert path.read_text().startswith('{\n  "version": 1,') and path.read_text().endswith("}\n")


def test_options_are_kept_for_resume(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path / "j.json", SPEC, [], {}, {"soak_seconds": 5.0})
    assert (Journal.load(journal.path) or journal).options == {"soak_seconds": 5.0}


def test_steps_record_start_completion_and_verification(tmp_path: Path) -> None:
    journal = new_journal(tmp_path / "j.json")

    journal.step_started("precheck")
    first = journal.step_record("precheck")["started_at"]
    journal.step_started("precheck")
    journal.step_completed("precheck", {"checks": []})
    journal.step_completed("scale-up")

    on_disk = Journal.load(journal.path)
    assert on_disk is not None
    assert on_disk.step_record("precheck")["started_at"] == first
    assert on_disk.step_record("precheck")["verification"] == {"checks": []}
    assert "verification" not in on_disk.step_record("scale-up")
    assert on_disk.step_record("scale-up")["started_at"] <= on_disk.step_record("scale-up")["completed_at"]
    assert on_disk.completed_step_ids() == ["precheck", "scale-up"]
    assert on_disk.is_step_completed("scale-up") and not on_disk.is_step_completed("routing")
    assert on_disk.step_record("routing") == {}


def test_actions_record_details_and_what_is_in_flight(tmp_path: Path) -> None:
    journal = new_journal(tmp_path / "j.json")

    journal.action_started("scale-up#0")
    assert (Journal.load(journal.path) or journal).attempted_actions == ["scale-up#0"]
    journal.action_done("scale-up#0")
    journal.action_started("scale-up#1")
    journal.action_done("scale-up#1", {"result": "succeeded"})

    on_disk = Journal.load(journal.path)
    assert on_disk is not None
    assert list(on_disk.done_actions) == ["scale-up#0", "scale-up#1"]
    assert on_disk.attempted_actions == ["scale-up#0", "scale-up#1"]
    assert on_disk.data["action_details"] == {"scale-up#1": {"result": "succeeded"}}


def test_status_failure_and_rollback_progress_are_recorded(tmp_path: Path) -> None:
    journal = new_journal(tmp_path / "j.json")
    undo = journal.plan[1:2]

    journal.set_status("running", {"step": "shift-50", "reason": "dns"})
    journal.start_rollback(undo, "verification failed")
    journal.rollback_action_done("scale-up#0")
    journal.start_rollback(journal.plan, "again")  # a resumed rollback keeps its first plan

    on_disk = Journal.load(journal.path)
    assert on_disk is not None
    assert on_disk.status == "rolling-back"
    assert on_disk.data["failure"] == {"step": "shift-50", "reason": "dns"}
    assert on_disk.data["rollback"]["reason"] == "verification failed"
    assert [s.id for s in on_disk.rollback_plan or []] == [undo[0].id]
    assert list(on_disk.rollback_done) == ["scale-up#0"]
    on_disk.rollback_finished()
    final = Journal.load(journal.path)
    assert final is not None and final.status == "rolled-back"
    assert "completed_at" in final.data["rollback"]
    final.set_status("aborted")
    assert (Journal.load(journal.path) or final).data["failure"] == {"step": "shift-50", "reason": "dns"}


def test_a_finished_journal_is_archived_under_its_run_id(tmp_path: Path) -> None:
    journal = new_journal(tmp_path / "j.json")
    journal.set_status("completed")

    target = journal.archive()

    assert target == tmp_path / f"j.{journal.run_id}.json"
    assert not journal.path.exists()
    assert (Journal.load(target) or journal).status == "completed"


def test_run_spec_describes_itself_for_errors() -> None:
    assert SPEC.describe() == "execute --to standby --steps 50,100 (primary=primary, standby=standby)"
    drill = RunSpec("drill", "standby", (10, 100), {"primary": "p", "standby": "s"})
    assert drill.describe() == "drill (steps 10,100; primary=p, standby=s)"
    assert RunSpec.from_dict(json.loads(json.dumps(drill.to_dict()))) == drill
    rotation = RunSpec("rotate-key", "", (), {"primary": "p", "standby": "s"})
    assert rotation.describe() == "rotate-key (primary=p, standby=s)"


@pytest.mark.parametrize("error", [KeyError("no passwd entry"), OSError("no login name")])
def test_the_lock_names_an_unknown_user_when_the_os_has_none(error: Exception) -> None:
    from cutover.journal import _os_user

    with mock.patch("getpass.getuser", side_effect=error):
        assert _os_user() == "unknown"
    with mock.patch("getpass.getuser", return_value="ops"):
        assert _os_user() == "ops"


def test_an_unreadable_journal_is_a_clear_conflict(tmp_path: Path) -> None:
    (tmp_path / "j.json").mkdir()
    with pytest.raises(JournalConflict, match=r"journal .*j.json cannot be read"):
        Journal.load(tmp_path / "j.json")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(JournalConflict, match="cannot be read"):
        Journal.load(tmp_path / "b.json")


def test_require_journal_says_how_to_start_a_run(tmp_path: Path) -> None:
    from cutover.errors import UsageError
    from cutover.journal import require_journal

    with pytest.raises(UsageError) as caught:
        require_journal(tmp_path / "none.json", "resume")
    assert caught.value.message == f"no journal at {tmp_path / 'none.json'}, so there is no run to resume"
    assert "--journal FILE" in caught.value.fix
    new_journal(tmp_path / "j.json")
    assert require_journal(tmp_path / "j.json", "resume").status == "running"


def test_the_write_error_names_path_reason_errno_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.json"
    failing("os.fsync", errno.ENOSPC, monkeypatch)

    with pytest.raises(JournalUnwritable) as caught:
        write_atomic(path, "{}")

    assert caught.value.message == (
        f"cannot write {path}: No space left on device (ENOSPC); the run stopped before its next stack "
        "change and the journal on disk is the last complete one"
    )
    assert caught.value.fix == (
        f"free space on or make {tmp_path} writable (or move the journal there with --journal FILE), "
        "then `failover resume` continues where it stopped"
    )
    assert isinstance(caught.value.__cause__, OSError)


def test_an_error_without_an_errno_still_reads_well(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def odd(*args: Any, **kwargs: Any) -> Any:
        raise OSError("device went away")

    monkeypatch.setattr(os, "replace", odd)
    with pytest.raises(JournalUnwritable) as caught:
        write_atomic(tmp_path / "j.json", "{}")
    assert caught.value.message.startswith(f"cannot write {tmp_path / 'j.json'}: device went away; the run")


def test_a_directory_that_cannot_be_synced_is_reported_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stat

    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    path = tmp_path / "j.json"

    with pytest.raises(JournalUnwritable) as caught:
        write_atomic(path, "new\n")

    assert caught.value.message.startswith(
        f"cannot make durable the directory entry of {path}: Input/output error (EIO);"
    )
    assert path.read_text() == "new\n"
    assert leftovers(tmp_path) == []


def test_the_temp_file_is_written_beside_the_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources: list[Path] = []
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        sources.append(Path(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    write_atomic(tmp_path / "j.json", "x")
    assert [s.parent for s in sources] == [tmp_path]


def test_every_save_stamps_the_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = new_journal(tmp_path / "j.json")
    monkeypatch.setattr("cutover.journal.now_iso", lambda: "2030-01-01T00:00:00.000+00:00")

    journal.save()

    assert json.loads(journal.path.read_text())["updated_at"] == "2030-01-01T00:00:00.000+00:00"


def test_every_record_carries_its_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stamp = "2030-01-01T00:00:00.000+00:00"
    monkeypatch.setattr("cutover.journal.now_iso", lambda: stamp)
    journal = new_journal(tmp_path / "j.json")

    journal.action_done("scale-up#0")
    journal.start_rollback([], "test")
    journal.rollback_action_done("undo#0")
    journal.rollback_finished()

    data = json.loads(journal.path.read_text())
    assert (data["created_at"], data["updated_at"]) == (stamp, stamp)
    assert data["done_actions"] == {"scale-up#0": stamp}
    assert data["rollback"] == {
        "reason": "test",
        "started_at": stamp,
        "plan": [],
        "done_actions": {"undo#0": stamp},
        "completed_at": stamp,
    }


def test_require_journal_fix_names_both_ways_on(tmp_path: Path) -> None:
    from cutover.errors import UsageError
    from cutover.journal import require_journal

    with pytest.raises(UsageError) as caught:
        require_journal(tmp_path / "none.json", "roll back")
    assert caught.value.fix == (
        "pass --journal FILE if the run used another file, or start one with `failover execute --to ...`"
    )


def test_a_new_journal_holds_exactly_these_keys(tmp_path: Path) -> None:
    data = json.loads(new_journal(tmp_path / "j.json").path.read_text())
    assert list(data) == [
        "version",
        "run_id",
        "spec",
        "status",
        "created_at",
        "updated_at",
        "states_before",
        "options",
        "plan",
        "done_actions",
        "steps",
        "failure",
        "rollback",
    ]


def test_a_temp_file_that_cannot_be_created_is_named_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing("tempfile.mkstemp", errno.EROFS, monkeypatch)
    with pytest.raises(JournalUnwritable) as caught:
        write_atomic(tmp_path / "j.json", "{}")
    assert caught.value.message.startswith(
        f"cannot create a temporary file beside {tmp_path / 'j.json'}: Read-only file system (EROFS); "
    )


def test_an_unreadable_journal_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "j.json"
    path.mkdir()
    with pytest.raises(JournalConflict) as caught:
        Journal.load(path)
    assert caught.value.fix == (
        f"inspect it; if no run is in progress, move it away (mv {path} {path}.bad) and start again"
    )

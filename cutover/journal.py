"""The run journal: what a cutover planned, what it has done, and what undoing it takes.

One JSON file (default `.cutover-journal.json` in the project root), rewritten atomically (temp
file, fsync, rename, fsync of the directory) after every action, so a run killed at any point
resumes from the first action not recorded and never repeats one that is. It holds the run id and
what identifies the run (command, direction, steps, stacks), the plan with every change's previous
value, the completed actions and steps with timestamps, and, once a rollback starts, the rollback
plan and its progress.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from cutover.errors import JournalConflict, StackLocked, UsageError
from cutover.plan import Step

FORMAT_VERSION = 1
DEFAULT_NAME = ".cutover-journal.json"
Status = Literal["running", "completed", "rolling-back", "rolled-back", "aborted"]
FINISHED: frozenset[str] = frozenset({"completed", "rolled-back", "aborted"})


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class RunSpec:
    """What identifies a run: the same spec resumes, a different one conflicts."""

    command: Literal["execute", "drill", "rotate-key"]
    to: str
    percents: tuple[int, ...]
    stacks: Mapping[str, str]
    """side -> stack name."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "to": self.to,
            "percents": list(self.percents),
            "stacks": dict(self.stacks),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> RunSpec:
        return RunSpec(
            data["command"], data["to"], tuple(int(p) for p in data["percents"]), dict(data["stacks"])
        )

    def describe(self) -> str:
        steps = ",".join(str(p) for p in self.percents)
        stacks = ", ".join(f"{side}={name}" for side, name in self.stacks.items())
        if self.command == "drill":
            return f"drill (steps {steps}; {stacks})"
        if self.command == "rotate-key":
            return f"rotate-key ({stacks})"
        return f"execute --to {self.to} --steps {steps} ({stacks})"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Journal:
    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    # --- lifecycle -------------------------------------------------------------------------

    @staticmethod
    def load(path: Path) -> Journal | None:
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        fix = f"inspect it; if no run is in progress, move it away (mv {path} {path}.bad) and start again"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise JournalConflict(f"journal {path} is not valid JSON ({exc})", fix) from None
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            got = data.get("version") if isinstance(data, dict) else type(data).__name__
            raise JournalConflict(
                f"journal {path} has format {got!r}, expected version {FORMAT_VERSION}", fix
            )
        return Journal(path, data)

    @staticmethod
    def create(
        path: Path,
        spec: RunSpec,
        plan: Sequence[Step],
        states: Mapping[str, Any],
        options: Mapping[str, Any] | None = None,
    ) -> Journal:
        journal = Journal(
            path,
            {
                "version": FORMAT_VERSION,
                "run_id": uuid.uuid4().hex[:12],
                "spec": spec.to_dict(),
                "status": "running",
                "created_at": now_iso(),
                "updated_at": now_iso(),
                "states_before": dict(states),
                "options": dict(options or {}),
                "plan": [step.to_dict() for step in plan],
                "done_actions": {},
                "steps": {},
                "failure": None,
                "rollback": None,
            },
        )
        journal.save()
        return journal

    def save(self) -> None:
        self.data["updated_at"] = now_iso()
        write_atomic(self.path, json.dumps(self.data, indent=2, sort_keys=False) + "\n")

    def archive(self) -> Path:
        """Move a finished journal aside (kept as history) so a new run can start."""
        target = self.path.with_name(f"{self.path.name.removesuffix('.json')}.{self.run_id}.json")
        os.replace(self.path, target)
        return target

    # --- reading ---------------------------------------------------------------------------

    @property
    def run_id(self) -> str:
        return str(self.data["run_id"])

    @property
    def spec(self) -> RunSpec:
        return RunSpec.from_dict(self.data["spec"])

    @property
    def status(self) -> Status:
        return cast(Status, self.data["status"])

    @property
    def options(self) -> dict[str, Any]:
        """Run options (soak, parity skip) that `failover resume` carries on with."""
        return cast(dict[str, Any], self.data.get("options") or {})

    @property
    def plan(self) -> list[Step]:
        return [Step.from_dict(step) for step in self.data["plan"]]

    @property
    def done_actions(self) -> dict[str, str]:
        return cast(dict[str, str], self.data["done_actions"])

    def step_record(self, step_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.data["steps"].get(step_id, {}))

    def is_step_completed(self, step_id: str) -> bool:
        return "completed_at" in self.step_record(step_id)

    def completed_step_ids(self) -> list[str]:
        return [s["id"] for s in self.data["plan"] if self.is_step_completed(s["id"])]

    @property
    def rollback_plan(self) -> list[Step] | None:
        rollback = self.data.get("rollback")
        if not rollback:
            return None
        return [Step.from_dict(step) for step in rollback["plan"]]

    @property
    def rollback_done(self) -> dict[str, str]:
        rollback = self.data.get("rollback") or {}
        return cast(dict[str, str], rollback.get("done_actions", {}))

    # --- recording (each call is durable before it returns) ---------------------------------

    def step_started(self, step_id: str) -> None:
        record = self.data["steps"].setdefault(step_id, {})
        if "started_at" not in record:
            record["started_at"] = now_iso()
            self.save()

    def action_done(self, action_id: str, detail: Mapping[str, Any] | None = None) -> None:
        self.done_actions[action_id] = now_iso()
        if detail:
            self.data.setdefault("action_details", {})[action_id] = dict(detail)
        self.save()

    def step_completed(self, step_id: str, verification: Mapping[str, Any] | None = None) -> None:
        record = self.data["steps"].setdefault(step_id, {})
        record.setdefault("started_at", now_iso())
        record["completed_at"] = now_iso()
        if verification is not None:
            record["verification"] = dict(verification)
        self.save()

    def set_status(self, status: Status, failure: Mapping[str, Any] | None = None) -> None:
        self.data["status"] = status
        if failure is not None:
            self.data["failure"] = dict(failure)
        self.save()

    def start_rollback(self, plan: Sequence[Step], reason: str) -> None:
        if not self.data.get("rollback"):
            self.data["rollback"] = {
                "reason": reason,
                "started_at": now_iso(),
                "plan": [step.to_dict() for step in plan],
                "done_actions": {},
            }
        self.data["status"] = "rolling-back"
        self.save()

    def rollback_action_done(self, action_id: str) -> None:
        self.data["rollback"]["done_actions"][action_id] = now_iso()
        self.save()

    def rollback_finished(self) -> None:
        self.data["rollback"]["completed_at"] = now_iso()
        self.data["status"] = "rolled-back"
        self.save()


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold `<journal>.lock` while changing stacks, so two runs on this machine never interleave.

    (Runs from different machines are kept apart by Pulumi's own per-stack update lock.)
    """
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "pid unknown"
            raise StackLocked(
                f"another failover run holds {lock_path} ({holder})",
                "wait for it to finish; `failover resume` is not the fix while it runs (it would wait on "
                "the same lock). If that process is gone for good, its journal lets `failover resume` "
                "continue its run",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, user {_os_user()}, since {now_iso()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def require_journal(path: Path, purpose: str) -> Journal:
    journal = Journal.load(path)
    if journal is None:
        raise UsageError(
            f"no journal at {path}, so there is no run to {purpose}",
            "pass --journal FILE if the run used another file, or start one with `failover execute --to ...`",
        )
    return journal

"""The thin layer between the cutover and Pulumi: read outputs and config, change config, apply.

`StackOps` is all the cutover needs from Pulumi. `AutomationStackOps` implements it with the
Pulumi Automation API on the project in `--workdir` (the real `pulumi up` of the real program);
`FileStackOps` is read-only, for when the pulumi CLI is missing or the state backend should not be
touched: outputs come from `pulumi stack output --json --show-secrets` files and config from the
`Pulumi.<stack>.yaml` files, which is where `pulumi config set` writes it.

Config keys here are un-namespaced (`trafficWeight`); the project namespace is added on the way
to Pulumi.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from cutover.errors import CutoverError, PulumiUnavailable, StackLocked, StackOperationFailed, UsageError

PROJECT = "inference-failover"
INSTALL_FIX = (
    "install the pulumi CLI (https://www.pulumi.com/docs/install/, e.g. "
    "`curl -fsSL https://get.pulumi.com | sh` and put ~/.pulumi/bin on PATH); read-only commands "
    "(status, plan, replication, --dry-run) also work without it given --primary-outputs and "
    "--standby-outputs files made with `pulumi stack output --json --show-secrets -s <stack> > FILE`"
)


@dataclass(frozen=True)
class ApplySummary:
    """What one `pulumi up` did."""

    stack: str
    result: str
    """succeeded / failed, as Pulumi reports it."""
    resource_changes: Mapping[str, int] = field(default_factory=dict)
    """Operation -> count, e.g. {"update": 2, "same": 40}."""
    duration_seconds: float = 0.0


class StackOps(Protocol):
    """Everything the cutover does to stacks. Implementations raise CutoverError subclasses."""

    @property
    def read_only(self) -> bool:
        """True when set_config/remove_config/up cannot work (and raise PulumiUnavailable)."""
        ...

    def outputs(self, stack: str) -> dict[str, Any]:
        """The stack's outputs, secrets in plain text."""
        ...

    def get_config(self, stack: str, key: str) -> str | None:
        """The stack's value for un-namespaced `key`, or None when the stack file does not set it."""
        ...

    def set_config(self, stack: str, key: str, value: str) -> None: ...

    def set_secret_config(self, stack: str, key: str, value: str) -> None:
        """`pulumi config set --secret`: the value is encrypted in the stack file, never printed."""
        ...

    def remove_config(self, stack: str, key: str) -> None: ...

    def up(self, stack: str) -> ApplySummary:
        """Apply the stack's current config (`pulumi up --yes --skip-preview`)."""
        ...


def pulumi_cli() -> str | None:
    return shutil.which("pulumi")


def require_pulumi_cli(purpose: str) -> str:
    found = pulumi_cli()
    if found is None:
        raise PulumiUnavailable(f"the pulumi CLI is not on PATH, and {purpose} needs it", INSTALL_FIX)
    return found


def stack_file(work_dir: Path, stack: str) -> Path:
    """Pulumi.<stack>.yaml for a stack name that may be qualified as org/stack or org/project/stack."""
    return work_dir / f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"


def _config_string(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def read_outputs_file(path: Path, stack: str) -> dict[str, Any]:
    fix = f"write it with `pulumi stack output --json --show-secrets -s {stack} > {path}`"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"outputs file {path} for stack '{stack}' does not exist", fix) from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"outputs file {path} for stack '{stack}' is not JSON ({exc})", fix) from None
    if not isinstance(data, dict):
        raise UsageError(
            f"outputs file {path} for stack '{stack}' must hold a JSON object of outputs "
            f"(got {type(data).__name__})",
            fix,
        )
    return data


class FileStackOps:
    """Read-only StackOps: outputs from JSON files, config from Pulumi.<stack>.yaml."""

    def __init__(self, work_dir: Path, outputs_files: Mapping[str, Path]) -> None:
        self.work_dir = work_dir
        self.outputs_files = dict(outputs_files)

    @property
    def read_only(self) -> bool:
        return True

    def outputs(self, stack: str) -> dict[str, Any]:
        path = self.outputs_files.get(stack)
        if path is None:
            raise PulumiUnavailable(
                f"no outputs file was given for stack '{stack}', and no pulumi CLI on PATH to read them",
                INSTALL_FIX,
            )
        return read_outputs_file(path, stack)

    def get_config(self, stack: str, key: str) -> str | None:
        path = stack_file(self.work_dir, stack)
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except FileNotFoundError:
            raise UsageError(
                f"stack file {path} does not exist (stack '{stack}')",
                "run from the project root or pass --workdir, and check --primary-stack/--standby-stack",
            ) from None
        config = doc.get("config") or {}
        value = config.get(f"{PROJECT}:{key}", config.get(key))
        if value is None or (isinstance(value, dict) and "secure" in value):
            return None
        return _config_string(value)

    def _refuse(self, stack: str, what: str) -> PulumiUnavailable:
        return PulumiUnavailable(
            f"cannot {what} on stack '{stack}': the pulumi CLI is not on PATH", INSTALL_FIX
        )

    def set_config(self, stack: str, key: str, value: str) -> None:
        raise self._refuse(stack, f"set {key}")

    def set_secret_config(self, stack: str, key: str, value: str) -> None:
        raise self._refuse(stack, f"set {key}")

    def remove_config(self, stack: str, key: str) -> None:
        raise self._refuse(stack, f"remove {key}")

    def up(self, stack: str) -> ApplySummary:
        raise self._refuse(stack, "run `pulumi up`")


class AutomationStackOps:
    """StackOps over the Pulumi Automation API on the local program in `work_dir`.

    Outputs come from `outputs_files` for stacks that have one (handy when the state backend is
    slow during an incident); everything else goes through the pulumi CLI.
    """

    def __init__(
        self,
        work_dir: Path,
        outputs_files: Mapping[str, Path] | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> None:
        require_pulumi_cli("changing and applying stack config through the Automation API")
        if not (work_dir / "Pulumi.yaml").exists():
            raise UsageError(
                f"{work_dir} has no Pulumi.yaml", "run from the project root or pass --workdir <project root>"
            )
        self.work_dir = work_dir
        self.outputs_files = dict(outputs_files or {})
        self.on_output = on_output
        self._stacks: dict[str, Any] = {}

    @property
    def read_only(self) -> bool:
        return False

    def _stack(self, name: str) -> Any:
        from pulumi import automation as auto

        if name not in self._stacks:
            try:
                self._stacks[name] = auto.select_stack(stack_name=name, work_dir=str(self.work_dir))
            except auto.StackNotFoundError:
                raise StackOperationFailed(
                    f"stack '{name}' does not exist in the Pulumi backend of {self.work_dir}",
                    "check `pulumi stack ls` (and `pulumi login` to the right backend), or pass "
                    "--primary-stack/--standby-stack with the right name",
                ) from None
            except auto.CommandError as exc:
                raise classify_failure(exc, name, f"pulumi stack select {name}", READ_FIX) from exc
        return self._stacks[name]

    def _call(self, stack: str, command: str, fn: Callable[[], Any], fix: str) -> Any:
        """Run one Automation API call; a failure becomes the CutoverError its text means."""
        from pulumi import automation as auto

        try:
            return fn()
        except auto.CommandError as exc:
            raise classify_failure(exc, stack, command, fix) from exc

    def outputs(self, stack: str) -> dict[str, Any]:
        if stack in self.outputs_files:
            return read_outputs_file(self.outputs_files[stack], stack)
        found = self._call(
            stack, f"pulumi stack output -s {stack}", lambda: self._stack(stack).outputs(), READ_FIX
        )
        return {key: out.value for key, out in found.items()}

    def get_config(self, stack: str, key: str) -> str | None:
        values = self._call(
            stack, f"pulumi config -s {stack}", lambda: self._stack(stack).get_all_config(), READ_FIX
        )
        found = values.get(f"{PROJECT}:{key}")
        return None if found is None else str(found.value)

    def set_config(self, stack: str, key: str, value: str) -> None:
        from pulumi import automation as auto

        self._call(
            stack,
            f"pulumi config set {key} {value} -s {stack}",
            lambda: self._stack(stack).set_config(f"{PROJECT}:{key}", auto.ConfigValue(value=value)),
            "fix the cause, then `failover resume`",
        )

    def set_secret_config(self, stack: str, key: str, value: str) -> None:
        from pulumi import automation as auto

        self._call(
            stack,
            f"pulumi config set --secret {key} [secret] -s {stack}",
            lambda: self._stack(stack).set_config(
                f"{PROJECT}:{key}", auto.ConfigValue(value=value, secret=True)
            ),
            "fix the cause, then `failover resume`",
        )

    def remove_config(self, stack: str, key: str) -> None:
        self._call(
            stack,
            f"pulumi config rm {key} -s {stack}",
            lambda: self._stack(stack).remove_config(f"{PROJECT}:{key}"),
            "fix the cause, then `failover resume`",
        )

    def up(self, stack: str) -> ApplySummary:
        started = time.monotonic()
        result = self._call(
            stack,
            f"pulumi up -s {stack}",
            lambda: self._stack(stack).up(on_output=self.on_output, color="never"),
            f"read the error (or run `pulumi up -s {stack}` by hand), fix it, then `failover resume`",
        )
        changes = {str(op): int(n) for op, n in (result.summary.resource_changes or {}).items()}
        return ApplySummary(stack, str(result.summary.result), changes, time.monotonic() - started)


READ_FIX = "check `pulumi whoami` and `pulumi stack ls` in the project directory"

# What Pulumi (CLI, Cloud backend, DIY backends on S3/GCS/Azure Blob/file) prints when the state
# backend cannot be reached or refuses our credentials: the stacks are unavailable, not broken.
_UNREACHABLE = (
    "dial tcp",
    "no such host",
    "connection refused",
    "connection reset",
    "i/o timeout",
    "context deadline exceeded",
    "tls handshake timeout",
    "network is unreachable",
    "could not reach",
    "failed to get access token",
    "pulumi_access_token",
    "getting user info",
    "unauthorized: no credentials",
    "[401]",
    "[403] forbidden",
    "nocredentialproviders",
    "unable to check if bucket",
    "could not find default credentials",
    "defaultazurecredential",
    "backend url",
    "problem logging in",
    "failed to log in",
)
_LOCK_HOLDER = re.compile(r"created by (?P<who>\S+) \(pid (?P<pid>\d+)\) at (?P<since>\S+)")


def classify_failure(exc: Exception, stack: str, command: str, fix: str) -> CutoverError:
    """The error a failed pulumi command stands for: lock held, backend unreachable, or its own."""
    text = str(exc)
    lower = text.lower()
    if (
        "currently locked by" in lower
        or "[409] conflict" in lower
        or "update is currently in progress" in lower
    ):
        holders = [m.groupdict() for m in _LOCK_HOLDER.finditer(text)]
        who = (
            "; ".join(f"{h['who']} (pid {h['pid']}) since {h['since']}" for h in holders)
            if holders
            else "another update (the Pulumi Cloud backend does not say whose: see the stack's "
            f"activity page or `pulumi stack history -s {stack}`)"
        )
        return StackLocked(
            f"stack '{stack}' is locked by {who}: `{command}` did not run",
            "another operator is changing this stack right now; `failover resume` is not the fix (it "
            "would run into the same lock, and two runs would fight over traffic). Talk to them and "
            "agree who continues; once their update has finished, run `failover status`, then either "
            "`failover resume` or `failover rollback` for your own run. Only if the holder is certainly "
            f"dead: `pulumi cancel -s {stack}`",
        )
    if any(marker in lower for marker in _UNREACHABLE):
        return PulumiUnavailable(
            f"the Pulumi state backend for stack '{stack}' cannot be reached: `{command}` failed: "
            f"{_first_line(exc)}",
            "check `pulumi whoami` (login, network, credentials of the backend); during an incident keep "
            "working from outputs files (--primary-outputs/--standby-outputs); then `failover resume`",
        )
    return StackOperationFailed(f"`{command}` failed: {_first_line(exc)}", fix)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        if "error:" in line:
            return line.strip()
    return text.splitlines()[0] if text else type(exc).__name__

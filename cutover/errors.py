"""One error tree and the named exit codes of the `failover` command.

Every error carries what went wrong (including what was given and what was expected) and a
`fix`: the command or change that gets the user unstuck. The CLI prints both on one line each and
exits with the error's code; tracebacks only appear with `--debug`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    """Unexpected failure (a bug, or an API error nobody anticipated)."""
    USAGE = 2
    """Bad command line, or a confirmation that was needed and not given."""
    PRECHECK_FAILED = 3
    """A check before any change failed; nothing was changed."""
    VERIFY_FAILED_ROLLED_BACK = 4
    """A step's verification failed and the run's changes were rolled back."""
    PULUMI_UNAVAILABLE = 5
    """The pulumi CLI is missing (or the stacks cannot be reached through it)."""
    JOURNAL_CONFLICT = 6
    """A journal of a different, unfinished run exists."""
    UNHEALTHY = 7
    """status / replication found problems."""
    STACK_LOCKED = 8
    """Another operator's run holds the stack: Pulumi's update lock (409 / lock file) or this
    machine's journal lock. `failover resume` is not the fix."""


class CutoverError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def to_dict(self) -> dict[str, object]:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "fix": self.fix,
            "exit_code": int(self.exit_code),
            "exit_name": self.exit_code.name,
        }


class UsageError(CutoverError):
    exit_code = ExitCode.USAGE


class PrecheckFailed(CutoverError):  # noqa: N818 - names from the CLI spec
    exit_code = ExitCode.PRECHECK_FAILED


class VerifyFailedRolledBack(CutoverError):  # noqa: N818 - names from the CLI spec
    exit_code = ExitCode.VERIFY_FAILED_ROLLED_BACK


class PulumiUnavailable(CutoverError):  # noqa: N818 - names from the CLI spec
    exit_code = ExitCode.PULUMI_UNAVAILABLE


class JournalConflict(CutoverError):  # noqa: N818 - names from the CLI spec
    exit_code = ExitCode.JOURNAL_CONFLICT


class StackLocked(CutoverError):  # noqa: N818 - names from the CLI spec
    exit_code = ExitCode.STACK_LOCKED


class Unhealthy(CutoverError):  # noqa: N818 - names from the CLI spec
    exit_code = ExitCode.UNHEALTHY


class StackOperationFailed(CutoverError):  # noqa: N818 - names from the CLI spec
    """A config change or `pulumi up` failed; the journal knows how far the run got."""

    exit_code = ExitCode.ERROR


class RollbackFailed(CutoverError):  # noqa: N818 - names from the CLI spec
    """Automatic or requested rollback stopped half way; `failover rollback` continues it."""

    exit_code = ExitCode.ERROR

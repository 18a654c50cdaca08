"""The one shape of an argument or config problem: key, value, what is allowed, the fix, a code.

Stack config validation (infra/config.py) and every component's `*Args` report bad input as
`Problem`s: the key (a stack config key or an Args field), the value given, what is allowed, how
to fix it, and a stable code (`IF-CFG-012`, `IF-ARG-003`) that the README's error reference and
the runbooks link to. The message text is the house style "must be X (got Y): fix"; the code
stands next to it in the error that lists the problems, so the text tests and users rely on keeps
its wording.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final


@dataclass(frozen=True)
class Problem:
    key: str
    """Stack config key or Args field to change."""
    got: object
    """The value given (None: nothing; secrets are shown as a placeholder, never their value)."""
    expected: str
    """What is allowed, as the completion of "must be ..."."""
    fix: str
    """What to do, as a command or an edit."""
    code: str = ""
    """Stable reference (README "Error codes"); empty only where a subclass fills it in."""

    subject: ClassVar[str] = "stack config"
    """What `key` names, as the message's first words."""

    @property
    def value(self) -> object:
        return self.got

    @property
    def allowed(self) -> str:
        return self.expected

    def _subject(self) -> str:
        return self.subject

    def __str__(self) -> str:
        got = "nothing" if self.got is None else repr(self.got)
        return f"{self._subject()} '{self.key}' must be {self.expected} (got {got}): {self.fix}"

    @property
    def line(self) -> str:
        """The message with its code, as error listings show it."""
        return f"{self} [{self.code}]" if self.code else str(self)


@dataclass(frozen=True)
class ArgProblem(Problem):
    """A problem with one Args field, worded "<field> <verb> <allowed> (got <value>): <fix>".

    The code is the Args' (ArgsError fills it in); `fix` may be empty where the rule is its own fix.
    """

    fix: str = ""
    verb: str = "must be"
    shown: str | None = None
    """How the message shows the value where repr() is not it (e.g. a dataclass, or None as 'None')."""

    def __str__(self) -> str:
        got = self.shown if self.shown is not None else "nothing" if self.got is None else repr(self.got)
        fix = f": {self.fix}" if self.fix else ""
        return f"{self.key} {self.verb} {self.expected} (got {got}){fix}"


def listing(problems: Iterable[object]) -> str:
    """One problem a line, indented, each with its code where it has one."""
    return "\n".join(f"  - {p.line if isinstance(p, Problem) else p}" for p in problems)


ARGS_CODES: Final[dict[str, str]] = {
    "InferenceClusterArgs": "IF-ARG-001",
    "InferenceWorkloadArgs": "IF-ARG-002",
    "InternalCaArgs": "IF-ARG-003",
    "FailoverRecordArgs": "IF-ARG-004",
    "ModelStoreArgs": "IF-ARG-005",
    "CrossCloudReplicationArgs": "IF-ARG-006",
    "ReplicationSchedule": "IF-ARG-007",
    "ReplicationSource": "IF-ARG-008",
    "SecretsVaultArgs": "IF-ARG-009",
    "ImageRegistryArgs": "IF-ARG-010",
    "AuditStoreArgs": "IF-ARG-011",
    "ObservabilityArgs": "IF-ARG-012",
    "CertManagerArgs": "IF-ARG-013",
}
"""Stable code of each component's argument problems (README "Error codes"); never renumber."""
ARGS_MEANING: Final[dict[str, str]] = {
    "InferenceClusterArgs": "the managed cluster and its GPU pool (components/inference_cluster/args.py)",
    "InferenceWorkloadArgs": "the edge proxy and model server (components/inference_cluster/args.py)",
    "InternalCaArgs": "the internal CA behind tlsCertificate: internal-ca (inference_cluster/internal_ca.py)",
    "FailoverRecordArgs": "the DNS record and health check, also against the primary's dns output",
    "ModelStoreArgs": "the model bucket and its network access (components/object_store/args.py)",
    "CrossCloudReplicationArgs": "the replication job into the standby's store (object_store/args.py)",
    "ReplicationSchedule": "replicationIntervalMinutes no mechanism can honour for the cloud pair",
    "ReplicationSource": "the primary's modelStore output is not the store replication expects",
    "SecretsVaultArgs": "the stack's vault and its network access (components/secrets_vault/args.py)",
    "ImageRegistryArgs": "the serving image and its registry cache (components/image_registry/args.py)",
    "AuditStoreArgs": "the write-once audit store (components/audit/args.py)",
    "ObservabilityArgs": "metrics, alert rules and budget (components/observability/args.py)",
    "CertManagerArgs": "cert-manager and its ACME issuer (components/inference_cluster/cert_manager.py)",
}
"""What each ARGS_CODES entry is about, for the README."""
UNLISTED: Final = "IF-ARG-000"
"""The code of an Args missing from ARGS_CODES (a test keeps every one listed)."""


class ArgsError(Exception):
    """Every problem of one component's arguments, reported at once, each with the Args' code.

    `what` names the Args (a key of ARGS_CODES). The message is `header` (default
    "invalid <what>:") and one problem a line; with header "" and one problem, just that line.
    DnsError derives from this directly (not a ValueError, see components/dns/args.py); the
    others through ArgsValueError, a ValueError as before.
    """

    def __init__(self, what: str, problems: Sequence[Problem | str], *, header: str | None = None) -> None:
        self.what = what
        self.code = ARGS_CODES.get(what, UNLISTED)
        self.problems = list(problems)
        lines = [f"{p} [{p.code if isinstance(p, Problem) and p.code else self.code}]" for p in self.problems]
        if header == "" and len(lines) == 1:
            message = lines[0]
        else:
            message = (header or f"invalid {what}:") + "\n" + "\n".join(f"  - {line}" for line in lines)
        super().__init__(message)


class ArgsValueError(ArgsError, ValueError):
    """An ArgsError raised while the Args are built (`__post_init__`): a ValueError."""

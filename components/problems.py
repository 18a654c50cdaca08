"""The one shape of an argument or config problem: key, value, what is allowed, the fix, a code.

Stack config validation (infra/config.py) and every component's `*Args` report bad input as
`Problem`s: the key (a stack config key or an Args field), the value given, what is allowed, how
to fix it, and a stable code (`IF-CFG-012`, `IF-ARG-003`) that the README's error reference and
the runbooks link to. The message text is the house style "must be X (got Y): fix"; the code
stands next to it in the error that lists the problems, so the text tests and users rely on keeps
its wording.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar


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

    def __str__(self) -> str:
        got = "nothing" if self.got is None else repr(self.got)
        return f"{self.subject} '{self.key}' must be {self.expected} (got {got}): {self.fix}"

    @property
    def line(self) -> str:
        """The message with its code, as error listings show it."""
        return f"{self} [{self.code}]" if self.code else str(self)


def listing(problems: Iterable[object]) -> str:
    """One problem a line, indented, each with its code where it has one."""
    return "\n".join(f"  - {p.line if isinstance(p, Problem) else p}" for p in problems)

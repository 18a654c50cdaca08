"""`failover rotate-key`: replace the service's API key on both stacks with no moment without a key.

Through stack config and `pulumi up`, journaled and resumable like a cutover:

  precheck   both sides answer /v1/models with the current key ($FAILOVER_API_KEY)
  stage      apiKeyNext := new key (secret) on primary, apply; the same on standby, apply.
             Verified: both keys are accepted on both sides (the edge proxy honours both).
  promote    apiKey := new key, apiKeyNext removed, on primary, apply; the same on standby, apply.
             Verified: the new key is accepted and the old key refused (401) on both sides. The
             time from the start of the run until the old key is refused everywhere is measured:
             that is the credential-revocation drill's number.

Keys never enter the journal or the audit trail: the plan shows `[secret sha256:<12 hex>]` and the
journal keeps only fingerprints, so `failover resume` / `rollback` need the same two keys in the
environment ($FAILOVER_API_KEY, $FAILOVER_NEW_API_KEY) and refuse others.

A failed verification rolls back (exit 4) while that restores service: the staged key is removed,
or the old key is put back as apiKey. The one exception is a promote where the new key works but
the old one is still accepted somewhere: rolling back would re-enable a key being revoked, so the
run stops (exit 7) and `failover resume` verifies again once the cause is fixed.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from cutover.errors import (
    PrecheckFailed,
    Unhealthy,
    UsageError,
    VerifyFailedRolledBack,
)
from cutover.journal import Journal, RunSpec
from cutover.plan import SIDES, Action, Change, Step, plan_undo
from cutover.probes import API_KEY_ENV, tls_context
from cutover.runner import Check, Settings, StackRun
from cutover.stack_ops import StackOps

KEY = "apiKey"
NEXT_KEY = "apiKeyNext"
NEW_KEY_ENV = "FAILOVER_NEW_API_KEY"
MIN_KEY_LENGTH = 16


def fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def masked(key: str) -> str:
    return f"[secret sha256:{fingerprint(key)}]"


@dataclass(frozen=True)
class Keys:
    old: str
    new: str

    @staticmethod
    def from_env(expected: Mapping[str, Any] | None = None) -> Keys:
        old = os.environ.get(API_KEY_ENV, "")
        new = os.environ.get(NEW_KEY_ENV, "")
        fix = (
            f"export {API_KEY_ENV}=<the key clients use now> and {NEW_KEY_ENV}=<the new key>, "
            f"e.g. {NEW_KEY_ENV}=$(openssl rand -hex 32)"
        )
        if not old or not new:
            missing = [name for name, value in ((API_KEY_ENV, old), (NEW_KEY_ENV, new)) if not value]
            raise UsageError(
                f"rotate-key needs both keys in the environment; {', '.join(missing)} unset", fix
            )
        if old == new:
            raise UsageError(f"{NEW_KEY_ENV} is the same as {API_KEY_ENV}: nothing would rotate", fix)
        if len(new) < MIN_KEY_LENGTH:
            raise UsageError(
                f"{NEW_KEY_ENV} is {len(new)} characters; a key needs at least {MIN_KEY_LENGTH}", fix
            )
        keys = Keys(old, new)
        if expected is not None:
            wanted = (expected.get("old_key_sha256"), expected.get("new_key_sha256"))
            if wanted != (fingerprint(old), fingerprint(new)):
                raise UsageError(
                    f"{API_KEY_ENV}/{NEW_KEY_ENV} are not the keys this rotation started with "
                    f"(fingerprints {wanted[0]} / {wanted[1]})",
                    "export the same two keys the run started with, then run the command again",
                )
        return keys

    def value(self, mask: str) -> str:
        for key in (self.old, self.new):
            if mask == masked(key):
                return key
        raise UsageError(f"the journal names a key {mask} that is neither {API_KEY_ENV} nor {NEW_KEY_ENV}")

    def options(self) -> dict[str, str]:
        return {"old_key_sha256": fingerprint(self.old), "new_key_sha256": fingerprint(self.new)}


def plan_rotation(stacks: Mapping[str, str], keys: Keys) -> list[Step]:
    old, new = masked(keys.old), masked(keys.new)
    stage = tuple(Change(side, stacks[side], NEXT_KEY, None, new) for side in SIDES)
    promote = tuple(
        change
        for side in SIDES
        for change in (
            Change(side, stacks[side], KEY, old, new),
            Change(side, stacks[side], NEXT_KEY, new, None),
        )
    )
    return [
        Step("precheck", "precheck", "pre-checks: both sides accept the current key", "standby"),
        Step(
            "stage", "stage-key", "add the new key beside the old one on both stacks", "standby", stage, SIDES
        ),
        Step(
            "promote",
            "promote-key",
            "make the new key the only key on both stacks",
            "standby",
            promote,
            SIDES,
        ),
    ]


def key_status(
    url: str | None,
    key: str,
    timeout_seconds: float,
    *,
    service_name: str | None = None,
    ca_bundle: str | None = None,
    allow_http: bool = True,
) -> str:
    """'accepted', 'refused' (401/403) or what went wrong, for GET /v1/models with `key`.

    Like the status probes: each side's own address, the service name as SNI and Host (the
    edge's certificate is for it), the system CAs or `ca_bundle`.
    """
    if not url:
        return "no endpointUrl output"
    scheme = url.split("://", 1)[0].lower()
    if scheme != "https" and not allow_http:
        return f"refused to send a key to {url} over plain HTTP"
    headers = {"Authorization": f"Bearer {key}"}
    extensions: dict[str, Any] = {}
    if service_name and scheme == "https":
        headers["Host"] = service_name
        extensions["sni_hostname"] = service_name
    verify = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else tls_context()
    try:
        with httpx.Client(timeout=timeout_seconds, verify=verify, follow_redirects=False) as client:
            response = client.get(f"{url.rstrip('/')}/v1/models", headers=headers, extensions=extensions)
    except httpx.HTTPError as exc:
        return f"request failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    if response.status_code == 200:
        return "accepted"
    if response.status_code in (401, 403):
        return "refused"
    return f"answered {response.status_code}"


class KeyRotation(StackRun):
    def __init__(
        self,
        ops: StackOps,
        stacks: Mapping[str, str],
        keys: Keys,
        *,
        settings: Settings | None = None,
        say: Callable[[str], None] = lambda _: None,
        audit: Callable[[Mapping[str, Any]], object] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(ops, stacks, settings=settings, say=say, sleep=sleep, audit=audit)
        self.keys = keys

    # --- verification ----------------------------------------------------------------------

    def _checks(self, wanted: Mapping[str, str]) -> list[Check]:
        """One check per side and key: wanted maps 'old'/'new' to 'accepted' or 'refused'."""
        checks = []
        tls = self.settings.probe_tls
        for side in SIDES:
            info = self.sides[side]
            for which, expected in wanted.items():
                key = self.keys.old if which == "old" else self.keys.new
                got = key_status(
                    info.endpoint_url,
                    key,
                    self.settings.probe_timeout_seconds,
                    service_name=info.fqdn,
                    ca_bundle=tls.ca_bundle,
                    allow_http=tls.insecure_http,
                )
                checks.append(
                    Check(f"{side} {which} key", got == expected, f"{which} key {got} (want {expected})")
                )
        return checks

    def _poll_keys(self, wanted: Mapping[str, str]) -> list[Check]:
        return self._poll(lambda: self._checks(wanted), self.settings.verify_timeout_seconds)

    def verify(self, step: Step) -> list[Check]:
        if step.kind == "precheck":
            return self._checks({"old": "accepted"})
        if step.kind == "stage-key":
            return self._poll_keys({"old": "accepted", "new": "accepted"})
        return self._poll_keys({"new": "accepted", "old": "refused"})

    # --- running ---------------------------------------------------------------------------

    def _act(self, action: Action) -> None:
        self.say(f"  {action.describe()}")
        if action.kind == "up":
            summary = self.ops.up(action.stack)
            self.say(f"    {summary.result} in {summary.duration_seconds:.1f}s")
            return
        change = action.change
        assert change is not None
        if change.after is None:
            self.ops.remove_config(change.stack, change.key)
        else:
            self.ops.set_secret_config(change.stack, change.key, self.keys.value(change.after))

    def run(self, journal: Journal) -> dict[str, Any]:
        started = _parse(journal.data["created_at"])
        for step in journal.plan:
            if journal.is_step_completed(step.id):
                continue
            self.say(f"> {step.id}: {step.title}")
            journal.step_started(step.id)
            self._do_actions(journal, step, self._act)
            checks = self.verify(step)
            for check in checks:
                self.say(f"  {'ok ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
            self._audit_step(journal, step, "completed" if all(c.ok for c in checks) else "failed", checks)
            if not all(c.ok for c in checks):
                self._fail(journal, step, checks)
            journal.step_completed(step.id, {"checks": [c.to_dict() for c in checks]})
        journal.set_status("completed")
        refused_at = _parse(journal.step_record("promote").get("completed_at"))
        result: dict[str, Any] = {
            "run_id": journal.run_id,
            "status": journal.status,
            "old_key_refused_after_seconds": round((refused_at - started).total_seconds(), 3),
            "new_key_sha256": fingerprint(self.keys.new),
        }
        target = self._rto_target()
        if target is not None:
            result["rto_target_seconds"] = target
            result["within_rto"] = result["old_key_refused_after_seconds"] <= target
            if not result["within_rto"]:
                self.say(
                    f"warning: revoking the old key took {result['old_key_refused_after_seconds']:.1f}s, "
                    f"more than rtoTargetSeconds ({target}s)"
                )
        self.say(
            f"run {journal.run_id} completed: the old key is refused everywhere "
            f"{result['old_key_refused_after_seconds']:.1f}s after the rotation started; "
            f"clients and {API_KEY_ENV} now need the new key"
        )
        return result

    def _rto_target(self) -> int | None:
        """The strictest rtoTargetSeconds of the two stacks (None when neither sets one)."""
        found = []
        for stack in self.stacks.values():
            value = self.ops.get_config(stack, "rtoTargetSeconds")
            if value and value.isdigit():
                found.append(int(value))
        return min(found) if found else None

    def _fail(self, journal: Journal, step: Step, checks: list[Check]) -> None:
        reason = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
        journal.data["failure"] = {"step": step.id, "reason": reason}
        journal.save()
        if step.kind == "precheck":
            journal.set_status("aborted")
            raise PrecheckFailed(
                f"pre-checks failed, nothing was changed: {reason}",
                f"check {API_KEY_ENV} is the key clients use now and both sides serve (`failover status`)",
            )
        new_works = all(c.ok for c in checks if "new key" in c.name)
        if step.kind == "promote-key" and new_works:
            raise Unhealthy(
                f"the new key works everywhere but the old key is still accepted: {reason}; nothing was "
                "rolled back (that would re-enable the key being revoked)",
                "check the edge proxy on that side picked up the new config (pods restarted?), then "
                "`failover resume` verifies again",
            )
        self.rollback(journal, f"verification of {step.id} failed")
        raise VerifyFailedRolledBack(
            f"verification of {step.id} failed ({reason}); rolled back: the old key is the only key again",
            "see `failover status`, fix the side that did not take the new key, then run rotate-key again",
        )

    def rollback(self, journal: Journal, reason: str) -> list[Step]:
        undo = journal.rollback_plan or plan_undo(journal.plan, journal.attempted_actions)
        self._undo(journal, undo, reason, self._act)
        if self.audit is not None:
            self.audit(
                {"event": "rollback", "run_id": journal.run_id, "outcome": "rolled-back", "why": reason}
            )
        return undo


def spec_for(stacks: Mapping[str, str]) -> RunSpec:
    return RunSpec("rotate-key", "both", (), dict(stacks))


def _parse(value: Any) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(str(value))

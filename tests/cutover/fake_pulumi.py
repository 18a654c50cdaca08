#!/usr/bin/env python3
"""A stand-in `pulumi` CLI for the Automation API path of the cutover (tests put it on PATH).

It answers what `pulumi.automation` runs (`version`, `stack select`, `config --json`, `config set`,
`config rm`, `up`, `stack output --json`) from the project's real stack files, and fails the way the
real CLI does in the mode `FAKE_PULUMI_MODE` names:

- `unreachable`: every backend call fails as with the Pulumi Cloud backend out of reach
  (the text the CLI prints when api.pulumi.com does not resolve);
- `locked`: `up` fails with the DIY backend's lock message (another operator's update holds it);
- `locked-cloud`: `up` fails with the Pulumi Cloud backend's 409;
- anything else: every call succeeds.

Each call is appended to `$FAKE_PULUMI_LOG` (one JSON list per line).
"""

import json
import os
import sys
from pathlib import Path

import yaml

PROJECT = "inference-failover"
UNREACHABLE = (
    "error: failed to get access token: could not reach https://api.pulumi.com: "
    "dial tcp: lookup api.pulumi.com: no such host\n"
)
LOCKED = (
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end "
    "or delete the lock file with `pulumi cancel`.\n"
    "  s3://acme-pulumi-state/.pulumi/locks/organization/inference-failover/{stack}/"
    "8d1c3a7e-5f0b-4c1e-9a57-0b6f2d9e4c11.json: created by alice@oncall-laptop (pid 4242) "
    "at 2026-12-01T23:58:07Z\n"
)
LOCKED_CLOUD = (
    "error: [409] Conflict: Another update is currently in progress. To learn more about possible "
    "reasons and resolution, visit https://www.pulumi.com/docs/common-errors/#conflict\n"
)


def main(argv: list[str]) -> int:  # noqa: PLR0911 - one answer per command
    if log := os.environ.get("FAKE_PULUMI_LOG"):
        with open(log, "a") as handle:
            handle.write(json.dumps(argv) + "\n")
    args = [a for a in argv if a != "--non-interactive"]
    mode = os.environ.get("FAKE_PULUMI_MODE", "")
    if args[:1] == ["version"]:
        print("v3.200.0")
        return 0
    if mode == "unreachable":
        sys.stderr.write(UNREACHABLE)
        return 255
    stack = args[args.index("--stack") + 1] if "--stack" in args else "primary"
    if args[:1] == ["up"]:
        if mode == "locked":
            sys.stderr.write(LOCKED.format(stack=stack))
            return 255
        if mode == "locked-cloud":
            sys.stderr.write(LOCKED_CLOUD)
            return 255
        print("Updating (" + stack + "):\nResources:\n    42 unchanged\n")
        return 0
    if args[:1] == ["config"] and "--json" in args:
        doc = yaml.safe_load((Path.cwd() / f"Pulumi.{stack}.yaml").read_text()) or {}
        config = {
            key: {"value": value if isinstance(value, str) else json.dumps(value), "secret": False}
            for key, value in (doc.get("config") or {}).items()
            if not isinstance(value, dict)
        }
        print(json.dumps(config))
        return 0
    if args[:2] == ["stack", "output"]:
        print("{}")
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

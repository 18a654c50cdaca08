"""Produce the README's `failover inventory` and `failover audit` samples from real local servers.

Starts what the tests start (PowerDNS, two model servers on loopback addresses, moto as the
primary's S3 audit bucket with Object Lock, fake-gcs-server as the standby's), runs a real
`failover drill` and `rotate-key` through the CLI over the simulated stacks, then prints
`failover audit --verify` and `failover inventory`. Run: `.venv/bin/python tools/readme_demo.py`.
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cutover import cli  # noqa: E402
from offline.harness import run_pair  # noqa: E402
from tests.cutover.cutover_support import ModelServer, SimulatedStacks  # noqa: E402
from tests.dns_server import PowerDns  # noqa: E402
from tests.emulators import gcs_client, s3_client, start_fake_gcs, start_moto, unique_bucket_name  # noqa: E402


def main() -> int:
    journal = Path("/tmp/readme-demo-journal.json")
    for old in journal.parent.glob("readme-demo-journal*"):
        old.unlink()
    moto, gcs = start_moto(), start_fake_gcs()
    with PowerDns() as dns:
        primary, standby = ModelServer("127.0.0.2"), ModelServer("127.0.0.3")
        try:
            s3_bucket, gcs_bucket = unique_bucket_name("audit"), unique_bucket_name("audit")
            client = s3_client(moto)
            client.create_bucket(Bucket=s3_bucket, ObjectLockEnabledForBucket=True)
            client.put_object_lock_configuration(
                Bucket=s3_bucket,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
                },
            )
            gcs_client(gcs).create_bucket(gcs_bucket)
            zone = dns.new_zone()
            stacks = SimulatedStacks(dns, f"api.{zone}", {"primary": primary, "standby": standby})
            # Cluster and model location as the real program exports them (offline, under mocks).
            planned = run_pair(secrets={"apiKey": "offline"})
            shown = ("clusterName", "modelUri")
            stacks.extra_outputs = {run.stack: {k: run.outputs[k] for k in shown} for run in planned}
            stacks.extra_outputs["primary"]["auditStore"] = {"cloud": "aws", "bucket": s3_bucket}
            stacks.extra_outputs["standby"]["auditStore"] = {"cloud": "gcp", "bucket": gcs_bucket}
            for stack, server in (("primary", primary), ("standby", standby)):
                stacks.config[stack]["apiKey"] = stacks.applied[stack]["apiKey"] = "old-key-0123456789abcdef"
                server.api_keys = {"old-key-0123456789abcdef"}
            servers = {"primary": primary, "standby": standby}
            stacks.on_up = lambda stack: setattr(
                servers[stack],
                "api_keys",
                {v for k, v in stacks.applied[stack].items() if k in ("apiKey", "apiKeyNext")},
            )
            os.environ["FAILOVER_API_KEY"] = "old-key-0123456789abcdef"
            os.environ["FAILOVER_NEW_API_KEY"] = "new-key-fedcba9876543210"
            common = [
                "--workdir", str(ROOT), "--dns-server", dns.address, "--journal", str(journal),
                "--verify-timeout-seconds", "3", "--poll-interval-seconds", "0.05", "--dns-samples", "4",
                "--primary-store-endpoint", moto.endpoint_url, "--standby-store-endpoint", gcs.endpoint_url,
            ]  # fmt: skip
            quiet = open(os.devnull, "w")  # noqa: SIM115 - the runs' progress is not the sample
            real_stdout = sys.stdout
            sys.stdout = quiet
            try:
                drill = [
                    "drill",
                    "--yes",
                    "--soak-seconds",
                    "0",
                    "--hold-seconds",
                    "1",
                    "--skip-store-parity",
                ]
                assert (
                    cli.run(
                        [*common, *drill, "--reason", "quarterly drill", "--ticket", "OPS-311"], ops=stacks
                    )
                    == 0
                )
                rotate = [
                    "rotate-key",
                    "--yes",
                    "--reason",
                    "credential revocation drill",
                    "--ticket",
                    "SEC-7",
                ]
                sys.stdout = captured = io.StringIO()
                assert cli.run(["--json", *common, *rotate], ops=stacks) == 0
            finally:
                sys.stdout = real_stdout
            refused = json.loads(captured.getvalue())["old_key_refused_after_seconds"]
            print(f"rotate-key: old key refused everywhere {refused:.1f}s after the rotation started\n")
            print("$ failover audit --verify --stack primary --command rotate-key")
            sys.stdout.flush()
            cli.run(
                [*common, "audit", "--verify", "--stack", "primary", "--command", "rotate-key"], ops=stacks
            )
            print("\n$ failover inventory --format yaml")
            sys.stdout.flush()
            cli.run([*common, "inventory", "--format", "yaml"], ops=stacks)
        finally:
            primary.stop()
            standby.stop()
            moto.stop()
            gcs.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Mock answers for the S3-compatible (onprem) model store: its vault KV v2 secret and its bucket.

Shapes follow what the providers read back: vault's KV v2 data source returns the secret's
fields under `data` (and `path` with the mount's `data/` segment); the minio provider's bucket id
is the bucket name, with a path-style domain name and an `arn:aws:s3:::` ARN.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from offline.mocks import answers_call, outputs_for, stable_hex

MOCK_ACCESS_KEY_PREFIX = "MOCKKEY"


@answers_call("vault:kv/getSecretV2:getSecretV2")
def _kv_v2_secret(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    mount = str(args.args.get("mount", ""))
    name = str(args.args.get("name", ""))
    data = {
        "access_key_id": f"{MOCK_ACCESS_KEY_PREFIX}{stable_hex(mount, name, length=13).upper()}",
        "secret_access_key": stable_hex("secret", mount, name, length=40),
    }
    return {
        "id": f"{mount}/data/{name}",
        "mount": mount,
        "name": name,
        "path": f"{mount}/data/{name}",
        "data": data,
        "dataJson": json.dumps(data),
        "customMetadata": {},
        "createdTime": "2026-11-30T09:00:00.000000Z",
        "deletionTime": "",
        "destroyed": False,
        "version": 1,
    }


@outputs_for("minio:index/s3Bucket:S3Bucket")
def _minio_bucket(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> dict[str, Any]:
    bucket = str(args.inputs.get("bucket") or args.name)
    return {
        "id": bucket,
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketDomainName": f"/{bucket}",
        "acl": args.inputs.get("acl", "private"),
    }

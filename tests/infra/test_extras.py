"""A user who installs only the SDKs of their clouds (`pip install -e '.[aws,gcp]'`) can deploy."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from offline.harness import ROOT

_BLOCK_AND_RUN = textwrap.dedent(
    """
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == {blocked!r} or name.startswith({blocked!r} + "."):
                raise ImportError("blocked for the test: " + name)
            return None

    sys.meta_path.insert(0, Block())
    from tests.support import TEST_SECRETS
    from offline.harness import run_pair, run_stack
    {body}
    """
)


def _run(blocked: str, body: str) -> subprocess.CompletedProcess[str]:
    code = _BLOCK_AND_RUN.format(blocked=blocked, body=body)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def test_aws_primary_and_gcp_standby_need_no_azure_sdk() -> None:
    result = _run(
        "pulumi_azure_native",
        "primary, standby = run_pair(secrets=TEST_SECRETS)\n"
        "print(len(primary.resources), len(standby.resources))",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    primary_count, standby_count = map(int, result.stdout.split())
    assert primary_count > 10 and standby_count > 10


def test_missing_sdk_is_reported_with_the_extra_to_install() -> None:
    result = _run(
        "pulumi_azure_native",
        "run_stack('primary', overrides={'cloud': 'azure', 'region': 'eastus', 'gpuType': 'a100-80gb'},"
        " secrets=TEST_SECRETS)",
    )
    assert result.returncode != 0
    assert (
        "stack config 'cloud' = azure needs the azure SDK (pulumi-azure-native), which is not installed: "
        "run `pip install -e '.[azure]'`" in result.stderr
    )

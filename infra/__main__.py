"""Pulumi entry point (`main: infra/` in Pulumi.yaml)."""

import sys
from pathlib import Path

# The language host puts infra/ on sys.path; the components live beside it at the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from infra.check import program_checks
from infra.config import PROJECT, ConfigError, from_pulumi
from infra.program import build

# Every problem decidable from the config, both stacks' files included, before any resource; a
# RunError is reported by Pulumi as a plain message, without a Python traceback.
try:
    cfg = from_pulumi()
except ConfigError as exc:
    raise pulumi.RunError(str(exc)) from None
problems = program_checks(
    cfg, Path.cwd() if (Path.cwd() / "Pulumi.yaml").is_file() else Path(__file__).resolve().parent.parent
)
if problems:
    raise pulumi.RunError(
        f"{len(problems)} problem(s) in the config of stack '{cfg.stack}' (`python -m infra.check` lists "
        "them too):\n" + "\n".join(f"  - {p}" for p in problems)
    )
for warning in cfg.warnings:
    pulumi.log.warn(warning)
config = pulumi.Config(PROJECT)
secrets = {name: config.require_secret(name) for name in cfg.secret_names}
for key, value in build(cfg, secrets).items():
    pulumi.export(key, value)

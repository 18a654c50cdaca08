"""Pulumi entry point (`main: infra/` in Pulumi.yaml)."""

import sys
from pathlib import Path

# The language host puts infra/ on sys.path; the components live beside it at the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from infra.config import PROJECT, from_pulumi
from infra.program import build

cfg = from_pulumi()
for warning in cfg.warnings:
    pulumi.log.warn(warning)
config = pulumi.Config(PROJECT)
secrets = {name: config.require_secret(name) for name in cfg.secret_names}
for key, value in build(cfg, secrets).items():
    pulumi.export(key, value)

"""Run the real stack program under Pulumi mocks with the real stack files.

Pulumi mocks never read Pulumi.yaml or Pulumi.<stack>.yaml, so this module does what the CLI
would: it merges the project's schema defaults with the stack file, marks secure values as
secrets, feeds them in with `set_all_config`, runs `infra.program.build` and records every
registered resource with its parent, provider and inputs (secret inputs known as such).

Used by the offline plan command and by the tests, so both exercise the config users ship.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func

from infra.config import PROJECT, StackConfig, from_pulumi
from offline.mocks import CloudMocks

Program = Callable[[StackConfig, dict[str, pulumi.Output[str]]], dict[str, Any]]

ROOT = Path(__file__).resolve().parent.parent
SECRET_PLACEHOLDER = "offline-plan-placeholder-secret"
_SECRET_SIG = rpc._special_sig_key
_SECRET_VAL = rpc._special_secret_sig


class ProgramError(RuntimeError):
    """The program failed under mocks (config error, exception in an apply, engine error)."""


def _to_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def load_stack_config(
    stack: str,
    root: Path = ROOT,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """The config map (namespaced keys -> strings) and secret keys, as `pulumi up` would see it.

    Schema defaults from Pulumi.yaml, then Pulumi.<stack>.yaml, then `overrides`
    (un-namespaced; a value of None removes the key). Values the stack file holds as
    `secure:` ciphertext cannot be decrypted offline: they are replaced by a placeholder and
    kept secret. `secrets` (un-namespaced) adds secret values, as `pulumi config set --secret`.
    """
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise ProgramError(f"no stack file {stack_file.name}; stacks here: {', '.join(known)}")
    stack_doc = yaml.safe_load(stack_file.read_text()) or {}

    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, schema in (project.get("config") or {}).items():
        if ":" in key:
            # A value for another namespace (`pulumi:`, a provider's): the short form, or `value:`.
            value = schema.get("value") if isinstance(schema, dict) else schema
            config[key] = _to_config_string(value)
        elif isinstance(schema, dict) and "default" in schema:
            config[f"{PROJECT}:{key}"] = _to_config_string(schema["default"])
    for key, value in (stack_doc.get("config") or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full] = SECRET_PLACEHOLDER
            secret_keys.append(full)
        else:
            config[full] = _to_config_string(value)
    for key, value in (overrides or {}).items():
        full = f"{PROJECT}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = _to_config_string(value)
    for key, value in (secrets or {}).items():
        config[f"{PROJECT}:{key}"] = value
        secret_keys.append(f"{PROJECT}:{key}")
    return config, secret_keys


@dataclass
class Registered:
    urn: str
    type: str
    name: str
    parent: str
    """URN of the parent ('' for the stack itself)."""
    provider: str
    """Provider reference 'urn::id' ('' for components, which have none)."""
    custom: bool
    inputs: dict[str, Any]
    secret_inputs: frozenset[str]
    """Top-level input names whose values were secret on the wire."""
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    """URNs this resource waits for (depends_on and resources its inputs came from)."""
    replace_on_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False
    aliases: tuple[str, ...] = ()
    """Full URNs this resource was known by before (its `aliases` option, resolved)."""


def unwrap_secrets(value: Any) -> Any:
    """Plain values with the wire's secret wrappers removed (which keys were secret is kept apart)."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG) == _SECRET_VAL:
            return unwrap_secrets(value.get("value"))
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


DISABLE_DEFAULT_PROVIDERS = "pulumi:disable-default-providers"


class DefaultProviderDisabledError(RuntimeError):
    """A resource or invoke would use a default provider the config disables (as the engine refuses)."""


def disabled_default_providers(config: dict[str, str]) -> frozenset[str]:
    """Packages whose default provider `pulumi:disable-default-providers` denies ('*': all)."""
    raw = config.get(DISABLE_DEFAULT_PROVIDERS)
    return frozenset(json.loads(raw)) if raw else frozenset()


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """MockMonitor that also remembers parent, provider and which inputs were secret, and refuses
    a default provider the config disables, like the engine does."""

    def __init__(self, mocks: pulumi.runtime.Mocks, disabled_defaults: frozenset[str] = frozenset()) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []
        self.disabled_defaults = disabled_defaults

    def _refuse_default_provider(self, token: str, provider: str, what: str) -> None:
        package = token.split(":", 1)[0]
        if provider or package == "pulumi":  # builtins (Stack, StackReference, providers) have none
            return
        if "*" in self.disabled_defaults or package in self.disabled_defaults:
            raise DefaultProviderDisabledError(
                f"Default provider for '{package}' disabled. {what} must use an explicit provider "
                f"({DISABLE_DEFAULT_PROVIDERS} in Pulumi.yaml)"
            )

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self._refuse_default_provider(request.tok, request.provider, f"invoke '{request.tok}'")
        return super().Invoke(request)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if request.custom:
            self._refuse_default_provider(request.type, request.provider, f"'{request.type}::{request.name}'")
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        secret = frozenset(
            key
            for key, value in request.object.fields.items()
            if value.WhichOneof("kind") == "struct_value"
            and value.struct_value.fields.get(_SECRET_SIG) is not None
            and value.struct_value.fields[_SECRET_SIG].string_value == _SECRET_VAL
        )
        state = self.resources[response.urn].state
        self.registered.append(
            Registered(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                provider=request.provider,
                custom=bool(request.custom),
                inputs=unwrap_secrets(rpc.deserialize_properties(request.object)),
                secret_inputs=secret,
                outputs=unwrap_secrets(dict(state)),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                ignore_changes=tuple(request.ignoreChanges),
                dependencies=tuple(request.dependencies),
                replace_on_changes=tuple(request.replaceOnChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
                aliases=tuple(_alias_urns(request)),
            )
        )
        return response


def _qualified_type(urn: str) -> str:
    """The engine's qualified type: parent types joined by '$', the root stack left out (the mock
    monitor's URNs keep the stack's type in front of a top-level resource's)."""
    return urn.split("::")[2].removeprefix("pulumi:pulumi:Stack$")


def _alias_urns(request: Any) -> list[str]:
    """The URNs a resource's alias specs name, resolved as the engine does."""
    own_stack, own_project = pulumi.get_stack(), pulumi.get_project()
    urns = []
    for alias in request.aliases:
        if alias.urn:
            urns.append(alias.urn)
            continue
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        kind = spec.type or request.type
        if parent and _qualified_type(parent) != "pulumi:pulumi:Stack":
            kind = f"{_qualified_type(parent)}${kind}"
        stack, project = spec.stack or own_stack, spec.project or own_project
        urns.append(f"urn:pulumi:{stack}::{project}::{kind}::{spec.name or request.name}")
    return urns


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(record.getMessage())


@dataclass
class ProgramRun:
    stack: str
    config: StackConfig
    resources: list[Registered]
    outputs: dict[str, Any]
    warnings: list[str]

    def of_type(self, type_token: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> Registered:
        found = self.of_type(type_token)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_token}, found {len(found)}: {[r.name for r in found]}")
        return found[0]

    def children_of(self, urn: str) -> list[Registered]:
        return [r for r in self.resources if r.parent == urn]


def run_stack(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    *,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
    root: Path = ROOT,
    program: Program | None = None,
) -> ProgramRun:
    """Run the real program for `stack` under mocks and return what it registered.

    `stack_outputs` maps a StackReference name (org/project/stack) to the outputs it returns;
    `run_pair` fills it with the primary's real mocked outputs. `program` replaces
    `infra.program.build` (only the harness's own tests do that).
    """
    config, secret_keys = load_stack_config(stack, root, overrides, secrets)
    # A previous run that failed part-way leaves its pending outputs behind; start clean.
    pulumi_settings.SETTINGS.outputs.clear()
    log = _ErrorLog()
    logger = logging.getLogger(f"inference-failover.mocks.{stack}")
    logger.propagate = False
    logger.handlers = [log]
    mocks = CloudMocks(stack_outputs)
    monitor = RecordingMonitor(mocks, disabled_default_providers(config))
    pulumi.runtime.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=False, logger=logger, monitor=monitor
    )
    pulumi.runtime.set_all_config(config, secret_keys)

    cfg = from_pulumi()  # raises ConfigError before any resource exists: nothing half-applied
    if program is None:
        from infra.program import build

        program = build
    chosen: Program = program
    exported: dict[str, Any] = {}

    def run() -> None:
        config = pulumi.Config(PROJECT)
        secret_values = {name: config.require_secret(name) for name in cfg.secret_names}
        resolved = pulumi.Output.from_input(chosen(cfg, secret_values))
        # The same helper @pulumi.runtime.test uses to wait for outputs under mocks.
        value: dict[str, Any] | None = pulumi_mocks._sync_await(resolved.future())
        exported.update(value or {})

    try:
        pulumi_mocks._sync_await(run_pulumi_func(run))
    except Exception as exc:
        raise ProgramError(f"stack {stack!r} failed under mocks: {exc}\n" + "\n".join(log.errors)) from exc
    if log.errors:
        raise ProgramError(f"stack {stack!r} logged errors under mocks:\n" + "\n".join(log.errors))
    return ProgramRun(stack, cfg, monitor.registered, exported, log.warnings + list(cfg.warnings))


def run_pair(
    primary_overrides: dict[str, Any] | None = None,
    standby_overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
) -> tuple[ProgramRun, ProgramRun]:
    """Run the primary, then the standby with the primary's outputs behind its StackReference."""
    primary = run_stack("primary", primary_overrides, secrets)
    standby_config, _ = load_stack_config("standby", overrides=standby_overrides)
    ref = standby_config.get(f"{PROJECT}:primaryStack", "")
    standby = run_stack("standby", standby_overrides, secrets, stack_outputs={ref: primary.outputs})
    return primary, standby

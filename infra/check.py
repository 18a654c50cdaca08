"""One validation pass over both stack files, before the program runs: `python -m infra.check`.

Everything decidable from `Pulumi.yaml` and the two `Pulumi.<stack>.yaml` files is checked here
and every problem is reported at once, each with the file and line it is about:

- the files themselves: YAML syntax (tabs included), a document that is not a mapping, `config:`
  that is not a mapping, keys written without the `config:` wrapper, values of the wrong shape
  (a list where a string is expected and the other way round), a work directory without
  `Pulumi.yaml`;
- each stack alone, with `infra.config.parse_config` (so every rule added there joins this pass),
  seeing secure values as secrets and plain-text values as plain text, exactly as `pulumi up`
  does; a secret the file does not hold at all is a note (it may be set in CI);
- the two stacks together (`check_pair`): `primaryStack` names an existing stack whose role is
  primary, `primaryCloud` is that stack's cloud, the DNS and model settings both stacks must
  share, per-authority health-check intervals, the replication schedule of the cloud pair, and
  the RTO/RPO targets against what the config can achieve (`infra.targets`).

Exit codes: 0 clean, 2 problems found. Never a traceback for any input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra import config_vault
from infra.config import (
    DOCKER_HUB_TOKEN,
    KNOWN_KEYS,
    OFFLINE_SECRET_PLACEHOLDER,
    PROJECT,
    SECRET_NAME,
    ConfigError,
    StackConfig,
    parse_config,
)

# The same placeholder as the offline plan's, so parse_config skips what it cannot check offline
# (e.g. the PEMs of tlsCertificate: provided).
SECRET_PLACEHOLDER = OFFLINE_SECRET_PLACEHOLDER
PREFIX = f"{PROJECT}:"

# Keys Pulumi.yaml types as arrays; every other key of ours takes a scalar.
_LIST_TYPE = "array"


@dataclass(frozen=True)
class Problem:
    """One problem, located: `file:line: message` (line 0 when the file as a whole is meant)."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "key": self.key, "message": self.message}


@dataclass
class StackFile:
    """One stack file as `pulumi up` would see it, plus where each key sits in the file."""

    stack: str
    path: Path
    raw: dict[str, str] = field(default_factory=dict)
    """Un-namespaced config (schema defaults, then the file), strings as Pulumi hands them over."""
    secret_keys: set[str] = field(default_factory=set)
    lines: dict[str, int] = field(default_factory=dict)
    """Un-namespaced key -> line in the file (1-based)."""
    config_line: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    parsed: StackConfig | None = None
    broken: bool = False
    """The file's shape is wrong (syntax, not a mapping, keys outside `config:`): per-key checks
    would only repeat that as a list of "must be set", so they are skipped."""

    @property
    def name(self) -> str:
        return self.path.name

    def add(self, key: str, message: str, line: int | None = None) -> None:
        self.problems.append(
            Problem(self.name, self.lines.get(key, 0) if line is None else line, key, message)
        )


# --- reading one file ------------------------------------------------------------------------


def _schema(root: Path) -> tuple[dict[str, Any], list[Problem]]:
    path = root / "Pulumi.yaml"
    if not path.is_file():
        return {}, [
            Problem(
                "Pulumi.yaml",
                0,
                "Pulumi.yaml",
                f"no Pulumi.yaml in {root}: run from the project root or pass --workdir <project root>",
            )
        ]
    try:
        project = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        return {}, [_yaml_problem("Pulumi.yaml", exc)]
    config = project.get("config") if isinstance(project, dict) else None
    if not isinstance(config, dict):
        return {}, [Problem("Pulumi.yaml", 0, "config", "Pulumi.yaml must have a 'config:' mapping of keys")]
    return {str(k): v for k, v in config.items() if isinstance(v, dict)}, []


def _yaml_problem(name: str, exc: yaml.YAMLError, text: str = "") -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 0
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow; no mark
        line = text[: exc.position].count("\n") + 1
        what = f"character {exc.character!r} is not allowed in YAML"
    hint = (
        " (YAML indents with spaces, never tabs)"
        if "\\t" in what or "\t" in what or "tab" in what.lower()
        else ""
    )
    return Problem(name, line, "", f"not valid YAML: {what}{hint}; fix the file at that line")


def _config_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _defaults(schema: Mapping[str, Any]) -> dict[str, str]:
    return {key: _config_string(spec["default"]) for key, spec in schema.items() if "default" in spec}


def read_stack_file(root: Path, stack: str, schema: Mapping[str, Any]) -> StackFile:
    """Read Pulumi.<stack>.yaml into a StackFile; file-shape problems are recorded, never raised."""
    result = StackFile(stack, root / f"Pulumi.{stack}.yaml", raw=_defaults(schema))
    if not result.path.is_file():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        result.add(
            "",
            f"stack file {result.name} does not exist (stacks here: {', '.join(known) or 'none'}); "
            f"create it with `pulumi stack init {stack}` or check the stack name",
        )
        return result
    loaded = _load(result)
    if loaded is None:
        return result
    doc, node = loaded
    top = {str(k.value): (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    _stray_top_level_keys(result, doc, top)
    config = doc.get("config")
    config_node = top.get("config", (None, None))[1]
    result.config_line = top["config"][0].start_mark.line + 1 if "config" in top else 0
    if config is None:
        return result
    if not isinstance(config, dict) or not isinstance(config_node, yaml.MappingNode):
        result.add(
            "config",
            f"'config:' must be a mapping of `{PREFIX}<key>: <value>` lines (got {_kind(config)})",
            line=result.config_line,
        )
        result.broken = True
        return result
    _read_config(result, config, config_node, schema)
    return result


def _load(result: StackFile) -> tuple[dict[Any, Any], yaml.MappingNode] | None:
    """The file's document and its node, or None with the problem recorded (the file is broken)."""
    text = ""
    try:
        text = result.path.read_text()
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        result.problems.append(_yaml_problem(result.name, exc, text))
        result.broken = True
        return None
    except (OSError, UnicodeDecodeError) as exc:
        result.broken = True
        result.add("", f"cannot be read ({type(exc).__name__}: {exc}); check its permissions and encoding")
        return None
    if doc is None:
        # An empty file is a stack with no config yet (`pulumi stack init` writes none): the keys it
        # lacks are reported one by one, not the file's shape.
        doc, node = {}, yaml.MappingNode(tag="tag:yaml.org,2002:map", value=[])
    if not isinstance(doc, dict) or not isinstance(node, yaml.MappingNode):
        result.add(
            "",
            f"must be a YAML mapping with a 'config:' key (got {_kind(doc)}); see Pulumi.primary.yaml",
            line=1,
        )
        result.broken = True
        return None
    return doc, node


def _stray_top_level_keys(result: StackFile, doc: dict[Any, Any], top: dict[str, Any]) -> None:
    """Our keys written at the top level instead of under 'config:' (Pulumi would ignore them)."""
    stray = [k for k in doc if str(k) not in ("config", "secretsprovider", "encryptedkey", "encryptionsalt")]
    for key in stray:
        bare = str(key).removeprefix(PREFIX)
        if bare in KNOWN_KEYS or str(key).startswith(PREFIX):
            result.broken = True
            result.add(
                bare,
                f"'{key}' is at the top level of the file: stack settings go under 'config:' "
                f"(indent it under a 'config:' line as `{PREFIX}{bare}: ...`)",
                line=top[str(key)][0].start_mark.line + 1 if str(key) in top else 0,
            )


def _read_config(
    result: StackFile, config: dict[Any, Any], config_node: yaml.MappingNode, schema: Mapping[str, Any]
) -> None:
    key_lines = {
        str(k.value): k.start_mark.line + 1 for k, _ in config_node.value if isinstance(k, yaml.ScalarNode)
    }
    for name, value in config.items():
        full = str(name)
        if ":" in full and not full.startswith(PREFIX):
            continue  # another package's config (aws:region and the like): not ours to judge
        key = full.removeprefix(PREFIX)
        result.lines[key] = key_lines.get(full, 0)
        _read_value(result, key, value, schema.get(key, {}))


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"the {type(value).__name__} {str(value)[:40]!r}"


def _read_value(result: StackFile, key: str, value: Any, spec: Mapping[str, Any]) -> None:
    if isinstance(value, dict):
        if set(value) == {"secure"} and isinstance(value["secure"], str):
            # One placeholder per key: ciphertext cannot be compared offline, so never call two equal.
            result.raw[key] = f"{SECRET_PLACEHOLDER}:{key}"
            result.secret_keys.add(key)
            return
        result.add(
            key,
            f"stack config '{key}' must be a plain value or a `secure:` secret (got a mapping); "
            f"set it with `pulumi config set {key} <value> -s {result.stack}`",
        )
        result.raw.pop(key, None)
        return
    wants_list = spec.get("type") == _LIST_TYPE
    if isinstance(value, list) != wants_list:
        expected = "a YAML list" if wants_list else "a single value"
        result.add(
            key,
            f"stack config '{key}' must be {expected} (got {_kind(value)}); "
            f"write it as {expected} in {result.name}",
        )
        result.raw.pop(key, None)
        return
    if value is None:
        result.add(
            key, f"stack config '{key}' has no value; give it one or remove the line from {result.name}"
        )
        result.raw.pop(key, None)
        return
    result.raw[key] = _config_string(value)


# --- each stack alone ---------------------------------------------------------------------------


def _secret_names(raw: Mapping[str, str]) -> list[str]:
    try:
        names = json.loads(raw.get("secretNames", "[]"))
    except json.JSONDecodeError:
        return []
    # Only names parse_config accepts get a placeholder: a bad one ('' or 'a b') is reported once,
    # on secretNames' own line, not again as an unknown key with no line.
    return (
        [n for n in names if isinstance(n, str) and SECRET_NAME.match(n)] if isinstance(names, list) else []
    )


def check_stack(stack_file: StackFile) -> None:
    """parse_config on the file's values; missing secrets become a note and a placeholder."""
    if stack_file.broken or not stack_file.path.is_file():
        return
    raw = dict(stack_file.raw)
    secrets = set(stack_file.secret_keys)
    wanted = _secret_names(raw)
    if "dockerHubUsername" in raw:  # the image cache's token, a secret like those of secretNames
        wanted.append(DOCKER_HUB_TOKEN)
    missing = [n for n in wanted if n not in raw]
    for name in missing:
        raw[name] = f"{SECRET_PLACEHOLDER}:{name}"
        secrets.add(name)
    if missing:
        stack_file.notes.append(
            f"{stack_file.name}: secrets {', '.join(missing)} are not in the file; `pulumi up` needs them "
            f"(`pulumi config set --secret <name> <value> -s {stack_file.stack}`)"
        )
    try:
        stack_file.parsed = parse_config(raw, stack_file.stack, frozenset(secrets))
    except ConfigError as exc:
        for problem in exc.problems:
            stack_file.add(problem.key, str(problem))


# --- both stacks together ---------------------------------------------------------------------


def _agreed(cfg: StackConfig) -> dict[str, object]:
    """Settings both stacks must share: config key -> value (defaults applied)."""
    agreed: dict[str, object] = {
        "dnsProvider": cfg.dns.provider,
        "dnsZone": cfg.dns.zone,
        "dnsRecord": cfg.dns.record,
        "dnsTtlSeconds": cfg.dns.ttl_seconds,
        "healthCheckPath": cfg.dns.health_check_path,
        "healthCheckPort": cfg.dns.health_check_port,
        "healthCheckIntervalSeconds": cfg.dns.health_check_interval_seconds,
        "healthCheckFailureThreshold": cfg.dns.health_check_failure_threshold,
        "modelName": cfg.model_name,
    }
    if cfg.dns.provider == "azure":
        agreed["dnsResourceGroup"] = cfg.dns.azure_resource_group
    if cfg.dns.provider == "gcp":
        agreed["dnsManagedZone"] = cfg.dns.gcp_managed_zone
    if cfg.dns.powerdns is not None:
        agreed["powerdnsApiUrl"] = cfg.dns.powerdns.api_url
        agreed["powerdnsServerId"] = cfg.dns.powerdns.server_id
    return agreed


def check_pair(standby: StackFile, files: Mapping[str, StackFile]) -> None:
    """Cross-stack rules, recorded on the standby's file (the stack that references the primary)."""
    cfg = standby.parsed
    if cfg is None or cfg.primary_stack is None:
        return
    found = _primary_of(standby, cfg.primary_stack, files)
    if found is None:
        return
    primary, theirs = found
    _check_placement(standby, cfg, primary, theirs)
    ours, other = _agreed(cfg), _agreed(theirs)
    for key in ours:
        if ours[key] != other.get(key):
            standby.add(
                key,
                f"stack config '{key}' must be the same in both stacks (got {ours[key]!r} here, "
                f"{other.get(key)!r} in {primary.name}): set one value in both files",
            )
    shared_vault = config_vault.pair_problem(cfg.vault, theirs.vault, primary.name)
    if shared_vault:
        standby.add("vaultAddress", shared_vault)
    _check_replication(standby, cfg)


def _primary_of(
    standby: StackFile, reference: str, files: Mapping[str, StackFile]
) -> tuple[StackFile, StackConfig] | None:
    """The file and config primaryStack names, or None with the reason recorded (or reported on
    the primary's own file when it does not parse)."""
    name = reference.rsplit("/", 1)[-1]
    fix = f"point primaryStack in {standby.name} at the primary stack (org/{PROJECT}/<primary stack>)"
    if name == standby.stack:
        standby.add("primaryStack", f"stack config 'primaryStack' names this stack itself ({name}): {fix}")
        return None
    primary = files.get(name)
    if primary is None:
        standby.add(
            "primaryStack",
            f"stack config 'primaryStack' names stack '{name}', but there is no Pulumi.{name}.yaml "
            f"(stacks checked: {', '.join(sorted(files))}): {fix}",
        )
        return None
    theirs = primary.parsed
    if theirs is None:
        return None  # its own problems are reported on its file
    if theirs.role != "primary":
        standby.add(
            "primaryStack",
            f"stack config 'primaryStack' names stack '{name}', whose role is {theirs.role}, "
            f"not primary: {fix}",
        )
        return None
    return primary, theirs


def _check_placement(standby: StackFile, cfg: StackConfig, primary: StackFile, theirs: StackConfig) -> None:
    """The standby names the primary's cloud, and a site standby is on another site."""
    if cfg.primary_cloud is not None and cfg.primary_cloud != theirs.cloud:
        standby.add(
            "primaryCloud",
            f"stack config 'primaryCloud' must be the primary's cloud ({theirs.cloud}, in {primary.name}) "
            f"(got {cfg.primary_cloud!r}): set primaryCloud: {theirs.cloud} in {standby.name}",
        )
    if cfg.cloud == theirs.cloud == "onprem" and cfg.region == theirs.region:
        # On-prem target (issue 12): two sites are two failure domains, one site is one.
        standby.add(
            "region",
            f"stack config 'region' must name another site than the primary's ({theirs.region}, in "
            f"{primary.name}) (got {cfg.region!r}): a standby on the primary's own site shares its "
            f"failure domain; set region to the standby site's name in {standby.name}",
        )


def _check_replication(standby: StackFile, cfg: StackConfig) -> None:
    try:
        from components.object_store.replication import ReplicationScheduleError, plan_replication
    except ImportError:  # pragma: no cover - the components ship with the project
        return
    assert cfg.primary_cloud is not None
    try:
        plan_replication(cfg.primary_cloud, cfg.cloud, cfg.replication_interval_minutes, cfg.stack)
    except ReplicationScheduleError as exc:
        standby.add("replicationIntervalMinutes", str(exc))


def _check_authority(stack_file: StackFile) -> None:
    """Per-authority limits parse_config cannot know from the key alone."""
    cfg = stack_file.parsed
    if cfg is None:
        return
    from components.dns.args import GCP_MIN_INTERVAL_SECONDS

    if cfg.dns.provider == "gcp" and cfg.dns.health_check_interval_seconds < GCP_MIN_INTERVAL_SECONDS:
        stack_file.add(
            "healthCheckIntervalSeconds",
            f"stack config 'healthCheckIntervalSeconds' must be {GCP_MIN_INTERVAL_SECONDS} when dnsProvider "
            f"is gcp (got {cfg.dns.health_check_interval_seconds}): Cloud DNS health checks of external "
            f"endpoints run every 30 s or slower; set healthCheckIntervalSeconds: 30 in both stack files",
        )


@dataclass
class CheckResult:
    files: dict[str, StackFile]
    problems: list[Problem]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stacks": sorted(self.files),
            "problems": [p.to_dict() for p in self.problems],
            "notes": self.notes,
        }


def check_stacks(root: Path, stacks: Sequence[str] = ("primary", "standby")) -> CheckResult:
    """Validate `stacks` (and any primary a standby names) in `root`; never raises for bad files."""
    schema, problems = _schema(root)
    if problems:
        return CheckResult({}, problems, [])
    files: dict[str, StackFile] = {}
    # org/stack and org/project/stack name the same Pulumi.<stack>.yaml.
    queue = list(dict.fromkeys(stack.rsplit("/", 1)[-1] for stack in stacks))
    while queue:
        stack = queue.pop(0)
        if stack in files:
            continue
        files[stack] = read_stack_file(root, stack, schema)
        check_stack(files[stack])
        ref = files[stack].raw.get("primaryStack")
        if ref and files[stack].parsed is not None:
            named = ref.rsplit("/", 1)[-1]
            if named not in files and (root / f"Pulumi.{named}.yaml").is_file():
                queue.append(named)
    for stack_file in files.values():
        _check_authority(stack_file)
        if stack_file.parsed is not None and stack_file.parsed.role == "standby":
            check_pair(stack_file, files)
    _check_targets(files)
    found = sorted((p for f in files.values() for p in f.problems), key=lambda p: (p.file, p.line or 10**9))
    return CheckResult(files, found, [n for f in files.values() for n in f.notes])


def _check_targets(files: Mapping[str, StackFile]) -> None:
    try:
        from infra.targets import check_targets
    except ImportError:  # pragma: no cover
        return
    for stack_file in files.values():
        if stack_file.parsed is not None:
            for key, message in check_targets(stack_file.parsed):
                stack_file.add(key, message)


def program_checks(cfg: StackConfig, root: Path) -> list[str]:
    """The same per-authority, cross-stack and target rules for the config `pulumi up` hands the
    program (infra/__main__.py), so they fail before any resource instead of half-way through.

    The other stack is read from its file in `root`; when that file is not there (the stacks live
    in different checkouts) only this stack's rules run.
    """
    schema, problems = _schema(root)
    if problems:
        return []
    this = StackFile(cfg.stack, root / f"Pulumi.{cfg.stack}.yaml", parsed=cfg)
    if this.path.is_file():
        this.lines = read_stack_file(root, cfg.stack, schema).lines
    _check_authority(this)
    files = {cfg.stack: this}
    if cfg.primary_stack is not None:
        name = cfg.primary_stack.rsplit("/", 1)[-1]
        if (root / f"Pulumi.{name}.yaml").is_file() and name != cfg.stack:
            files[name] = read_stack_file(root, name, schema)
            check_stack(files[name])
        if name in files or name == cfg.stack:
            check_pair(this, files)
    _check_targets({cfg.stack: this})
    return [str(p) for p in this.problems]


# --- command line -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.check", description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", nargs="*", default=["primary", "standby"], help="default: primary standby")
    parser.add_argument("--workdir", type=Path, default=Path.cwd(), help="project root (default: cwd)")
    parser.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    args = parser.parse_args(argv)
    result = check_stacks(args.workdir, args.stacks)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        for problem in result.problems:
            print(f"error: {problem}", file=sys.stderr)
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        if result.ok:
            print(f"ok: {', '.join(sorted(result.files))} pass every check")
        else:
            count = len(result.problems)
            print(f"{count} problem{'s' if count != 1 else ''} found; nothing was run", file=sys.stderr)
    return 0 if result.ok else 2


def run_quietly_on_broken_pipe(entry: Any, argv: Sequence[str] | None = None) -> int:
    """Run `entry(argv)`; a reader that stops early (`| head`) ends the output, not in a traceback."""
    try:
        code = int(entry(argv))
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(run_quietly_on_broken_pipe(main))

"""The runbooks stay honest: every command they quote exists, every page has the house sections.

A runbook is read at 3 a.m. during an outage and pasted into a terminal, so a flag that was renamed
in the CLI, a config key that was never in the schema or a section that was dropped is a bug. This
module extracts every command from the fenced ```bash blocks (and inline `failover ...` spans) of
runbooks/*.md and checks it against the real code: `cutover.cli.build_parser()` for `failover`,
Pulumi.yaml and `infra.config.parse_config` for `pulumi config`, the shipped stack files for `-s`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import PROJECT, ConfigError, parse_config
from offline.harness import ROOT, load_stack_config
from tests.support import TEST_SECRETS

RUNBOOKS = ROOT / "runbooks"
INDEX = RUNBOOKS / "README.md"
SECTIONS = ("Meaning", "Impact", "Diagnosis", "Mitigation", "Verify", "Rollback", "Escalation")
LAST_DRILLED = re.compile(
    r"^Last drilled: (never \(fill in after the first drill\)|\d{4}-\d{2}-\d{2}\b.*)$", re.MULTILINE
)
# Code blocks a page may contain: commands (checked here) or sample output (never executed).
FENCE_LANGUAGES = ("bash", "text")
# Pulumi commands the runbooks may use, with whether they act on one stack (then `-s` is required:
# during an incident the currently selected stack is whatever someone last touched).
PULUMI_COMMANDS: dict[tuple[str, ...], bool] = {
    ("login",): False,
    ("whoami",): False,
    ("stack", "ls"): False,
    ("up",): True,
    ("preview",): True,
    ("refresh",): True,
    ("config", "get"): True,
    ("config", "set"): True,
    ("config", "rm"): True,
    ("config",): True,
    ("stack", "output"): True,
    ("stack", "export"): True,
    ("stack", "import"): True,
    ("stack", "history"): True,
    ("stack", "change-secrets-provider"): True,
}
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_SUBSHELL = re.compile(r"\$\(([^()]*)\)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_ANGLE_PLACEHOLDER = re.compile(r"(?<![<\w])<[A-Za-z][\w .-]*>(?![>\w])")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")


@dataclass(frozen=True)
class Command:
    """One simple command quoted in a runbook."""

    page: str
    line: int
    """1-based line of the page where the command starts."""
    text: str
    """The command as written (continuations joined), for messages."""
    argv: tuple[str, ...]
    """Words after shell parsing, redirections and leading VAR=value assignments removed."""

    def where(self) -> str:
        return f"runbooks/{self.page}:{self.line}: {self.text}"


def pages() -> list[Path]:
    """Incident pages (everything but the index)."""
    return sorted(p for p in RUNBOOKS.glob("*.md") if p != INDEX)


def page_ids() -> list[str]:
    return [p.name for p in pages()]


def documents() -> list[str]:
    """Every Markdown file whose commands are checked: the pages and the index."""
    return sorted(p.name for p in RUNBOOKS.glob("*.md"))


def _fences(text: str) -> Iterator[tuple[str, int, list[str]]]:
    """(language, line of the opening fence, body lines) of every fenced block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        # Fences may be indented (a block inside a numbered list item).
        if lines[i].lstrip().startswith("```"):
            language = lines[i].lstrip()[3:].strip()
            start = i + 1
            i += 1
            body: list[str] = []
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                body.append(lines[i])
                i += 1
            yield language, start, body
        i += 1


def _logical_lines(body: list[str], first_line: int) -> Iterator[tuple[int, str]]:
    """Join `\\` continuations; skip blank lines and whole-line comments."""
    pending: list[str] = []
    start = first_line
    for offset, raw in enumerate(body):
        if not pending:
            start = first_line + offset
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        yield start, " ".join(pending)
        pending = []
    if pending:
        yield start, " ".join(pending)


def _is_redirect(token: str) -> bool:
    """`>`, `>>`, `<`, `>&`, `&>` ... (shlex returns operators as tokens of their own)."""
    return bool(token) and set(token) <= set("<>&|") and bool(set(token) & set("<>"))


def _is_separator(token: str) -> bool:
    """`|`, `||`, `&&`, `;`, `&`, parentheses and the `$` of an unquoted `$(`."""
    return bool(token) and set(token) <= set("();&|$")


def _simple_commands(text: str) -> Iterator[list[str]]:
    """Split a shell line into simple commands; `$(...)` bodies are commands of their own."""
    for inner in _SUBSHELL.findall(text):
        yield from _simple_commands(inner)
    text = _SUBSHELL.sub("$SUBSHELL_OUTPUT", text)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = list(lexer)
    current: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if _is_redirect(token):
            # The fd of 2>&1; `--concurrency 8 > out.json` (a space) is an argument, not an fd.
            fd = re.search(rf"(?<![\w-]){current[-1]}{re.escape(token)}", text) if current else None
            if current and current[-1].isdigit() and fd:
                current.pop()
            i += 2  # the redirection and its target
            continue
        if _is_separator(token):
            if current:
                yield current
            current = []
        else:
            current.append(token)
        i += 1
    if current:
        yield current


def _argv(words: list[str]) -> tuple[str, ...]:
    """Drop what runs before the program: `VAR=value`, `export`, `env [-u NAME]`."""
    while words:
        if _ASSIGNMENT.match(words[0]) or words[0] in ("export", "env", "-i"):
            words = words[1:]
        elif words[0] == "-u" and len(words) > 1:
            words = words[2:]
        else:
            break
    return tuple(words)


def commands_in(path: Path) -> list[Command]:
    text = path.read_text()
    found: list[Command] = []
    for language, start, body in _fences(text):
        if language != "bash":
            continue
        for line, logical in _logical_lines(body, start + 1):
            for words in _simple_commands(logical):
                argv = _argv(words)
                if argv:
                    found.append(Command(path.name, line, logical, argv))
    # Inline spans in prose are pasted just as often as blocks: every `failover ...` span, and
    # `pulumi ...` spans written as a full command (naming a stack); `pulumi up` alone names a
    # command in a sentence.
    in_fence = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        for span in _INLINE_CODE.findall(raw):
            if span.startswith("failover ") or (span.startswith("pulumi ") and " -s " in f"{span} "):
                for words in _simple_commands(span):
                    argv = _argv(words)
                    if argv:
                        found.append(Command(path.name, number, span, argv))
    return found


def all_commands(program: str) -> list[Command]:
    return [c for d in documents() for c in commands_in(RUNBOOKS / d) if c.argv[0] == program]


def _substitute(word: str) -> str:
    """`$PRIMARY_OUTPUTS` -> `primary-outputs-placeholder`, as a user would fill it in."""
    return _VAR.sub(lambda m: m.group(1).lower().replace("_", "-") + "-placeholder", word)


@cache
def schema_keys() -> frozenset[str]:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    return frozenset(project["config"])


@cache
def secret_names() -> frozenset[str]:
    names: set[str] = set()
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    names.update(project["config"]["secretNames"].get("default", []))
    for stack in stacks():
        doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
        names.update(doc.get("config", {}).get(f"{PROJECT}:secretNames", []))
    return frozenset(names)


@cache
def stacks() -> frozenset[str]:
    return frozenset(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))


def _cli() -> Any:
    from cutover import cli

    return cli


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for action in parser._actions for o in action.option_strings}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse exposes subcommands nowhere else
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def failover_problems(command: Command) -> list[str]:
    """Why `command` (a `failover ...` line) would not run as written; empty when it parses."""
    parser: argparse.ArgumentParser = _cli().build_parser()
    argv = [_substitute(w) for w in command.argv[1:]]
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            namespace = parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code == 0:  # --help
            return []
        message = stderr.getvalue().strip().splitlines()
        return [
            f"{command.where()}\n  does not parse with cutover.cli.build_parser() (exit {exc.code}): "
            f"{message[-1] if message else 'no message'}; use the CLI's real subcommands and flags "
            "(`failover --help`, `failover <command> --help`)"
        ]
    # argparse accepts unambiguous prefixes (--step for --steps); a runbook spells flags in full so
    # it keeps working when the CLI gains a flag with the same prefix.
    known = _options(parser)
    chosen = _subcommands(parser).get(getattr(namespace, "command", ""), None)
    if chosen is not None:
        known |= _options(chosen)
    return [
        f"{command.where()}\n  abbreviates a flag: {word.split('=', 1)[0]!r} is not one of the CLI's "
        f"options; spell it in full"
        for word in argv
        if word.startswith("--") and word.split("=", 1)[0] not in known
    ]


def _pulumi_command(argv: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    """The command path (longest known prefix of the non-flag words) and the remaining words."""
    words = [w for w in argv[1:] if not w.startswith("-")]
    for length in (2, 1):
        path = tuple(words[:length])
        if path in PULUMI_COMMANDS:
            rest = list(argv[1:])
            for part in path:
                rest.remove(part)
            return path, rest
    return tuple(words[:2]), list(argv[1:])


def _flag_value(words: list[str], *names: str) -> str | None:
    for i, word in enumerate(words):
        for name in names:
            if word == name and i + 1 < len(words):
                return words[i + 1]
            if word.startswith(f"{name}="):
                return word.split("=", 1)[1]
    return None


def _positionals(words: list[str], flags_with_values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in flags_with_values:
            skip = True
        elif not word.startswith("-"):
            out.append(word)
    return out


# --- page structure ------------------------------------------------------------------------------


def test_runbooks_cover_every_incident_of_the_issue() -> None:
    # Issue #5: outage, credential revocation, provider restriction, cost spike, corrupted model
    # artefacts, failback and the quarterly drill each need a page.
    topics = {
        "primary outage": ("outage",),
        "credential revocation": ("credential",),
        "provider restricts the model": ("provider", "migration"),
        "cost spike": ("cost",),
        "corrupted model artefacts": ("corrupt",),
        "failback": ("failback",),
        "quarterly drill": ("drill",),
        # Issue #12: an on-prem site outage, and the planned move from a cloud to on-prem.
        "on-prem site outage": ("onprem-site-outage",),
        "planned move from a cloud to on-prem": ("to-onprem-migration",),
    }
    names = [p.stem for p in pages()]
    missing = [t for t, words in topics.items() if not any(any(w in n for w in words) for n in names)]
    assert not missing, f"runbooks/ has no page for {missing}; pages are {names}"


@pytest.mark.parametrize("page", page_ids())
def test_page_has_the_seven_sections_in_order(page: str) -> None:
    text = (RUNBOOKS / page).read_text()
    headings = re.findall(r"^## (.+?)\s*$", text, re.MULTILINE)
    found = [h for h in headings if h in SECTIONS]
    assert found == list(SECTIONS), (
        f"runbooks/{page} has sections {found}; it needs exactly {list(SECTIONS)} as `## ` headings "
        "in that order (house style: Meaning, Impact, Diagnosis, Mitigation, Verify, Rollback, Escalation)"
    )
    for section, body in zip(
        SECTIONS,
        re.split(r"^## (?:" + "|".join(SECTIONS) + r")\s*$", text, flags=re.MULTILINE)[1:],
        strict=True,
    ):
        assert body.strip(), f"runbooks/{page}: section '{section}' is empty"


@pytest.mark.parametrize("page", page_ids())
def test_page_says_when_it_was_last_drilled(page: str) -> None:
    text = (RUNBOOKS / page).read_text()
    assert LAST_DRILLED.search(text), (
        f"runbooks/{page} has no 'Last drilled:' line; add "
        "'Last drilled: never (fill in after the first drill)' or 'Last drilled: YYYY-MM-DD ...'"
    )


@pytest.mark.parametrize("page", page_ids())
def test_page_quotes_at_least_one_failover_command(page: str) -> None:
    commands = [c for c in commands_in(RUNBOOKS / page) if c.argv[0] == "failover"]
    assert commands, f"runbooks/{page} quotes no `failover ...` command in a ```bash block"


@pytest.mark.parametrize("page", documents())
def test_code_blocks_are_bash_or_text(page: str) -> None:
    # An unlabelled or ```sh block would hide its commands from the checks below.
    for language, line, _ in _fences((RUNBOOKS / page).read_text()):
        assert language in FENCE_LANGUAGES, (
            f"runbooks/{page}:{line}: code block labelled {language!r}; label commands ```bash "
            "(they are checked) and sample output ```text"
        )


@pytest.mark.parametrize("page", documents())
def test_commands_use_shell_variables_not_angle_placeholders(page: str) -> None:
    # `<value>` is a shell redirection: pasted, it reads a file named "value" or fails oddly.
    for language, start, body in _fences((RUNBOOKS / page).read_text()):
        if language != "bash":
            continue
        for offset, line in enumerate(body):
            code = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
            bad = _ANGLE_PLACEHOLDER.findall(code)
            assert not bad, (
                f"runbooks/{page}:{start + 1 + offset}: placeholder {bad[0]} in a command; "
                "write it as a shell variable ($NEW_API_KEY) and say above the block how to set it"
            )


def test_index_links_every_page() -> None:
    index = INDEX.read_text()
    linked = set(re.findall(r"\]\((?:\./)?([^)#/]+\.md)", index))
    on_disk = set(page_ids())
    assert on_disk - linked == set(), f"runbooks/README.md does not link {sorted(on_disk - linked)}"
    assert linked - on_disk == set(), f"runbooks/README.md links missing pages {sorted(linked - on_disk)}"


# --- the failover CLI -------------------------------------------------------------------------------


def test_runbooks_quote_failover_commands() -> None:
    assert len(all_commands("failover")) >= 10, "the extraction found almost no failover commands"


@pytest.mark.parametrize("page", documents())
def test_every_failover_command_parses_with_the_cli(page: str) -> None:
    problems = [
        p for c in commands_in(RUNBOOKS / page) if c.argv[0] == "failover" for p in failover_problems(c)
    ]
    assert not problems, "\n".join(problems)


def test_every_cli_subcommand_appears_in_a_runbook() -> None:
    offered = set(_subcommands(_cli().build_parser()))
    assert offered, "cutover.cli.build_parser() has no subcommands"
    used: set[str] = set()
    for command in all_commands("failover"):
        used.update(w for w in command.argv[1:] if w in offered)
    assert offered - used == set(), (
        f"CLI subcommands {sorted(offered - used)} appear in no runbook; document when an operator runs them"
    )


def test_extraction_sees_continuations_pipes_comments_and_subshells(tmp_path: Path) -> None:
    page = tmp_path / "sample.md"
    page.write_text(
        "x\n```bash\n# a comment\nfailover --json \\\n  status | jq .  # trailing\n"
        'A=1 pulumi up -s standby --yes && failover plan --to "$TARGET" 2>&1 > out.txt\n'
        'KUBE="$(pulumi stack output kubeconfig --show-secrets -s primary)"\n'
        "failover compare --requests 8 > before.json\n```\n"
        "1. In a list:\n\n   ```bash\n   export FAILOVER_API_KEY=x\n   failover resume\n   ```\n"
    )
    argvs = [c.argv for c in commands_in(page)]
    assert argvs == [
        ("failover", "--json", "status"),
        ("jq", "."),
        ("pulumi", "up", "-s", "standby", "--yes"),
        ("failover", "plan", "--to", "$TARGET"),
        ("pulumi", "stack", "output", "kubeconfig", "--show-secrets", "-s", "primary"),
        ("failover", "compare", "--requests", "8"),
        ("failover", "resume"),
    ]
    assert commands_in(page)[0].line == 4


def test_a_misspelt_or_abbreviated_failover_flag_fails_the_check() -> None:
    def command(*argv: str) -> Command:
        return Command("sample.md", 7, " ".join(argv), argv)

    assert failover_problems(command("failover", "execute", "--to", "standby", "--steps", "10,100")) == []
    misspelt = failover_problems(command("failover", "exeucte", "--to", "standby"))
    assert len(misspelt) == 1
    assert "sample.md:7" in misspelt[0]
    assert "invalid choice: 'exeucte'" in misspelt[0]
    abbreviated = failover_problems(command("failover", "execute", "--to", "standby", "--step", "100"))
    assert len(abbreviated) == 1
    assert "'--step'" in abbreviated[0]


# --- pulumi commands ---------------------------------------------------------------------------------


def pulumi_problems(command: Command) -> list[str]:
    """A known pulumi command, and `-s <stack>` naming a stack of this project where it needs one."""
    path, rest = _pulumi_command(command.argv)
    if path not in PULUMI_COMMANDS:
        return [
            f"{command.where()}\n  `pulumi {' '.join(path)}` is not a command the runbooks may use "
            f"({', '.join(sorted(' '.join(p) for p in PULUMI_COMMANDS))}); check the Pulumi CLI docs, "
            "then add it to PULUMI_COMMANDS"
        ]
    if not PULUMI_COMMANDS[path]:
        return []
    stack = _flag_value(rest, "-s", "--stack")
    if stack is None:
        return [
            f"{command.where()}\n  has no `-s <stack>`: during an incident the selected stack is "
            "whatever someone touched last; name it explicitly"
        ]
    if stack.rsplit("/", 1)[-1] not in stacks() and not _VAR.fullmatch(stack):
        return [f"{command.where()}\n  names stack {stack!r}; stacks in this project: {sorted(stacks())}"]
    return []


_PATH_ROOT = re.compile(r"^(?:\[\"([^\"]+)\"\]|([A-Za-z_][\w:-]*))")
_PATH_SEGMENT = re.compile(r"\[\"([^\"]+)\"\]|\.([\w-]+)|\[(\d+)\]")


def _config_path(key: str, value: str | None = None) -> tuple[str, Any]:
    """`pulumi config set --path KEY VALUE`: the top-level key and the value it ends up holding.

    Pulumi's path syntax (`parent.nested`, `["parent.name"]["nested.name"]`, `names[0]`); with
    --path, `true`/`false` become booleans and integers numbers, as the CLI stores them. A list
    index builds a list holding the value at that index (earlier entries None).
    """
    match = _PATH_ROOT.match(key)
    if match is None:
        return key, value
    root = match.group(1) or match.group(2)
    segments = [a or b or int(c) for a, b, c in _PATH_SEGMENT.findall(key[match.end() :])]
    typed: Any = value
    if value in ("true", "false"):
        typed = value == "true"
    elif value is not None and re.fullmatch(r"-?\d+", value):
        typed = int(value)
    for segment in reversed(segments):
        typed = [*[None] * segment, typed] if isinstance(segment, int) else {segment: typed}
    return root, typed


def config_key_problems(command: Command) -> list[str]:
    """`pulumi config set/get/rm KEY`: KEY is in Pulumi.yaml's schema or a secretNames entry."""
    path, rest = _pulumi_command(command.argv)
    if path not in {("config", "set"), ("config", "get"), ("config", "rm")}:
        return []
    words = _positionals(rest, ("-s", "--stack", "-C", "--cwd"))
    if not words:
        return [f"{command.where()}\n  names no config key"]
    key = words[0].removeprefix(f"{PROJECT}:")
    if "--path" in rest:
        key = _config_path(key)[0]
    if key not in schema_keys() and key not in secret_names():
        return [
            f"{command.where()}\n  key {key!r} is neither in Pulumi.yaml's config schema nor a "
            f"secretNames entry; known keys: {', '.join(sorted(schema_keys()))}"
        ]
    if path == ("config", "set") and key in secret_names() and "--secret" not in rest:
        return [
            f"{command.where()}\n  sets secret {key!r} without --secret: the value would land in "
            "the stack file in plain text"
        ]
    return []


def config_value_problems(commands: list[Command]) -> list[str]:
    """Literal `pulumi config set KEY VALUE -s STACK` values that infra/config.py would reject.

    Values accumulate in order per stack, as they would in the stack file when a page is followed
    (moving a stack to another cloud sets cloud, then region, then gpuType); only problems with the
    key just set are reported.
    """
    problems: list[str] = []
    overrides: dict[str, dict[str, Any]] = {}
    namespace = f"{PROJECT}:"
    for command in commands:
        path, rest = _pulumi_command(command.argv)
        words = _positionals(rest, ("-s", "--stack", "-C", "--cwd"))
        stack = _flag_value(rest, "-s", "--stack")
        if path == ("config", "rm") and words and stack in stacks():
            overrides.setdefault(stack, {})[words[0].removeprefix(namespace)] = None
            continue
        if path != ("config", "set") or "--secret" in rest:
            continue
        if len(words) < 2 or stack is None or stack not in stacks() or _VAR.search(words[1]):
            continue
        key = words[0].removeprefix(namespace)
        if "--path" in rest:
            key, value = _config_path(key, words[1])
            current = overrides.setdefault(stack, {}).get(key)
            if isinstance(current, dict) and isinstance(value, dict):
                value = {**current, **value}
            elif isinstance(current, list) and isinstance(value, list):
                value = [v if v is not None else c for v, c in itertools.zip_longest(value, current)]
            overrides[stack][key] = value
        else:
            overrides.setdefault(stack, {})[key] = words[1]
        config, secret_keys = load_stack_config(stack, overrides=overrides[stack], secrets=TEST_SECRETS)
        raw = {k.removeprefix(namespace): v for k, v in config.items() if k.startswith(namespace)}
        try:
            parse_config(raw, stack, frozenset(k.removeprefix(namespace) for k in secret_keys))
        except ConfigError as exc:
            problems.extend(f"{command.where()}\n  {p}" for p in exc.problems if p.key == key)
    return problems


@pytest.mark.parametrize("page", documents())
def test_pulumi_commands_are_known_and_name_their_stack(page: str) -> None:
    problems = [p for c in commands_in(RUNBOOKS / page) if c.argv[0] == "pulumi" for p in pulumi_problems(c)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", documents())
def test_pulumi_config_keys_exist_in_the_schema(page: str) -> None:
    problems = [
        p for c in commands_in(RUNBOOKS / page) if c.argv[0] == "pulumi" for p in config_key_problems(c)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", documents())
def test_pulumi_config_values_pass_stack_validation(page: str) -> None:
    # A value the runbook sets must be one the stack accepts, or the `pulumi up` that follows fails
    # in the middle of an incident.
    problems = config_value_problems([c for c in commands_in(RUNBOOKS / page) if c.argv[0] == "pulumi"])
    assert not problems, "\n".join(problems)


def test_config_checks_catch_unknown_keys_plain_secrets_and_invalid_values() -> None:
    def command(text: str) -> Command:
        return Command("sample.md", 3, text, tuple(shlex.split(text)))

    assert config_key_problems(command("pulumi config set capacty warm -s standby"))
    assert config_key_problems(command('pulumi config set apiKey "$KEY" -s primary'))
    assert config_key_problems(command('pulumi config set --secret apiKey "$KEY" -s primary')) == []
    assert pulumi_problems(command("pulumi up --yes"))
    assert pulumi_problems(command("pulumi up -s prod --yes"))
    assert pulumi_problems(command("pulumi destroy -s standby"))
    assert pulumi_problems(command("pulumi up -s standby --yes")) == []
    invalid = config_value_problems([command("pulumi config set replicationIntervalMinutes 2 -s standby")])
    assert len(invalid) == 1
    assert "replicationIntervalMinutes" in invalid[0]
    moved = [
        command("pulumi config set cloud azure -s primary"),
        command("pulumi config set region eastus -s primary"),
        command("pulumi config set gpuType a100-80gb -s primary"),
    ]
    assert config_value_problems(moved) == []
    assert config_value_problems(moved[1:2])  # eastus is no aws region while the stack is on aws


# --- kubectl names ------------------------------------------------------------------------------------


def kubectl_problems(command: Command) -> list[str]:
    """Namespaces, workload names and node labels a kubectl line uses exist in the components."""
    from components.inference_cluster.args import GPU_POOL, GPU_TYPE_LABEL, NAMESPACE, POOL_LABEL, SYSTEM_POOL
    from components.inference_cluster.workload import SERVER_NAME
    from components.object_store.args import CrossCloudReplicationArgs
    from components.object_store.replication import CRONJOB_NAME

    replication = {f.name: f.default for f in fields(CrossCloudReplicationArgs)}
    namespaces = {NAMESPACE, str(replication["namespace"])}
    workloads = {"deployment": {SERVER_NAME}, "cronjob": {CRONJOB_NAME}}
    labels: dict[str, set[str] | None] = {POOL_LABEL: {GPU_POOL, SYSTEM_POOL}, GPU_TYPE_LABEL: None}
    words = [_substitute(w) for w in command.argv[1:]]
    problems: list[str] = []

    def bad(what: str, got: str, known: object) -> None:
        problems.append(f"{command.where()}\n  {what} {got!r} is not in the components (known: {known})")

    namespace = _flag_value(words, "-n", "--namespace")
    if namespace is not None and namespace not in namespaces:
        bad("namespace", namespace, sorted(namespaces))
    for i, word in enumerate(words):
        # deployment/NAME, cronjob/NAME, also inside --from=cronjob/NAME
        kind, _, name = word.rpartition("=")[2].partition("/")
        if name and kind in workloads and name not in workloads[kind]:
            bad(kind, name, sorted(workloads[kind]))
        after = words[i + 1] if i + 1 < len(words) else ""
        if word in ("-l", "--selector", "-L", "--label-columns") and after:
            key, _, value = after.partition("=")
            allowed = labels.get(key)
            if key not in labels:
                bad("node label", key, sorted(labels))
            elif value and allowed is not None and value not in allowed:
                bad(f"value of {key}", value, sorted(allowed))
    # `kubectl patch cronjob NAME`: a kind followed by a separate name.
    with_values = ("-n", "--namespace", "--kubeconfig", "-c", "-l", "-L", "-p", "-o", "--tail", "--sort-by")
    positional = _positionals(words, with_values)
    for kind, name in itertools.pairwise(positional):
        if kind in workloads and name not in workloads[kind]:
            bad(kind, name, sorted(workloads[kind]))
    return problems


@pytest.mark.parametrize("page", documents())
def test_kubectl_names_match_the_components(page: str) -> None:
    commands = [c for c in commands_in(RUNBOOKS / page) if c.argv[0] == "kubectl"]
    problems = [p for c in commands for p in kubectl_problems(c)]
    assert not problems, "\n".join(problems)


def test_kubectl_check_catches_a_wrong_namespace_workload_or_label() -> None:
    def command(text: str) -> Command:
        return Command("sample.md", 5, text, tuple(shlex.split(text)))

    good = "kubectl -n inference rollout restart deployment/inference-server"
    assert kubectl_problems(command(good)) == []
    assert kubectl_problems(command("kubectl -n default get pods"))
    assert kubectl_problems(command("kubectl -n inference rollout restart deployment/vllm"))
    assert kubectl_problems(command("kubectl -n model-replication patch cronjob replicate -p {}"))
    assert kubectl_problems(command("kubectl get nodes -l inference-failover/pool=gpus"))


# --- asking the authority, giving a reason, naming exit codes (issue 10) ---------------------------

# Subcommands that resolve the service name (status, and every run's DNS verification): a runbook
# gives them the zone's authority so a resolver's cache never answers. The others never resolve it
# (runbooks/README.md says so).
DNS_READING = frozenset({"status", "execute", "failback", "drill", "resume"})
STATE_CHANGING = frozenset({"execute", "failback", "drill", "resume", "rollback", "rotate-key"})


def _fenced_failover_commands(page: str | Path) -> list[Command]:
    path = page if isinstance(page, Path) else RUNBOOKS / page
    text = path.read_text()
    fenced_lines = {
        start + 1 + offset
        for language, start, body in _fences(text)
        if language == "bash"
        for offset in range(len(body))
    }
    return [c for c in commands_in(path) if c.argv[0] == "failover" and c.line in fenced_lines]


def _subcommand(command: Command) -> str | None:
    offered = set(_subcommands(_cli().build_parser()))
    return next((w for w in command.argv[1:] if w in offered), None)


@pytest.mark.parametrize("page", documents())
def test_failover_commands_that_read_dns_ask_the_authority(page: str) -> None:
    missing = [
        c.where()
        for c in _fenced_failover_commands(page)
        if _subcommand(c) in DNS_READING and "--dns-server" not in c.argv
    ]
    assert not missing, 'pass --dns-server "$AUTHORITY" (see runbooks/README.md):\n' + "\n".join(missing)


@pytest.mark.parametrize("page", documents())
def test_state_changing_failover_commands_give_a_reason(page: str) -> None:
    missing = [
        c.where()
        for c in _fenced_failover_commands(page)
        if _subcommand(c) in STATE_CHANGING and "--dry-run" not in c.argv and "--reason" not in c.argv
    ]
    assert not missing, "the CLI refuses these without --reason (exit 2):\n" + "\n".join(missing)


# What the text around "exit N" must talk about for N to mean what cutover.errors.ExitCode says.
EXIT_MEANINGS: dict[str, tuple[str, ...]] = {
    "OK": ("good", "status: ok", "exits 0", "ok"),
    "ERROR": ("apply", "error", "fail"),
    "USAGE": ("reason", "confirm", "usage", "command line", "keys"),
    "PRECHECK_FAILED": ("pre-check",),
    "VERIFY_FAILED_ROLLED_BACK": ("roll",),
    "PULUMI_UNAVAILABLE": ("pulumi", "backend"),
    "JOURNAL_CONFLICT": ("journal", "unfinished"),
    "UNHEALTHY": ("problem", "still accepted", "chain", "status"),
    "STACK_LOCKED": ("lock",),
}
_EXIT = re.compile(r"\bexits? (\d+)((?:(?:,| or| and) \d+)*)")


def exit_code_problems(text: str, where: str) -> list[str]:
    from cutover.errors import ExitCode

    problems = []
    for paragraph in re.split(r"\n\s*\n", text):
        for match in _EXIT.finditer(paragraph):
            numbers = [match.group(1), *re.findall(r"\d+", match.group(2))]
            for number in numbers:
                try:
                    code = ExitCode(int(number))
                except ValueError:
                    problems.append(f"{where}: 'exit {number}' is not a code in cutover.errors.ExitCode")
                    continue
                if not any(word in paragraph.lower() for word in EXIT_MEANINGS[code.name]):
                    problems.append(
                        f"{where}: 'exit {number}' ({code.name}) in a paragraph that mentions none of "
                        f"{EXIT_MEANINGS[code.name]}: {paragraph.strip()[:160]!r}"
                    )
    return problems


@pytest.mark.parametrize("page", documents())
def test_exit_codes_named_in_runbooks_exist_with_that_meaning(page: str) -> None:
    problems = exit_code_problems((RUNBOOKS / page).read_text(), f"runbooks/{page}")
    assert not problems, "\n".join(problems)


def test_every_exit_code_is_named_in_some_runbook() -> None:
    from cutover.errors import ExitCode

    text = "\n".join((RUNBOOKS / d).read_text() for d in documents())
    named = {int(n) for m in _EXIT.finditer(text) for n in [m.group(1), *re.findall(r"\d+", m.group(2))]}
    listed = {int(m) for m in re.findall(r"\b(\d) [A-Z_]{4,}\b", (RUNBOOKS / "README.md").read_text())}
    assert {int(c) for c in ExitCode} - (named | listed) == set()


def test_exit_code_check_catches_a_wrong_number_and_a_wrong_meaning() -> None:
    assert exit_code_problems("The drill stops (exit 9).", "x") == [
        "x: 'exit 9' is not a code in cutover.errors.ExitCode"
    ]
    assert exit_code_problems("Nothing changed, the standby is unhealthy (exit 4).", "x")
    assert exit_code_problems("A verification failed and it rolled back (exit 4).", "x") == []


# --- python -m infra.cost, and planned moves measured first and started small (issues 11, 12) ----


def infra_cost_problems(command: Command) -> list[str]:
    """`python -m infra.cost ...` parses with infra.cost.build_parser() and names stacks of this project."""
    from infra.cost import build_parser

    argv = [_substitute(w) for w in command.argv[3:]]
    parser = build_parser()
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            namespace = parser.parse_args(argv)
    except SystemExit as exc:
        message = stderr.getvalue().strip().splitlines()
        return [
            f"{command.where()}\n  does not parse with infra.cost.build_parser() (exit {exc.code}): "
            f"{message[-1] if message else 'no message'}; see `python -m infra.cost --help`"
        ]
    problems = [
        f"{command.where()}\n  names stack {stack!r}; stacks in this project: {sorted(stacks())}"
        for stack in namespace.stack
        if stack not in stacks() and not stack.endswith("-placeholder")
    ]
    known = _options(parser)
    problems += [
        f"{command.where()}\n  abbreviates a flag: {word.split('=', 1)[0]!r}; spell it in full"
        for word in argv
        if word.startswith("--") and word.split("=", 1)[0] not in known
    ]
    return problems


def _is_infra_cost(command: Command) -> bool:
    return command.argv[0].endswith("python") and command.argv[1:3] == ("-m", "infra.cost")


@pytest.mark.parametrize("page", documents())
def test_infra_cost_commands_parse_with_its_cli(page: str) -> None:
    commands = [c for c in commands_in(RUNBOOKS / page) if _is_infra_cost(c)]
    problems = [p for c in commands for p in infra_cost_problems(c)]
    assert not problems, "\n".join(problems)


def test_infra_cost_check_catches_a_wrong_flag_or_stack() -> None:
    def command(text: str) -> Command:
        return Command("sample.md", 9, text, tuple(shlex.split(text)))

    assert infra_cost_problems(command("python -m infra.cost primary standby --compare c.json")) == []
    assert infra_cost_problems(command("python -m infra.cost primary --output-tokens-per-second 900")) == []
    assert infra_cost_problems(command("python -m infra.cost primary --compar c.json"))  # abbreviated
    assert infra_cost_problems(command("python -m infra.cost primary --througput 9"))  # unknown
    assert infra_cost_problems(command("python -m infra.cost prod"))  # no such stack
    assert infra_cost_problems(
        command("python -m infra.cost primary --compare c.json --output-tokens-per-second 9")
    )  # one or the other


# Pages of planned moves: every shift is measured first (`failover compare` earlier on the page)
# and starts small (issue 11: "the shift's --steps start small (e.g. 5 %)").
PLANNED_MOVES = ("provider-migration.md", "cloud-to-onprem-migration.md")
SHIFTS = frozenset({"execute", "failback", "drill"})
FIRST_STEP_AT_MOST = 5


def planned_move_problems(page: str | Path) -> list[str]:
    commands = _fenced_failover_commands(page)
    compared = [c.line for c in commands if _subcommand(c) == "compare"]
    problems = []
    for c in commands:
        if _subcommand(c) not in SHIFTS:
            continue
        steps = _flag_value(list(c.argv), "--steps")
        first = int(steps.split(",")[0]) if steps and steps.split(",")[0].isdigit() else None
        if first is None or first > FIRST_STEP_AT_MOST:
            problems.append(
                f"{c.where()}\n  a planned shift starts small: pass --steps starting at most "
                f"{FIRST_STEP_AT_MOST} (e.g. 5,25,50,100)"
            )
        if not any(line < c.line for line in compared):
            problems.append(f"{c.where()}\n  no `failover compare` before this shift on the page")
    return problems


@pytest.mark.parametrize("page", PLANNED_MOVES)
def test_planned_moves_compare_first_and_start_small(page: str) -> None:
    problems = planned_move_problems(page)
    assert not problems, "\n".join(problems)


def test_planned_move_check_catches_a_big_first_step_and_a_missing_compare(tmp_path: Path) -> None:
    page = tmp_path / "move.md"
    page.write_text(
        '```bash\nfailover --dns-server "$AUTHORITY" execute --reason "$R" --to standby --steps 50,100\n'
        'failover --dns-server "$AUTHORITY" compare\n'
        'failover --dns-server "$AUTHORITY" failback --reason "$R" --steps 5,100\n```\n'
    )
    found = planned_move_problems(page)
    assert len(found) == 2
    assert "--steps starting at most 5" in found[0] and "no `failover compare` before" in found[1]


# What each on-prem page must walk through with real commands (issue 12, item 8).
ONPREM_PAGES: dict[str, dict[str, Any]] = {
    "onprem-site-outage.md": {
        "failover": {"status", "execute", "resume", "rollback", "replication", "compare"},
        "config keys": {"capacity", "powerdnsApiUrl", "replicationPaused"},
    },
    "cloud-to-onprem-migration.md": {
        "failover": {"compare", "plan", "execute", "failback", "replication", "rollback", "status"},
        "config keys": {"cloud", "dnsProvider", "powerdnsApiUrl", "primaryCloud", "hardwareCostUsd", "pue"},
    },
}


@pytest.mark.parametrize("page", sorted(ONPREM_PAGES))
def test_onprem_pages_walk_through_their_cases_with_real_commands(page: str) -> None:
    commands = commands_in(RUNBOOKS / page)
    used = {_subcommand(c) for c in commands if c.argv[0] == "failover"}
    missing = ONPREM_PAGES[page]["failover"] - used
    assert not missing, f"runbooks/{page} never runs failover {sorted(missing)}"
    keys = set()
    for c in commands:
        path, rest = _pulumi_command(c.argv)
        words = _positionals(rest, ("-s", "--stack", "-C", "--cwd"))
        if c.argv[0] == "pulumi" and path == ("config", "set") and words:
            keys.add(_config_path(words[0])[0] if "--path" in rest else words[0])
    assert ONPREM_PAGES[page]["config keys"] <= keys, (
        f"runbooks/{page} never sets {sorted(ONPREM_PAGES[page]['config keys'] - keys)}"
    )
    assert any(_is_infra_cost(c) for c in commands_in(RUNBOOKS / page)) or page == "onprem-site-outage.md"


def test_config_path_syntax_names_the_top_level_key_and_builds_the_value() -> None:
    assert _config_path('gpuNodeSelector["nvidia.com/gpu.product"]', "NVIDIA-L40S") == (
        "gpuNodeSelector",
        {"nvidia.com/gpu.product": "NVIDIA-L40S"},
    )
    assert _config_path("parent.nested", "true") == ("parent", {"nested": True})
    assert _config_path('["parent"]["a.b"]', "3") == ("parent", {"a.b": 3})
    assert _config_path("plain", "x") == ("plain", "x")
    assert _config_path("gpuNodeSelector[0]", "a=b") == ("gpuNodeSelector", ["a=b"])
    assert _config_path("names[1]", "x") == ("names", [None, "x"])

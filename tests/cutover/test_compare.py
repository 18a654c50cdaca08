"""`failover compare` against fake OpenAI-compatible servers, each its own process on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cutover import cli
from cutover.compare import (
    DEFAULT_PROMPTS,
    Target,
    load_prompts,
    run_async,
    run_side,
    tls_context,
    token_overlap,
)
from cutover.errors import UsageError
from tests.cutover.compare_support import ROOT, SERVICE, fake_side, make_ca, outputs_file

MODEL = "llama-3.1-8b-instruct"


def _cli(tmp_path: Path, primary: str | None, standby: str | None, *extra: str) -> list[str]:
    return [
        "--workdir", str(ROOT),
        "--primary-outputs", str(outputs_file(tmp_path, "primary", primary)),
        "--standby-outputs", str(outputs_file(tmp_path, "standby", standby)),
        "compare", "--json", "--primary-hourly-usd", "2.5", "--standby-hourly-usd", "1.25", *extra,
    ]  # fmt: skip


def test_the_shipped_prompt_file_is_valid_jsonl_of_messages() -> None:
    prompts = load_prompts(DEFAULT_PROMPTS)
    assert len(prompts) >= 10
    assert all(m["role"] in ("system", "user") for p in prompts for m in p)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"messages": [{"role": "user", "content": "hi"}]}\nnot json\n', "line 2 is not JSON"),
        ('{"prompt": "hi"}\n', 'line 1 must be {"messages"'),
        ('{"messages": []}\n', "line 1 must be"),
        ('{"messages": [{"role": "user"}]}\n', "line 1 must be"),
        ('["user", "hi"]\n', "line 1 must be"),
        ("\n\n", "holds no prompts"),
    ],
)
def test_a_prompt_file_that_is_not_jsonl_of_messages_is_a_usage_error_with_the_fix(
    tmp_path: Path, content: str, fragment: str
) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text(content)
    with pytest.raises(UsageError) as caught:
        load_prompts(path)
    assert f"--prompts {path}" in caught.value.message and fragment in caught.value.message
    assert caught.value.fix.startswith('write one JSON object per line, e.g. {"messages"')


def test_token_overlap_is_one_for_equal_text_and_falls_with_drift() -> None:
    assert token_overlap("a b c", "a b c") == 1.0
    assert token_overlap("a b c d", "a b c e") == pytest.approx(0.75)
    assert token_overlap("a b", "c d") == 0.0


def test_compare_measures_both_sides_and_their_agreement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_side() as primary, fake_side("--latency-ms", "30", "--variant", "indeed") as standby:
        code = cli.run(_cli(tmp_path, primary.url, standby.url, "--requests", "40", "--concurrency", "4"))
        served = (primary.stats()["requests"], standby.stats()["requests"])
    assert code == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert served == (40, 40)
    p, s = report["sides"]["primary"], report["sides"]["standby"]
    assert p["requests"] == s["requests"] == 40 and p["errors"] == s["errors"] == 0
    assert p["server_name"] == s["server_name"] == SERVICE
    # The standby waits 30 ms before its first token; the primary answers at once.
    assert s["ttft_p50_ms"] >= 30 > p["ttft_p50_ms"]
    assert s["latency_p95_ms"] >= s["latency_p50_ms"] >= 30
    assert p["output_tokens"] > 0 and s["output_tokens"] == p["output_tokens"] + 40  # one drift word each
    assert p["output_tokens_per_second"] > s["output_tokens_per_second"] > 0
    expected = round(2.5 / (p["output_tokens_per_second"] * 3600) * 1_000_000, 4)
    assert p["cost_per_1m_output_tokens_usd"] == pytest.approx(expected, rel=0.01)
    agreement = report["agreement"]
    assert agreement["compared_prompts"] == len(load_prompts(DEFAULT_PROMPTS))
    assert agreement["exact_match_rate"] == 0.0  # every standby reply has the extra word
    assert 0.8 < agreement["token_overlap_mean"] < 1.0


def test_identical_sides_agree_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with fake_side() as primary, fake_side() as standby:
        assert cli.run(_cli(tmp_path, primary.url, standby.url, "--requests", "20")) == 0
    agreement = json.loads(capsys.readouterr().out)["agreement"]
    assert agreement["exact_match_rate"] == 1.0 and agreement["token_overlap_mean"] == 1.0


def test_errors_are_counted_per_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with fake_side() as primary, fake_side() as standby:
        standby.control(error_rate=1.0)
        assert cli.run(_cli(tmp_path, primary.url, standby.url, "--requests", "10")) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sides"]["standby"]["error_rate_percent"] == 100.0
    assert report["sides"]["standby"]["top_errors"] == {"HTTP 500": 10}
    assert report["sides"]["standby"]["cost_per_1m_output_tokens_usd"] is None
    assert report["agreement"]["compared_prompts"] == 0


def test_compare_refuses_an_unhealthy_side_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_side() as primary, fake_side() as standby:
        standby.control(healthy=False)
        assert cli.run(_cli(tmp_path, primary.url, standby.url, "--requests", "5")) == 3
        err = capsys.readouterr().err
        assert "compare refuses to run against an unhealthy side: standby" in err and "--force" in err
        assert standby.stats()["requests"] == 0  # refused before any prompt was sent
        assert cli.run(_cli(tmp_path, primary.url, standby.url, "--requests", "5", "--force")) == 0
    assert json.loads(capsys.readouterr().out)["sides"]["standby"]["requests"] == 5


def test_compare_against_a_stack_without_outputs_says_how_to_get_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_side() as primary:
        assert cli.run(_cli(tmp_path, primary.url, None, "--force")) == 2
    err = capsys.readouterr().err
    assert "stack 'standby' (standby) has no endpointUrl output" in err
    assert "pulumi up -s standby" in err and "--standby-outputs FILE" in err


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (("--requests", "0"), "--requests must be at least 1 (got 0)"),
        (("--concurrency", "-2"), "--concurrency must be at least 1 (got -2)"),
        (("--primary-hourly-usd", "-1"), "--primary-hourly-usd must be above 0 (got -1.0)"),
        (("--prompts", "/nonexistent/prompts.jsonl"), "--prompts /nonexistent/prompts.jsonl cannot be read"),
    ],
)
def test_bad_compare_flags_are_usage_errors_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], fragment: str
) -> None:
    with fake_side() as primary, fake_side() as standby:
        assert cli.run(_cli(tmp_path, primary.url, standby.url, *flags)) == 2
        assert primary.stats()["requests"] == 0
    assert fragment in capsys.readouterr().err


def test_https_sends_the_service_name_as_sni_and_verifies_the_certificate_for_it(tmp_path: Path) -> None:
    ca, cert, key = make_ca(tmp_path)
    prompts = load_prompts(DEFAULT_PROMPTS)
    with fake_side("--tls-cert", str(cert), "--tls-key", str(key)) as side:
        assert side.url.startswith("https://127.0.0.1:")
        good = run_async(
            run_side(Target("standby", side.url, SERVICE, MODEL), prompts, 8, 2, tls=tls_context(ca))
        )
        # The certificate names the service, not the address dialled: a client that sent the
        # address (or another name) as SNI fails verification instead of measuring the wrong thing.
        wrong = run_async(
            run_side(
                Target("standby", side.url, "other.example.com", MODEL), prompts, 2, 1, tls=tls_context(ca)
            )
        )
        untrusted = run_async(run_side(Target("standby", side.url, SERVICE, MODEL), prompts, 2, 1))
        sni = side.stats()["sni"]
    assert [s.ok for s in good.samples] == [True] * 8
    assert all(not s.ok and s.error.startswith("TLS: ") for s in wrong.samples + untrusted.samples)
    assert "Hostname mismatch" in wrong.samples[0].error or "match" in wrong.samples[0].error
    assert SERVICE in sni and "other.example.com" in sni and "127.0.0.1" not in sni


def test_compare_over_https_checks_health_and_sends_prompts_under_the_service_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca, cert, key = make_ca(tmp_path)
    tls = ("--tls-cert", str(cert), "--tls-key", str(key))
    with fake_side(*tls) as primary, fake_side(*tls) as standby:
        argv = _cli(tmp_path, primary.url, standby.url, "--requests", "6", "--ca-bundle", str(ca))
        assert cli.run(argv) == 0, capsys.readouterr().err
        report = json.loads(capsys.readouterr().out)
        sni = primary.stats()["sni"] + standby.stats()["sni"]
        served = primary.stats()["requests"] + standby.stats()["requests"]
        # Without the private CA the health check, made like the prompts, fails verification.
        assert cli.run(_cli(tmp_path, primary.url, standby.url, "--requests", "6")) == 3
        assert primary.stats()["requests"] + standby.stats()["requests"] == served
    # None: the test's own stats calls dial the bare address (no SNI); compare only ever names the service.
    assert set(sni) == {SERVICE, None}
    assert report["sides"]["primary"]["errors"] == report["sides"]["standby"]["errors"] == 0
    err = capsys.readouterr().err
    assert "compare refuses to run against an unhealthy side: primary" in err
    assert "GET /health failed: TLS: unable to get local issuer certificate" in err


def test_sides_show_their_cloud_and_monthly_cost_next_to_the_hourly_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rich.console import Console

    from cutover.compare_cli import render

    with fake_side() as primary, fake_side() as standby:
        argv = [
            "--workdir", str(ROOT),
            "--primary-outputs", str(outputs_file(tmp_path, "primary", primary.url, cloud="aws")),
            "--standby-outputs", str(outputs_file(tmp_path, "standby", standby.url, cloud="onprem")),
            "compare", "--json", "--requests", "10",
            "--primary-hourly-usd", "2.5", "--standby-hourly-usd", "13.26",
        ]  # fmt: skip
        assert cli.run(argv) == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    p, s = report["sides"]["primary"], report["sides"]["standby"]
    assert (p["stack"], p["cloud"], s["stack"], s["cloud"]) == ("primary", "aws", "standby", "onprem")
    assert (p["monthly_usd"], s["monthly_usd"]) == (2.5 * 730, round(13.26 * 730, 2))
    console = Console(width=250, record=True)
    console.print(render(report))
    text = console.export_text()
    assert "$/month" in text and "1,825.00" in text and "9,679.80" in text
    assert "primary (aws)" in text and "standby (onprem)" in text


def test_the_default_prompts_are_package_data_so_an_installed_cli_has_them() -> None:
    # `failover compare` without --prompts reads DEFAULT_PROMPTS from next to the module.
    import tomllib

    from cutover import compare as compare_module

    package = compare_module.DEFAULT_PROMPTS.parents[1]
    pyproject = tomllib.loads((package.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["cutover"]
    assert compare_module.DEFAULT_PROMPTS in {p for pattern in patterns for p in package.glob(pattern)}

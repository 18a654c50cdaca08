"""Time to full capacity from warm: each term, its value and its source, printed by the plan."""

from __future__ import annotations

from typing import Any

import pytest

from infra import capacity
from infra.capacity import time_to_full_capacity
from infra.plan import main as plan_main
from tests.infra.test_config import parse


def test_plan_prints_time_to_full_capacity_term_by_term(capsys: Any) -> None:
    assert plan_main(["primary"]) == 0
    text = capsys.readouterr().out
    start = text.index("Time to full capacity from warm (aws: 1 -> 2 GPU nodes, 1 -> 2 replicas")
    lines = text[start:].splitlines()
    terms = [line.split()[0:2] for line in lines[1:4]]
    assert terms == [["node", "provisioning"], ["image", "pull"], ["model", "load"]]
    for line in lines[1:4]:
        assert " min  " in line and ("(" in line or "measured" in line)  # a value and its source
    assert "12 GB image" in lines[2] and "streamed from the bucket" in lines[3]
    assert "runbooks/quarterly-drill.md" in lines[4]
    assert lines[5].startswith("Model fit: llama-3.1-8b-instruct, maxModelLen 8192, tensorParallelSize 1")


def test_total_is_the_sum_of_the_terms_and_each_cloud_uses_its_own_path() -> None:
    gcp = time_to_full_capacity(parse("standby"))
    aws = time_to_full_capacity(parse("primary"))
    azure = time_to_full_capacity(parse("standby", cloud="azure", region="eastus", gpuType="a100-80gb"))
    # GKE streams the image from Artifact Registry; EKS and AKS pull it whole.
    assert gcp[1].high_seconds <= aws[1].low_seconds and gcp[1].low_seconds < aws[1].low_seconds
    assert "image streaming" in gcp[1].source and "image streaming" not in aws[1].source
    # Azure copies the weights before vLLM reads them: slower than streaming.
    assert "copied from Blob Storage" in azure[2].source
    assert azure[2].low_seconds > aws[2].low_seconds
    for terms in (gcp, aws, azure):
        assert all(0 < t.low_seconds <= t.high_seconds for t in terms)
        assert all(t.source for t in terms)
    text = capacity.render_estimate(parse("primary"))
    low = sum(t.low_seconds for t in aws) / 60
    high = sum(t.high_seconds for t in aws) / 60
    assert f": {low:.1f}-{high:.1f} min" in text.splitlines()[0]


def test_bigger_models_take_longer_to_load() -> None:
    small = time_to_full_capacity(parse("primary"))[2]
    big = time_to_full_capacity(
        parse("primary", modelName="llama-3.1-70b-instruct", gpuType="l40s", gpuCountPerNode=4)
    )[2]
    assert big.low_seconds > small.low_seconds and "131.5 GiB" in big.source


def test_drill_measurements_replace_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(capacity.MEASURED, "aws", {"image pull": (95.0, "2027-01-15 drill")})
    terms = time_to_full_capacity(parse("primary"))
    assert (terms[1].low_seconds, terms[1].high_seconds, terms[1].source) == (
        95.0,
        95.0,
        "measured: 2027-01-15 drill",
    )
    assert terms[0].source.startswith("GPU node provisioning")  # not measured yet: still the estimate


def test_a_site_scales_on_nodes_that_already_run_and_streams_from_its_store() -> None:
    from tests.infra.test_config_onprem import parse as parse_site

    site = time_to_full_capacity(parse_site())
    aws = time_to_full_capacity(parse("primary"))
    assert (site[0].low_seconds, site[0].high_seconds) == (0, 0)
    assert "nothing is launched" in site[0].source
    assert "streamed from the site's S3-compatible store" in site[2].source
    assert site[2].low_seconds == aws[2].low_seconds  # same streamer, same weights
    assert sum(t.high_seconds for t in site) < sum(t.high_seconds for t in aws)

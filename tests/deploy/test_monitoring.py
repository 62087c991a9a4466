"""The operator's monitoring files: the alert rules load and fire as meant (promtool, from
Debian's prometheus package, which scripts/test installs), and every series the rules and the
Grafana dashboard ask for is one the vault exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Stack

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
DASHBOARD = DEPLOY / "grafana" / "vault-dashboard.json"
_SERIES = re.compile(r"\bvault_[a-z_]+")


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        assert not os.environ.get("CI"), "promtool is missing: scripts/test installs `prometheus`"
        pytest.fail(
            "promtool is missing; install Debian's `prometheus` package (scripts/test does)"
        )
    return found


def test_the_rules_load_and_their_unit_tests_pass() -> None:
    promtool = _promtool()
    for args in (["check", "rules", str(RULES)], ["test", "rules", str(RULE_TESTS)]):
        done = subprocess.run([promtool, *args], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def _asked_for() -> set[str]:
    rules = yaml.safe_load(RULES.read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        exprs += [target["expr"] for target in panel["targets"]]
    return {name for expr in exprs for name in _SERIES.findall(expr)}


@pytest.mark.parametrize("stack", [Stack("postgresql", "file")], indirect=True, ids=str)
def test_every_series_the_rules_and_dashboard_use_is_exported(client: TestClient) -> None:
    exported = {
        sample.name
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
    }
    # Counters with no sample yet are still declared: their family names are in the text.
    declared = set(re.findall(r"^# TYPE (\S+)", client.get("/metrics").text, re.MULTILINE))
    known = exported | declared | {f"{name}_total" for name in declared}
    known |= {f"{name}_bucket" for name in declared}
    missing = sorted(name for name in _asked_for() if name not in known)
    assert not missing, missing

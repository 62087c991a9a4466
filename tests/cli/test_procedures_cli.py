"""Operators import procedure catalogs and register agencies' signing keys."""

import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.support.env import settings_env
from vault.cli import app as cli
from vault.crypto import signatures
from vault.settings import Settings

runner = CliRunner()
CUSTOM = {
    "source": "Sở Tư pháp Đà Nẵng",
    "procedures": [
        {
            "code": "DN.0001",
            "name": "Thủ tục thử nghiệm",
            "name_en": None,
            "agency_level": "province",
            "result_doc_type": None,
            "requirements": [
                {
                    "doc_type": "CCCD",
                    "required": True,
                    "max_age_days": None,
                    "min_trust": "certified",
                    "note": None,
                }
            ],
            "form_fields": [
                {
                    "name": "ho_ten",
                    "label": "Họ tên",
                    "type": "text",
                    "required": True,
                    "source": "profile.full_name",
                    "options": None,
                }
            ],
        }
    ],
}


def test_import_adds_then_replaces_and_checks_first(
    app: FastAPI, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    env = settings_env(settings)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(CUSTOM, ensure_ascii=False))
    first = runner.invoke(cli, ["procedures", "import", str(path)], env=env)
    assert first.exit_code == 0, first.output
    assert "1 added, 0 replaced" in first.output
    CUSTOM["procedures"][0]["name"] = "Thủ tục đã sửa"
    path.write_text(json.dumps(CUSTOM, ensure_ascii=False))
    assert (
        "0 added, 1 replaced"
        in runner.invoke(cli, ["procedures", "import", str(path)], env=env).output
    )
    assert client.get("/api/v1/procedures/DN.0001").json()["name"] == "Thủ tục đã sửa"
    listed = runner.invoke(cli, ["procedures", "list"], env=env).output
    assert "DN.0001\tprovince\tCCCD\tThủ tục đã sửa" in listed and "1.000894" in listed

    broken = dict(
        CUSTOM,
        procedures=[dict(CUSTOM["procedures"][0], requirements=[{"doc_type": "NO_SUCH_TYPE"}])],
    )
    path.write_text(json.dumps(broken))
    refused = runner.invoke(cli, ["procedures", "import", str(path)], env=env)
    assert refused.exit_code == 2 and "not valid" in refused.output
    requirement = dict(CUSTOM["procedures"][0]["requirements"][0], max_age_days=1_000_000)
    endless = dict(CUSTOM, procedures=[dict(CUSTOM["procedures"][0], requirements=[requirement])])
    path.write_text(json.dumps(endless))
    refused = runner.invoke(cli, ["procedures", "import", str(path)], env=env)
    assert refused.exit_code == 2 and "max_age_days" in refused.output
    assert client.get("/api/v1/procedures/DN.0001").json()["requirements"][0]["doc_type"] == "CCCD"


def test_agency_with_level_and_generated_key(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    env = settings_env(settings)
    made = runner.invoke(
        cli,
        [
            "agency",
            "create",
            "--code",
            "SO-TP",
            "--name",
            "Sở Tư pháp",
            "--level",
            "province",
            "--generate-key",
            "--json",
        ],
        env=env,
    )
    assert made.exit_code == 0, made.output
    credentials = json.loads(made.stdout)
    assert credentials["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert (
        "SO-TP\tactive\tprovince\tsigning-key"
        in runner.invoke(cli, ["agency", "list"], env=env).output
    )
    wrong = runner.invoke(
        cli, ["agency", "create", "--code", "X-1", "--name", "X", "--level", "district"], env=env
    )
    assert wrong.exit_code == 2 and "commune, province, central" in wrong.output

    private, public = signatures.generate()
    (tmp_path / "key.pem").write_text(public)
    assert (
        runner.invoke(
            cli,
            ["agency", "set-key", "--code", "SO-TP", "--public-key", str(tmp_path / "key.pem")],
            env=env,
        ).exit_code
        == 0
    )
    (tmp_path / "bad.pem").write_text("not a key")
    bad = runner.invoke(
        cli,
        ["agency", "set-key", "--code", "SO-TP", "--public-key", str(tmp_path / "bad.pem")],
        env=env,
    )
    assert bad.exit_code == 2 and "signing key is refused" in bad.output
    assert private

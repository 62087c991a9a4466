"""scripts/restore_drill.py, run end to end: a live vault backed up, restored into an empty
data directory (and a fresh database and bucket), every paper read back identical."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import restore_drill


@pytest.mark.servers
def test_the_embedded_vault_restores_into_an_empty_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert restore_drill.drill(tmp_path, "embedded", papers=6)
    out = capsys.readouterr().out
    assert "read 6 papers back, 6 identical" in out  # one of them at its second version
    assert "vault audit verify --anchors: ok" in out


@pytest.mark.servers
def test_postgresql_and_s3_restore_into_a_fresh_database_and_bucket(
    postgres_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert restore_drill.drill(tmp_path, "production", papers=4)
    out = capsys.readouterr().out
    assert "vault keys status: ok" in out

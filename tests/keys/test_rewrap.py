"""A master key rotation interrupted halfway: each batch was committed on its own, so a second
run finishes the rest, and every paper stays readable throughout."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from tests.support import files
from tests.support.api import register, upload
from tests.support.env import settings_env
from vault.cli import app as cli
from vault.keys import Keyring
from vault.settings import Settings


def test_an_interrupted_rewrap_is_finished_by_the_next_run(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    people = [register(client) for _ in range(3)]
    papers = [upload(client, person, ("a.pdf", files.pdf())).json() for person in people]
    env = settings_env(settings)
    rotated = CliRunner().invoke(cli, ["keys", "rotate"], env=env)
    assert "added master key version 2" in rotated.output
    operator = Keyring(settings.resolved_master_key_file, engine=app.state.engine)
    with Session(app.state.engine) as session:
        first = operator.rewrap_batch(session, batch=1)
        session.commit()
    assert (first.found, first.updated) == (1, 1)
    with Session(app.state.engine) as session:
        assert Keyring.usage(session) == {1: 2, 2: 1}
    for person, paper in zip(people, papers, strict=True):
        path = f"/api/v1/documents/{paper['id']}/content"
        assert client.get(path, headers=person.headers).status_code == 200

    finished = CliRunner().invoke(cli, ["keys", "rewrap"], env=env)
    assert finished.exit_code == 0, finished.output
    assert "rewrapped 2 citizen keys under version 2" in finished.output
    with Session(app.state.engine) as session:
        assert Keyring.usage(session) == {2: 3}
        assert Keyring.index_key_usage(session) == {2: 1}

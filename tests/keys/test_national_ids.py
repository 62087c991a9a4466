"""The national ID index key: one per database, whoever creates it first, and never a key
whose creation rolled back."""

import threading
import uuid

import pytest
from fastapi import FastAPI

from vault import crypto, db
from vault.keys import Keyring, national_ids
from vault.settings import Settings

NUMBER = b"048090123456"


def test_a_sealed_number_opens_only_for_its_citizen() -> None:
    kek, owner = crypto.new_key(), uuid.uuid4()
    box = national_ids.seal(kek, owner, NUMBER)
    assert NUMBER not in box
    assert national_ids.unseal(kek, owner, box) == NUMBER
    with pytest.raises(crypto.IntegrityError):
        national_ids.unseal(kek, uuid.uuid4(), box)


def test_a_key_whose_creation_rolled_back_is_not_kept(app: FastAPI, settings: Settings) -> None:
    engine, key_file = app.state.engine, settings.resolved_master_key_file
    first = Keyring(key_file, engine=engine)
    with pytest.raises(RuntimeError), db.unit_of_work(engine) as session:
        first.national_id_index(session, NUMBER)
        raise RuntimeError("the request failed")
    with db.unit_of_work(engine) as session:
        kept = Keyring(key_file, engine=engine).national_id_index(session, NUMBER)
    with db.unit_of_work(engine) as session:
        assert first.national_id_index(session, NUMBER) == kept


def test_two_first_users_at_once_agree_on_the_key(app: FastAPI, settings: Settings) -> None:
    """The second waits for the first one's row (the write lock on SQLite, the conflicting
    insert on PostgreSQL) and uses it."""
    engine, key_file = app.state.engine, settings.resolved_master_key_file
    seen: list[bytes] = []

    def second() -> None:
        with db.unit_of_work(engine) as session:
            seen.append(Keyring(key_file, engine=engine).national_id_index(session, NUMBER))

    with db.unit_of_work(engine) as session:
        first = Keyring(key_file, engine=engine).national_id_index(session, NUMBER)
        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(timeout=0.5)
    waiting.join()
    assert seen == [first]

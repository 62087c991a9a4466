"""What every command shares: settings, one-line operator errors, a unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlmodel import Session

from storage import StoreUnavailable
from vault import bootstrap, db
from vault.audit.checkpoints import TreeDamaged
from vault.crypto import MasterKeyError
from vault.crypto.masterkeys import MasterKeys
from vault.keys import Keyring, checks
from vault.kit.errors import VaultError
from vault.settings import Settings


def fail(message: str) -> typer.Exit:
    typer.secho(f"vault: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


@contextmanager
def operator_errors() -> Iterator[None]:
    try:
        yield
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        raise fail(f"invalid settings: {problems}") from None
    except (MasterKeyError, VaultError, StoreUnavailable, TreeDamaged) as error:
        raise fail(str(error)) from None
    except (OperationalError, ProgrammingError):
        # Not the driver's message: it can carry the statement and its parameters.
        raise fail(
            "the database is not reachable or not set up yet: check VAULT_DATABASE_URL, then run "
            "`vault db upgrade` (or start `vault serve` once)"
        ) from None
    except DBAPIError:
        raise fail("the database refused the change; nothing was changed") from None
    except UnicodeDecodeError:
        raise fail("a file given is not UTF-8 text") from None
    except OSError as error:
        raise fail(f"{error.filename or 'a file'}: {error.strerror or error}") from None


def load_settings() -> Settings:
    return Settings()


def keyring(settings: Settings) -> Keyring:
    return bootstrap.keyring(settings)


def vouch_for(settings: Settings, master: MasterKeys) -> None:
    """The database vouches for the key file's versions, as a start does, so that a key
    command run before the first start (`vault keys init-signing`) can wrap under them."""
    engine = db.make_engine(settings.resolved_database_url)
    try:
        with db.unit_of_work(engine) as session:
            checks.record(session, master)
    finally:
        engine.dispose()


@contextmanager
def unit_of_work(*, writes: bool = True) -> Iterator[Session]:
    with operator_errors():
        engine = db.make_engine(load_settings().resolved_database_url)
        with db.unit_of_work(engine, writes=writes) as session:
            yield session

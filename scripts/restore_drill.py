"""The restore drill: back up a running vault the way the README says, restore it into an empty
data directory and a fresh database, start the vault on the copy and read every paper back
through the API, comparing each one's SHA-256 with what was uploaded.

    python -m scripts.restore_drill [--stack embedded|production] [--papers 12] [--keep DIR]

`embedded`: SQLite and the file store in the data directory (`vault serve` as installed).
`production`: PostgreSQL (a scratch database on VAULT_BENCH_POSTGRES_URL, default the local
server) and an S3 bucket on SeaweedFS, which the drill starts; the back-up is a `pg_dump` and a
mirror of the bucket. Either way the back-up is taken while the vault serves, in this order:

1. the database (SQLite's online back-up — the `sqlite3 .backup` command — or `pg_dump`);
2. then the objects (the data directory's `blobs/`, or every object of the bucket), so that
   every row in the dump finds its object; an object newer than the dump has no row and is
   swept by `vault storage gc`, while a row without its object would be a lost paper;
3. the master key file, kept apart from both (without it the rest is noise), and the audit
   anchors (`audit-anchors.jsonl`).

Exit status 0 when every paper reads back identical and `vault audit verify --anchors` and
`vault keys status` pass on the restored vault; 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
from sqlalchemy.engine import make_url

from tests.support import files
from tests.support.seaweed import S3Server, seaweedfs
from tests.support.server import vault_server

PASSWORD = "restore drill password"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Citizen:
    national_id: str
    papers: dict[str, str] = field(default_factory=dict)  # paper id → SHA-256 uploaded


@dataclass
class Place:
    """Where one vault keeps its state: what its environment points at."""

    data_dir: Path
    key_file: Path
    database_url: str
    bucket: str
    s3: S3Server | None

    def env(self) -> dict[str, str]:
        env = {
            "VAULT_DATA_DIR": str(self.data_dir),
            "VAULT_MASTER_KEY_FILE": str(self.key_file),
            "VAULT_DATABASE_URL": self.database_url,
        }
        if self.s3 is not None:
            env |= {
                "VAULT_STORAGE": "s3",
                "VAULT_S3_ENDPOINT": self.s3.endpoint,
                "VAULT_S3_ACCESS_KEY": self.s3.access_key,
                "VAULT_S3_SECRET_KEY": self.s3.secret_key,
                "VAULT_S3_BUCKET": self.bucket,
            }
        return env

    @property
    def sqlite_file(self) -> Path:
        database = make_url(self.database_url).database
        assert database is not None
        return Path(database)


def _vault_cli() -> str:
    return shutil.which("vault") or str(Path(sys.executable).with_name("vault"))


def _json(http: urllib3.PoolManager, method: str, url: str, **options: Any) -> Any:
    response = http.request(method, url, **options)
    assert response.status < 300, (method, url, response.status, response.data[:300])
    return response.json()


def _login(http: urllib3.PoolManager, url: str, national_id: str) -> dict[str, str]:
    login = {"username": national_id, "password": PASSWORD}
    token = _json(http, "POST", f"{url}/api/v1/auth/token", fields=login, encode_multipart=False)
    return {"Authorization": f"Bearer {token['access_token']}"}


def fill(url: str, papers: int) -> list[Citizen]:
    """Citizens with papers of several sizes (PDFs, kept byte for byte), one replaced by a new
    version, through the API."""
    http = urllib3.PoolManager()
    citizens = [Citizen(f"0480{secrets.randbelow(10**8):08d}") for _ in range(3)]
    for citizen in citizens:
        body = {"national_id": citizen.national_id, "full_name": "Diễn Tập", "password": PASSWORD}
        _json(http, "POST", f"{url}/api/v1/citizens", json=body)
    sizes = [None, None, 3 << 20]  # two small PDFs, then one of a few chunks, in turn
    for number in range(papers):
        citizen = citizens[number % len(citizens)]
        size = sizes[number % len(sizes)]
        if size is None:
            data = files.pdf(text=f"paper {number} {secrets.token_hex(8)}".encode())
        else:
            _, pieces = files.big_pdf_stream(size + number)
            data = b"".join(pieces)  # type: ignore[call-overload]
        form = {"doc_type": "GKS", "file": (f"paper-{number}.pdf", data, "application/pdf")}
        headers = _login(http, url, citizen.national_id)
        paper = _json(http, "POST", f"{url}/api/v1/documents", headers=headers, fields=form)
        citizen.papers[paper["id"]] = hashlib.sha256(data).hexdigest()
    # A new version: the restored vault must serve the newest, and keep the old one.
    citizen = citizens[0]
    first = next(iter(citizen.papers))
    data = files.pdf(text=b"a newer scan")
    headers = _login(http, url, citizen.national_id)
    form = {"file": ("newer.pdf", data, "application/pdf")}
    _json(http, "POST", f"{url}/api/v1/documents/{first}/versions", headers=headers, fields=form)
    citizen.papers[first] = hashlib.sha256(data).hexdigest()
    return citizens


def back_up(source: Place, backup: Path, keys: Path) -> None:
    """Database first, then objects; the key file and the anchors apart."""
    backup.mkdir(parents=True)
    keys.mkdir(parents=True)
    started = time.perf_counter()
    if source.s3 is None:
        # SQLite's online back-up (what `sqlite3 vault.db ".backup FILE"` does): a consistent
        # copy while the vault writes.
        with (
            closing(sqlite3.connect(source.sqlite_file)) as live,
            closing(sqlite3.connect(backup / "vault.db")) as copy,
        ):
            live.backup(copy)
        shutil.copytree(source.data_dir / "blobs", backup / "blobs")
    else:
        subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", f"--file={backup / 'vault.pgdump'}"]
            + [_libpq(source.database_url)],
            check=True,
        )
        client = source.s3.client()
        for item in client.list_objects(source.bucket, recursive=True):
            assert item.object_name is not None
            client.fget_object(
                source.bucket, item.object_name, str(backup / "bucket" / item.object_name)
            )
    anchors = source.data_dir / "audit-anchors.jsonl"
    if anchors.exists():
        shutil.copy2(anchors, backup / "audit-anchors.jsonl")
    shutil.copy2(source.key_file, keys / "master.key")
    took = time.perf_counter() - started
    print(f"backed up in {took:.1f} s: {_size(backup) / 1e6:.1f} MB of data, the key apart")


def restore(backup: Path, keys: Path, target: Place) -> None:
    """Into an empty data directory, a fresh database and an empty bucket."""
    target.data_dir.mkdir(mode=0o700, parents=True)
    target.key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copy2(keys / "master.key", target.key_file)
    target.key_file.chmod(0o600)
    if target.s3 is None:
        shutil.copy2(backup / "vault.db", target.sqlite_file)
        shutil.copytree(backup / "blobs", target.data_dir / "blobs")
    else:
        subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--exit-on-error",
                f"--dbname={_libpq(target.database_url)}",
            ]
            + [str(backup / "vault.pgdump")],
            check=True,
        )
        client = target.s3.client()
        client.make_bucket(target.bucket)
        mirror = backup / "bucket"
        for path in sorted(p for p in mirror.rglob("*") if p.is_file()):
            client.fput_object(target.bucket, path.relative_to(mirror).as_posix(), str(path))
    if (backup / "audit-anchors.jsonl").exists():
        shutil.copy2(backup / "audit-anchors.jsonl", target.data_dir / "audit-anchors.jsonl")


def read_back(url: str, citizens: list[Citizen]) -> tuple[int, list[str]]:
    http = urllib3.PoolManager()
    wrong = []
    read = 0
    for citizen in citizens:
        headers = _login(http, url, citizen.national_id)
        listed = {p["id"] for p in _json(http, "GET", f"{url}/api/v1/documents", headers=headers)}
        if listed != set(citizen.papers):
            wrong.append(f"citizen {citizen.national_id}: lists {sorted(listed)}")
        for paper, expected in citizen.papers.items():
            response = http.request(
                "GET", f"{url}/api/v1/documents/{paper}/content", headers=headers
            )
            got = hashlib.sha256(response.data).hexdigest()
            read += 1
            if response.status != 200 or got != expected:
                wrong.append(f"paper {paper}: {response.status}, sha256 {got[:16]}…")
    return read, wrong


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_vault_cli(), *args], env={**os.environ, **env}, capture_output=True, text=True
    )


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


@contextmanager
def _database(admin_url: str) -> Iterator[str]:
    from scripts.bench_agency import scratch_database

    with scratch_database(admin_url) as url:
        yield url


def drill(root: Path, stack: str, papers: int) -> bool:
    with ExitStack() as stack_of:
        s3 = None
        source_db = target_db = ""
        if stack == "production":
            admin = os.environ.get("VAULT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
            s3 = stack_of.enter_context(seaweedfs(root / "seaweedfs"))
            source_db = stack_of.enter_context(_database(admin))
            target_db = stack_of.enter_context(_database(admin))
        source = Place(
            data_dir=root / "source" / "data",
            key_file=root / "source" / "data" / "master.key",
            database_url=source_db or f"sqlite:///{root / 'source' / 'data' / 'vault.db'}",
            bucket="vault-source",
            s3=s3,
        )
        target = Place(
            data_dir=root / "restored" / "data",
            key_file=root / "restored" / "keys" / "master.key",
            database_url=target_db or f"sqlite:///{root / 'restored' / 'data' / 'vault.db'}",
            bucket="vault-restored",
            s3=s3,
        )
        (root / "source").mkdir(parents=True)
        with vault_server(source.env(), root / "source") as server:
            citizens = fill(server.url, papers)
            anchored = _cli(source.env(), "audit", "anchor")
            assert anchored.returncode == 0, anchored.stderr
            back_up(source, root / "backup", root / "backup-keys")
        count = sum(len(c.papers) for c in citizens)
        print(f"{stack}: {count} papers of {len(citizens)} citizens backed up from a live vault")
        restore(root / "backup", root / "backup-keys", target)
        checks = {
            "vault keys status": _cli(target.env(), "keys", "status"),
            "vault audit verify --anchors": _cli(
                target.env(),
                "audit",
                "verify",
                "--anchors",
                str(target.data_dir / "audit-anchors.jsonl"),
            ),
        }
        with vault_server(target.env(), root / "restored") as server:
            read, wrong = read_back(server.url, citizens)
        print(f"restored vault: read {read} papers back, {read - len(wrong)} identical")
        for line in wrong:
            print(f"  MISMATCH {line}")
        for name, result in checks.items():
            verdict = "ok" if result.returncode == 0 else f"FAILED ({result.returncode})"
            print(f"{name}: {verdict}")
            if result.returncode:
                print(result.stdout[-2000:], result.stderr[-2000:])
        return not wrong and read == count and all(r.returncode == 0 for r in checks.values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", choices=("embedded", "production"), default="embedded")
    parser.add_argument("--papers", type=int, default=12)
    parser.add_argument("--keep", type=Path, help="work in DIR and leave it (default: a temp dir)")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
        ok = drill(args.keep, args.stack, args.papers)
    else:
        with tempfile.TemporaryDirectory(prefix="vault-restore-") as scratch:
            ok = drill(Path(scratch), args.stack, args.papers)
    print("restore drill: PASSED" if ok else "restore drill: FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

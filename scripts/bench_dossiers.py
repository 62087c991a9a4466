"""Auto-attach as the vault grows: PostgreSQL filled with 1,000,000 documents over 50,000
citizens, then the time to create a dossier (POST /api/v1/dossiers: the requirements matched
against the citizen's papers, the form prefilled, the rows and the audit event written) as a
ratio of a single-row primary-key read through the same API (GET /api/v1/documents/{id}),
interleaved in the same run.

    python -m scripts.bench_dossiers [--citizens 50000] [--documents 1000000] [--requests 300]

It makes a scratch database on the local PostgreSQL server (VAULT_BENCH_POSTGRES_URL) and
starts `vault serve` itself.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import urllib3

from scripts.bench_agency import percentile, scratch_database
from tests.support import files
from tests.support.server import vault_server
from vault import agencies, db
from vault.catalog import document_types, procedures
from vault.kit import days

PASSWORD = "benchmark password"


def fill(database_url: str, citizens: int, documents: int) -> None:
    """Background citizens and papers, written with COPY. Their keys and sealed fields are
    random bytes: no request in the run decrypts them, but every index and join is real."""
    types = list(document_types.document_types())
    engine = db.make_engine(database_url)
    now = datetime.now(UTC)
    per_citizen = documents // citizens
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(
            "COPY citizen (id, national_id_index, sealed_national_id, password_hash, "
            "sealed_profile, created_at) FROM STDIN"
        ) as copy:
            owners = []
            for _ in range(citizens):
                owner = uuid.uuid4()
                owners.append(owner)
                copy.write_row((owner, os.urandom(32), os.urandom(41), "x", os.urandom(64), now))
        papers = [(uuid.uuid4(), owner) for owner in owners for _ in range(per_citizen)]
        columns = "id, owner_id, doc_type, current_version, created_at, updated_at"
        with cursor.copy(f"COPY document ({columns}) FROM STDIN") as copy:
            for document, owner in papers:
                copy.write_row((document, owner, random.choice(types), 1, now, now))
        with _versions(cursor) as versions:
            for document, _ in papers:
                issued = days.today() - timedelta(days=random.randint(0, 4000))
                lasts = random.choice((180, 365, 3650))
                expires = issued + timedelta(days=lasts) if random.random() < 0.5 else None
                versions.write_row(
                    (document, 1, secrets.token_hex(16), 1, os.urandom(61), "application/pdf")
                    + (100_000, 1, "self_scan", issued, expires, os.urandom(120), now)
                )
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    took = time.perf_counter() - started
    print(f"filled {citizens:,} citizens and {per_citizen * citizens:,} documents in {took:.0f} s")


def _versions(cursor: Any) -> Any:
    return cursor.copy(
        "COPY document_version (document_id, version, object_key, kek_version, wrapped_dek, "
        "content_type, size, pages, trust, issued_on, expires_on, sealed_metadata, created_at) "
        "FROM STDIN"
    )


def _json(http: urllib3.PoolManager, method: str, url: str, **options: Any) -> Any:
    response = http.request(method, url, **options)
    assert response.status < 300, (response.status, response.data[:300])
    return response.json()


def measured_citizens(
    http: urllib3.PoolManager, url: str, count: int, papers: int
) -> list[tuple[dict[str, str], list[str]]]:
    """Real citizens, registered and stocked through the API like everyone else."""
    commune = [spec for spec in procedures.packaged() if spec.agency_level == "commune"]
    wanted = sorted({r.doc_type for spec in commune for r in spec.requirements})
    people = []
    for _ in range(count):
        number = (
            f"048{secrets.randbelow(2)}{secrets.randbelow(100):02d}{secrets.randbelow(10**6):06d}"
        )
        _json(
            http,
            "POST",
            f"{url}/api/v1/citizens",
            json={"national_id": number, "full_name": "Đo Hiệu Năng", "password": PASSWORD},
        )
        login = {"username": number, "password": PASSWORD}
        token = _json(
            http, "POST", f"{url}/api/v1/auth/token", fields=login, encode_multipart=False
        )
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        ids = []
        for doc_type in random.sample(wanted, min(papers, len(wanted))):
            form = {
                "doc_type": doc_type,
                "issued_on": str(days.today() - timedelta(days=30)),
                "file": ("p.pdf", files.pdf(), "application/pdf"),
            }
            ids.append(
                _json(http, "POST", f"{url}/api/v1/documents", headers=headers, fields=form)["id"]
            )
        people.append((headers, ids))
    return people


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--citizens", type=int, default=50_000)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--measured", type=int, default=10)
    args = parser.parse_args()
    admin_url = os.environ.get(
        "VAULT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    with (
        tempfile.TemporaryDirectory(prefix="vault-bench-") as scratch,
        scratch_database(admin_url) as url,
    ):
        root = Path(scratch)
        db.upgrade(url)
        fill(url, args.citizens, args.documents)
        engine = db.make_engine(url)
        with db.unit_of_work(engine) as session:
            procedures.seed(session)
            agencies.create(session, code="UBND-BENCH", name="UBND bench")
        engine.dispose()
        with vault_server(
            {"VAULT_DATA_DIR": str(root / "vault-data"), "VAULT_DATABASE_URL": url}, root
        ) as server:
            race(server.url, args.measured, args.requests)


def race(url: str, measured: int, requests: int) -> None:
    http = urllib3.PoolManager()
    people = measured_citizens(http, url, measured, 12)
    commune = [s.code for s in procedures.packaged() if s.agency_level == "commune"]
    create, read = [], []
    for i in range(requests):
        headers, ids = people[i % len(people)]
        started = time.perf_counter()
        _json(http, "GET", f"{url}/api/v1/documents/{random.choice(ids)}", headers=headers)
        read.append(time.perf_counter() - started)
        body = {"procedure": commune[i % len(commune)], "agency": "UBND-BENCH"}
        started = time.perf_counter()
        _json(http, "POST", f"{url}/api/v1/dossiers", headers=headers, json=body)
        create.append(time.perf_counter() - started)
    print(f"{requests} dossiers and {requests} primary-key reads, interleaved, one client")
    print("| request | p50 ms | p99 ms |")
    print("|---|---|---|")
    for name, values in (("GET /documents/{id} (primary key)", read), ("POST /dossiers", create)):
        p50, p99 = statistics.median(values) * 1000, percentile(values, 0.99) * 1000
        print(f"| {name} | {p50:.1f} | {p99:.1f} |")
    middle = statistics.median(create) / statistics.median(read)
    tail = percentile(create, 0.99) / percentile(read, 0.99)
    print(f"\nratio p50/p50 {middle:.2f}, p99/p99 {tail:.2f} (target: p99 ≤ 5× the read)")


if __name__ == "__main__":
    main()

"""Agency fetches of a 1 MiB paper through a share grant, at N concurrent clients, on the S3 store
and PostgreSQL, as a ratio of bare minio-SDK gets of the same stored object at the same
concurrency, in the same run — and of a bare FastAPI pass-through of the same object
(scripts/passthrough.py), the floor for any server that reads the paper from S3 per request.

    python -m scripts.bench_agency [--clients 16] [--seconds 10] [--workers 2]

It starts SeaweedFS and `vault serve` itself and makes a scratch database on the local
PostgreSQL server (VAULT_BENCH_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1/test).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy
import urllib3
from minio import Minio

from tests.support import files
from tests.support.databases import scratch_database
from tests.support.seaweed import S3Server, seaweedfs
from tests.support.server import served, vault_server
from vault import agencies, db

MIB = 1 << 20


def load(
    fetch: Callable[[urllib3.PoolManager], int], size: int, clients: int, seconds: float
) -> tuple[float, list[float]]:
    """Requests per second and every latency, from `clients` threads for `seconds`; each
    request must bring back `size` bytes."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    deadline = time.perf_counter() + seconds
    start = threading.Barrier(clients + 1)

    def worker(mine: list[float]) -> None:
        pool = urllib3.PoolManager(maxsize=2)
        start.wait()
        while (began := time.perf_counter()) < deadline:
            assert fetch(pool) == size
            mine.append(time.perf_counter() - began)

    threads = [threading.Thread(target=worker, args=(mine,)) for mine in latencies]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    every = [value for mine in latencies for value in mine]
    return len(every) / (time.perf_counter() - began), every


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


@dataclass
class Stage:
    """A served vault with one shared 1 MiB paper, and the agency's way to fetch it."""

    url: str
    shared: str
    agency_headers: dict[str, str]
    bucket: str
    object_key: str
    size: int


def _json(http: urllib3.PoolManager, method: str, url: str, **options: Any) -> Any:
    response = http.request(method, url, **options)
    assert response.status < 300, response.data[:300]
    return response.json()


def prepare(url: str, database_url: str, bucket: str) -> Stage:
    http = urllib3.PoolManager()
    number, password = f"048095{secrets.randbelow(10**6):06d}", "benchmark password"
    body = {"national_id": number, "full_name": "Bench", "password": password}
    _json(http, "POST", f"{url}/api/v1/citizens", json=body)
    login = {"username": number, "password": password}
    token = _json(http, "POST", f"{url}/api/v1/auth/token", fields=login, encode_multipart=False)
    citizen = {"Authorization": f"Bearer {token['access_token']}"}
    _, pieces = files.big_pdf_stream(MIB)
    form = {"doc_type": "GKS", "file": ("paper.pdf", b"".join(pieces), "application/pdf")}
    paper = _json(http, "POST", f"{url}/api/v1/documents", headers=citizen, fields=form)
    engine = db.make_engine(database_url)
    with db.unit_of_work(engine) as session:
        credentials = agencies.create(session, code="BENCH", name="UBND bench")
        object_key = session.execute(
            sqlalchemy.text("SELECT object_key FROM document_version WHERE document_id = :id"),
            {"id": uuid.UUID(paper["id"])},
        ).scalar_one()
    engine.dispose()
    share = {"agency": "BENCH", "document_ids": [paper["id"]], "purpose": "Benchmark"}
    grant = _json(http, "POST", f"{url}/api/v1/grants", headers=citizen, json=share)
    client = {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }
    agency = _json(
        http, "POST", f"{url}/api/v1/agency/token", fields=client, encode_multipart=False
    )
    return Stage(
        url=url,
        shared=f"{url}/api/v1/shared/{grant['token']}/documents/{paper['id']}/content",
        agency_headers={"Authorization": f"Bearer {agency['access_token']}"},
        bucket=bucket,
        object_key=object_key,
        size=paper["size"],
    )


def race(
    stage: Stage, s3: Minio, floor_url: str, clients: int, seconds: float, rounds: int
) -> None:
    stored = s3.stat_object(stage.bucket, stage.object_key).size or 0

    def api(pool: urllib3.PoolManager) -> int:
        response = pool.request("GET", stage.shared, headers=stage.agency_headers)
        assert response.status == 200, response.status
        return len(response.data)

    def passthrough(pool: urllib3.PoolManager) -> int:
        response = pool.request("GET", f"{floor_url}/object")
        assert response.status == 200, response.status
        return len(response.data)

    def bare(_pool: urllib3.PoolManager) -> int:
        got = s3.get_object(stage.bucket, stage.object_key)
        try:
            return len(got.read())
        finally:
            got.close()
            got.release_conn()

    print(f"paper {stage.size} B, stored object {stored} B, {clients} concurrent clients")
    print(
        "| round | bare gets/s | p50 ms | p99 ms | pass-through/s | p50 ms | p99 ms "
        "| API fetches/s | p50 ms | p99 ms | ratio to bare | ratio to pass-through |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    load(api, stage.size, clients, 2)  # warm up
    load(passthrough, stored, clients, 2)
    for number in range(1, rounds + 1):
        bare_rate, bare_text = _summary(*load(bare, stored, clients, seconds))
        floor_rate, floor_text = _summary(*load(passthrough, stored, clients, seconds))
        api_rate, api_text = _summary(*load(api, stage.size, clients, seconds))
        cells = [f"{bare_rate:.0f}", bare_text, f"{floor_rate:.0f}", floor_text]
        cells += [f"{api_rate:.0f}", api_text]
        ratios = f"{api_rate / bare_rate:.2f} | {api_rate / floor_rate:.2f}"
        print(f"| {number} | {' | '.join(cells)} | {ratios} |")


@contextmanager
def passthrough_server(
    s3: S3Server, bucket: str, object_key: str, root: Path, workers: int
) -> Iterator[str]:
    env = {
        "PASSTHROUGH_S3_ENDPOINT": s3.endpoint,
        "PASSTHROUGH_S3_ACCESS_KEY": s3.access_key,
        "PASSTHROUGH_S3_SECRET_KEY": s3.secret_key,
        "PASSTHROUGH_S3_BUCKET": bucket,
        "PASSTHROUGH_S3_OBJECT": object_key,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    uvicorn = [sys.executable, "-m", "uvicorn", "scripts.passthrough:app", "--log-level", "warning"]
    with served(
        lambda port: [*uvicorn, "--port", str(port), "--workers", str(workers)],
        lambda _port: env,
        root,
        name="passthrough",
    ) as server:
        yield server.url


def _summary(rate: float, latencies: list[float]) -> tuple[float, str]:
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    return rate, f"{p50:.1f} | {p99:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    admin_url = os.environ.get(
        "VAULT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as scratch:
        root = Path(scratch)
        with scratch_database(admin_url) as database_url, seaweedfs(root / "seaweedfs") as s3:
            bucket = f"bench-{secrets.token_hex(4)}"
            env = {
                "VAULT_DATA_DIR": str(root / "vault-data"),
                "VAULT_DATABASE_URL": database_url,
                "VAULT_STORAGE": "s3",
                "VAULT_S3_ENDPOINT": s3.endpoint,
                "VAULT_S3_ACCESS_KEY": s3.access_key,
                "VAULT_S3_SECRET_KEY": s3.secret_key,
                "VAULT_S3_BUCKET": bucket,
            }
            with vault_server(env, root, workers=args.workers) as server:
                print(f"vault serve --workers {args.workers}, PostgreSQL, SeaweedFS S3")
                stage = prepare(server.url, database_url, bucket)
                with passthrough_server(s3, bucket, stage.object_key, root, args.workers) as floor:
                    race(stage, s3.client(), floor, args.clients, args.seconds, args.rounds)


if __name__ == "__main__":
    main()

"""Agency fetches of a 1 MiB paper through a share grant, at N concurrent clients, against a
bare FastAPI pass-through of the same stored object (scripts/passthrough.py: no token, no
grant, no database, no decryption) with as many worker processes, in the same run, on two
stacks:

- embedded: the default — SQLite and the file store, one `vault serve` process; the
  pass-through reads the object's file;
- postgresql: PostgreSQL and SeaweedFS S3, `vault serve --workers 2`; the pass-through reads
  the object with the minio SDK, and bare SDK gets of it are measured too.

    python -m scripts.bench_agency [--stack both|embedded|postgresql] [--clients 16]
                                   [--seconds 10] [--rounds 2]

Each row prints both rates and p99s and the two ratios the target is set on: fetches per second
over the pass-through's (≥ 0.8) and p99 over the pass-through's p99 (≤ 1.5). The scratch
PostgreSQL database is made on VAULT_BENCH_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1/test).
"""

from __future__ import annotations

import argparse
import contextlib
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

import psutil
import sqlalchemy
import urllib3
from sqlmodel import select

from tests.support import files
from tests.support.databases import scratch_database
from tests.support.seaweed import seaweedfs
from tests.support.server import RunningServer, served, vault_server
from vault import agencies, db
from vault.documents.models import DocumentVersion

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


class Meter:
    """CPU seconds spent so far by each group of processes (a server with its workers, the
    store, the database's backends, this client), to split a request's CPU between them."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups

    def cpu(self) -> dict[str, float]:
        spent = {}
        for name, pids in self.groups.items():
            total = 0.0
            for pid in pids():
                with contextlib.suppress(psutil.Error):
                    times = psutil.Process(pid).cpu_times()
                    total += times.user + times.system
            spent[name] = total
        return spent


def tree(pid: int) -> Callable[[], list[int]]:
    def pids() -> list[int]:
        with contextlib.suppress(psutil.Error):
            return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
        return []

    return pids


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


@dataclass
class Stage:
    """A served vault with one shared 1 MiB paper, and the agency's way to fetch it."""

    url: str
    shared: str
    agency_headers: dict[str, str]
    object_key: str
    size: int


def _json(http: urllib3.PoolManager, method: str, url: str, **options: Any) -> Any:
    response = http.request(method, url, **options)
    assert response.status < 300, response.data[:300]
    return response.json()


def prepare(url: str, database_url: str) -> Stage:
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
        object_key = session.exec(
            select(DocumentVersion.object_key).where(
                DocumentVersion.document_id == uuid.UUID(paper["id"])
            )
        ).one()
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
        object_key=object_key,
        size=paper["size"],
    )


def race(
    stage: Stage,
    floor_url: str,
    stored: int,
    bare: Callable[[urllib3.PoolManager], int] | None,
    meter: Meter,
    args: argparse.Namespace,
) -> None:
    """Interleaved rounds: bare gets (when given), the pass-through, the API; then what each
    request cost each group of processes in CPU."""

    def api(pool: urllib3.PoolManager) -> int:
        response = pool.request("GET", stage.shared, headers=stage.agency_headers)
        assert response.status == 200, response.status
        return len(response.data)

    def passthrough(pool: urllib3.PoolManager) -> int:
        response = pool.request("GET", f"{floor_url}/object")
        assert response.status == 200, response.status
        return len(response.data)

    def measured(
        name: str, fetch: Callable[[urllib3.PoolManager], int], size: int
    ) -> tuple[float, list[float]]:
        before = meter.cpu()
        rate, latencies = load(fetch, size, args.clients, args.seconds)
        after = meter.cpu()
        spent = [(after[group] - before[group]) * 1000 / len(latencies) for group in after]
        costs.append(f"| {number} | {name} | {' | '.join(f'{ms:.2f}' for ms in spent)} |")
        return rate, latencies

    print(f"paper {stage.size} B, stored object {stored} B, {args.clients} concurrent clients")
    print(
        "| round | bare gets/s | p50 ms | p99 ms | pass-through/s | p50 ms | p99 ms "
        "| API fetches/s | p50 ms | p99 ms | rate ratio | p99 ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    load(api, stage.size, args.clients, 2)  # warm up
    load(passthrough, stored, args.clients, 2)
    costs: list[str] = []
    for number in range(1, args.rounds + 1):
        cells = ["–", "–", "–"]
        if bare is not None:
            bare_rate, bare_latencies = measured("bare gets", bare, stored)
            cells = [f"{bare_rate:.0f}", *_milliseconds(bare_latencies)]
        floor_rate, floor_latencies = measured("pass-through", passthrough, stored)
        api_rate, api_latencies = measured("API", api, stage.size)
        floor_ms, api_ms = _milliseconds(floor_latencies), _milliseconds(api_latencies)
        cells += [f"{floor_rate:.0f}", *floor_ms, f"{api_rate:.0f}", *api_ms]
        p99_ratio = percentile(api_latencies, 0.99) / percentile(floor_latencies, 0.99)
        cells += [f"{api_rate / floor_rate:.2f}", f"{p99_ratio:.2f}"]
        print(f"| {number} | {' | '.join(cells)} |", flush=True)
    print(f"\nCPU ms per request, by process (load average {os.getloadavg()[0]:.1f}):")
    print(f"| round | requests | {' | '.join(meter.groups)} |")
    print(f"|---|---|{'---|' * len(meter.groups)}")
    print("\n".join(costs), flush=True)


@contextmanager
def passthrough_server(source: dict[str, str], root: Path, workers: int) -> Iterator[RunningServer]:
    """`source`: PASSTHROUGH_FILE, or the PASSTHROUGH_S3_* settings of the object."""
    env = {**source, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    uvicorn = [sys.executable, "-m", "uvicorn", "scripts.passthrough:app", "--log-level", "warning"]
    with served(
        lambda port: [*uvicorn, "--port", str(port), "--workers", str(workers)],
        lambda _port: env,
        root,
        name="passthrough",
    ) as server:
        yield server


def _milliseconds(latencies: list[float]) -> list[str]:
    return [f"{percentile(latencies, q) * 1000:.1f}" for q in (0.5, 0.99)]


def embedded(root: Path, args: argparse.Namespace) -> None:
    data = root / "vault-data"
    with vault_server({"VAULT_DATA_DIR": str(data)}, root, workers=1) as server:
        print("\nembedded: vault serve (one process), SQLite, file store")
        stage = prepare(server.url, f"sqlite:///{data.resolve() / 'vault.db'}")
        path = next((data / "blobs").rglob(stage.object_key))
        with passthrough_server({"PASSTHROUGH_FILE": str(path)}, root, 1) as floor:
            meter = Meter(
                {
                    "vault (with its database and store)": tree(server.pid),
                    "pass-through": tree(floor.pid),
                    "client": lambda: [os.getpid()],
                }
            )
            race(stage, floor.url, path.stat().st_size, None, meter, args)


def postgresql(root: Path, args: argparse.Namespace) -> None:
    admin_url = os.environ.get(
        "VAULT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
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
            print(f"\npostgresql: vault serve --workers {args.workers}, PostgreSQL, SeaweedFS S3")
            stage = prepare(server.url, database_url)
            client = s3.client()

            def bare(_pool: urllib3.PoolManager) -> int:
                got = client.get_object(bucket, stage.object_key)
                try:
                    return len(got.read())
                finally:
                    got.close()
                    got.release_conn()

            source = {
                "PASSTHROUGH_S3_ENDPOINT": s3.endpoint,
                "PASSTHROUGH_S3_ACCESS_KEY": s3.access_key,
                "PASSTHROUGH_S3_SECRET_KEY": s3.secret_key,
                "PASSTHROUGH_S3_BUCKET": bucket,
                "PASSTHROUGH_S3_OBJECT": stage.object_key,
            }
            stored = client.stat_object(bucket, stage.object_key).size or 0
            engine = db.make_engine(database_url)
            with passthrough_server(source, root, args.workers) as floor:
                meter = Meter(
                    {
                        "vault": tree(server.pid),
                        "pass-through": tree(floor.pid),
                        "SeaweedFS": lambda: _seaweedfs(root),
                        "PostgreSQL": lambda: _backends(engine),
                        "client": lambda: [os.getpid()],
                    }
                )
                race(stage, floor.url, stored, bare, meter, args)
            engine.dispose()


def _seaweedfs(root: Path) -> list[int]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(root / "seaweedfs") in part for part in process.info["cmdline"] or ()):
            found.append(process.pid)
    return found


def _backends(engine: sqlalchemy.Engine) -> list[int]:
    """The server processes serving the vault's database (this query's own included)."""
    with engine.connect() as connection:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        return list(connection.exec_driver_sql(query).scalars())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", choices=("both", "embedded", "postgresql"), default="both")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2, help="on the postgresql stack")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as scratch:
        root = Path(scratch)
        if args.stack in ("both", "embedded"):
            (root / "embedded").mkdir()
            embedded(root / "embedded", args)
        if args.stack in ("both", "postgresql"):
            (root / "postgresql").mkdir()
            postgresql(root / "postgresql", args)


if __name__ == "__main__":
    main()

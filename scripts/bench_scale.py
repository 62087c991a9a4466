"""Scale-out on one machine: the same load against `vault serve --workers 1` and `--workers 2`
over one PostgreSQL database, and the speed-up of two API workers over one, for

  (a) dossier creation (POST /api/v1/dossiers: the citizen's papers matched against the
      procedure, the form prefilled, the dossier, its attachments and its audit event written),
  (b) agency fetches of a 1 MiB paper through a share grant
      (GET /api/v1/shared/{token}/documents/{id}/content).

    python -m scripts.bench_scale [--clients 8] [--seconds 10] [--pairs 3] [--store file|s3]

The servers alternate (1, 2, 1, 2, …), each started afresh on the same database, data directory
and store, so that drift of the machine's load falls on both; the speed-up is given for each
pair and as the median and range over the pairs. The load generator is a thread per client in
this process, on the same cores as the servers: its CPU and the servers' are printed per
request. It makes a scratch database on the local PostgreSQL server (VAULT_BENCH_POSTGRES_URL),
and with `--store s3` starts SeaweedFS (which then shares the cores as well).
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import urllib3

from scripts.bench_agency import percentile, prepare, scratch_database
from scripts.bench_dossiers import measured_citizens
from tests.support.seaweed import seaweedfs
from tests.support.server import vault_server
from vault import agencies, db
from vault.catalog import procedures

AGENCY = "UBND-BENCH"


@dataclass
class Stage:
    """What every server of the run serves: citizens with papers, and one shared paper."""

    people: list[tuple[dict[str, str], list[str]]]
    procedures: list[str]
    shared: str
    size: int


@dataclass
class Round:
    workers: int
    dossiers: float
    dossier_latencies: list[float]
    fetches: float
    fetch_latencies: list[float]
    server_cpu_ms: tuple[float, float]
    client_cpu_ms: tuple[float, float]


def _json(http: urllib3.PoolManager, method: str, url: str, **options: Any) -> Any:
    response = http.request(method, url, **options)
    assert response.status < 300, (response.status, response.data[:300])
    return response.json()


def set_stage(url: str, database_url: str, clients: int) -> Stage:
    http = urllib3.PoolManager()
    shared = prepare(url, database_url)  # agency BENCH, a 1 MiB paper, its grant
    engine = db.make_engine(database_url)
    with db.unit_of_work(engine) as session:  # the dossiers' agency: it only receives
        agencies.create(session, code=AGENCY, name="UBND bench")
    engine.dispose()
    people = measured_citizens(http, url, clients, 12)
    commune = [s.code for s in procedures.packaged() if s.agency_level == "commune"]
    return Stage(
        people=people,
        procedures=commune,
        shared=shared.shared.removeprefix(url),
        size=shared.size,
    )


def _agency_headers(url: str, database_url: str) -> dict[str, str]:
    """A fresh agency token for BENCH (tokens last 10 minutes; a run lasts longer)."""
    engine = db.make_engine(database_url)
    with db.unit_of_work(engine) as session:
        credentials = agencies.rotate_secret(session, code="BENCH")
    engine.dispose()
    client = {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }
    http = urllib3.PoolManager()
    token = _json(http, "POST", f"{url}/api/v1/agency/token", fields=client, encode_multipart=False)
    return {"Authorization": f"Bearer {token['access_token']}"}


def load(
    call: Callable[[urllib3.PoolManager], bool], clients: int, seconds: float
) -> tuple[float, list[float], int]:
    """Successful requests per second, their latencies, and how many failed (a 5xx, a reset
    connection), from `clients` threads for `seconds`. A failure is counted and the client
    goes on, so that one error does not silently take a client out of the load."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failed = [0] * clients
    start = threading.Barrier(clients + 1)
    deadline = 0.0

    def client(index: int) -> None:
        pool = urllib3.PoolManager(maxsize=2, retries=False)
        start.wait()
        while (began := time.perf_counter()) < deadline:
            try:
                ok = call(pool)
            except (urllib3.exceptions.HTTPError, OSError):
                ok = False
                pool.clear()
            if ok:
                latencies[index].append(time.perf_counter() - began)
            else:
                failed[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.perf_counter() + seconds
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    every = [value for mine in latencies for value in mine]
    return len(every) / (time.perf_counter() - began), every, sum(failed)


def _cpu_seconds(pid: int) -> float:
    """CPU time of a server: its supervisor and every process under it."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


@contextmanager
def _metered(pid: int) -> Iterator[Callable[[], tuple[float, float]]]:
    """(server CPU s, this process's CPU s) spent inside the block."""
    server, client = _cpu_seconds(pid), time.process_time()
    spent: list[float] = []
    yield lambda: (spent[0], spent[1])
    spent += [_cpu_seconds(pid) - server, time.process_time() - client]


def measure(
    url: str, pid: int, stage: Stage, agency: dict[str, str], clients: int, seconds: float
) -> tuple[float, list[float], float, list[float], tuple[float, float], tuple[float, float]]:
    counter = itertools.count()
    mine = threading.local()

    def dossier(pool: urllib3.PoolManager) -> bool:
        # Each client files for a citizen of its own.
        if not hasattr(mine, "citizen"):
            mine.citizen = stage.people[next(counter) % len(stage.people)][0]
        mine.count = getattr(mine, "count", -1) + 1
        body = {"procedure": stage.procedures[mine.count % len(stage.procedures)], "agency": AGENCY}
        response = pool.request("POST", f"{url}/api/v1/dossiers", headers=mine.citizen, json=body)
        return response.status == 201

    def fetch(pool: urllib3.PoolManager) -> bool:
        response = pool.request("GET", f"{url}{stage.shared}", headers=agency)
        return response.status == 200 and len(response.data) == stage.size

    load(dossier, clients, 2)  # warm up: connections, caches, every worker's imports
    load(fetch, clients, 2)
    with _metered(pid) as dossier_cpu:
        dossiers, dossier_latencies, dossier_failures = load(dossier, clients, seconds)
    with _metered(pid) as fetch_cpu:
        fetches, fetch_latencies, fetch_failures = load(fetch, clients, seconds)
    if dossier_failures or fetch_failures:
        print(f"  failed: {dossier_failures} dossier creations, {fetch_failures} fetches")
    per_dossier = [1000 * s / len(dossier_latencies) for s in dossier_cpu()]
    per_fetch = [1000 * s / len(fetch_latencies) for s in fetch_cpu()]
    return (
        dossiers,
        dossier_latencies,
        fetches,
        fetch_latencies,
        (per_dossier[0], per_fetch[0]),
        (per_dossier[1], per_fetch[1]),
    )


def report(rounds: list[Round], clients: int) -> None:
    print(f"\n{clients} concurrent clients per request type, {psutil.cpu_count()} cores")
    print(
        "| round | API workers | dossiers/s | p50 ms | p99 ms | server CPU ms | client CPU ms "
        "| fetches/s | p50 ms | p99 ms | server CPU ms | client CPU ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for number, r in enumerate(rounds, 1):
        cells = [str(number), str(r.workers)]
        for rate, latencies, index in (
            (r.dossiers, r.dossier_latencies, 0),
            (r.fetches, r.fetch_latencies, 1),
        ):
            cells += [
                f"{rate:.0f}",
                f"{percentile(latencies, 0.5) * 1000:.1f}",
                f"{percentile(latencies, 0.99) * 1000:.1f}",
                f"{r.server_cpu_ms[index]:.1f}",
                f"{r.client_cpu_ms[index]:.1f}",
            ]
        print(f"| {' | '.join(cells)} |")
    ones = [r for r in rounds if r.workers == 1]
    twos = [r for r in rounds if r.workers == 2]
    for name, attribute in (("dossier creation", "dossiers"), ("agency fetches", "fetches")):
        pairs = zip(ones, twos, strict=True)
        ratios = [getattr(b, attribute) / getattr(a, attribute) for a, b in pairs]
        listed = ", ".join(f"{ratio:.2f}" for ratio in ratios)
        print(
            f"speed-up 2 workers / 1 worker, {name}: median {statistics.median(ratios):.2f} "
            f"(pairs: {listed}; range {min(ratios):.2f}–{max(ratios):.2f}; target ≥ 1.4)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--store", choices=("file", "s3"), default="file")
    args = parser.parse_args()
    admin_url = os.environ.get(
        "VAULT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as scratch, ExitStack() as stack:
        root = Path(scratch)
        database_url = stack.enter_context(scratch_database(admin_url))
        bucket = f"bench-{secrets.token_hex(4)}"
        env = {
            "VAULT_DATA_DIR": str(root / "vault-data"),
            "VAULT_DATABASE_URL": database_url,
            "VAULT_S3_BUCKET": bucket,
        }
        if args.store == "s3":
            s3 = stack.enter_context(seaweedfs(root / "seaweedfs"))
            env |= {
                "VAULT_STORAGE": "s3",
                "VAULT_S3_ENDPOINT": s3.endpoint,
                "VAULT_S3_ACCESS_KEY": s3.access_key,
                "VAULT_S3_SECRET_KEY": s3.secret_key,
            }
        print(f"vault serve on PostgreSQL and the {args.store} store; {args.clients} clients")
        stage: Stage | None = None
        rounds: list[Round] = []
        for workers in [1, 2] * args.pairs:
            with vault_server(env, root, workers=workers) as server:
                if stage is None:
                    stage = set_stage(server.url, database_url, args.clients)
                else:
                    # Citizens of this round's own: a citizen's dossiers made on an earlier
                    # server could not be followed by new ones (see the README's Benchmarks).
                    stage.people = measured_citizens(
                        urllib3.PoolManager(), server.url, args.clients, 12
                    )
                agency = _agency_headers(server.url, database_url)
                try:
                    measured = measure(
                        server.url, server.pid, stage, agency, args.clients, args.seconds
                    )
                except BaseException:
                    print(server.log.read_text()[-3000:])
                    raise
                rounds.append(Round(workers, *measured))
                r = rounds[-1]
                print(
                    f"round {len(rounds)}: --workers {workers}: "
                    f"{r.dossiers:.0f} dossiers/s, {r.fetches:.0f} fetches/s",
                    flush=True,
                )
        report(rounds, args.clients)


if __name__ == "__main__":
    main()

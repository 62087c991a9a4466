"""The job queue on PostgreSQL: a morning's expiry reminders (100,000 papers expiring within
the month, so 100,000 `deliver` jobs) worked off by `vault worker --burst` processes, in jobs
per second from the workers' start until the queue is empty, as a ratio of a bare loop of
`INSERT … RETURNING id` + `DELETE … WHERE id = …` on a copy of the jobs table, from as many
clients, in the same run and database.

    python -m scripts.bench_queue [--jobs 100000] [--queue-jobs N] [--workers 2] [--concurrency 4]

It makes a scratch database on the local PostgreSQL server (VAULT_BENCH_POSTGRES_URL, default
postgresql+psycopg://postgres@127.0.0.1/test), prepares it as `vault serve` would
(`bootstrap.prepare`: a master key file in a temporary data directory, `db.upgrade`, the
catalog), starts the workers itself (`python -m vault worker`, with the VAULT_* environment
of tests/support/env.py) and stops them by pid; the gateway is a `Gateway` in this process:
HTTP/1.1 with connections kept alive, as real gateways keep them (the tests' receiver answers
HTTP/1.0, so each post there opens a connection), checking each post's signature and noting
its event id. The database is dropped at the end.

The papers: `--jobs / --per-citizen` citizens (1,000 × 100 by default) registered through
`vault.accounts.citizens.register` (a citizen key each, a sealed profile with a phone number,
the webhook channel turned on with `contacts.update`; Argon2 runs once and its hash is reused),
then their papers written with COPY straight into `document` and `document_version`: a CCCD
expiring 1 to 30 days from today, with random bytes for the wrapped key and the sealed
metadata and no blob, none of which reminders read. The reminders are then enqueued the real
way, `vault.jobs.tasks.expiry_reminders` (`expiry.due`, then `inbox.announce` in transactions
of 200): a notice, one webhook delivery and one `deliver` job each, timed.

Two queue runs, each after its own baseline:
  (a) the real jobs: each `deliver` reads its delivery, unseals the notice and the phone,
      POSTs the signed JSON to the receiver (through the channel's one HTTP client) and
      marks the delivery sent;
  (b) the queue itself: `--queue-jobs` `deliver` jobs enqueued again for the deliveries
      already sent (past their number, for ids of no delivery), so each job is one
      primary-key read that finds nothing to do and sends nothing.
The baseline, one autocommit transaction per statement (two a pair, where a job costs the
queue a transaction to take it and one to finish it): once from one client, then from
`--workers` processes of `--concurrency` threads each, `--baseline-seconds` each. CPU per job
(or pair) is shown for the clients (the workers, from their rusage, start-up included) and
for PostgreSQL (its backends serving the scratch database, from /proc, when local): on a
small shared host the queue is bound by CPU, and this says whose. Afterwards every delivery
must be `sent`, the receiver must have seen each event id exactly once, each job id must have
been started once, and no job may be left todo, doing or failed. The starts are procrastinate's
own `started` events (one per attempt), copied by a trigger of this script's into a table of
its own, since finishing a job deletes it and its events; another trigger notes when each job
is deleted (finished), which gives the mean time from taken to finished, as the database sees
it. So the workers need not log each job (they do not, unless `--verbose`).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from unittest import mock

import psycopg
from psycopg.types.json import Jsonb
from pydantic import SecretStr
from sqlalchemy import Engine, text

from tests.support.databases import scratch_database
from tests.support.env import settings_env
from tests.support.processes import stop
from vault import bootstrap, db, queue
from vault.accounts import citizens, logins
from vault.jobs import tasks
from vault.jobs.postgres import conninfo
from vault.jobs.work import Work
from vault.kit import days
from vault.notices import channels, contacts
from vault.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "benchmark password"
SECRET = "a-benchmark-gateway-secret"


class Gateway:
    """The operator's SMS/Zalo gateway as the workers meet it: HTTP/1.1, each connection kept
    open for the next post, every post's signature checked (401 if wrong) and its event id
    noted, `received` on arrival and `delivered` once answered 2xx."""

    def __init__(self, secret: bytes) -> None:
        self.received: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()
        self.forged = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(secret))
        # Idle kept connections of workers that have exited need not be waited for.
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/vault"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler(self, secret: bytes) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 120

            def setup(self) -> None:
                super().setup()
                with gateway._lock:
                    gateway.connections += 1

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                event = self.headers.get("X-Vault-Event", "")
                signed = channels.verify(secret, body, self.headers.get("X-Vault-Signature", ""))
                with gateway._lock:
                    gateway.received[event] += 1
                    if signed:
                        gateway.delivered[event] += 1
                    else:
                        gateway.forged += 1
                self.send_response(200 if signed else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def fill(engine: Engine, work: Work, jobs: int, per_citizen: int) -> None:
    """The citizens through the registration service, their papers with COPY."""
    count = math.ceil(jobs / per_citizen)
    started = time.perf_counter()
    hashed = logins.hash_password(PASSWORD)
    owners: list[uuid.UUID] = []
    with mock.patch.object(logins, "hash_password", lambda _password: hashed):
        for start in range(0, count, 200):
            with db.unit_of_work(engine) as session:
                for n in range(start, min(count, start + 200)):
                    citizen = citizens.register(
                        session,
                        work.keyring,
                        national_id_number=f"001090{n:06d}",
                        full_name="Đo Hiệu Năng",
                        password=PASSWORD,
                        phone="0905123456",
                    )
                    contacts.update(session, work.keyring, citizen.id, webhook_on=True)
                    owners.append(citizen.id)
    registered = time.perf_counter() - started
    today, now = days.today(), datetime.now(UTC)
    papers = [(uuid.uuid4(), owners[n // per_citizen]) for n in range(jobs)]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        columns = "id, owner_id, doc_type, current_version, created_at, updated_at"
        with cursor.copy(f"COPY document ({columns}) FROM STDIN") as copy:
            for paper, owner in papers:
                copy.write_row((paper, owner, "CCCD", 1, now, now))
        with cursor.copy(
            "COPY document_version (document_id, version, object_key, kek_version, wrapped_dek, "
            "content_type, size, pages, trust, issued_on, expires_on, sealed_metadata, "
            "created_at) FROM STDIN"
        ) as copy:
            for paper, _ in papers:
                expires = today + timedelta(days=1 + secrets.randbelow(30))
                copy.write_row(
                    (paper, 1, secrets.token_hex(16), 1, os.urandom(61), "application/pdf")
                    + (100_000, 1, "self_scan", expires - timedelta(days=3650), expires)
                    + (os.urandom(120), now)
                )
        raw.commit()
    finally:
        raw.close()
    took = time.perf_counter() - started
    print(
        f"filled {count:,} citizens ({registered:.0f} s) and {jobs:,} papers expiring within "
        f"30 days in {took:.0f} s"
    )


def enqueue_reminders(engine: Engine, work: Work, jobs: int) -> float:
    started = time.perf_counter()
    tasks.expiry_reminders(work, days.today().isoformat())
    took = time.perf_counter() - started
    waiting = _jobs(engine).get("todo", 0)
    assert waiting == jobs, f"{waiting} deliver jobs enqueued for {jobs} papers"
    return took


def enqueue_again(engine: Engine, deliveries: list[uuid.UUID], count: int) -> float:
    """`count` `deliver` jobs through `queue.enqueue`, 1,000 a transaction: one per delivery
    already sent, then (past their number) for ids of no delivery, which cost the job the
    same single read."""
    ids = [str(delivery) for delivery in deliveries[:count]]
    ids += [str(uuid.uuid4()) for _ in range(count - len(ids))]
    started = time.perf_counter()
    for start in range(0, count, 1000):
        with db.unit_of_work(engine) as session:
            for delivery in ids[start : start + 1000]:
                queue.enqueue(session, queue.Task.DELIVER, {"delivery": delivery})
    return time.perf_counter() - started


def _jobs(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status")
        ).all()
    return {str(status): int(count) for status, count in rows}


def watch_jobs(engine: Engine) -> None:
    """The triggers that note each job's starts and its end (see the module's docstring)."""
    with db.unit_of_work(engine) as session:
        connection = session.connection()
        for statement in (
            "CREATE TABLE bench_started (job_id bigint NOT NULL, at timestamptz NOT NULL)",
            "CREATE TABLE bench_finished (job_id bigint NOT NULL, at timestamptz NOT NULL)",
            "CREATE FUNCTION bench_note_start() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO bench_started VALUES (NEW.job_id, clock_timestamp()); RETURN NEW; "
            "END $$",
            "CREATE FUNCTION bench_note_end() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO bench_finished VALUES (OLD.id, clock_timestamp()); RETURN OLD; END $$",
            "CREATE TRIGGER bench_started AFTER INSERT ON procrastinate_events FOR EACH ROW "
            "WHEN (NEW.type = 'started') EXECUTE FUNCTION bench_note_start()",
            "CREATE TRIGGER bench_finished AFTER DELETE ON procrastinate_jobs FOR EACH ROW "
            "EXECUTE FUNCTION bench_note_end()",
        ):
            connection.exec_driver_sql(statement)


def _watched(engine: Engine) -> tuple[Counter[str], float]:
    """The starts of each job since the last call, and the mean seconds from a job's (first)
    start to its deletion; the notes are then cleared."""
    with db.unit_of_work(engine) as session:
        connection = session.connection()
        started: Counter[str] = Counter(
            {
                str(job): int(count)
                for job, count in connection.exec_driver_sql(
                    "SELECT job_id, count(*) FROM bench_started GROUP BY job_id"
                )
            }
        )
        mean = connection.exec_driver_sql(
            "SELECT extract(epoch FROM avg(f.at - s.at)) FROM bench_finished f "
            "JOIN (SELECT job_id, min(at) AS at FROM bench_started GROUP BY job_id) s "
            "USING (job_id)"
        ).scalar_one()
        connection.exec_driver_sql("TRUNCATE bench_started, bench_finished")
    return started, float(mean or 0.0)


def _vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


class Meter:
    """CPU seconds spent, for telling where the time goes: by this script's child processes
    (the workers, the baseline's clients) and by the PostgreSQL backends serving the scratch
    database, read from /proc every 0.2 s (None when the server is not on this host)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._seen: dict[int, float] = {}
        self._readable = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._connection: psycopg.Connection[Any] | None = None
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._thread = threading.Thread(target=self._sample, name="meter", daemon=True)

    def __enter__(self) -> Meter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._connection is not None:
            self._connection.close()

    def read(self) -> tuple[float, float | None]:
        self._poll()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        with self._lock:
            backends = sum(self._seen.values()) if self._readable else None
        return children.ru_utime + children.ru_stime, backends

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self._poll()

    def _poll(self) -> None:
        with self._lock:
            if self._connection is None:
                self._connection = psycopg.connect(self._url, autocommit=True)
            pids = self._connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            ).fetchall()
            for (pid,) in pids:
                try:
                    name, _, rest = Path(f"/proc/{pid}/stat").read_text().rpartition(")")
                except OSError:
                    continue
                if not name.endswith("(postgres"):  # a server elsewhere: not its pid
                    continue
                fields = rest.split()
                self._readable = True
                used = (int(fields[11]) + int(fields[12])) / self._ticks
                self._seen[pid] = max(self._seen.get(pid, 0.0), used)


@dataclass(frozen=True)
class Cost:
    """CPU milliseconds per job (or per baseline pair): clients' and PostgreSQL's."""

    client: float
    server: float | None

    @classmethod
    def between(
        cls, start: tuple[float, float | None], end: tuple[float, float | None], count: int
    ) -> Cost:
        server = None
        if start[1] is not None and end[1] is not None:
            server = (end[1] - start[1]) * 1000 / count
        return cls((end[0] - start[0]) * 1000 / count, server)

    def __str__(self) -> str:
        server = "n/a" if self.server is None else f"{self.server:.2f}"
        return f"{self.client:.2f} | {server}"


@dataclass(frozen=True)
class Drained:
    jobs: int
    seconds: float  # from the workers' spawn until no job was todo or doing
    startup: float  # from the spawn until the first job was done (to the poll's 0.25 s)
    started_ids: Counter[str]
    mean_job_seconds: float
    exit_codes: list[int]
    cost: Cost
    gateway_cpu: float  # ms a job, in this process (the gateway, the meter)

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


def drain(
    settings: Settings,
    meter: Meter,
    root: Path,
    label: str,
    workers: int,
    concurrency: int,
    jobs: int,
) -> Drained:
    """`workers` × `vault worker --burst --concurrency N`, until no job is todo or doing."""
    env = os.environ | settings_env(settings) | {"PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "vault", "worker", "--burst"]
    command += ["--concurrency", str(concurrency)]
    logs = [root / f"{label}-worker-{n}.log" for n in range(1, workers + 1)]
    engine = db.make_engine(settings.resolved_database_url)
    processes: list[subprocess.Popen[bytes]] = []
    before = meter.read()
    own_before = _own_cpu()
    began = time.perf_counter()
    try:
        for log in logs:
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(command, env=env, cwd=root, stdout=out, stderr=out)
                )
        first = None
        while True:
            time.sleep(0.25)
            counts = _jobs(engine)
            left = counts.get("todo", 0) + counts.get("doing", 0)
            now = time.perf_counter()
            if first is None and left < jobs:
                first = now
            if left == 0:
                break
            if all(process.poll() is not None for process in processes):
                raise RuntimeError(f"the workers exited with {left} jobs left; see {logs}")
        for process in processes:
            process.wait(timeout=60)
        cost = Cost.between(before, meter.read(), jobs)
        gateway_cpu = (_own_cpu() - own_before) * 1000 / jobs
        started, mean = _watched(engine)
    finally:
        for process in processes:
            if process.poll() is None:
                stop(process)
        engine.dispose()
    return Drained(
        jobs=jobs,
        seconds=now - began,
        startup=(first or now) - began,
        started_ids=started,
        mean_job_seconds=mean,
        exit_codes=[process.returncode for process in processes],
        cost=cost,
        gateway_cpu=gateway_cpu,
    )


def _own_cpu() -> float:
    """This process's CPU seconds: the gateway's threads, with the meter's and the drain's
    polls (a few ms a second), which share the workers' cores."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def check(engine: Engine, gateway: Gateway, deliveries: list[uuid.UUID], drained: Drained) -> int:
    """Every delivery sent once, every job started once, no job left: the duplicates found."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT state, count(*) FROM delivery GROUP BY state"))
        states: dict[str, int] = {str(state): int(count) for state, count in rows}
    seen, answered = gateway.received, gateway.delivered
    expected = {str(delivery) for delivery in deliveries}
    twice = sum(count - 1 for count in seen.values() if count > 1)
    rerun = sum(count - 1 for count in drained.started_ids.values() if count > 1)
    left = {status: n for status, n in _jobs(engine).items() if status != "succeeded"}
    problems = []
    if states != {"sent": len(deliveries)}:
        problems.append(f"deliveries by state {states}")
    if set(seen) != expected or set(answered) != expected:
        problems.append(f"{len(expected - set(answered))} deliveries never reached the gateway")
    if gateway.forged:
        problems.append(f"{gateway.forged} posts without a good signature")
    if twice or rerun:
        problems.append(f"{twice} events posted twice, {rerun} jobs started twice")
    if len(drained.started_ids) != drained.jobs:
        problems.append(f"{len(drained.started_ids)} jobs started of {drained.jobs}")
    if left:
        problems.append(f"jobs left {left}")
    if any(drained.exit_codes):
        problems.append(f"worker exit codes {drained.exit_codes}")
    print(
        f"  checked: deliveries {states}; the gateway saw {len(seen):,} event ids in "
        f"{sum(seen.values()):,} posts over {gateway.connections:,} connections; "
        f"{len(drained.started_ids):,} job ids started "
        f"{sum(drained.started_ids.values()):,} times; jobs left: {left or 'none'}; "
        f"worker exit codes {drained.exit_codes}; the gateway's process used "
        f"{drained.gateway_cpu:.2f} ms of CPU a job"
    )
    assert not problems, "; ".join(problems)
    return twice + rerun


BASELINE_TABLE = "bench_baseline_jobs"


def make_baseline_table(engine: Engine) -> None:
    """The jobs table's columns, defaults, checks and indexes (not its triggers or keys)."""
    with db.unit_of_work(engine) as session:
        session.connection().exec_driver_sql(
            f"CREATE TABLE {BASELINE_TABLE} (LIKE procrastinate_jobs INCLUDING DEFAULTS "
            "INCLUDING CONSTRAINTS INCLUDING INDEXES)"
        )


def _pairs(
    url: str,
    threads: int,
    seconds: float,
    ready: Any,
    out: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    """One client process: `threads` connections, each INSERT … RETURNING id then DELETE by
    id, autocommit, for `seconds` once every client is connected; puts the pairs done and
    the process's CPU seconds meanwhile."""
    done = [0] * threads
    insert = (
        f"INSERT INTO {BASELINE_TABLE} (queue_name, task_name, args) "
        "VALUES ('vault', 'deliver', %s) RETURNING id"
    )

    def loop(n: int) -> None:
        with psycopg.connect(url, autocommit=True) as connection:
            cursor = connection.cursor()
            ready.wait()
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                cursor.execute(insert, (Jsonb({"delivery": str(uuid.uuid4())}),))
                row = cursor.fetchone()
                assert row is not None
                cursor.execute(f"DELETE FROM {BASELINE_TABLE} WHERE id = %s", (row[0],))
                done[n] += 1

    loops = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for thread in loops:
        thread.start()
    ready.wait()
    began = time.process_time()
    for thread in loops:
        thread.join()
    out.put((sum(done), time.process_time() - began))


@dataclass(frozen=True)
class Baseline:
    clients: str
    rate: float
    cost: Cost


def baseline(url: str, meter: Meter, processes: int, threads: int, seconds: float) -> Baseline:
    """Pairs per second from `processes` client processes of `threads` connections each."""
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    ready = context.Barrier(processes * (threads + 1) + 1)
    clients = [
        context.Process(target=_pairs, args=(url, threads, seconds, ready, results))
        for _ in range(processes)
    ]
    for client in clients:
        client.start()
    ready.wait(timeout=120)
    before = meter.read()
    done = [results.get(timeout=seconds + 120) for _ in clients]
    after = meter.read()
    for client in clients:
        client.join()
    pairs = sum(count for count, _ in done)
    server = Cost.between(before, after, pairs).server
    client_cpu = sum(cpu for _, cpu in done) * 1000 / pairs
    return Baseline(f"{processes} × {threads}", pairs / seconds, Cost(client_cpu, server))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--per-citizen", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--queue-jobs",
        type=int,
        help="jobs in run (b) (default: --jobs); past --jobs, for no delivery",
    )
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    args = parser.parse_args()
    admin_url = os.environ.get(
        "VAULT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    print(f"load average at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with (
        tempfile.TemporaryDirectory(prefix="vault-bench-") as scratch,
        scratch_database(admin_url) as url,
        Gateway(SECRET.encode()) as gateway,
        Meter(conninfo(url)) as meter,
    ):
        root = Path(scratch)
        settings = Settings(
            data_dir=root / "vault",
            database_url=url,
            notify_webhook_url=gateway.url,
            notify_webhook_secret=SecretStr(SECRET),
            public_url="https://vault.example.vn",
            _env_file=None,
        )
        bootstrap.prepare(settings)
        work = Work.from_settings(settings)
        engine = work.engine
        watch_jobs(engine)
        fill(engine, work, args.jobs, args.per_citizen)
        enqueued = enqueue_reminders(engine, work, args.jobs)
        print(
            f"enqueued {args.jobs:,} reminders (a notice, a delivery and a deliver job each) "
            f"in {enqueued:.1f} s: {args.jobs / enqueued:,.0f}/s"
        )
        with engine.connect() as connection:
            deliveries = list(connection.execute(text("SELECT id FROM delivery")).scalars())
        make_baseline_table(engine)
        plain = conninfo(url)
        shape = (args.workers, args.concurrency)

        def baselines() -> tuple[Baseline, Baseline]:
            _vacuum(engine)
            return (
                baseline(plain, meter, 1, 1, args.baseline_seconds),
                baseline(plain, meter, *shape, args.baseline_seconds),
            )

        runs = []
        floor = baselines()
        real = drain(settings, meter, root, "deliver", *shape, args.jobs)
        twice = check(engine, gateway, deliveries, real)
        runs.append(Run("(a) deliver to the gateway", enqueued, real, *floor))
        queue_jobs = args.queue_jobs or args.jobs
        again = enqueue_again(engine, deliveries, queue_jobs)
        floor = baselines()
        noop = drain(settings, meter, root, "noop", *shape, queue_jobs)
        twice += check(engine, gateway, deliveries, noop)
        runs.append(Run("(b) deliver, already sent", again, noop, *floor))
        engine.dispose()
    report(args, runs, twice)


@dataclass(frozen=True)
class Run:
    """A queue run and the baselines measured just before it."""

    name: str
    enqueue_seconds: float
    drained: Drained
    single: Baseline
    same: Baseline

    @property
    def ratio(self) -> float:
        return self.drained.rate / self.same.rate


def report(args: argparse.Namespace, runs: list[Run], twice: int) -> None:
    print(
        f"\n{args.workers} × `vault worker --burst --concurrency "
        f"{args.concurrency}`. Baseline: INSERT … RETURNING id + DELETE by id, autocommit, "
        f"for {args.baseline_seconds:.0f} s, just before each run. CPU: ms per job or per pair, "
        "the client's (the workers' includes their start-up) and PostgreSQL's"
    )
    print(
        "| run | jobs | enqueue s | drain s | start-up s | jobs or pairs/s | mean ms taken→done "
        "| client CPU | PostgreSQL CPU | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        drained = run.drained
        print(
            f"| {run.name} | {drained.jobs:,} | {run.enqueue_seconds:.1f} | {drained.seconds:.1f} "
            f"| {drained.startup:.1f} | {drained.rate:,.0f} "
            f"| {drained.mean_job_seconds * 1000:.1f} | {drained.cost} | {run.ratio:.2f} |"
        )
        for line in (run.single, run.same):
            ratio = "1" if line is run.same else ""
            cells = f"{line.rate:,.0f} | | {line.cost} | {ratio}"
            print(f"| … baseline, {line.clients} clients | | | | | {cells} |")
    print(
        "\nqueue jobs/s ÷ the bare loop's pairs/s (one client): "
        + ", ".join(f"{run.name[:3]} {run.drained.rate / run.single.rate:.2f}" for run in runs)
        + "; target ≥ 0.3 (against as many clients as the workers have threads: "
        + ", ".join(f"{run.name[:3]} {run.ratio:.2f}" for run in runs)
        + ")"
    )
    print(f"jobs handled twice: {twice}")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""What reading papers costs: the upload latency the QR read adds for a 12 MP phone photo of
a căn cước (reading on against VAULT_READING=off, alternating in the same run, as a ratio of
the upload's time; target ≤ 0.15); the same read measured where it runs, in the sandbox call
that normalises the photo (with and without the reader, alternating), for that photo and for
a 12 MP photo with no code; and how many OCR jobs a minute this machine does for single-page
scans (the real task, on the sandbox's two workers).

    python -m scripts.bench_reading [--uploads 12] [--calls 12] [--scans 12]

`--scans 0` leaves the OCR rate out.

In-process (the app through its ASGI test client), on SQLite and the file store in a
temporary directory; needs Tesseract's Vietnamese model (apt-get install tesseract-ocr-vie).
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import select

from tests.support import cards
from tests.support.api import register
from vault import bootstrap, db
from vault.app import create_app
from vault.crypto import masterkeys
from vault.documents.intake import images
from vault.documents.intake.sniff import Kind
from vault.documents.recognition import qr
from vault.documents.recognition.models import DocumentReading, ReadingStatus
from vault.jobs import tasks
from vault.jobs.work import Work
from vault.kit.sandbox import Sandbox
from vault.settings import Settings

TWELVE_MP = (4000, 3000)


def settings_in(where: Path, *, reading: bool) -> Settings:
    where.mkdir()
    masterkeys.create(where / "master.key")
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=where / "data",
        master_key_file=where / "master.key",
        serve_runs_jobs=False,
        reading=reading,
    )


def upload_seconds(client: TestClient, headers: dict[str, str], photo: bytes) -> float:
    started = time.perf_counter()
    answer = client.post(
        "/api/v1/documents", headers=headers, files=[("file", ("card.jpg", photo, "image/jpeg"))]
    )
    elapsed = time.perf_counter() - started
    assert answer.status_code == 201, answer.text
    return elapsed


def paper_photo() -> bytes:
    """A 12 MP phone photo of a printed A4 paper, with the same sensor grain: no code on it."""
    scan = cards.printed_paper("GIẤY KHAI SINH", ["Số: 987654/2001"] * 6, size=(3000, 4000))
    page = Image.open(io.BytesIO(scan)).convert("RGB")
    noise = Image.effect_noise(page.size, 64).convert("RGB")
    out = io.BytesIO()
    Image.blend(page, noise, 0.15).save(out, "JPEG", quality=92)
    return out.getvalue()


def spread(values: list[float]) -> str:
    """Median, quartiles and range, in ms."""
    q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    ms = [v * 1000 for v in (statistics.median(values), q1, q3, min(values), max(values))]
    return "median {:.0f}, quartiles {:.0f}–{:.0f}, range {:.0f}–{:.0f}".format(*ms)


def qr_cost(uploads: int, calls: int, root: Path) -> None:
    photo = cards.card_photo(
        cards.qr_payload("048090001234"), size=TWELVE_MP, angle=9, blur=1.5, quality=92, grain=0.15
    )
    apps = {}
    for name, on in (("on", True), ("off", False)):
        settings = settings_in(root / name, reading=on)
        bootstrap.prepare(settings)
        apps[name] = create_app(settings)
    timings: dict[str, list[float]] = {"on": [], "off": []}
    with TestClient(apps["on"]) as on, TestClient(apps["off"]) as off:
        clients = {"on": on, "off": off}
        accounts = {name: register(c).headers for name, c in clients.items()}
        for name in ("on", "off", "on", "off"):  # warm the sandbox and the caches
            upload_seconds(clients[name], accounts[name], photo)
        for _ in range(uploads):
            for name in ("on", "off"):
                timings[name].append(upload_seconds(clients[name], accounts[name], photo))
        read = on.get("/api/v1/documents", headers=accounts["on"]).json()[0]
        reading = on.get(f"/api/v1/documents/{read['id']}", headers=accounts["on"]).json()
        assert reading["reading"]["suggested_doc_type"] == "CCCD", reading["reading"]
        # While the app runs: its end closes the sandbox, and a new pool costs a second.
        in_sandbox = normalisations(apps["on"].state.backend.sandbox, photo, calls)
    on_s, off_s = statistics.median(timings["on"]), statistics.median(timings["off"])
    pairs = [a - b for a, b in zip(timings["on"], timings["off"], strict=True)]
    print(f"12 MP photo ({len(photo) / 1e6:.1f} MB JPEG), {uploads} uploads each, alternating")
    print("| reading | median s | min s | max s |")
    print("|---|---|---|---|")
    for name in ("on", "off"):
        t = timings[name]
        print(f"| {name} | {statistics.median(t):.3f} | {min(t):.3f} | {max(t):.3f} |")
    added = on_s - off_s
    print(
        f"added by the QR read: {added * 1000:.0f} ms of {off_s * 1000:.0f} ms, "
        f"ratio {added / off_s:.3f} (target ≤ 0.15); "
        f"upload after upload: {spread(pairs)} ms"
    )
    for label, (with_reader, without) in in_sandbox.items():
        read_s = statistics.median(with_reader) - statistics.median(without)
        print(
            f"in the sandbox, {label}: normalised in {spread(without)} ms without the reader, "
            f"{spread(with_reader)} ms with it; the read: {read_s * 1000:.0f} ms, "
            f"{read_s / off_s:.3f} of the upload without reading"
        )


def normalisations(
    sandbox: Sandbox, card: bytes, calls: int
) -> dict[str, tuple[list[float], list[float]]]:
    """The photo's normalisation in the sandbox, with the reader and without, alternating."""
    out = {}
    photos = (("the card", card, True), ("a paper, no code", paper_photo(), False))
    for label, data, code in photos:
        with_reader: list[float] = []
        without: list[float] = []
        for round_ in range(calls + 1):  # the first round warms both workers
            for reader, into in ((qr.codes_in, with_reader), (None, without)):
                started = time.perf_counter()
                normalised = sandbox.run(
                    images.normalise,
                    data,
                    Kind.JPEG,
                    max_pixels=64_000_000,
                    max_pages=1,
                    codes_in=reader,
                )
                if round_:
                    into.append(time.perf_counter() - started)
                if reader is not None:
                    assert bool(normalised.pages[0].codes) is code, label
        out[label] = (with_reader, without)
    return out


def ocr_rate(scans: int, root: Path) -> None:
    settings = settings_in(root / "ocr", reading=True)
    bootstrap.prepare(settings)
    app = create_app(settings)
    lines = [
        "Số: 987654/2001",
        "Họ, chữ đệm, tên: TRẦN THỊ BÍCH",
        "Ngày, tháng, năm sinh: 02/03/2001",
    ]
    scan = cards.printed_paper("GIẤY KHAI SINH", lines, kind="JPEG")
    with TestClient(app) as client:
        account = register(client)
        for _ in range(scans):
            answer = client.post(
                "/api/v1/documents",
                headers=account.headers,
                files=[("file", ("scan.jpg", scan, "image/jpeg"))],
            )
            assert answer.status_code == 201, answer.text
        work = Work.from_settings(settings, engine=app.state.engine)
        with db.unit_of_work(app.state.engine, writes=False) as session:
            pending = [
                (str(r.document_id), r.version) for r in session.exec(select(DocumentReading))
            ]
        tasks.read_paper(work, *pending.pop())  # the first loads the model in a worker
        halves = [pending[0::2], pending[1::2]]
        started = time.perf_counter()
        threads = [
            threading.Thread(target=lambda jobs=jobs: [tasks.read_paper(work, *j) for j in jobs])
            for jobs in halves
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        with db.unit_of_work(app.state.engine, writes=False) as session:
            done = session.exec(
                select(DocumentReading).where(DocumentReading.status == ReadingStatus.DONE)
            ).all()
            gks = sum(r.suggested_doc_type == "GKS" for r in done)
    count = len(halves[0]) + len(halves[1])
    print(f"OCR: {count} single-page A4 scans (200 dpi JPEG) in {elapsed:.1f} s on 2 threads")
    print(f"{count / elapsed * 60:.1f} jobs per minute; {elapsed / count:.2f} s per job")
    print(f"suggested GKS for {gks} of {len(done)} read")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=12)
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--scans", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as where:
        qr_cost(args.uploads, args.calls, Path(where))
        if args.scans:
            ocr_rate(args.scans, Path(where))


if __name__ == "__main__":
    main()

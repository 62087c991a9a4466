"""Upload and download throughput through the vault's API on the S3 store, as a ratio of a bare
minio-SDK put/get of the same bytes to the same SeaweedFS server in the same run, and the server
process's memory growth for a 1 GiB upload and download.

    python -m scripts.bench_transfer [--rounds 3] [--sizes-mib 10 200] [--scanned-mib 64]
                                     [--scanned-pages 40] [--huge-mib 1024] [--only scanned]

The cases: PDFs of the given sizes made of one incompressible stream the page never draws (cheap
to check, so what they measure is the transfer), and a scanned paper — at least
`--scanned-pages` full-page 300 dpi JPEGs, at least `--scanned-mib` long — sent as one multipart
form and, once the server has `/api/v1/uploads`, through tus in 5 MiB PATCHes (and in one PATCH
of the whole file, tus-js-client's default) and then a form naming the upload. Each round puts
and gets the same bytes bare and through the API, interleaved, so that the machine's noise hits
both sides alike; the figures are medians over the rounds.

Everything it needs (SeaweedFS, a `vault serve` process on SQLite + S3) it starts itself.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import urllib3
from minio.datatypes import Part

from tests.support import files
from tests.support.seaweed import S3Server, seaweedfs
from tests.support.server import vault_server
from tests.support.transfer import MemoryWatch, multipart

MIB = 1 << 20
TUS_CHUNK = 5 * MIB


def _pdf(size: int) -> bytes:
    _, pieces = files.big_pdf_stream(size)
    return b"".join(pieces)  # type: ignore[arg-type]


def _scanned(scratch: Path, size: int, pages: int) -> Callable[[], bytes]:
    """Made once per run (it takes a few seconds), kept in the run's scratch directory."""
    path = scratch / f"scanned-{pages}p-{size >> 20}MiB.pdf"

    def load() -> bytes:
        if not path.exists():
            path.write_bytes(files.scanned_pdf(min_pages=pages, min_bytes=size))
        return path.read_bytes()

    return load


def _slices(data: bytes, step: int = MIB) -> Iterator[bytes]:
    view = memoryview(data)
    for offset in range(0, len(data), step):
        yield bytes(view[offset : offset + step])


class Bench:
    def __init__(self, s3: S3Server, url: str) -> None:
        self.s3 = s3.client()
        self.bucket = f"bench-{secrets.token_hex(4)}"
        self.s3.make_bucket(self.bucket)
        # The API is driven with urllib3, the HTTP client inside the minio SDK, so that both
        # sides of each ratio pay for the same client.
        self.url = url
        self.http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=600))
        number = f"048095{secrets.randbelow(10**6):06d}"
        password = "benchmark password"
        self.http.request(
            "POST",
            f"{url}/api/v1/citizens",
            json={"national_id": number, "full_name": "Bench", "password": password},
        )
        token = self.http.request(
            "POST",
            f"{url}/api/v1/auth/token",
            fields={"username": number, "password": password},
            encode_multipart=False,
        ).json()
        self.auth = {"Authorization": f"Bearer {token['access_token']}"}

    def bare_put(self, data: bytes) -> None:
        self.s3.put_object(self.bucket, "bare", io.BytesIO(data), len(data))

    def bare_parts_in_turn(self, data: bytes) -> None:
        """The bare put's parts sent one after another, as a tus client's PATCHes arrive."""
        client, upload = self.s3, self.s3._create_multipart_upload(self.bucket, "turns", {})
        parts = [
            Part(number, client._upload_part(self.bucket, "turns", piece, None, upload, number))
            for number, piece in enumerate(_slices(data, TUS_CHUNK), 1)
        ]
        client._complete_multipart_upload(self.bucket, "turns", upload, parts)

    def bare_get(self, _data: bytes) -> None:
        response = self.s3.get_object(self.bucket, "bare")
        try:
            for _ in response.stream(MIB):
                pass
        finally:
            response.close()
            response.release_conn()

    def api_put(self, data: bytes) -> None:
        """The paper as the file of one multipart form, streamed."""
        headers, total, body = multipart(
            {"doc_type": "GCNQSDD"}, "bench.pdf", len(data), _slices(data)
        )
        self._created(
            self.http.request(
                "POST",
                f"{self.url}/api/v1/documents",
                headers={**self.auth, **headers, "Content-Length": str(total)},
                body=body,
                chunked=False,
            )
        )

    def tus_available(self) -> bool:
        response = self.http.request(
            "OPTIONS", f"{self.url}/api/v1/uploads", headers={**self.auth, "Tus-Resumable": "1.0.0"}
        )
        return response.status in {200, 204} and "1.0.0" in response.headers.get("Tus-Version", "")

    def tus_put(self, data: bytes, chunk: int = TUS_CHUNK) -> None:
        """The paper through tus 1.0.0 in PATCHes of `chunk` bytes, then a form naming the
        upload."""
        tus = {**self.auth, "Tus-Resumable": "1.0.0"}
        name = base64.b64encode(b"bench.pdf").decode()
        created = self.http.request(
            "POST",
            f"{self.url}/api/v1/uploads",
            headers={
                **tus,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": f"filename {name}",
            },
        )
        assert created.status == 201, created.data[:500]
        location = urljoin(f"{self.url}/api/v1/uploads", created.headers["Location"])
        offset = 0
        for piece in _slices(data, chunk):
            patched = self.http.request(
                "PATCH",
                location,
                headers={
                    **tus,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
                body=piece,
            )
            assert patched.status == 204, patched.data[:500]
            offset += len(piece)
        upload_id = location.rstrip("/").rsplit("/", 1)[-1]
        self._created(
            self.http.request(
                "POST",
                f"{self.url}/api/v1/documents",
                headers=self.auth,
                fields={"doc_type": "GCNQSDD", "upload_id": upload_id},
            )
        )

    def _created(self, response: urllib3.BaseHTTPResponse) -> None:
        assert response.status == 201, response.data[:500]
        self.last = response.json()

    def settle(self) -> None:
        """Waits for the reading of the paper just stored (its OCR takes a core for a second or
        more after the answer), so that it does not slow whichever measurement comes next."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            paper = self.http.request(
                "GET", f"{self.url}/api/v1/documents/{self.last['id']}", headers=self.auth
            ).json()
            if (paper.get("reading") or {}).get("status") != "pending":
                return
            time.sleep(0.1)
        raise TimeoutError("the paper's reading did not end within 120 s")

    def api_get(self, _data: bytes) -> None:
        response = self.http.request(
            "GET",
            f"{self.url}/api/v1/documents/{self.last['id']}/content",
            headers=self.auth,
            preload_content=False,
        )
        received = 0
        try:
            assert response.status == 200
            for piece in response.stream(MIB):
                received += len(piece)
        finally:
            response.release_conn()
        assert received == self.last["size"]

    def verify_last(self, data: bytes) -> None:
        response = self.http.request(
            "GET", f"{self.url}/api/v1/documents/{self.last['id']}/content", headers=self.auth
        )
        assert hashlib.sha256(response.data).hexdigest() == hashlib.sha256(data).hexdigest()

    def delete_last(self) -> None:
        response = self.http.request(
            "DELETE", f"{self.url}/api/v1/documents/{self.last['id']}", headers=self.auth
        )
        assert response.status == 204


def _tus_whole(bench: Bench, data: bytes) -> None:
    """tus-js-client's default: the whole file in one PATCH, whose parts then overlap."""
    bench.tus_put(data, chunk=len(data))


@dataclass(frozen=True)
class Case:
    label: str
    data: Callable[[], bytes]
    upload: Callable[[Bench, bytes], None]


def _timed(action: Callable[[bytes], object], data: bytes) -> float:
    start = time.perf_counter()
    action(data)
    return time.perf_counter() - start


def measure(bench: Bench, case: Case, rounds: int) -> tuple[int, dict[str, list[float]]]:
    """MB/s of each round, per side."""
    data = case.data()

    def upload(payload: bytes) -> None:
        case.upload(bench, payload)

    times: dict[str, list[float]] = {"bare_put": [], "api_put": [], "bare_get": [], "api_get": []}
    for _ in range(rounds):  # interleaved, so that noise hits both sides alike
        times["bare_put"].append(_timed(bench.bare_put, data))
        times["api_put"].append(_timed(upload, data))
        bench.settle()
        times["bare_get"].append(_timed(bench.bare_get, data))
        times["api_get"].append(_timed(bench.api_get, data))
        bench.delete_last()
    upload(data)
    bench.verify_last(data)  # the bytes that came back are the bytes that went in
    bench.delete_last()
    return len(data), {name: [len(data) / t / 1e6 for t in ts] for name, ts in times.items()}


def _row(label: str, size: int, rates: dict[str, list[float]]) -> str:
    r = {name: statistics.median(values) for name, values in rates.items()}
    ups = sorted(a / b for a, b in zip(rates["api_put"], rates["bare_put"], strict=True))
    downs = sorted(a / b for a, b in zip(rates["api_get"], rates["bare_get"], strict=True))
    return (
        f"| {label} | {size / MIB:.0f} MiB | {r['bare_put']:.0f} | {r['api_put']:.0f} "
        f"| {r['api_put'] / r['bare_put']:.2f} ({ups[0]:.2f}–{ups[-1]:.2f}) "
        f"| {r['bare_get']:.0f} | {r['api_get']:.0f} "
        f"| {r['api_get'] / r['bare_get']:.2f} ({downs[0]:.2f}–{downs[-1]:.2f}) |"
    )


def parts_in_turn(bench: Bench, data: bytes, rounds: int) -> str:
    """The ceiling of any server for a client that sends 5 MiB and waits: the store alone."""
    bare, turns = [], []
    for _ in range(rounds):
        bare.append(_timed(bench.bare_put, data))
        turns.append(_timed(bench.bare_parts_in_turn, data))
    ratios = sorted(b / t for b, t in zip(bare, turns, strict=True))
    return (
        f"store alone, {TUS_CHUNK // MIB} MiB parts one after another: "
        f"{len(data) / statistics.median(turns) / 1e6:.0f} MB/s, "
        f"{statistics.median(bare) / statistics.median(turns):.2f} "
        f"({ratios[0]:.2f}–{ratios[-1]:.2f}) of the bare put"
    )


def memory(bench: Bench, pid: int, size_mib: int) -> tuple[int, int]:
    data = _pdf(size_mib * MIB)
    bench.api_put(_pdf(4 * MIB))  # warm every path before the baseline
    bench.api_get(b"")
    with MemoryWatch(pid) as upload:
        bench.api_put(data)
    with MemoryWatch(pid) as download:
        bench.api_get(data)
    return upload.growth, download.growth


def cases(args: argparse.Namespace, scratch: Path, bench: Bench) -> Iterator[Case]:
    only = set(args.only or ["generated", "scanned"])
    if "generated" in only:
        for size in args.sizes_mib:
            yield Case("generated PDF", lambda size=size: _pdf(size * MIB), Bench.api_put)
    if "scanned" in only:
        scanned = _scanned(scratch, args.scanned_mib * MIB, args.scanned_pages)
        yield Case("scanned PDF, multipart", scanned, Bench.api_put)
        if bench.tus_available():
            yield Case("scanned PDF, tus 5 MiB", scanned, Bench.tus_put)
            yield Case("scanned PDF, tus 1 PATCH", scanned, _tus_whole)
        else:
            print("(no tus endpoint at /api/v1/uploads on this server: the tus case is skipped)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes-mib", type=int, nargs="*", default=[10, 200])
    parser.add_argument("--scanned-mib", type=int, default=64)
    parser.add_argument("--scanned-pages", type=int, default=40)
    parser.add_argument("--huge-mib", type=int, default=1024, help="0: no memory measurement")
    parser.add_argument("--only", nargs="+", choices=["generated", "scanned"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as scratch:
        root = Path(scratch)
        with seaweedfs(root / "seaweedfs") as s3:
            env = {
                "VAULT_DATA_DIR": str(root / "vault"),
                "VAULT_STORAGE": "s3",
                "VAULT_S3_ENDPOINT": s3.endpoint,
                "VAULT_S3_ACCESS_KEY": s3.access_key,
                "VAULT_S3_SECRET_KEY": s3.secret_key,
                "VAULT_S3_BUCKET": f"bench-vault-{secrets.token_hex(4)}",
                "VAULT_MAX_UPLOAD_BYTES": str(2 << 30),
            }
            with vault_server(env, root) as server:
                bench = Bench(s3, server.url)
                rows = []
                for case in cases(args, root, bench):
                    size, rates = measure(bench, case, args.rounds)
                    rows.append(_row(case.label, size, rates))
                print(
                    "| case | size | bare put MB/s | API upload MB/s | ratio (rounds) "
                    "| bare get MB/s | API download MB/s | ratio (rounds) |"
                )
                print("|---|---|---|---|---|---|---|---|")
                print("\n".join(rows))
                if "scanned" in (args.only or ["scanned"]):
                    scanned = _scanned(root, args.scanned_mib * MIB, args.scanned_pages)
                    print("\n" + parts_in_turn(bench, scanned(), args.rounds))
                if args.huge_mib:
                    up, down = memory(bench, server.pid, args.huge_mib)
                    print(
                        f"\nserver memory growth at {args.huge_mib} MiB: upload {up / MIB:.0f} "
                        f"MiB, download {down / MIB:.0f} MiB (bound: 64 MiB)"
                    )


if __name__ == "__main__":
    main()

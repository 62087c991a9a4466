"""Upload and download throughput through the vault's API on the S3 store, as a ratio of a bare
minio-SDK put/get of the same bytes to the same SeaweedFS server in the same run, and the server
process's memory growth for a 1 GiB upload and download.

    python -m scripts.bench_transfer [--rounds 3] [--big-mib 200] [--huge-mib 1024]

Everything it needs (SeaweedFS, a `vault serve` process on SQLite + S3) it starts itself.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import urllib3

from tests.support import files
from tests.support.seaweed import S3Server, seaweedfs
from tests.support.server import vault_server
from tests.support.transfer import MemoryWatch, multipart

MIB = 1 << 20


def _pdf(size: int) -> bytes:
    _, pieces = files.big_pdf_stream(size)
    return b"".join(pieces)  # type: ignore[arg-type]


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

    def bare_get(self, _data: bytes) -> None:
        response = self.s3.get_object(self.bucket, "bare")
        try:
            for _ in response.stream(MIB):
                pass
        finally:
            response.close()
            response.release_conn()

    def api_put(self, data: bytes) -> str:
        headers, total, body = multipart(
            {"doc_type": "GCNQSDD"}, "bench.pdf", len(data), _slices(data)
        )
        response = self.http.request(
            "POST",
            f"{self.url}/api/v1/documents",
            headers={**self.auth, **headers, "Content-Length": str(total)},
            body=body,
            chunked=False,
        )
        assert response.status == 201, response.data[:500]
        self.last = response.json()
        return str(self.last["id"])

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


def _timed(action: Callable[[bytes], object], data: bytes) -> float:
    start = time.perf_counter()
    action(data)
    return time.perf_counter() - start


def measure(bench: Bench, size_mib: int, rounds: int) -> dict[str, float]:
    data = _pdf(size_mib * MIB)
    times: dict[str, list[float]] = {"bare_put": [], "api_put": [], "bare_get": [], "api_get": []}
    for _ in range(rounds):  # interleaved, so that noise hits both sides alike
        times["bare_put"].append(_timed(bench.bare_put, data))
        times["api_put"].append(_timed(bench.api_put, data))
        times["bare_get"].append(_timed(bench.bare_get, data))
        times["api_get"].append(_timed(bench.api_get, data))
        bench.delete_last()
    bench.api_put(data)
    bench.verify_last(data)  # the bytes that came back are the bytes that went in
    bench.delete_last()
    return {name: len(data) / statistics.median(values) / 1e6 for name, values in times.items()}


def memory(bench: Bench, pid: int, size_mib: int) -> tuple[int, int]:
    data = _pdf(size_mib * MIB)
    bench.api_put(_pdf(4 * MIB))  # warm every path before the baseline
    bench.api_get(b"")
    with MemoryWatch(pid) as upload:
        bench.api_put(data)
    with MemoryWatch(pid) as download:
        bench.api_get(data)
    return upload.growth, download.growth


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes-mib", type=int, nargs="+", default=[10, 200])
    parser.add_argument("--huge-mib", type=int, default=1024)
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
                print(
                    "| size | bare put MB/s | API upload MB/s | ratio "
                    "| bare get MB/s | API download MB/s | ratio |"
                )
                print("|---|---|---|---|---|---|---|")
                for size in args.sizes_mib:
                    r = measure(bench, size, args.rounds)
                    up, down = r["api_put"] / r["bare_put"], r["api_get"] / r["bare_get"]
                    print(
                        f"| {size} MiB | {r['bare_put']:.0f} | {r['api_put']:.0f} | {up:.2f} "
                        f"| {r['bare_get']:.0f} | {r['api_get']:.0f} | {down:.2f} |"
                    )
                up, down = memory(bench, server.pid, args.huge_mib)
                print(
                    f"\nserver memory growth at {args.huge_mib} MiB: upload {up / MIB:.0f} MiB, "
                    f"download {down / MIB:.0f} MiB (bound: 64 MiB)"
                )


if __name__ == "__main__":
    main()

"""An agency's whole round trip with the vault, over plain HTTP (httpx2), as an agency's own
system would do it: nothing here imports the vault.

1. A client-credentials token (`agency.token`).
2. The share a citizen gave at the counter: its purpose and papers (`shared.open`), each
   paper downloaded (`shared.fetch`).
3. The dossiers submitted to the agency (`agency_dossiers.list`); for one of them: taken up
   (`agency_dossiers.set_status`), its papers downloaded (`agency_dossiers.fetch`), the
   issued paper deposited with the agency's signature (`agency_dossiers.deposit_result`) and
   the dossier completed.

Every call is found by its operation id in the vault's published OpenAPI description, so the
client follows the contract rather than hard-coding paths. A refusal is a problem document
(RFC 9457); it is raised as `Refused` with its status, type and detail.

    python examples/agency_client.py --url http://127.0.0.1:8000 --client-id ID \\
        --client-secret=SECRET --share=TOKEN --out papers/ \\
        [--dossier ID --result ket-qua.pdf --key agency-key.pem]

A share token (or an older secret) may begin with "-": give such values with "=", as above.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import sys
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

_FILENAME = re.compile(r"filename\*=UTF-8''([^;]+)")


class Refused(Exception):
    """The vault's answer was a problem document, not what was asked for."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{status} {problem.get('type')}: {problem.get('detail')}")


@dataclass
class Agency:
    """An agency's session with the vault: its bearer token and the operations by id."""

    http: httpx2.Client
    operations: dict[str, tuple[str, str]] = field(default_factory=dict)
    token: str = ""

    @classmethod
    def connect(cls, http: httpx2.Client, client_id: str, client_secret: str) -> Agency:
        agency = cls(http)
        spec = http.get("/openapi.json").raise_for_status().json()
        for path, methods in spec["paths"].items():
            for method, operation in methods.items():
                agency.operations[operation["operationId"]] = (method.upper(), path)
        issued = agency.call(
            "agency.token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, client_secret),
        ).json()
        agency.token = issued["access_token"]
        return agency

    def call(self, operation_id: str, /, **request: Any) -> httpx2.Response:
        method, path = self.operations[operation_id]
        path = path.format(**request.pop("path", {}))
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        answer = self.http.request(method, path, headers=headers, **request)
        if answer.is_error:
            raise Refused(answer.status_code, answer.json())
        return answer


def save(answer: httpx2.Response, folder: Path) -> Path:
    """The paper under the name the vault gives it, kept to a plain file name."""
    found = _FILENAME.search(answer.headers.get("content-disposition", ""))
    name = Path(unquote(found.group(1))).name if found else ""
    target = folder / (name or "paper")
    target.write_bytes(answer.content)
    return target


def fetch_share(agency: Agency, share: str, folder: Path) -> list[Path]:
    opened = agency.call("shared.open", path={"token": share}).json()
    print(f"share for {opened['purpose']!r}: {len(opened['papers'])} papers")
    saved = []
    for paper in opened["papers"]:
        answer = agency.call("shared.fetch", path={"token": share, "document_id": paper["id"]})
        saved.append(save(answer, folder))
    return saved


def handle_dossier(
    agency: Agency, dossier: str, folder: Path, result: Path, key_pem: bytes
) -> dict[str, Any]:
    """Take the dossier up, read its papers, deposit the signed result, complete it."""
    where = {"dossier_id": dossier}
    taken = agency.call(
        "agency_dossiers.set_status", path=where, json={"status": "processing"}
    ).json()
    for attachment in taken["attachments"]:
        answer = agency.call(
            "agency_dossiers.fetch",
            path={**where, "document_id": attachment["document_id"]},
        )
        save(answer, folder)
    paper = result.read_bytes()
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SystemExit("This client signs with an Ed25519 key.")
    signature = base64.b64encode(key.sign(hashlib.sha256(paper).digest())).decode()
    procedure = agency.call("procedures.get", path={"code": taken["procedure"]}).json()
    agency.call(
        "agency_dossiers.deposit_result",
        path=where,
        data={"doc_type": procedure["result_doc_type"], "signature": signature},
        files={"file": (result.name, paper, "application/pdf")},
    )
    completed: dict[str, Any] = agency.call(
        "agency_dossiers.set_status", path=where, json={"status": "completed"}
    ).json()
    return completed


def main(argv: list[str] | None = None, http: httpx2.Client | None = None) -> int:
    """`http`: a client already open on the vault (a test's in-process one); else `--url`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", default=os.environ.get("VAULT_AGENCY_CLIENT_ID"))
    parser.add_argument("--client-secret", default=os.environ.get("VAULT_AGENCY_SECRET"))
    parser.add_argument("--share", help="the share token the citizen gave")
    parser.add_argument("--out", type=Path, default=Path("papers"))
    parser.add_argument("--dossier", help="a dossier to take up and complete")
    parser.add_argument("--result", type=Path, help="the issued paper (PDF) to deposit")
    parser.add_argument("--key", type=Path, help="the agency's Ed25519 private key (PEM)")
    args = parser.parse_args(argv)
    if not (args.client_id and args.client_secret):
        parser.error("--client-id and --client-secret are required")
    args.out.mkdir(parents=True, exist_ok=True)
    opened = nullcontext(http) if http else httpx2.Client(base_url=args.url, timeout=60)
    with opened as client:
        try:
            agency = Agency.connect(client, args.client_id, args.client_secret)
            submitted = agency.call("agency_dossiers.list", params={"status": "submitted"})
            print(f"{len(submitted.json())} dossiers waiting")
            if args.share:
                for path in fetch_share(agency, args.share, args.out):
                    print(f"saved {path}")
            if args.dossier:
                if not (args.result and args.key):
                    parser.error("--dossier needs --result and --key")
                done = handle_dossier(
                    agency, args.dossier, args.out, args.result, args.key.read_bytes()
                )
                print(f"dossier {done['id']}: {done['status']}")
        except Refused as refused:
            print(f"refused: {refused}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

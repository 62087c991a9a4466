"""Reading papers through the API: a căn cước's QR code during the upload, OCR of other papers
in a job, the citizen's confirmation, search, and nothing read left readable at rest."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.test_confidentiality import raw_store
from tests.conftest import CI, Stack
from tests.support import cards, files
from tests.support.api import Account, register, register_agency
from tests.support.at_rest import raw_database
from vault.blobs.backend import Backend
from vault.documents.intake import images
from vault.documents.recognition import cccd, ocr, qr
from vault.jobs import runner
from vault.settings import Settings

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

MARRIAGE = "1.000894"
BIRTH_LINES = [
    "Số: 987654/2001",
    "Họ, chữ đệm, tên: TRẦN THỊ BÍCH",
    "Ngày, tháng, năm sinh: 02/03/2001",
]


@pytest.fixture
def tesseract() -> None:
    """OCR needs Debian's tesseract-ocr-vie (scripts/test installs it): a test of it is skipped
    without it here, and fails in CI."""
    problem = ocr.problem(None)
    if problem is not None:
        if CI:
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client)


def send(client: TestClient, account: Account, *photos: bytes, **fields: str) -> dict:
    """An upload without a doc_type unless one is given."""
    created = client.post(
        "/api/v1/documents",
        headers=account.headers,
        data=fields,
        files=[("file", (f"p{n}.jpg", data, "image/jpeg")) for n, data in enumerate(photos)],
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def with_reading(backend: Backend, **options: object) -> Backend:
    return dataclasses.replace(backend, reading=dataclasses.replace(backend.reading, **options))


class Calls:
    """The sandbox, counting what the server runs in it."""

    def __init__(self, sandbox: object) -> None:
        self.sandbox = sandbox
        self.calls: list[tuple[object, dict[str, object]]] = []

    def run(self, function: object, *args: object, **kwargs: object) -> object:
        self.calls.append((function, kwargs))
        return self.sandbox.run(function, *args, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.sandbox, name)


def counting(app: FastAPI) -> Calls:
    calls = Calls(app.state.backend.sandbox)
    app.state.backend = dataclasses.replace(app.state.backend, sandbox=calls)
    return calls


def run_jobs(settings: Settings) -> None:
    runner.work(settings, concurrency=1, burst=True)


def reading(client: TestClient, account: Account, paper: dict) -> dict:
    got = client.get(f"/api/v1/documents/{paper['id']}", headers=account.headers)
    assert got.status_code == 200, got.text
    return got.json()["reading"]  # type: ignore[no-any-return]


def test_a_card_photo_without_a_type_is_read_from_its_qr_code_and_confirmed(
    client: TestClient, citizen: Account
) -> None:
    payload = cards.qr_payload(citizen.national_id, issued=date(2025, 6, 15))
    born = date(int(payload.split("|")[3][4:]), 1, 1)
    expiry = cccd.expires_on(born, date(2025, 6, 15))
    paper = send(client, citizen, cards.card_photo(payload, angle=13, blur=1.5))

    assert paper["doc_type"] == "KHAC"  # nothing changes until the citizen confirms
    read = paper["reading"]
    assert (read["status"], read["source"], read["suggested_doc_type"]) == ("done", "qr", "CCCD")
    assert read["fields"] == {
        "number": citizen.national_id,
        "full_name": "Nguyễn Văn An",
        "date_of_birth": born.isoformat(),
        "issued_on": "2025-06-15",
        "expires_on": expiry.isoformat() if expiry else None,
        "address": "12 Lê Lợi, Hải Châu, Đà Nẵng",
    }
    assert read["warnings"] == [] and read["confidence"] == 1.0 and not read["accepted"]
    assert reading(client, citizen, paper) == read

    accepted = client.post(
        f"/api/v1/documents/{paper['id']}/reading/accept", headers=citizen.headers
    )
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert (body["doc_type"], body["number"], body["issued_on"]) == (
        "CCCD",
        citizen.national_id,
        "2025-06-15",
    )
    assert body["expires_on"] == read["fields"]["expires_on"]
    assert body["reading"]["accepted"] is True

    agency = register_agency(client, "UBND-HAICHAU")
    dossier = client.post(
        "/api/v1/dossiers",
        headers=citizen.headers,
        json={"procedure": MARRIAGE, "agency": agency.code},
    )
    assert dossier.status_code == 201, dossier.text
    attached = {a["doc_type"]: a["document_id"] for a in dossier.json()["attachments"]}
    assert attached.get("CCCD") == paper["id"]


def test_a_photo_is_read_in_the_sandbox_call_that_normalises_it(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    calls = counting(app)
    paper = send(client, citizen, cards.card_photo(cards.qr_payload(citizen.national_id)))
    assert paper["reading"]["source"] == "qr"
    assert calls.calls == [(images.normalise, calls.calls[0][1])]  # no second decode
    assert calls.calls[0][1]["codes_in"] is qr.codes_in


def test_the_age_rule_of_the_issue_computes_the_expiry(client: TestClient) -> None:
    """Issued 2021-06-15 to someone born 1990-01-01: valid until the 40th birthday."""
    citizen = register(client)
    number = "048090" + citizen.national_id[6:]
    payload = cards.qr_payload(number, born=date(1990, 1, 1), sex="Nam")
    read = send(client, citizen, cards.card_photo(payload))["reading"]
    assert read["fields"]["expires_on"] == "2030-01-01"


def test_a_card_that_is_not_the_accounts_own_is_stored_with_a_warning(
    client: TestClient, citizen: Account
) -> None:
    other = "001" + citizen.national_id[3:6] + "999999"
    if other == citizen.national_id:
        other = other[:-1] + "8"
    paper = send(client, citizen, cards.card_photo(cards.qr_payload(other)))
    read = paper["reading"]
    assert read["suggested_doc_type"] == "CCCD" and read["fields"]["number"] == other
    assert [w["code"] for w in read["warnings"]] == ["not_own_number"]


def test_corrections_are_applied_and_move_the_computed_expiry(
    client: TestClient, citizen: Account
) -> None:
    number = "048090" + citizen.national_id[6:]  # born in 1990, a man
    paper = send(client, citizen, cards.card_photo(cards.qr_payload(number)))
    issued = date(2020, 5, 2)
    accepted = client.post(
        f"/api/v1/documents/{paper['id']}/reading/accept",
        headers=citizen.headers,
        json={"issued_on": issued.isoformat(), "full_name": "Nguyễn Văn Ân"},
    ).json()
    assert accepted["issued_on"] == issued.isoformat()
    assert accepted["expires_on"] == "2030-01-01"
    assert accepted["reading"]["fields"]["full_name"] == "Nguyễn Văn Ân"


def test_refused_corrections_change_nothing(client: TestClient, citizen: Account) -> None:
    paper = send(client, citizen, cards.card_photo(cards.qr_payload(citizen.national_id)))
    path = f"/api/v1/documents/{paper['id']}/reading/accept"
    bad = client.post(path, headers=citizen.headers, json={"doc_type": "NOPE"})
    assert bad.status_code == 422
    after = client.get(f"/api/v1/documents/{paper['id']}", headers=citizen.headers).json()
    assert after["doc_type"] == "KHAC" and after["reading"]["accepted"] is False
    other = register(client)
    assert client.post(path, headers=other.headers).status_code == 404


@pytest.mark.usefixtures("tesseract")
def test_a_printed_paper_is_read_by_ocr_in_a_job(
    client: TestClient, citizen: Account, settings: Settings
) -> None:
    paper = send(client, citizen, cards.printed_paper("GIẤY KHAI SINH", BIRTH_LINES))
    assert paper["doc_type"] == "KHAC"
    assert paper["reading"]["status"] == "pending"
    run_jobs(settings)
    read = reading(client, citizen, paper)
    assert (read["status"], read["source"], read["suggested_doc_type"]) == ("done", "ocr", "GKS")
    assert read["fields"]["number"] == "987654/2001"
    assert read["fields"]["date_of_birth"] == "2001-03-02"
    assert 0 < read["confidence"] <= 1
    nothing_yet = client.get(f"/api/v1/documents/{paper['id']}", headers=citizen.headers).json()
    assert nothing_yet["doc_type"] == "KHAC"

    found = client.get("/api/v1/documents", headers=citizen.headers, params={"q": "tran thi bich"})
    assert [p["id"] for p in found.json()] == [paper["id"]]
    accepted = client.post(
        f"/api/v1/documents/{paper['id']}/reading/accept", headers=citizen.headers
    ).json()
    assert (accepted["doc_type"], accepted["number"]) == ("GKS", "987654/2001")


@pytest.mark.usefixtures("tesseract")
def test_nothing_read_is_left_readable_at_rest(
    app: FastAPI, client: TestClient, citizen: Account, settings: Settings
) -> None:
    address = "27 Phố Bí Mật Đọc, Sơn Trà"
    send(client, citizen, cards.card_photo(cards.qr_payload(citizen.national_id, address=address)))
    send(client, citizen, cards.printed_paper("GIẤY KHAI SINH", BIRTH_LINES))
    run_jobs(settings)
    found = client.get("/api/v1/documents", headers=citizen.headers, params={"q": "987654"})
    assert len(found.json()) == 1
    needles = [b"987654", "TRẦN THỊ BÍCH".encode(), b"TRAN THI BICH", address.encode()]
    needles += [b"Bi Mat Doc", b"bi mat doc", "Bí Mật".encode()]
    database = raw_database(app, settings)
    on_disk = [p.read_bytes() for p in Path(settings.data_dir).rglob("*") if p.is_file()]
    for needle in needles:
        assert needle not in database
        for blob in [*raw_store(app), *on_disk]:
            assert needle not in blob


def test_search_ignores_accents_and_case_and_wants_every_word(
    client: TestClient, citizen: Account
) -> None:
    birth = send(client, citizen, files.png(), doc_type="GKS", title="Giấy khai sinh của Đức")
    card = send(client, citizen, files.png(), doc_type="HC", number="C1234567")

    def ids(q: str) -> list[str]:
        found = client.get("/api/v1/documents", headers=citizen.headers, params={"q": q})
        assert found.status_code == 200, found.text
        return [p["id"] for p in found.json()]

    assert ids("giay khai sinh") == [birth["id"]]
    assert ids("GIẤY  Khai") == [birth["id"]]
    assert ids("duc") == [birth["id"]]
    assert ids("khai sinh hộ chiếu") == []
    assert ids("hộ chiếu c1234567") == [card["id"]]
    other = register(client)
    assert client.get("/api/v1/documents", headers=other.headers, params={"q": "khai"}).json() == []


@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_without_tesseract_reading_is_unavailable_not_an_error(
    app: FastAPI, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    citizen = register(client)
    empty = tmp_path / "no-tessdata"
    empty.mkdir()
    app.state.backend = with_reading(app.state.backend, tessdata=str(empty))
    paper = send(client, citizen, cards.printed_paper("GIẤY KHAI SINH", BIRTH_LINES))
    read = paper["reading"]
    assert read["status"] == "unavailable"
    assert "tesseract-ocr-vie" in read["detail"]
    card = send(client, citizen, cards.card_photo(cards.qr_payload(citizen.national_id)))
    assert card["reading"]["status"] == "done"  # the QR code needs no Tesseract


@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_reading_turned_off_stores_papers_unread(app: FastAPI, client: TestClient) -> None:
    citizen = register(client)
    app.state.backend = with_reading(app.state.backend, enabled=False)
    calls = counting(app)
    paper = send(client, citizen, cards.card_photo(cards.qr_payload(citizen.national_id)))
    assert [kwargs["codes_in"] for _, kwargs in calls.calls] == [None]  # nothing looked for
    assert paper["doc_type"] == "KHAC"
    assert paper["reading"]["status"] == "unavailable"
    assert "VAULT_READING=off" in paper["reading"]["detail"]
    path = f"/api/v1/documents/{paper['id']}/reading/accept"
    assert client.post(path, headers=citizen.headers).status_code == 409
    typed = client.post(path, headers=citizen.headers, json={"doc_type": "CCCD"})
    assert typed.status_code == 200 and typed.json()["doc_type"] == "CCCD"

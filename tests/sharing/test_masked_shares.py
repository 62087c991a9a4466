"""Masked shares through the real API, on both stacks: the agency's copy has the masked pixels
destroyed on every route that serves the paper, the stored paper is unchanged, and the unmasked
bytes are out of reach through that grant."""

import dataclasses
import io
import json
import uuid

import pikepdf
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col

from tests.support import files
from tests.support.api import Account, AgencyAccount, register, register_agency, share, upload
from tests.support.masks import (
    assert_flat_inside,
    assert_masked_jpeg,
    assert_masked_png,
    card,
    decoded,
)
from tests.support.pages import counter_signed_in, post_form, signed_in
from vault import db
from vault.accounts import officers
from vault.kit import days
from vault.sharing.models import GrantDocument

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

PHOTO = {"page": 1, "x": 0.02, "y": 0.28, "w": 0.27, "h": 0.52}
QR = {"page": 1, "x": 0.75, "y": 0.02, "w": 0.23, "h": 0.37}
ADDRESS = {"page": 1, "x": 0.28, "y": 0.79, "w": 0.7, "h": 0.19}
CARD = [PHOTO, QR, ADDRESS]


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client, full_name="Trần Thị Mai")


@pytest.fixture
def agency(client: TestClient) -> AgencyAccount:
    return register_agency(client, "UBND-HAICHAU", "UBND phường Hải Châu")


def content(token: str, paper: str) -> str:
    return f"/api/v1/shared/{token}/documents/{paper}/content"


def stored(client: TestClient, citizen: Account, paper: str) -> bytes:
    answer = client.get(f"/api/v1/documents/{paper}/content", headers=citizen.headers)
    assert answer.status_code == 200
    return answer.content


def test_a_masked_card_photo_reaches_the_agency_only_masked(
    client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    details = {"number": "048190001234", "title": "Căn cước của Mai", "expires_on": "2040-01-01"}
    photo = upload(client, citizen, ("cccd.jpg", card()), doc_type="CCCD", **details).json()
    original = stored(client, citizen, photo["id"])
    created = share(client, citizen, agency.code, photo["id"], masks={photo["id"]: CARD})
    assert created.status_code == 201, created.text
    grant = created.json()
    assert grant["masks"] == {photo["id"]: CARD}
    read = client.get(f"/api/v1/grants/{grant['id']}", headers=citizen.headers).json()
    assert read["masks"] == {photo["id"]: CARD}
    assert client.get("/api/v1/grants", headers=citizen.headers).json()[0]["masks"] == read["masks"]

    token = grant["token"]
    opened = client.get(f"/api/v1/shared/{token}", headers=agency.headers).json()
    assert [p["masked"] for p in opened["papers"]] == [True]
    # What it says beside the masked copy does not repeat what the masks hide.
    (described,) = opened["papers"]
    assert (described["number"], described["title"]) == (None, None)
    assert (described["doc_type"], described["expires_on"]) == ("CCCD", "2040-01-01")

    fetched = client.get(content(token, photo["id"]), headers=agency.headers)
    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["content-type"] == "image/jpeg"  # the format it is stored in
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert_masked_jpeg(original, fetched.content, CARD)

    stamped = client.get(content(token, photo["id"]) + "?watermark=1", headers=agency.headers)
    assert stamped.status_code == 200 and stamped.headers["content-type"] == "image/jpeg"
    assert_flat_inside(decoded(stamped.content), CARD)

    # A Range request, or one that claims to have the paper already, gets the masked copy too.
    ranged = client.get(
        content(token, photo["id"]),
        headers={**agency.headers, "Range": "bytes=0-99", "If-None-Match": "*"},
    )
    assert ranged.status_code == 200
    assert_masked_jpeg(original, ranged.content, CARD)

    assert stored(client, citizen, photo["id"]) == original  # the vault's paper is unchanged
    log = client.get("/api/v1/access-log", headers=citizen.headers).json()
    assert [(e["action"], e["masked"]) for e in log] == [
        ("share.download", True),
        ("share.download", True),
        ("share.download", True),
        ("share.open", False),
    ]


def test_a_masked_png_is_exact_outside_its_masks(
    client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    scan = upload(client, citizen, ("cccd.png", card(kind="PNG")), doc_type="CCCD").json()
    original = stored(client, citizen, scan["id"])
    token = share(client, citizen, agency.code, scan["id"], masks={scan["id"]: [QR]}).json()
    fetched = client.get(content(token["token"], scan["id"]), headers=agency.headers)
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    assert_masked_png(original, fetched.content, [QR])


def test_a_masked_pdf_is_sent_as_pictures_of_its_pages_and_others_stay_whole(
    client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    scan = upload(client, citizen, ("so-ho-khau.pdf", files.pdf(pages=2))).json()
    other = upload(client, citizen, ("khai-sinh.pdf", files.pdf())).json()
    box = {"page": 2, "x": 0.05, "y": 0.05, "w": 0.6, "h": 0.1}  # over the line of text
    grant = share(client, citizen, agency.code, scan["id"], other["id"], masks={scan["id"]: [box]})
    token = grant.json()["token"]
    fetched = client.get(content(token, scan["id"]), headers=agency.headers)
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "application/pdf"
    assert files.MARKER not in fetched.content  # no text layer: every page is pixels
    with pikepdf.open(io.BytesIO(fetched.content)) as document:
        pages = [
            decoded(p.get_images()[next(iter(p.get_images()))].read_raw_bytes())
            for p in document.pages
        ]
    assert len(pages) == 2
    assert_flat_inside(pages[1], [box])
    whole = client.get(content(token, other["id"]), headers=agency.headers)
    assert whole.content == stored(client, citizen, other["id"])  # the unmasked paper as stored
    log = client.get("/api/v1/access-log", headers=citizen.headers).json()
    assert [(e["document_id"], e["masked"]) for e in log[:2]] == [
        (other["id"], False),
        (scan["id"], True),
    ]


def test_the_counter_s_screens_and_downloads_of_a_masked_paper_are_masked(
    app: FastAPI, client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    photo = upload(client, citizen, ("cccd.jpg", card()), doc_type="CCCD").json()
    token = share(client, citizen, agency.code, photo["id"], masks={photo["id"]: CARD}).json()[
        "token"
    ]
    with db.unit_of_work(app.state.engine) as session:
        _, password = officers.create(
            session, agency_code=agency.code, username="canbo.lan", full_name="Trần Thị Lan"
        )
    officer = counter_signed_in(app, "canbo.lan", password)
    page = officer.get(f"/agency/share/{token}")
    assert page.status_code == 200 and "Tải bản đã che" in page.text
    path = f"/agency/share/{token}/papers/{photo['id']}"
    for query in ("", "?stamped=1", "?page=1"):
        answer = officer.get(path + query)
        assert answer.status_code == 200, (query, answer.text)
        assert answer.headers["content-type"] == "image/jpeg"
        assert_flat_inside(decoded(answer.content), CARD)
    log = client.get("/api/v1/access-log", headers=citizen.headers).json()
    assert [(e["action"], e["masked"]) for e in log[:3]] == [
        ("share.preview", True),
        ("share.download", True),
        ("share.download", True),
    ]


def test_a_dossier_route_serves_a_masked_paper_masked(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    """No dossier asks for masks today; should its grant carry some, its route serves them."""
    from vault.crypto import signatures

    agency = register_agency(client, "UBND-HOAVANG", public_key_pem=signatures.generate()[1])
    card_pdf = upload(client, citizen, ("cccd.pdf", files.pdf()), doc_type="CCCD").json()
    today = str(days.today())
    upload(client, citizen, ("xn.pdf", files.pdf()), doc_type="XNTTHN", issued_on=today)
    form = {
        "ho_ten_ben_kia": "Lê Văn Bình",
        "so_dinh_danh_ben_kia": "048094009876",
        "ngay_sinh_ben_kia": "1994-05-02",
        "noi_cu_tru_ben_kia": "Đà Nẵng",
        "ket_hon_lan_thu": "Lần đầu",
        "ngay_sinh": "1995-01-01",
        "noi_cu_tru": "Đà Nẵng",
    }
    draft = client.post(
        "/api/v1/dossiers",
        headers=citizen.headers,
        json={"procedure": "1.000894", "agency": agency.code},
    ).json()
    client.patch(f"/api/v1/dossiers/{draft['id']}/form", headers=citizen.headers, json=form)
    sent = client.post(f"/api/v1/dossiers/{draft['id']}/submit", headers=citizen.headers)
    assert sent.status_code == 200, sent.text
    box = {"page": 1, "x": 0.0, "y": 0.0, "w": 1.0, "h": 0.5}
    with db.unit_of_work(app.state.engine) as session:
        session.execute(
            update(GrantDocument)
            .where(col(GrantDocument.grant_id) == uuid.UUID(sent.json()["grant_id"]))
            .where(col(GrantDocument.document_id) == uuid.UUID(card_pdf["id"]))
            .values(masks=json.dumps([box]))
        )
    url = f"/api/v1/agency/dossiers/{draft['id']}/documents/{card_pdf['id']}/content"
    for query in ("", "?watermark=1"):
        received = client.get(url + query, headers=agency.headers)
        assert received.status_code == 200, received.text
        assert files.MARKER not in received.content
        assert received.content != stored(client, citizen, card_pdf["id"])


BAD = [
    ({"page": 0, "x": 0.1, "y": 0.1, "w": 0.1, "h": 0.1}, "Page 0 is not in this paper"),
    ({"page": 2, "x": 0.1, "y": 0.1, "w": 0.1, "h": 0.1}, "Page 2 is not in this paper"),
    ({"page": 1, "x": -0.1, "y": 0.1, "w": 0.1, "h": 0.1}, "fractions of the page"),
    ({"page": 1, "x": 0.1, "y": 0.1, "w": 0, "h": 0.1}, "above 0"),
    ({"page": 1, "x": 0.5, "y": 0.1, "w": 0.6, "h": 0.1}, "within its page"),
    ({"page": 1, "x": 0.1, "y": 0.95, "w": 0.1, "h": 0.1}, "within its page"),
]


def test_masks_off_the_paper_are_422_and_nothing_is_shared(
    client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    photo = upload(client, citizen, ("cccd.jpg", card()), doc_type="CCCD").json()
    other = upload(client, citizen, ("gks.pdf", files.pdf())).json()
    cases = [({photo["id"]: [box]}, says) for box, says in BAD]
    cases += [
        ({other["id"]: [PHOTO]}, "not in this share"),
        ({photo["id"]: [PHOTO] * 33}, "at most 32 masks"),
    ]
    for masks, says in cases:
        refused = share(client, citizen, agency.code, photo["id"], masks=masks)
        assert refused.status_code == 422, (masks, refused.text)
        problem = refused.json()
        assert refused.headers["content-type"] == "application/problem+json"
        assert says in problem["detail"] and problem["field"] == "masks", problem
    nan = json.dumps(
        {
            "agency": agency.code,
            "document_ids": [photo["id"]],
            "purpose": "Thử",
            "masks": {photo["id"]: [{**PHOTO, "x": float("nan")}]},
        }
    )
    headers = {**citizen.headers, "Content-Type": "application/json"}
    refused = client.post("/api/v1/grants", headers=headers, content=nan)
    assert refused.status_code == 422, refused.text
    for odd in (
        {photo["id"]: [{**PHOTO, "x": 10**400}]},
        {photo["id"]: [{**PHOTO, "page": 10**30}]},
        {photo["id"]: [{**PHOTO, "w": "wide"}]},
        {"not-an-id": [PHOTO]},
        [PHOTO],
    ):
        answer = share(client, citizen, agency.code, photo["id"], masks=odd)
        assert answer.status_code == 422, (odd, answer.text)
    typed = share(client, citizen, agency.code, photo["id"], masks={photo["id"]: [{"page": 1}]})
    assert typed.status_code == 422
    assert client.get("/api/v1/grants", headers=citizen.headers).json() == []


def test_a_paper_too_large_to_mask_is_refused_and_never_sent_unmasked(
    app: FastAPI, client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    photo = upload(client, citizen, ("cccd.jpg", card()), doc_type="CCCD").json()
    token = share(client, citizen, agency.code, photo["id"], masks={photo["id"]: CARD}).json()[
        "token"
    ]
    backend = app.state.backend
    small = dataclasses.replace(backend.limits, max_image_bytes=1000)
    app.state.backend = dataclasses.replace(backend, limits=small)
    try:
        # Made now, the share is refused; made before the limit fell, the copy is refused.
        refused = share(client, citizen, agency.code, photo["id"], masks={photo["id"]: CARD})
        assert refused.status_code == 422 and "too large" in refused.json()["detail"]
        for query in ("", "?watermark=1"):
            answer = client.get(content(token, photo["id"]) + query, headers=agency.headers)
            assert answer.status_code == 422, answer.text
            assert answer.json()["reason"] == "too_large_to_mask"
            assert answer.headers["content-type"] == "application/problem+json"
    finally:
        app.state.backend = backend
    grant = client.get("/api/v1/grants", headers=citizen.headers).json()[0]
    assert grant["uses"] == 0  # a refusal costs no use


def test_the_share_page_sends_masks_and_shows_pdf_pages_to_draw_on(
    app: FastAPI, client: TestClient, citizen: Account, agency: AgencyAccount
) -> None:
    photo = upload(client, citizen, ("cccd.jpg", card()), doc_type="CCCD").json()
    scan = upload(client, citizen, ("so.pdf", files.pdf(pages=2))).json()
    browser = signed_in(app, citizen)
    page = browser.get(f"/share?paper={photo['id']}").text
    assert 'data-masks-for="{}" data-doc-type="CCCD"'.format(photo["id"]) in page
    assert f'data-src="/share/papers/{scan["id"]}/pages/{{page}}"' in page

    preview = browser.get(f"/share/papers/{scan['id']}/pages/2")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    assert max(decoded(preview.content).size) <= 1000
    assert browser.get(f"/share/papers/{scan['id']}/pages/21").status_code == 422
    assert browser.get(f"/share/papers/{photo['id']}/pages/1").status_code == 422
    stranger = signed_in(app, register(client))
    assert stranger.get(f"/share/papers/{scan['id']}/pages/1").status_code == 404

    form = {"paper": photo["id"], "agency": agency.code, "purpose": "Đăng ký tạm trú"}
    wrong = post_form(browser, "/share", "/share", **form, masks=json.dumps({scan["id"]: [QR]}))
    assert wrong.status_code == 422
    shared = post_form(browser, "/share", "/share", **form, masks=json.dumps({photo["id"]: [QR]}))
    assert shared.status_code == 303, shared.text
    whole = post_form(browser, "/share", "/share", **form, masks="")  # no script, no masks
    assert whole.status_code == 303
    grants = client.get("/api/v1/grants", headers=citizen.headers).json()
    assert [g["masks"] for g in grants] == [{}, {photo["id"]: [QR]}]
    assert "đã che thông tin" in browser.get(shared.headers["location"]).text

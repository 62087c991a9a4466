"""Storing, listing, reading, replacing and deleting papers through the HTTP API."""

import hashlib
import io

import pikepdf
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import ALL_STACKS
from tests.support import files
from tests.support.api import Account, register, upload


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client)


@pytest.mark.parametrize("stack", ALL_STACKS, indirect=True, ids=str)
def test_pdf_round_trips_byte_for_byte(client: TestClient, citizen: Account) -> None:
    data = files.pdf(pages=3)
    created = upload(
        client,
        citizen,
        ("giấy khai sinh.pdf", data),
        doc_type="GKS",
        title="Khai sinh",
        number="123/2001",
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["content_type"] == "application/pdf"
    assert body["pages"] == 3
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert (body["version"], body["trust"], body["title"], body["number"]) == (
        1,
        "self_scan",
        "Khai sinh",
        "123/2001",
    )

    content = client.get(f"/api/v1/documents/{body['id']}/content", headers=citizen.headers)
    assert content.status_code == 200
    assert content.content == data
    assert content.headers["content-type"] == "application/pdf"
    assert content.headers["etag"] == f'"{body["sha256"]}"'
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["cache-control"] == "no-store"
    assert content.headers["content-disposition"].startswith("attachment;")
    assert (
        "filename*=UTF-8''gi%E1%BA%A5y%20khai%20sinh.pdf" in content.headers["content-disposition"]
    )


def test_title_and_number_are_kept_as_one_line_of_visible_text(
    client: TestClient, citizen: Account
) -> None:
    """A control or bidi character could make a number look like another to an agency."""
    created = upload(
        client,
        citizen,
        ("a.pdf", files.pdf()),
        title="Khai\x00 sinh\u202egpj.exe",
        number="  123\u200b/\t2001 ",
    )
    assert created.status_code == 201, created.text
    assert (created.json()["title"], created.json()["number"]) == ("Khai sinhgpj.exe", "123/ 2001")


def test_two_photos_become_one_two_page_pdf(client: TestClient, citizen: Account) -> None:
    created = upload(
        client,
        citizen,
        ("front.jpg", files.jpeg_with_gps()),
        ("back.png", files.png()),
        doc_type="CCCD",
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["content_type"], body["pages"], body["filename"]) == (
        "application/pdf",
        2,
        "front.pdf",
    )
    content = client.get(f"/api/v1/documents/{body['id']}/content", headers=citizen.headers).content
    with pikepdf.open(io.BytesIO(content)) as pdf:
        assert len(pdf.pages) == 2


def test_photo_is_stored_upright_without_any_metadata(client: TestClient, citizen: Account) -> None:
    original = files.jpeg_with_gps(orientation=6, size=(640, 400))
    body = upload(client, citizen, ("IMG_0001.JPG", original)).json()
    stored = client.get(f"/api/v1/documents/{body['id']}/content", headers=citizen.headers).content
    assert files.MARKER not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (400, 640)  # Orientation 6 applied to the pixels
        assert not image.getexif()
        assert (
            "exif" not in image.info
            and "comment" not in image.info
            and "icc_profile" not in image.info
        )
        left, right = image.getpixel((5, 5)), image.getpixel((image.width - 5, 5))
    assert sum(left) > 600 and sum(right) < 200  # the mark moved from top-left to top-right


@pytest.mark.parametrize(
    ("name", "make", "content_type"),
    [
        ("scan.png", files.png, "image/png"),
        ("photo.heic", files.heic, "image/jpeg"),
        ("photo.webp", files.webp, "image/jpeg"),
        ("scan.tiff", lambda: files.tiff_pages(3), "application/pdf"),
    ],
)
def test_every_accepted_image_format(
    client: TestClient, citizen: Account, name: str, make, content_type: str
) -> None:
    created = upload(client, citizen, (name, make()))
    assert created.status_code == 201, created.text
    assert created.json()["content_type"] == content_type
    assert created.json()["filename"].split(".")[0] == name.split(".")[0]


def test_listing_with_thumbnails_and_type_filter(client: TestClient, citizen: Account) -> None:
    card = upload(client, citizen, ("front.jpg", files.jpeg_with_gps()), doc_type="CCCD").json()
    upload(client, citizen, ("birth.pdf", files.pdf()), doc_type="GKS")
    listed = client.get("/api/v1/documents", headers=citizen.headers).json()
    assert {d["doc_type"] for d in listed} == {"CCCD", "GKS"}
    only_cards = client.get("/api/v1/documents?doc_type=CCCD", headers=citizen.headers).json()
    assert [d["id"] for d in only_cards] == [card["id"]]
    for document in listed:
        thumb = client.get(f"/api/v1/documents/{document['id']}/thumbnail", headers=citizen.headers)
        assert thumb.status_code == 200
        with Image.open(io.BytesIO(thumb.content)) as image:
            assert image.format == "JPEG" and max(image.size) <= 256


def test_range_requests(client: TestClient, citizen: Account) -> None:
    data = files.pdf(pages=40)
    body = upload(client, citizen, ("long.pdf", data)).json()
    url = f"/api/v1/documents/{body['id']}/content"
    part = client.get(url, headers={**citizen.headers, "Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    tail = client.get(url, headers={**citizen.headers, "Range": "bytes=-10"})
    assert tail.content == data[-10:]
    outside = client.get(url, headers={**citizen.headers, "Range": f"bytes={len(data)}-"})
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(data)}"
    stale = client.get(
        url, headers={**citizen.headers, "Range": "bytes=0-9", "If-Range": '"other"'}
    )
    assert stale.status_code == 200 and stale.content == data
    for endless in (f"bytes={'9' * 5000}-", f"bytes=-{'9' * 5000}"):
        whole = client.get(url, headers={**citizen.headers, "Range": endless})
        assert whole.status_code == 200 and whole.content == data, endless


def test_new_version_keeps_history(client: TestClient, citizen: Account) -> None:
    first = upload(
        client, citizen, ("old.pdf", files.pdf(text=b"old")), doc_type="HC", number="B1234567"
    ).json()
    newer = files.pdf(text=b"new")
    second = upload(
        client,
        citizen,
        ("new.pdf", newer),
        path=f"/api/v1/documents/{first['id']}/versions",
        number="C7654321",
    )
    assert second.status_code == 201, second.text
    assert (second.json()["id"], second.json()["version"], second.json()["number"]) == (
        first["id"],
        2,
        "C7654321",
    )
    versions = client.get(
        f"/api/v1/documents/{first['id']}/versions", headers=citizen.headers
    ).json()
    assert [v["version"] for v in versions] == [2, 1]
    current = client.get(f"/api/v1/documents/{first['id']}/content", headers=citizen.headers)
    assert current.content == newer
    old = client.get(f"/api/v1/documents/{first['id']}/versions/1/content", headers=citizen.headers)
    assert old.status_code == 200
    assert hashlib.sha256(old.content).hexdigest() == first["sha256"]


def test_a_new_version_keeps_the_details_it_is_not_sent(
    client: TestClient, citizen: Account
) -> None:
    """A retaken scan must not lose its expiry (a paper without one never expires in a
    dossier's eyes); a field sent empty does clear it."""
    first = upload(
        client,
        citizen,
        ("a.pdf", files.pdf()),
        doc_type="HC",
        title="Hộ chiếu",
        number="B1234567",
        issued_on="2020-01-01",
        expires_on="2030-01-01",
    ).json()
    versions = f"/api/v1/documents/{first['id']}/versions"
    kept = upload(client, citizen, ("b.pdf", files.pdf()), path=versions).json()
    details = ("title", "number", "issued_on", "expires_on")
    assert [kept[k] for k in details] == ["Hộ chiếu", "B1234567", "2020-01-01", "2030-01-01"]
    renewed = upload(
        client,
        citizen,
        ("c.pdf", files.pdf()),
        path=versions,
        number="C7654321",
        issued_on="2025-01-01",
        expires_on="2035-01-01",
        title="",
    ).json()
    assert [renewed[k] for k in details] == [None, "C7654321", "2025-01-01", "2035-01-01"]
    clash = upload(client, citizen, ("d.pdf", files.pdf()), path=versions, expires_on="2019-01-01")
    assert clash.status_code == 422 and clash.json()["field"] == "expires_on"


def test_new_version_cannot_change_the_type(client: TestClient, citizen: Account) -> None:
    first = upload(client, citizen, ("a.pdf", files.pdf()), doc_type="HC").json()
    refused = upload(
        client,
        citizen,
        ("b.pdf", files.pdf()),
        path=f"/api/v1/documents/{first['id']}/versions",
        doc_type="GKS",
    )
    assert refused.status_code == 422


def test_deleted_paper_is_gone(client: TestClient, citizen: Account) -> None:
    body = upload(client, citizen, ("a.pdf", files.pdf())).json()
    assert (
        client.delete(f"/api/v1/documents/{body['id']}", headers=citizen.headers).status_code == 204
    )
    for path in ("", "/content", "/thumbnail", "/versions"):
        assert (
            client.get(f"/api/v1/documents/{body['id']}{path}", headers=citizen.headers).status_code
            == 404
        )
    assert (
        client.delete(f"/api/v1/documents/{body['id']}", headers=citizen.headers).status_code == 404
    )
    assert client.get("/api/v1/documents", headers=citizen.headers).json() == []


def test_another_citizens_papers_do_not_exist(client: TestClient, citizen: Account) -> None:
    body = upload(client, citizen, ("mine.pdf", files.pdf())).json()
    stranger = register(client, full_name="Trần Văn Lạ")
    doc = f"/api/v1/documents/{body['id']}"
    for method, path in [
        ("GET", doc),
        ("GET", f"{doc}/content"),
        ("GET", f"{doc}/thumbnail"),
        ("GET", f"{doc}/versions"),
        ("GET", f"{doc}/versions/1/content"),
        ("DELETE", doc),
    ]:
        response = client.request(method, path, headers=stranger.headers)
        assert response.status_code == 404, (method, path)
        assert response.headers["content-type"] == "application/problem+json"
    new_version = upload(client, stranger, ("x.pdf", files.pdf()), path=f"{doc}/versions")
    assert new_version.status_code == 404
    assert client.get("/api/v1/documents", headers=stranger.headers).json() == []
    assert client.get(f"{doc}/content", headers=citizen.headers).status_code == 200


def test_without_a_valid_token_nothing_is_reachable(client: TestClient, citizen: Account) -> None:
    body = upload(client, citizen, ("mine.pdf", files.pdf())).json()
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = client.get(f"/api/v1/documents/{body['id']}/content", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_document_types_catalog(client: TestClient) -> None:
    types = {t["code"]: t for t in client.get("/api/v1/document-types").json()}
    assert {"CCCD", "GKS", "GCNQSDD", "BTN_THPT", "HC"} <= set(types)
    assert types["CCCD"]["name_vi"].startswith("Thẻ căn cước") and types["CCCD"]["expires"] is True
    assert types["GKS"]["expires"] is False


def test_version_numbers_no_paper_has_are_404(client: TestClient, citizen: Account) -> None:
    body = upload(client, citizen, ("a.pdf", files.pdf())).json()
    for version in ("0", "-1", "2", str(2**63), str(2**64)):
        path = f"/api/v1/documents/{body['id']}/versions/{version}/content"
        response = client.get(path, headers=citizen.headers)
        assert response.status_code == 404, version
        assert response.headers["content-type"] == "application/problem+json"


def test_times_read_back_carry_their_zone(client: TestClient, citizen: Account) -> None:
    body = upload(client, citizen, ("a.pdf", files.pdf())).json()
    stored = client.get(f"/api/v1/documents/{body['id']}", headers=citizen.headers).json()
    me = client.get("/api/v1/citizens/me", headers=citizen.headers).json()
    for moment in (stored["created_at"], stored["updated_at"], me["created_at"]):
        assert moment.endswith(("Z", "+00:00")), moment

"""A forgotten password: the officer's reset code at the counter, the citizen's recovery codes,
and what a reset ends and keeps."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlmodel import col, select

from tests.support import files
from tests.support.api import (
    PASSWORD,
    Account,
    AgencyAccount,
    new_national_id,
    register,
    register_agency,
    upload,
)
from tests.support.assist import OfficerAccount, acting_headers, register_officer
from tests.support.pages import signed_in
from vault import db
from vault.accounts import recovery
from vault.accounts.models import ActingSession, Citizen, LoginThrottle, ResetCode
from vault.agencies.models import Agency
from vault.audit.models import AuditEvent

NEW_PASSWORD = "mật khẩu mới cũng đủ dài"
RESETS = "/api/v1/assist/password-resets"


@pytest.fixture
def agency(client: TestClient) -> AgencyAccount:
    return register_agency(client, "UBND-HAICHAU", "UBND phường Hải Châu")


@pytest.fixture
def officer(client: TestClient, agency: AgencyAccount) -> OfficerAccount:
    return register_officer(client, agency.code)


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client)


def give_code(client: TestClient, officer: OfficerAccount, citizen: Account) -> str:
    body = {"national_id": citizen.national_id, "identity_check": "chip_card"}
    answer = client.post(RESETS, headers=officer.headers, json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["reset_code"])


def reset(client: TestClient, citizen: Account, code: str, password: str = NEW_PASSWORD) -> Any:
    body = {"national_id": citizen.national_id, "reset_code": code, "new_password": password}
    return client.post("/api/v1/auth/reset", json=body)


def log_in(client: TestClient, citizen: Account, password: str) -> Any:
    return client.post(
        "/api/v1/auth/token", data={"username": citizen.national_id, "password": password}
    )


def headers_after(client: TestClient, citizen: Account, password: str) -> dict[str, str]:
    token = log_in(client, citizen, password)
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def wrong_code(code: str) -> str:
    other = next(c for c in recovery.ALPHABET if c != code[0])
    return other + code[1:]


def test_an_officer_code_sets_a_new_password_once(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    body = {"national_id": citizen.national_id, "identity_check": "vneid"}
    answer = client.post(RESETS, headers=officer.headers, json=body)
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    code = issued["reset_code"]
    assert len(code) == 8 and set(code) <= set(recovery.ALPHABET)
    assert not set("0O1IL") & set(recovery.ALPHABET)
    left = db.aware(_moment(issued["expires_at"])) - db.utc_now()
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)

    assert reset(client, citizen, code).status_code == 204
    assert log_in(client, citizen, PASSWORD).status_code == 401
    assert log_in(client, citizen, NEW_PASSWORD).status_code == 200
    again = reset(client, citizen, code, "yet another password")
    assert again.status_code == 401
    assert log_in(client, citizen, NEW_PASSWORD).status_code == 200
    # The code is kept as a keyed hash only.
    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        hashes = session.exec(select(ResetCode.code_hash)).all()
    assert hashes and all(code not in h and len(h) == 64 for h in hashes)


def test_only_an_officer_gives_codes_and_only_for_an_account(
    client: TestClient, agency: AgencyAccount, officer: OfficerAccount, citizen: Account
) -> None:
    body = {"national_id": citizen.national_id, "identity_check": "card_photo"}
    for headers in ({}, citizen.headers, agency.headers, {"Authorization": "Bearer nonsense"}):
        assert client.post(RESETS, headers=headers, json=body).status_code == 401
    acting = acting_headers(client, officer, citizen)
    assert client.post(RESETS, headers=acting, json=body).status_code == 401

    unknown = {"national_id": new_national_id(), "identity_check": "chip_card"}
    assert client.post(RESETS, headers=officer.headers, json=unknown).status_code == 404
    odd = {"national_id": citizen.national_id, "identity_check": "a friendly face"}
    assert client.post(RESETS, headers=officer.headers, json=odd).status_code == 422


def test_an_expired_code_opens_nothing(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    code = give_code(client, officer, citizen)
    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.execute(update(ResetCode).values(expires_at=db.utc_now() - timedelta(seconds=1)))
    assert reset(client, citizen, code).status_code == 401
    assert log_in(client, citizen, PASSWORD).status_code == 200


def test_a_new_code_voids_the_last(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    first = give_code(client, officer, citizen)
    second = give_code(client, officer, citizen)
    assert reset(client, citizen, first).status_code == 401
    assert reset(client, citizen, second).status_code == 204


def test_wrong_number_and_wrong_code_are_told_alike(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    code = give_code(client, officer, citizen)
    stranger = Account(new_national_id(), {}, "")
    wrong_number = reset(client, stranger, code)
    wrong = reset(client, citizen, wrong_code(code))
    assert wrong_number.status_code == wrong.status_code == 401
    assert wrong_number.json() == wrong.json()
    assert wrong.headers["content-type"] == "application/problem+json"
    # A password the rules refuse costs no try and spends no code.
    assert reset(client, citizen, code, "short").status_code == 422
    assert reset(client, citizen, code).status_code == 204


def test_four_wrong_codes_leave_the_fifth_try(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    code = give_code(client, officer, citizen)
    assert [reset(client, citizen, wrong_code(code)).status_code for _ in range(4)] == [401] * 4
    assert reset(client, citizen, code).status_code == 204


def test_five_wrong_codes_kill_the_officer_code(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    code = give_code(client, officer, citizen)
    answers = [reset(client, citizen, wrong_code(code)).status_code for _ in range(5)]
    assert answers == [401] * 5
    blocked = reset(client, citizen, code)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    # Once the block is over, the code is still dead, though right.
    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.execute(delete(LoginThrottle))
    assert reset(client, citizen, code).status_code == 401
    # The officer, who sees the person, gives another: it works at once.
    assert reset(client, citizen, give_code(client, officer, citizen)).status_code == 204


def test_a_reset_ends_every_session_and_token(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    second = headers_after(client, citizen, PASSWORD)
    acting = acting_headers(client, officer, citizen)
    page = signed_in(client.app, citizen)  # type: ignore[arg-type]
    for headers in (citizen.headers, second, acting):
        assert client.get("/api/v1/documents", headers=headers).status_code == 200
    assert page.get("/profile").status_code == 200

    assert reset(client, citizen, give_code(client, officer, citizen)).status_code == 204
    for headers in (citizen.headers, second, acting):
        assert client.get("/api/v1/documents", headers=headers).status_code == 401
    assert page.get("/profile").status_code == 303
    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        ended = session.exec(select(ActingSession)).one()
    assert ended.end_reason == "reset" and ended.ended_at is not None
    fresh = headers_after(client, citizen, NEW_PASSWORD)
    assert client.get("/api/v1/documents", headers=fresh).status_code == 200


def test_a_reset_keeps_every_paper(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    sent = [("giay-khai-sinh.pdf", files.pdf()), ("anh.png", files.png())]
    ids = []
    for name, data in sent:
        stored = upload(client, citizen, (name, data))
        assert stored.status_code == 201, stored.text
        ids.append(stored.json()["id"])
    before = [_content(client, citizen.headers, paper) for paper in ids]
    assert before[0] == sent[0][1]

    assert reset(client, citizen, give_code(client, officer, citizen)).status_code == 204
    fresh = headers_after(client, citizen, NEW_PASSWORD)
    assert [_content(client, fresh, paper) for paper in ids] == before


def test_recovery_codes_work_once_each_and_a_new_set_voids_the_last(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    path = "/api/v1/citizens/me/recovery-codes"
    acting = acting_headers(client, officer, citizen)
    assert client.post(path, headers=acting).status_code == 403
    assert client.post(path).status_code == 401
    made = client.post(path, headers=citizen.headers)
    assert made.status_code == 201, made.text
    codes = made.json()["codes"]
    assert len(codes) == len(set(codes)) == 10
    assert all(len(c) == 8 and set(c) <= set(recovery.ALPHABET) for c in codes)

    assert reset(client, citizen, codes[0]).status_code == 204
    assert reset(client, citizen, codes[0], "not this one either").status_code == 401
    # Typed as printed, in groups, in small letters.
    typed = f"{codes[1][:4].lower()}-{codes[1][4:]}"
    assert reset(client, citizen, typed, "the third password").status_code == 204
    fresh = headers_after(client, citizen, "the third password")

    newer = client.post(path, headers=fresh).json()["codes"]
    assert reset(client, citizen, codes[2]).status_code == 401
    assert reset(client, citizen, newer[0]).status_code == 204
    assert log_in(client, citizen, NEW_PASSWORD).status_code == 200


def test_wrong_recovery_codes_block_the_account_for_a_while(
    client: TestClient, citizen: Account
) -> None:
    """Five wrong codes in 15 minutes block the account's resets: the printed codes are not
    spent by someone else's guesses, they wait."""
    codes = client.post("/api/v1/citizens/me/recovery-codes", headers=citizen.headers).json()
    answers = [reset(client, citizen, wrong_code(codes["codes"][0])).status_code for _ in range(5)]
    assert answers == [401] * 5
    assert reset(client, citizen, codes["codes"][0]).status_code == 429
    # Logins are counted apart: the account still logs in.
    assert log_in(client, citizen, PASSWORD).status_code == 200
    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.execute(delete(LoginThrottle))
    assert reset(client, citizen, codes["codes"][0]).status_code == 204


def test_an_account_without_a_usable_password_is_claimed_by_a_reset(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    """A dependent child's vault has no password until the child claims it at the counter."""
    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.execute(
            update(Citizen)
            .where(col(Citizen.id) == uuid.UUID(citizen.id))
            .values(password_hash="!")
        )
    for password in (PASSWORD, "!", ""):
        assert log_in(client, citizen, password).status_code in (401, 422)
    assert reset(client, citizen, give_code(client, officer, citizen)).status_code == 204
    assert log_in(client, citizen, NEW_PASSWORD).status_code == 200


def test_a_reset_is_announced_and_audited(
    client: TestClient, agency: AgencyAccount, officer: OfficerAccount, citizen: Account
) -> None:
    client.post("/api/v1/citizens/me/recovery-codes", headers=citizen.headers)
    code = give_code(client, officer, citizen)
    assert reset(client, citizen, wrong_code(code)).status_code == 401
    assert reset(client, citizen, code).status_code == 204

    fresh = headers_after(client, citizen, NEW_PASSWORD)
    notices = client.get("/api/v1/notifications", headers=fresh).json()
    assert [n["kind"] for n in notices] == ["password_reset", "recovery_codes_made"]
    assert notices[0]["title"] == "Mật khẩu đã được đặt lại"
    assert "cán bộ một cửa" in notices[0]["body"] and citizen.national_id not in notices[0]["body"]

    actions = (
        "auth.recovery_codes_made",
        "auth.reset_code_issued",
        "auth.reset_failed",
        "auth.password_reset",
    )
    with db.unit_of_work(client.app.state.engine) as session:  # type: ignore[attr-defined]
        rows = session.exec(
            select(AuditEvent).where(
                AuditEvent.chain == citizen.id, col(AuditEvent.action).in_(actions)
            )
        ).all()
        events = {e.action: e for e in rows}
        agency_id = session.exec(select(Agency.id).where(Agency.code == agency.code)).one()
    assert set(events) == set(actions)
    issued = events["auth.reset_code_issued"]
    assert (issued.actor_type, issued.actor_id) == ("officer", officer.username)
    assert issued.agency_id == agency_id
    assert '"identity_check":"chip_card"' in issued.details
    assert events["auth.reset_failed"].outcome == "denied"
    assert events["auth.password_reset"].actor_type == "citizen"
    assert code not in "".join(e.details for e in events.values())


def _content(client: TestClient, headers: dict[str, str], paper: str) -> bytes:
    answer = client.get(f"/api/v1/documents/{paper}/content", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.content


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_an_officer_gives_a_bounded_number_of_codes_an_hour(
    client: TestClient,
    officer: OfficerAccount,
    citizen: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recovery, "OFFICER_CODES_PER_HOUR", 2)
    give_code(client, officer, citizen)
    give_code(client, officer, citizen)
    body = {"national_id": citizen.national_id, "identity_check": "chip_card"}
    refused = client.post(RESETS, headers=officer.headers, json=body)
    assert refused.status_code == 429 and refused.headers["Retry-After"]


def test_a_counter_reset_takes_back_what_the_old_password_opened(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    """Whoever had the old password may have printed codes or acted on another's vault with it:
    the counter's reset voids the codes and ends those sessions, and the citizen is told of
    every set of codes made."""
    from tests.api import test_delegations as delegations

    path = "/api/v1/citizens/me/recovery-codes"
    printed = client.post(path, headers=citizen.headers).json()["codes"]
    kinds = [n["kind"] for n in client.get("/api/v1/notifications", headers=citizen.headers).json()]
    assert "recovery_codes_made" in kinds
    elder = register(client, full_name="Nguyễn Văn Cả")
    delegation = delegations.accepted(client, elder, citizen)
    held = delegations.bearer(delegations.acting(client, citizen, delegation))
    assert client.get("/api/v1/documents", headers=held).status_code == 200

    assert reset(client, citizen, give_code(client, officer, citizen)).status_code == 204
    assert client.get("/api/v1/documents", headers=held).status_code == 401
    assert reset(client, citizen, printed[0], "mật khẩu thứ ba đủ dài").status_code == 401
    ended = [
        e
        for e in _events(client, elder.id)
        if e.action == "assist.session_end" and '"reason":"reset"' in e.details
    ]
    assert len(ended) == 1


def test_a_counter_reset_ends_the_delegations_the_account_gave(
    client: TestClient, officer: OfficerAccount, citizen: Account
) -> None:
    """An intruder with the old password could have given themselves a delegation that
    outlives it: the counter's reset ends every delegation the account gave, with its
    sessions. A reset with the citizen's own printed code leaves them."""
    from tests.api import test_delegations as delegations

    intruder = register(client, full_name="Kẻ Gian")
    taken = delegations.accepted(client, citizen, intruder, ["documents:read"])
    held = delegations.bearer(delegations.acting(client, intruder, taken))
    assert client.get("/api/v1/documents", headers=held).status_code == 200

    assert reset(client, citizen, give_code(client, officer, citizen)).status_code == 204
    assert client.get("/api/v1/documents", headers=held).status_code == 401
    again = delegations.acting(client, intruder, taken)
    assert again.status_code in (403, 404, 409), again.text
    mine = headers_after(client, citizen, NEW_PASSWORD)
    listed = client.get(f"/api/v1/delegations/{taken}", headers=mine).json()
    assert listed["status"] == "revoked"
    revoked = [e for e in _events(client, citizen.id) if e.action == "delegation.revoke"]
    assert len(revoked) == 1 and '"reason":"reset"' in revoked[0].details

    helper = register(client, full_name="Con gái")
    kept = delegations.accepted(client, Account(citizen.national_id, mine, citizen.id), helper)
    printed = client.post("/api/v1/citizens/me/recovery-codes", headers=mine).json()["codes"]
    assert reset(client, citizen, printed[0], "mật khẩu thứ ba đủ dài").status_code == 204
    after = headers_after(client, citizen, "mật khẩu thứ ba đủ dài")
    assert client.get(f"/api/v1/delegations/{kept}", headers=after).json()["status"] == "active"


def _events(client: TestClient, chain: str) -> list[AuditEvent]:
    with db.unit_of_work(client.app.state.engine, writes=False) as session:  # type: ignore[attr-defined]
        return list(session.exec(select(AuditEvent).where(AuditEvent.chain == chain)))

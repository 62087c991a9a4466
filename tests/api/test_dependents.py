"""A parent keeps a child's papers, through the real API: the child's own vault, opened with a
birth certificate from the parent's papers certified at the counter and recording the child's
number, nobody's to log in to until the child claims it, kept through a delegation that ends
on the 18th birthday; two parents at most hold it, and nobody guesses their way in."""

from __future__ import annotations

import secrets
import uuid
import weakref
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from tests.support.api import PASSWORD, Account, register, register_agency, upload
from tests.support.assist import OfficerAccount, open_acting, register_officer
from tests.support.files import png
from vault import db
from vault.accounts import logins
from vault.accounts.models import ActingSession, Citizen
from vault.assist import agency_keys
from vault.assist.models import Delegation, DependentVault, Guardianship
from vault.audit.models import AuditEvent
from vault.jobs import tasks
from vault.jobs.work import Work
from vault.kit import days
from vault.notices.models import Notification
from vault.settings import Settings

pytestmark = pytest.mark.journey  # whole journeys: the full tier, not the edit loop

DEPENDENTS = "/api/v1/dependents"
DELEGATIONS = "/api/v1/delegations"
CERTIFY = "/api/v1/assist/certifications"


def child_number(born: int) -> str:
    century = 2 if born >= 2000 else 0
    return f"048{century}{born % 100:02d}{secrets.randbelow(10**6):06d}"


def years_ago(years: int, extra_days: int = 0) -> date:
    today = days.today()
    return today.replace(year=today.year - years, day=min(today.day, 28)) - timedelta(
        days=extra_days
    )


@pytest.fixture
def mother(client: TestClient) -> Account:
    return register(client, full_name="Nguyễn Thị Lan")


@pytest.fixture
def father(client: TestClient) -> Account:
    return register(client, full_name="Trần Văn Minh")


def certificate(client: TestClient, parent: Account, **fields: Any) -> str:
    """A birth certificate the parent scanned themselves: refused for a child's vault."""
    stored = upload(client, parent, ("khai-sinh.png", png()), **{"doc_type": "GKS", **fields})
    assert stored.status_code == 201, stored.text
    return str(stored.json()["id"])


_counters: weakref.WeakKeyDictionary[Any, OfficerAccount] = weakref.WeakKeyDictionary()


def counter_officer(client: TestClient) -> OfficerAccount:
    """An officer of a commune with a certifying key (`vault agency certify-key`), one per app."""
    app = client.app
    officer = _counters.get(app)
    if officer is None:
        code = f"UBND-KS{secrets.token_hex(3).upper()}"
        register_agency(client, code)
        with db.unit_of_work(app.state.engine) as session:  # type: ignore[attr-defined]
            agency_keys.make_certify_key(session, app.state.backend.keyring, code)  # type: ignore[attr-defined]
        officer = _counters[app] = register_officer(client, code)
    return officer


def certified_certificate(
    client: TestClient, parent: Account, number: str | None, **fields: Any
) -> str:
    """A birth certificate recording `number` (none when None), stored by the parent and
    certified the real way: the parent brings the original to the counter, consents to the
    officer's acting session, the officer certifies the copy and the parent ends the session."""
    if number is not None:
        fields["number"] = number
    paper = certificate(client, parent, **fields)
    officer = counter_officer(client)
    acting = open_acting(client, officer, parent, scopes=("documents:read",))
    made = client.post(CERTIFY, headers=acting.headers, json={"document_id": paper, "version": 1})
    assert made.status_code == 201, made.text
    ended = client.delete(f"/api/v1/assist/sessions/{acting.id}", headers=parent.headers)
    assert ended.status_code == 204, ended.text
    return paper


def add_child(
    client: TestClient,
    parent: Account,
    number: str,
    born: date,
    paper: str,
    relationship: str = "mother",
    full_name: str = "Trần Minh Khôi",
) -> Any:
    return client.post(
        DEPENDENTS,
        headers=parent.headers,
        json={
            "national_id": number,
            "full_name": full_name,
            "date_of_birth": str(born),
            "relationship": relationship,
            "birth_certificate_id": paper,
        },
    )


def session_on(client: TestClient, parent: Account, delegation: str) -> dict[str, str]:
    opened = client.post(f"{DELEGATIONS}/{delegation}/session", headers=parent.headers)
    assert opened.status_code == 201, opened.text
    return {"Authorization": f"Bearer {opened.json()['access_token']}"}


def notices(client: TestClient, who: Account) -> list[Any]:
    return list(client.get("/api/v1/notifications", headers=who.headers).json())


def other_day(born: date, shift: int) -> date:
    """Another day of the same year (the year is in the number)."""
    moved = born + timedelta(days=shift)
    return moved if moved.year == born.year else born - timedelta(days=shift)


def test_a_parent_opens_and_keeps_a_childs_vault(
    app: FastAPI, client: TestClient, mother: Account
) -> None:
    born = years_ago(8)
    number = child_number(born.year)
    made = add_child(client, mother, number, born, certified_certificate(client, mother, number))
    assert made.status_code == 201, made.text
    child = made.json()
    birthday = born.replace(year=born.year + 18)
    assert child["full_name"] == "Trần Minh Khôi"
    assert child["date_of_birth"] == str(born)
    assert child["relationship"] == "mother"
    assert child["status"] == "active" and child["claimed"] is False
    assert child["adult_on"] == str(birthday)
    assert client.get(DEPENDENTS, headers=mother.headers).json() == [child]

    held = client.get(f"{DELEGATIONS}/{child['delegation_id']}", headers=mother.headers).json()
    assert held["direction"] == "received" and held["kind"] == "guardian"
    assert held["citizen"] == {"id": child["id"], "name": "Trần Minh Khôi"}
    assert held["scopes"] == ["documents:read", "documents:write", "dossiers:write", "grants:write"]
    assert held["expires_on"] == str(birthday - timedelta(days=1))
    assert datetime.fromisoformat(held["ends_at"]) == datetime.combine(
        birthday, time(), days.VIETNAM
    ).astimezone(UTC)

    # Nobody can log in to it until the child claims it: refused like a wrong password.
    login = client.post("/api/v1/auth/token", data={"username": number, "password": "!"})
    assert login.status_code == 401
    login = client.post("/api/v1/auth/token", data={"username": number, "password": PASSWORD})
    assert login.status_code == 401
    with Session(app.state.engine) as session:
        row = session.get(Citizen, uuid.UUID(child["id"]))
        assert row is not None and row.password_hash == logins.NO_PASSWORD


def test_the_parent_works_in_the_childs_vault_through_a_session(
    app: FastAPI, client: TestClient, mother: Account
) -> None:
    born = years_ago(5)
    number = child_number(born.year)
    own = certified_certificate(client, mother, number)
    child = add_child(client, mother, number, born, own).json()
    token = session_on(client, mother, child["delegation_id"])
    as_child = Account("", token, child["id"])
    stored = upload(client, as_child, ("the-bhyt.png", png()), doc_type="BHYT")
    assert stored.status_code == 201, stored.text
    papers = client.get("/api/v1/documents", headers=token).json()
    assert [p["doc_type"] for p in papers] == ["BHYT"]
    # The mother's own vault is not the child's.
    assert [p["id"] for p in client.get("/api/v1/documents", headers=mother.headers).json()] == [
        own
    ]
    with Session(app.state.engine) as session:
        upload_event = session.exec(
            select(AuditEvent).where(
                AuditEvent.chain == child["id"], AuditEvent.action == "document.upload"
            )
        ).one()
    assert upload_event.actor_type == "delegate" and upload_event.actor_id == mother.id


def test_the_birth_certificate_must_be_certified_and_name_the_child(
    client: TestClient, mother: Account, father: Account
) -> None:
    born = years_ago(3)
    number = child_number(born.year)
    identity = certified_certificate(client, mother, number, doc_type="CCCD")
    assert add_child(client, mother, number, born, identity).status_code == 422
    fathers = certified_certificate(client, father, number)
    assert add_child(client, mother, number, born, fathers).status_code == 404
    assert add_child(client, mother, number, born, str(uuid.uuid4())).status_code == 404
    # A scan of one's own, even recording the right number, is not proof: certify it first.
    scanned = add_child(client, mother, number, born, certificate(client, mother, number=number))
    assert scanned.status_code == 422, scanned.text
    problem = scanned.json()
    assert problem["field"] == "birth_certificate_id"
    assert problem["reason"] == "certificate-not-certified"
    assert "certified at the counter" in problem["detail"]
    # Certified, it must record this child's number: none, or another child's, is refused.
    for recorded in (None, child_number(born.year), number[:-1]):
        other = certified_certificate(client, mother, recorded)
        refused = add_child(client, mother, number, born, other)
        assert refused.status_code == 422, recorded
        assert refused.json()["reason"] == "certificate-other-child"
    own = certified_certificate(client, mother, number)
    # A new scan of the certified paper is nobody's word again.
    newer = upload(
        client, mother, ("moi.png", png()), path=f"/api/v1/documents/{own}/versions", number=number
    )
    assert newer.status_code == 201, newer.text
    assert add_child(client, mother, number, born, own).status_code == 422
    own = certified_certificate(client, mother, number)
    assert add_child(client, mother, number, born, own).status_code == 201
    # One certificate names one child.
    second = child_number(born.year)
    assert add_child(client, mother, second, born, own).status_code == 422


def test_no_vault_is_opened_for_a_number_without_its_certificate(
    app: FastAPI, client: TestClient, mother: Account
) -> None:
    """Squatting on a child's number: a stranger's own certified papers never open it."""
    born = years_ago(2)
    number = child_number(born.year)
    stranger = register(client, full_name="Lê Văn Lạ")
    theirs = certified_certificate(client, stranger, child_number(born.year))
    assert add_child(client, stranger, number, born, theirs).status_code == 422
    assert (
        add_child(
            client, stranger, number, born, certificate(client, stranger, number=number)
        ).status_code
        == 422
    )
    with Session(app.state.engine) as session:
        assert session.exec(select(DependentVault)).all() == []
    # The real parent opens it.
    made = add_child(client, mother, number, born, certified_certificate(client, mother, number))
    assert made.status_code == 201, made.text


def test_the_childs_age_and_birth_date_are_checked(client: TestClient, mother: Account) -> None:
    adult = years_ago(18, extra_days=1)
    grown = child_number(adult.year)
    refused = add_child(client, mother, grown, adult, certified_certificate(client, mother, grown))
    assert refused.status_code == 422
    assert (refused.json()["field"], refused.json()["reason"]) == ("date_of_birth", "adult-child")
    born = years_ago(10)
    number = child_number(born.year)
    paper = certified_certificate(client, mother, number)
    wrong_year = child_number(born.year - 1)
    assert add_child(client, mother, wrong_year, born, paper).status_code == 422
    future = days.today() + timedelta(days=1)
    assert add_child(client, mother, child_number(future.year), future, paper).status_code == 422
    made = add_child(client, mother, number, born, paper, relationship="aunt")
    assert made.status_code == 422
    assert add_child(client, mother, number, born, paper).status_code == 201


def test_both_parents_hold_the_same_vault_and_no_third(
    app: FastAPI, client: TestClient, mother: Account, father: Account
) -> None:
    born = years_ago(6)
    number = child_number(born.year)
    first = add_child(
        client, mother, number, born, certified_certificate(client, mother, number)
    ).json()
    fathers = certified_certificate(client, father, number)
    wrong_day = add_child(client, father, number, other_day(born, 1), fathers, "father")
    assert wrong_day.status_code == 422
    assert wrong_day.json()["reason"] == "join-birth-date"
    second = add_child(client, father, number, born, fathers, "father")
    assert second.status_code == 201, second.text
    assert second.json()["id"] == first["id"]
    assert second.json()["delegation_id"] != first["delegation_id"]
    again = certified_certificate(client, father, number)
    assert add_child(client, father, number, born, again, "father").status_code == 409

    # The mother is told who joined, without anyone's number.
    (told,) = [n for n in notices(client, mother) if n["kind"] == "guardian_joined"]
    assert "Trần Văn Minh (cha)" in told["body"] and "Trần Minh Khôi" in told["body"]
    assert number not in told["body"] and father.national_id not in told["body"]
    assert told["link"] == "/children"

    # Two keepers at most: a third, even with the certificate and the date, is refused.
    third = register(client, full_name="Phạm Thị Hoa")
    thirds = certified_certificate(client, third, number)
    assert add_child(client, third, number, born, thirds, "guardian").status_code == 409

    # Each parent's session works in the one vault; what one stores the other sees.
    upload(
        client,
        Account("", session_on(client, mother, first["delegation_id"]), ""),
        ("a.png", png()),
    )
    seen = client.get(
        "/api/v1/documents", headers=session_on(client, father, second.json()["delegation_id"])
    ).json()
    assert len(seen) == 1
    with Session(app.state.engine) as session:
        assert len(session.exec(select(Guardianship)).all()) == 2
        refusals = session.exec(
            select(AuditEvent).where(
                AuditEvent.chain == first["id"], AuditEvent.action == "dependent.join_refused"
            )
        ).all()
    assert sorted((e.actor_id, e.reason) for e in refusals) == sorted(
        [(father.id, "join-birth-date"), (father.id, "Conflict"), (third.id, "Conflict")]
    )


def test_nobody_guesses_their_way_into_a_childs_vault(
    app: FastAPI, client: TestClient, mother: Account
) -> None:
    """The unremovable-guardian attack: a stranger who knows the child's number tries their
    own child's certified paper, then guesses the birth date. Every attempt is counted before
    anything is checked and audited when refused; five a day, then 429 even for the right one."""
    born = years_ago(9)
    number = child_number(born.year)
    child = add_child(
        client, mother, number, born, certified_certificate(client, mother, number)
    ).json()
    stranger = register(client, full_name="Lê Văn Lạ")
    theirs = certified_certificate(client, stranger, child_number(born.year))
    assert add_child(client, stranger, number, born, theirs, "father").status_code == 422
    # Worst case: the officer was fooled into certifying a paper that records this number.
    forged = certified_certificate(client, stranger, number)
    for shift in (1, 2, 3, 4):
        guess = add_child(client, stranger, number, other_day(born, shift), forged, "father")
        assert guess.status_code == 422, guess.text
    blocked = add_child(client, stranger, number, born, forged, "father")
    assert blocked.status_code == 429, blocked.text
    assert blocked.json()["reason"] == "guardian-join"
    assert 0 < int(blocked.headers["Retry-After"]) <= 86400
    assert [d["id"] for d in client.get(DEPENDENTS, headers=stranger.headers).json()] == []
    with Session(app.state.engine) as session:
        assert len(session.exec(select(Guardianship)).all()) == 1
        refusals = session.exec(
            select(AuditEvent).where(
                AuditEvent.chain == child["id"], AuditEvent.action == "dependent.join_refused"
            )
        ).all()
    assert [(e.actor_id, e.outcome) for e in refusals] == [(stranger.id, "denied")] * 5
    assert sorted(str(e.reason) for e in refusals) == [
        "certificate-other-child",
        *["join-birth-date"] * 4,
    ]
    assert [n["kind"] for n in notices(client, mother)].count("guardian_joined") == 0


def test_an_account_of_ones_own_is_never_taken_over(client: TestClient, mother: Account) -> None:
    """Only a vault opened for a child can be joined: a 16-year-old who opened their own
    account (with their own password) is not anyone's dependent."""
    born = years_ago(16)
    number = child_number(born.year)
    created = client.post(
        "/api/v1/citizens",
        json={"national_id": number, "full_name": "Lê Văn Tự", "password": PASSWORD},
    )
    assert created.status_code == 201, created.text
    refused = add_child(client, mother, number, born, certified_certificate(client, mother, number))
    assert refused.status_code == 409, refused.text
    assert client.get(DEPENDENTS, headers=mother.headers).json() == []
    # Nor the parent's own.
    own = certified_certificate(client, mother, mother.national_id)
    assert add_child(client, mother, mother.national_id, born, own).status_code in (409, 422)


def test_the_hold_ends_on_the_18th_birthday(
    app: FastAPI, client: TestClient, mother: Account
) -> None:
    born = years_ago(17)
    number = child_number(born.year)
    child = add_child(
        client, mother, number, born, certified_certificate(client, mother, number)
    ).json()
    token = session_on(client, mother, child["delegation_id"])
    assert client.get("/api/v1/documents", headers=token).status_code == 200
    # The birthday comes: the delegation ends, and with it the session opened before.
    with db.unit_of_work(app.state.engine) as session:
        row = session.get(Delegation, uuid.UUID(child["delegation_id"]))
        assert row is not None
        row.expires_on = days.today() - timedelta(days=1)
        row.ends_at = db.utc_now() - timedelta(seconds=1)
        session.add(row)
        for live in session.exec(
            select(ActingSession).where(col(ActingSession.origin_id) == row.id)
        ):
            live.expires_at = row.ends_at
            session.add(live)
    assert client.get("/api/v1/documents", headers=token).status_code == 401
    opened = client.post(f"{DELEGATIONS}/{child['delegation_id']}/session", headers=mother.headers)
    assert opened.status_code == 409
    assert client.get(DEPENDENTS, headers=mother.headers).json()[0]["status"] == "expired"


def test_a_claimed_child_logs_in_cannot_revoke_the_parent_and_nobody_joins(
    app: FastAPI, client: TestClient, mother: Account
) -> None:
    born = years_ago(15)
    number = child_number(born.year)
    child = add_child(
        client, mother, number, born, certified_certificate(client, mother, number)
    ).json()
    # The child claims it at the counter: an officer checks their card and gives a reset code.
    register_agency(client, "UBND-CLAIM")
    officer = register_officer(client, "UBND-CLAIM")
    given = client.post(
        "/api/v1/assist/password-resets",
        headers=officer.headers,
        json={"national_id": number, "identity_check": "chip_card"},
    )
    assert given.status_code == 201, given.text
    claimed = client.post(
        "/api/v1/auth/reset",
        json={
            "national_id": number,
            "reset_code": given.json()["reset_code"],
            "new_password": PASSWORD,
        },
    )
    assert claimed.status_code == 204, claimed.text
    login = client.post("/api/v1/auth/token", data={"username": number, "password": PASSWORD})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert client.get(DEPENDENTS, headers=mother.headers).json()[0]["claimed"] is True
    given = client.get(DELEGATIONS, headers=headers).json()
    assert [(d["direction"], d["kind"]) for d in given] == [("given", "guardian")]
    assert (
        client.delete(f"{DELEGATIONS}/{child['delegation_id']}", headers=headers).status_code == 409
    )
    # The parent may give it up.
    assert (
        client.delete(f"{DELEGATIONS}/{child['delegation_id']}", headers=mother.headers).status_code
        == 204
    )
    assert client.get(DEPENDENTS, headers=mother.headers).json()[0]["status"] == "revoked"
    # Claimed: nobody joins it any more, with every proof in hand.
    father = register(client, full_name="Trần Văn Minh")
    fathers = certified_certificate(client, father, number)
    assert add_child(client, father, number, born, fathers, "father").status_code == 409


def test_erasing_a_parent_leaves_the_childs_vault(
    app: FastAPI, client: TestClient, mother: Account, father: Account
) -> None:
    born = years_ago(4)
    number = child_number(born.year)
    child = add_child(
        client, mother, number, born, certified_certificate(client, mother, number)
    ).json()
    assert client.delete("/api/v1/citizens/me", headers=mother.headers).status_code == 204
    with Session(app.state.engine) as session:
        assert session.get(Citizen, uuid.UUID(child["id"])) is not None
        assert session.get(DependentVault, uuid.UUID(child["id"])) is not None
        assert session.exec(select(Guardianship)).all() == []
        assert session.exec(select(Delegation)).all() == []
    # The other parent may still take it on.
    fathers = certified_certificate(client, father, number)
    joined = add_child(client, father, number, born, fathers, "father")
    assert joined.status_code == 201, joined.text


def test_a_certified_paper_of_another_kind_cannot_become_a_childs_birth_certificate(
    client: TestClient, mother: Account
) -> None:
    """Confirming a reading is the one way to relabel a paper: it cannot turn a stranger's
    certified identity card into the birth certificate that opens another family's child's
    vault (or squats a child's number before the parents come)."""
    born = years_ago(6)
    number = child_number(born.year)
    made = add_child(client, mother, number, born, certified_certificate(client, mother, number))
    assert made.status_code == 201, made.text
    stranger = register(client, full_name="Lê Văn Lạ")
    card = certified_certificate(client, stranger, "048090001234", doc_type="CCCD")

    relabelled = client.post(
        f"/api/v1/documents/{card}/reading/accept",
        headers=stranger.headers,
        json={"doc_type": "GKS", "number": number},
    )
    assert relabelled.status_code == 409, relabelled.text
    kept = client.get(f"/api/v1/documents/{card}", headers=stranger.headers).json()
    assert (kept["doc_type"], kept["number"], kept["trust"]) == (
        "CCCD",
        "048090001234",
        "certified",
    )
    joined = add_child(client, stranger, number, born, card, relationship="father")
    assert joined.status_code == 422, joined.text
    other = child_number(born.year)
    squatted = add_child(client, stranger, other, born, card)
    assert squatted.status_code == 422, squatted.text


def test_a_childs_paper_reminders_reach_the_guardians(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    """A child's vault has no address of its own: the reminder of its passport's expiry goes to
    the parents holding it too, naming the child, once however often the job runs; a parent
    whose delegation was revoked is no longer told."""
    mother = register(client, full_name="Nguyễn Thị Lan")
    born = years_ago(8)
    number = child_number(born.year)
    made = add_child(client, mother, number, born, certified_certificate(client, mother, number))
    assert made.status_code == 201, made.text
    child = made.json()
    acting = Account("", session_on(client, mother, child["delegation_id"]), "")
    today = days.today()
    passport = upload(
        client, acting, ("hc.png", png()), doc_type="HC", expires_on=str(today + timedelta(days=5))
    )
    assert passport.status_code == 201, passport.text
    work = Work.from_settings(settings, engine=app.state.engine, keyring=app.state.backend.keyring)
    for _ in range(2):
        tasks.expiry_reminders(work, today.isoformat())
    (told,) = [n for n in notices(client, mother) if n["kind"] == "paper_expiring"]
    assert told["body"].startswith(f"Hộ chiếu phổ thông của {child['full_name']} sẽ hết hạn")
    assert told["link"] == "/children"
    with Session(app.state.engine) as session:
        kept = session.exec(
            select(Notification).where(Notification.citizen_id == uuid.UUID(child["id"]))
        ).all()
    assert [n.kind for n in kept].count("paper_expiring") == 1

    with Session(app.state.engine) as session:  # the child comes of age: the delegation ends
        held = session.get_one(Delegation, uuid.UUID(child["delegation_id"]))
        held.ends_at = db.utc_now() - timedelta(seconds=1)
        session.add(held)
        session.commit()
    tasks.expiry_reminders(work, (today + timedelta(days=6)).isoformat())
    assert [n["kind"] for n in notices(client, mother)].count("paper_expired") == 0
    with Session(app.state.engine) as session:
        kinds = session.exec(
            select(Notification.kind).where(Notification.citizen_id == uuid.UUID(child["id"]))
        ).all()
    assert "paper_expired" in kinds


def test_a_paper_cannot_change_under_the_officers_eyes_before_they_certify_it(
    client: TestClient,
) -> None:
    """The officer compares the paper on the screen with the original; a reading confirmed from
    the citizen's phone meanwhile (with another family's child's number) would be certified
    unseen, and the certificate would open that child's vault."""
    mother = register(client, full_name="Nguyễn Thị Lan")
    born = years_ago(6)
    number = child_number(born.year)
    made = add_child(client, mother, number, born, certified_certificate(client, mother, number))
    assert made.status_code == 201, made.text
    stranger = register(client, full_name="Lê Văn Lạ")
    own = child_number(born.year)
    paper = certificate(client, stranger, number=own)
    acting = open_acting(client, counter_officer(client), stranger)
    seen = client.get(f"/api/v1/documents/{paper}", headers=acting.headers).json()
    assert seen["number"] == own

    moved = client.post(
        f"/api/v1/documents/{paper}/reading/accept",
        headers=stranger.headers,
        json={"number": number},
    )
    assert moved.status_code == 409, moved.text
    certified = client.post(
        CERTIFY, headers=acting.headers, json={"document_id": paper, "version": seen["version"]}
    )
    assert certified.status_code == 201, certified.text
    kept = client.get(f"/api/v1/documents/{paper}", headers=stranger.headers).json()
    assert (kept["number"], kept["trust"]) == (own, "certified")
    joined = add_child(client, stranger, number, born, paper, relationship="father")
    assert joined.status_code != 201, joined.text
    # The officer, looking at the paper, may confirm its reading themselves.
    other = certificate(client, stranger, number=own)
    confirmed = client.post(
        f"/api/v1/documents/{other}/reading/accept", headers=acting.headers, json={}
    )
    assert confirmed.status_code in (200, 409), confirmed.text
    assert "officer at the counter" not in confirmed.text

"""Family and helpers from the pages: giving a delegation, answering one, acting on it under the
same banner as an officer at the counter, revoking or giving it up ("Uỷ quyền"), and a parent's
children's vaults ("Con của tôi"). The same service functions as the API."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from vault import db, documents
from vault.accounts.models import Scope
from vault.api import delegations as api_delegations
from vault.api.deps import BackendDep, EngineDep, SessionDep
from vault.assist import delegations, dependents
from vault.assist.models import DelegationStatus, Kinship
from vault.kit.errors import InvalidInput
from vault.web import security
from vault.web.citizen import Me
from vault.web.forms import CSRF_CHECKED, Posted, day, text
from vault.web.pages import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/delegations", response_class=HTMLResponse)
def delegations_page(
    request: Request, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    found = delegations.list_for(session, backend.keyring, me)
    return render(
        request,
        "citizen/delegations.html",
        given=[d for d in found if d.direction == "given"],
        received=[d for d in found if d.direction == "received"],
        scopes=list(Scope),
        live=(DelegationStatus.PENDING, DelegationStatus.ACTIVE),
        pending=DelegationStatus.PENDING,
        active=DelegationStatus.ACTIVE,
    )


@router.post("/delegations/{delegation_id}/act", dependencies=[CSRF_CHECKED])
def act(
    request: Request, delegation_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    """The delegate opens an acting session on the other person's vault; this browser shows
    that vault under the banner until it ends."""
    opened = delegations.open_session(session, backend.keyring, me, delegation_id)
    response = redirect("/")
    security.start_acting(response, request, opened.token, db.aware(opened.session.expires_at))
    return response


@router.post("/delegations")
def give(form: Posted, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    last_day = day(form, "expires_on")
    if last_day is None:
        raise InvalidInput("Choose the last day of the delegation.", field="expires_on")
    delegations.count_look_up(session, me.id)
    session.commit()  # the look-up stays counted when the offer is refused
    delegations.offer(
        session,
        backend.keyring,
        me,
        national_id_number=text(form, "national_id"),
        scopes=[str(value) for value in form.getlist("scope")],
        expires_on=last_day,
    )
    return redirect("/delegations?given=1")


@router.post("/delegations/{delegation_id}/accept", dependencies=[CSRF_CHECKED])
def accept(delegation_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    delegations.accept(session, backend.keyring, me, delegation_id)
    return redirect("/delegations?accepted=1")


@router.post("/delegations/{delegation_id}/decline", dependencies=[CSRF_CHECKED])
def decline(delegation_id: uuid.UUID, me: Me, session: SessionDep) -> Response:
    delegations.decline(session, me, delegation_id)
    return redirect("/delegations")


@router.post("/delegations/{delegation_id}/end", dependencies=[CSRF_CHECKED])
def end(delegation_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    delegations.end(session, backend.keyring, me, delegation_id)
    return redirect("/delegations?ended=1")


@router.get("/children", response_class=HTMLResponse)
def children_page(request: Request, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    papers = documents.list_documents(
        session, backend, owner=me, doc_type=dependents.BIRTH_CERTIFICATE
    )
    # Only a certificate issued into the vault or certified at the counter opens a child's vault.
    certificates = [p for p in papers if p.trust in dependents.TRUSTED]
    return render(
        request,
        "citizen/children.html",
        children=dependents.list_for(session, backend.keyring, me),
        certificates=certificates,
        uncertified=len(papers) - len(certificates),
        kinships=list(Kinship),
    )


@router.post("/children")
def add_child(
    form: Posted, me: Me, session: SessionDep, backend: BackendDep, engine: EngineDep
) -> Response:
    born = day(form, "date_of_birth")
    if born is None:
        raise InvalidInput("The birth date is required.", field="date_of_birth")
    try:
        certificate = uuid.UUID(text(form, "birth_certificate_id"))
    except ValueError:
        raise InvalidInput(
            "Choose a birth certificate from your papers.", field="birth_certificate_id"
        ) from None
    api_delegations.add(
        session,
        backend,
        engine,
        me,
        national_id=text(form, "national_id"),
        full_name=text(form, "full_name"),
        date_of_birth=born,
        relationship=text(form, "relationship"),
        birth_certificate_id=certificate,
    )
    return redirect("/children?added=1")

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from vault import db, erasure, export
from vault.accounts import citizens
from vault.accounts.models import Citizen
from vault.api.deps import BackendDep, CurrentCitizen, EngineDep, SessionDep
from vault.api.downloads import content_disposition, protective_headers
from vault.api.schemas import CitizenCreate, CitizenPublic, ProfileUpdate
from vault.audit import checkpoints
from vault.blobs.backend import Backend

router = APIRouter(prefix="/citizens", tags=["citizens"])


def _public(session: Session, backend: Backend, citizen: Citizen) -> CitizenPublic:
    profile = citizens.profile(session, backend.keyring, citizen)
    return CitizenPublic(
        id=citizen.id,
        national_id=citizens.national_id_of(session, backend.keyring, citizen),
        full_name=profile.full_name,
        phone=profile.phone,
        date_of_birth=profile.date_of_birth,
        address=profile.address,
        created_at=citizen.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CitizenPublic)
def register_citizen(
    body: CitizenCreate,
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    backend: BackendDep,
    response: Response,
) -> CitizenPublic:
    # Counted in a unit of work of its own: the count holds when the sign-up is refused.
    with db.unit_of_work(engine) as counting:
        citizens.count_signup(counting, client=request.client.host if request.client else "unknown")
    citizen = citizens.register(
        session,
        backend.keyring,
        national_id_number=body.national_id,
        full_name=body.full_name,
        password=body.password,
        phone=body.phone,
    )
    response.headers["Location"] = "/api/v1/citizens/me"
    return _public(session, backend, citizen)


@router.get("/me", response_model=CitizenPublic)
def read_me(citizen: CurrentCitizen, session: SessionDep, backend: BackendDep) -> CitizenPublic:
    return _public(session, backend, citizen)


@router.patch("/me", response_model=CitizenPublic)
def update_me(
    body: ProfileUpdate, citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> CitizenPublic:
    """Name, phone, birth date and address: what dossier forms are prefilled with."""
    citizens.update_profile(session, backend.keyring, citizen, body.model_dump(exclude_unset=True))
    return _public(session, backend, citizen)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
def erase_me(citizen: CurrentCitizen, session: SessionDep, backend: BackendDep) -> None:
    """Close the account: its key is destroyed, so none of its papers can ever be read again."""
    erasure.erase(session, backend, citizen)


@router.get(
    "/me/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def export_me(citizen: CurrentCitizen, session: SessionDep, backend: BackendDep) -> Response:
    """Everything the vault holds for the citizen, as a zip streamed as it is made: every
    current paper under its own file name, papers.json, access-log.json, grants.json,
    dossiers.json and audit.json (the whole chain, with its proof). The citizen alone: not
    someone acting for them."""
    archive = export.gather(session, backend, citizen)
    headers = {
        **protective_headers(),
        "Content-Disposition": content_disposition("giay-to-cua-toi.zip"),
    }
    return StreamingResponse(archive.chunks(), media_type="application/zip", headers=headers)


@router.get("/me/audit-proof")
def audit_proof(citizen: CurrentCitizen, session: SessionDep) -> dict[str, Any]:
    """The citizen's audit chain up to its latest event the latest signed checkpoint covers,
    with that event's RFC 6962 inclusion proof: checkable offline with the published verifier
    key (`vault audit verify-proof`, or the README's few lines of Python). 409 before any
    checkpoint covers the chain. Reading it is not itself an event."""
    return checkpoints.proof_for(session, str(citizen.id)).document()

"""Certified copies: an officer acting for the citizen certifies a paper's current version;
the citizen (or whoever reads their papers) fetches the signed statement; anyone fetches an
agency's public keys to check it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from vault.api.deps import BackendDep, ReadsPapers, SessionDep, get_acting
from vault.api.schemas import (
    AgencyKeyPublic,
    AgencyKeysPublic,
    CertificationCreate,
    CertificationPublic,
)
from vault.assist import agency_keys, certifications
from vault.assist.agency_keys import b64url
from vault.assist.certifications import CertificationView

router = APIRouter(tags=["certified copies"])


def certification_public(view: CertificationView) -> CertificationPublic:
    return CertificationPublic(
        statement=b64url(view.statement),
        signature=b64url(view.signature),
        key_id=view.key_id,
        note=view.note,
    )


@router.post(
    "/assist/certifications",
    status_code=status.HTTP_201_CREATED,
    response_model=CertificationPublic,
)
def certify_document(
    body: CertificationCreate,
    request: Request,
    citizen: ReadsPapers,
    session: SessionDep,
    backend: BackendDep,
) -> CertificationPublic:
    """An officer who has seen the original certifies the paper's current version, with the
    acting token of a session holding documents:read; signed with the agency's key."""
    view = certifications.certify(
        session,
        backend,
        acting=get_acting(request),
        citizen=citizen,
        document_id=body.document_id,
        version=body.version,
        note=body.note,
    )
    return certification_public(view)


@router.get("/documents/{document_id}/certification", response_model=CertificationPublic)
def read_document_certification(
    document_id: uuid.UUID, citizen: ReadsPapers, session: SessionDep, backend: BackendDep
) -> CertificationPublic:
    """The signed statement certifying the paper's current version; 404 when it has none."""
    view = certifications.certification_of(session, backend, owner=citizen, document_id=document_id)
    return certification_public(view)


@router.get("/agencies/{code}/keys", response_model=AgencyKeysPublic)
def list_agency_keys(code: str, session: SessionDep) -> AgencyKeysPublic:
    """Public, no token: every key the agency's statements and issued papers may name,
    rotated ones included, so that what they signed still verifies."""
    keys = agency_keys.published(session, code)
    return AgencyKeysPublic(
        keys=[
            AgencyKeyPublic(key_id=key.key_id, use=key.use, public_key=key.public_key)
            for key in keys
        ]
    )

"""The audit log's public face: the latest signed checkpoint and the key that signs them.
Anyone may read them, with no token: they are what a citizen's proof is checked against."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from vault.api.deps import SessionDep
from vault.audit import checkpoints

router = APIRouter(prefix="/audit", tags=["audit"])


class VerifierKey(BaseModel):
    verifier_key: str
    algorithm: Literal["Ed25519"] = "Ed25519"


@router.get(
    "/checkpoints/latest",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}},
)
def latest_checkpoint(session: SessionDep) -> PlainTextResponse:
    """The latest checkpoint: a C2SP tlog checkpoint (origin, tree size, base64 root hash) in
    a C2SP signed note, as published. No token needed."""
    note = checkpoints.latest_note(session)
    return PlainTextResponse(note, headers={"Cache-Control": "no-cache"})


@router.get("/public-key", response_model=VerifierKey)
def public_key(session: SessionDep) -> VerifierKey:
    """The checkpoints' verifier key, as a C2SP signed-note verifier key
    (`name+keyhash+base64(0x01 ‖ key)`). No token needed."""
    return VerifierKey(verifier_key=checkpoints.verifier_key(session))

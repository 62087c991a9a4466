"""A forgotten password on the pages: the public reset form (a code from the counter or a
printed recovery code), and the signed-in citizen's page that makes the recovery codes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from vault.accounts import recovery
from vault.api import recovery as api_recovery
from vault.api.deps import BackendDep, EngineDep, SessionDep
from vault.kit.errors import InvalidInput
from vault.web.citizen import Me
from vault.web.forms import Posted, text
from vault.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/reset", response_class=HTMLResponse)
def reset_page(request: Request) -> Response:
    return render(request, "citizen/reset.html")


@router.post("/reset")
def reset_password(
    request: Request, form: Posted, session: SessionDep, backend: BackendDep, engine: EngineDep
) -> Response:
    number = text(form, "national_id")
    password = str(form.get("password", ""))
    if password != str(form.get("password_again", "")):
        raise InvalidInput("The two passwords differ.", field="password_again")
    api_recovery.reset(
        request, session, backend, engine, number, text(form, "reset_code"), password
    )
    return render(request, "citizen/login.html", reset_done=True, national_id=number)


@router.get("/recovery-codes", response_class=HTMLResponse)
def recovery_codes_page(request: Request, me: Me, session: SessionDep) -> Response:
    left = recovery.recovery_codes_left(session, me)
    return render(request, "citizen/recovery_codes.html", left=left, codes=None)


@router.post("/recovery-codes")
def make_recovery_codes(
    request: Request, form: Posted, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    """The codes are in this answer only (never stored readable, never in a URL)."""
    codes = recovery.make_recovery_codes(session, backend.keyring, me)
    shown = [f"{code[:4]} {code[4:]}" for code in codes]
    return render(request, "citizen/recovery_codes.html", left=len(codes), codes=shown)

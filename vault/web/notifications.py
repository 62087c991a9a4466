"""The citizen's notices as pages: the inbox, marking notices read, and the settings — the
email address, the channels, the reminder days and the helpers, each address confirmed with the
code sent to it."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from vault.api.deps import BackendDep, SessionDep
from vault.kit.errors import InvalidInput, TooManyAttempts
from vault.notices import contacts, inbox, texts
from vault.notices.models import Medium
from vault.web.citizen import Me
from vault.web.forms import CSRF_CHECKED, Posted, text
from vault.web.pages import local_path, redirect, render

router = APIRouter(include_in_schema=False)
SETTINGS = "/notifications/settings"
_DAYS = re.compile(r"[\s,;]+")


def local_time(moment: datetime) -> datetime:
    return moment.astimezone(texts.VIETNAM)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(
    request: Request, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    notices = inbox.list_for(session, backend.keyring, me.id)
    # Only a path of this site is a link, whatever a notice holds.
    links = {n.id: local_path(n.link) for n in notices if n.link}
    return render(
        request,
        "citizen/notifications.html",
        notices=notices,
        links=links,
        unread=inbox.unread_count(session, me.id),
        local_time=local_time,
    )


@router.post("/notifications/read-all", dependencies=[CSRF_CHECKED])
def mark_all_read(me: Me, session: SessionDep) -> Response:
    inbox.mark_all_read(session, me.id)
    return redirect("/notifications")


@router.post("/notifications/{notice_id}/read", dependencies=[CSRF_CHECKED])
def mark_read(notice_id: uuid.UUID, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    inbox.mark_read(session, backend.keyring, me.id, notice_id)
    return redirect(f"/notifications#n-{notice_id}")


@router.get(SETTINGS, response_class=HTMLResponse)
def settings_page(request: Request, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    return render(
        request,
        "citizen/notification_settings.html",
        chosen=contacts.read(session, backend.keyring, me.id),
        max_helpers=contacts.MAX_HELPERS,
        done=request.query_params.get("done"),
    )


@router.post(SETTINGS)
def save_settings(form: Posted, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    contacts.update(
        session,
        backend.keyring,
        me.id,
        email_on=form.get("email_on") is not None,
        webhook_on=form.get("webhook_on") is not None,
        expiry_days_before=reminder_days(form),
    )
    return redirect(f"{SETTINGS}?done=saved#channels")


@router.post(f"{SETTINGS}/email")
def save_email(form: Posted, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    """An empty address removes it; the waiting address again sends a new code."""
    email = text(form, "email")
    contacts.update(session, backend.keyring, me.id, email=email or None, clear_email=not email)
    return redirect(f"{SETTINGS}?done={'email_sent' if email else 'email_removed'}#email")


@router.post(f"{SETTINGS}/email/verify")
def verify_email(
    request: Request, form: Posted, me: Me, session: SessionDep, backend: BackendDep
) -> Response:
    try:
        contacts.verify_email(session, backend.keyring, me.id, text(form, "code"))
    except TooManyAttempts:
        return _code_spent(request, "notice_settings.code_spent.email")
    return redirect(f"{SETTINGS}?done=email_verified#email")


@router.post(f"{SETTINGS}/helpers")
def add_helper(form: Posted, me: Me, session: SessionDep, backend: BackendDep) -> Response:
    """One field for either address: an email has an @, a phone number never does."""
    address = text(form, "address")
    contacts.add_helper(
        session,
        backend.keyring,
        me.id,
        medium=Medium.EMAIL if "@" in address else Medium.PHONE,
        address=address,
        name=text(form, "name") or None,
    )
    return redirect(f"{SETTINGS}?done=helper_added#helpers")


@router.post(f"{SETTINGS}/helpers/{{helper_id}}/verify")
def verify_helper(
    request: Request,
    helper_id: uuid.UUID,
    form: Posted,
    me: Me,
    session: SessionDep,
    backend: BackendDep,
) -> Response:
    try:
        contacts.verify_helper(session, backend.keyring, me.id, helper_id, text(form, "code"))
    except TooManyAttempts:
        return _code_spent(request, "notice_settings.code_spent.helper")
    return redirect(f"{SETTINGS}?done=helper_verified#helpers")


@router.post(f"{SETTINGS}/helpers/{{helper_id}}/remove", dependencies=[CSRF_CHECKED])
def remove_helper(helper_id: uuid.UUID, me: Me, session: SessionDep) -> Response:
    contacts.remove_helper(session, me.id, helper_id)
    return redirect(f"{SETTINGS}?done=helper_removed#helpers")


def reminder_days(form: FormData) -> list[int]:
    """Days as typed, "30, 7" (commas, spaces or both); empty is none. The service checks
    each number; only what is not a number at all is refused here."""
    words = [word for word in _DAYS.split(text(form, "expiry_days_before")) if word]
    if any(not (w.isascii() and w.isdecimal()) or len(w) > 3 for w in words):
        raise InvalidInput("Days are whole numbers.", field="expiry_days_before")
    return [int(word) for word in words]


def _code_spent(request: Request, key: str) -> Response:
    """Told how to get a new code: the general 'wait 15 minutes' of a throttled login is not
    what helps here. Nothing was changed, so the request's unit of work may commit."""
    return render(request, "error.html", code=429, key=key, status=429)

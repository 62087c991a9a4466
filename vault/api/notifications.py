"""The citizen's notices, and where they go: the inbox, the channels, the email address and the
helpers, each address confirmed with the code sent to it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Response, status

from vault.api.deps import BackendDep, CurrentCitizen, SessionDep
from vault.api.schemas import (
    CodeSubmit,
    HelperCreate,
    HelperPublic,
    NoticePublic,
    NotificationSettingsPublic,
    NotificationSettingsUpdate,
)
from vault.notices import contacts, inbox

router = APIRouter(tags=["notifications"])
SETTINGS = "/citizens/me/notifications"
UNREAD_HEADER: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "X-Unread-Count": {
                "description": "How many of the citizen's notices are unread",
                "schema": {"type": "integer"},
            }
        }
    }
}


@router.get("/notifications", response_model=list[NoticePublic], responses=UNREAD_HEADER)
def list_notifications(
    citizen: CurrentCitizen,
    session: SessionDep,
    backend: BackendDep,
    response: Response,
    unread: bool = Query(default=False, description="Only the unread ones (1/0, true/false)"),
) -> list[NoticePublic]:
    """Newest first, the latest 50."""
    views = inbox.list_for(session, backend.keyring, citizen.id, unread=unread)
    response.headers["X-Unread-Count"] = str(inbox.unread_count(session, citizen.id))
    return [NoticePublic.of(view) for view in views]


@router.post("/notifications/{notice_id}/read", response_model=NoticePublic)
def mark_notification_read(
    notice_id: uuid.UUID, citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> NoticePublic:
    """Reading it again keeps the first moment it was read."""
    return NoticePublic.of(inbox.mark_read(session, backend.keyring, citizen.id, notice_id))


@router.get(SETTINGS, response_model=NotificationSettingsPublic)
def read_notification_settings(
    citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> NotificationSettingsPublic:
    return NotificationSettingsPublic.of(contacts.read(session, backend.keyring, citizen.id))


@router.put(SETTINGS, response_model=NotificationSettingsPublic)
def update_notification_settings(
    body: NotificationSettingsUpdate,
    citizen: CurrentCitizen,
    session: SessionDep,
    backend: BackendDep,
) -> NotificationSettingsPublic:
    """Only the fields sent change; within `channels`, only the channels named."""
    given, switched = body.model_fields_set, body.channels.model_fields_set
    chosen = contacts.update(
        session,
        backend.keyring,
        citizen.id,
        email=body.email,
        clear_email="email" in given and body.email is None,
        email_on=body.channels.email if "email" in switched else None,
        webhook_on=body.channels.webhook if "webhook" in switched else None,
        expiry_days_before=body.expiry_days_before if "expiry_days_before" in given else None,
    )
    return NotificationSettingsPublic.of(chosen)


@router.post(f"{SETTINGS}/verify-email", response_model=NotificationSettingsPublic)
def verify_notification_email(
    body: CodeSubmit, citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> NotificationSettingsPublic:
    """422 for a wrong code; 409 when no address waits for one; 429 once the code has expired
    or was mistyped 5 times (give the address again for a new one)."""
    chosen = contacts.verify_email(session, backend.keyring, citizen.id, body.code)
    return NotificationSettingsPublic.of(chosen)


@router.post(
    f"{SETTINGS}/helpers", status_code=status.HTTP_201_CREATED, response_model=HelperPublic
)
def add_notification_helper(
    body: HelperCreate, citizen: CurrentCitizen, session: SessionDep, backend: BackendDep
) -> HelperPublic:
    helper = contacts.add_helper(
        session,
        backend.keyring,
        citizen.id,
        medium=body.medium,
        address=body.address,
        name=body.name,
    )
    return HelperPublic.of(helper)


@router.post(f"{SETTINGS}/helpers/{{helper_id}}/verify", response_model=HelperPublic)
def verify_notification_helper(
    helper_id: uuid.UUID,
    body: CodeSubmit,
    citizen: CurrentCitizen,
    session: SessionDep,
    backend: BackendDep,
) -> HelperPublic:
    """The code the helper was sent and read out: as verify-email."""
    helper = contacts.verify_helper(session, backend.keyring, citizen.id, helper_id, body.code)
    return HelperPublic.of(helper)


@router.delete(f"{SETTINGS}/helpers/{{helper_id}}", status_code=status.HTTP_204_NO_CONTENT)
def remove_notification_helper(
    helper_id: uuid.UUID, citizen: CurrentCitizen, session: SessionDep
) -> None:
    contacts.remove_helper(session, citizen.id, helper_id)

"""Reading what a page posts: small urlencoded forms, and streamed uploads whose first part
must be the CSRF token (it comes first in the page's form, so nothing is read before it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import Depends, Request, Response
from starlette.datastructures import FormData

from vault.api.forms import FormLimits, streamed_form
from vault.documents.uploads import FormField, FormPart
from vault.kit import days
from vault.kit.errors import InvalidInput
from vault.web import security
from vault.web.pages import redirect

T = TypeVar("T")
# Beyond any count or number of days a form asks for; Python refuses to parse 4,300 digits.
_MAX_DIGITS = 9


async def posted(request: Request) -> FormData:
    """A dependency, so that the page's handler can be a plain function run in a worker thread:
    the form is read in the event loop, the database and password work happen off it."""
    form = await request.form(max_files=0, max_fields=200, max_part_size=64 << 10)
    security.check_csrf(request, form.get(security.CSRF_FIELD))  # type: ignore[arg-type]
    return form


Posted = Annotated[FormData, Depends(posted)]
CSRF_CHECKED = Depends(posted)


def _checked(request: Request, parts: Iterator[FormPart]) -> Iterator[FormPart]:
    first = next(parts, None)
    if not isinstance(first, FormField) or first.name != security.CSRF_FIELD:
        raise security.CsrfRejected
    security.check_csrf(request, first.value)
    return parts


async def uploaded(
    request: Request, limits: FormLimits, handle: Callable[[Iterator[FormPart]], T]
) -> T:
    """Run `handle` on the upload's parts in a worker thread, once its CSRF token checks."""
    async with streamed_form(request, limits) as parts:
        return await anyio.to_thread.run_sync(lambda: handle(_checked(request, parts)))


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def whole_number(form: FormData, name: str) -> int | None:
    value = text(form, name)
    if not value:
        return None
    if not (value.isascii() and value.isdecimal()) or len(value) > _MAX_DIGITS:
        raise InvalidInput(f"{name} must be a whole number.", field=name)
    return int(value)


def day(form: FormData, name: str) -> date | None:
    value = text(form, name)
    try:
        return days.parse(value) if value else None
    except ValueError:
        raise InvalidInput(f"{name} must be a date (YYYY-MM-DD).", field=name) from None


def ids(form: FormData, name: str) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(str(value)) for value in form.getlist(name)]
    except ValueError:
        raise InvalidInput(f"{name} holds a value that is not an id.", field=name) from None


def signed_out(
    request: Request, cookie: str, end_session: Callable[[str], object], to: str
) -> Response:
    """A posted logout: the session is ended on the server, not only forgotten by the browser."""
    token = security.cookie(request, cookie)
    if token:
        end_session(token)
    response = redirect(to)
    security.forget(response, request, cookie)
    security.forget(response, request, security.ACTING)
    security.forget_storage(response)
    return response

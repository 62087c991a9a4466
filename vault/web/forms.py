"""Reading what a page posts: small urlencoded forms, and streamed uploads whose first part
must be the CSRF token (it comes first in the page's form, so nothing is read before it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import anyio.to_thread
from fastapi import Request
from starlette.datastructures import FormData

from vault.api.forms import FormLimits, streamed_form
from vault.uploads import FormField, FormPart
from vault.web import security

T = TypeVar("T")


async def posted(request: Request) -> FormData:
    form = await request.form(max_files=0, max_fields=200, max_part_size=64 << 10)
    security.check_csrf(request, form.get(security.CSRF_FIELD))  # type: ignore[arg-type]
    return form


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

"""Rendering pages: the templates, the language, the CSRF token, the headers every page needs."""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from vault.audit import Outcome
from vault.catalog import document_types
from vault.catalog.document_types import Trust
from vault.kit import days
from vault.sharing.models import GrantStatus
from vault.web import security
from vault.web.i18n import DEFAULT, LANGUAGES, Messages

templates = Jinja2Templates(directory=str(resources.files("vault.web").joinpath("templates")))
EXPIRY_WARNING_DAYS = 60


def messages(request: Request) -> Messages:
    chosen = security.cookie(request, security.LANGUAGE) or DEFAULT
    return Messages(chosen if chosen in LANGUAGES else DEFAULT)


def render(request: Request, template: str, *, code: int = 200, **context: Any) -> HTMLResponse:
    text = messages(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "_": text,
            "lang": text.language,
            "csrf": security.csrf_token(request),
            "here": quote(request.url.path),
            "today": days.today(),
            "type_name": lambda code: _type_name(code, text.language),
            # Set when an officer acts for the citizen (vault.web.citizen): the banner's words.
            "acting": getattr(request.state, "banner", None),
            **context,
        },
        status_code=code,
        headers=security.page_headers(request),
    )
    security.remember_csrf(request, response)
    return response


def _type_name(code: str, language: str) -> str:
    kind = document_types.document_types().get(code)
    if kind is None:
        return code
    return kind.name_vi if language == "vi" else kind.name_en


def local_path(value: str | None, *, under: str = "/") -> str:
    """Where to go after a form: only a path of this site below `under`, so that a crafted
    link cannot turn the login form into an open redirect (`//host`, `/\\host` and control
    characters are what browsers read as another site)."""
    if (
        value
        and value.startswith(under)
        and not value.startswith("//")
        and "\\" not in value
        and value.isprintable()
    ):
        return value
    return under


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303, headers={"Cache-Control": "no-store"})


def size(value: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024  # type: ignore[assignment]
    return str(value)


def days_left(expires_on: date | None) -> int | None:
    return None if expires_on is None else (expires_on - days.today()).days


templates.env.filters["size"] = size
templates.env.filters["isodate"] = date.fromisoformat  # a date the vault read, for _.date
templates.env.globals["days_left"] = days_left
templates.env.globals["EXPIRY_WARNING_DAYS"] = EXPIRY_WARNING_DAYS
# The states pages compare against, so that a template never spells one out.
templates.env.globals.update(GrantStatus=GrantStatus, Outcome=Outcome, Trust=Trust)

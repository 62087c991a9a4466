"""The published API description, made to say what the server does.

Each operation gets a readable id (`documents.upload`) from one table, and the statuses it can
answer: those its dependencies imply (a bearer token: 401; an acting token refused: 403; a path
id: 404; parameters or a body: 422; a body: 400 and 413; the database, store or keys down:
503), plus the outcomes of its own rules named in the table (409, 410, …). Every refusal is
documented as the problem document (RFC 9457) the error handlers send, under
`application/problem+json`; downloads are documented as the binary media types they stream.
A client generated from this schema reads every answer the server can give."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase

from vault.api import deps, examples, uploads
from vault.api.problems import PROBLEM
from vault.notices import contacts
from vault.sharing.grants import MAX_PAPERS

PREFIX = "/api/v1"
PAPER_TYPES = ("application/pdf", "image/jpeg", "image/png")


@dataclass(frozen=True)
class Operation:
    """`rules`: statuses of the operation's own refusals, beyond those its dependencies imply;
    `binary`: the media types of a download; `ranges`: it answers Range and If-None-Match;
    `beyond`: what it refuses that a JSON schema cannot say, such as a value that must name an
    existing object, and `refusing`: with which statuses; `headers`: the tus headers it reads;
    `stream`: its body is raw bytes (a tus chunk), required (True) or optional (False)."""

    id: str
    rules: frozenset[int] = frozenset()
    binary: tuple[str, ...] = ()
    ranges: bool = False
    beyond: str = ""
    refusing: tuple[int, ...] = (422,)
    headers: tuple[str, ...] = ()
    stream: bool | None = None


def _op(
    operation_id: str,
    *rules: int,
    binary: tuple[str, ...] = (),
    ranges: bool = False,
    beyond: str = "",
    refusing: tuple[int, ...] = (422,),
    headers: tuple[str, ...] = (),
    stream: bool | None = None,
) -> Operation:
    return Operation(
        operation_id, frozenset(rules), binary, ranges, beyond, refusing, headers, stream
    )


# Outcomes named once: a paper read or written (a file refused, an integrity failure), the
# agency's fetch of a counted share (wrong agency, used up or ended), a state machine's move.
_PAPER_IN = (409, 413, 415, 422, 429)
_FILE = (415, 422)
_SHARE = (403, 404, 410, 429)
_NATIONAL_ID = "a national_id whose province code is unknown or whose birth year lies in the future"
_BIRTH_DATE = "a date_of_birth whose year is not the one the identification number encodes"
_DOC_TYPE = "a doc_type not in GET /document-types"
_PAPER = (
    "a file that is not a paper of a kind the vault keeps (415), or is corrupt or holds active "
    "content; a day that no calendar has, an issued_on in the future or after expires_on; an "
    "upload_id that is not a "
    "finished upload of the citizen's"
)
_AGENCY = "an agency code that no active agency has"
_CODE = "a code other than the one that was sent"
_ADDRESS = "an e-mail address that is not one once invisible characters are dropped"
_CHUNK = "bytes past the Upload-Length the upload was created with"
_SCOPES = "grants:write or dossiers:write without documents:read"

OPERATIONS: dict[str, Operation] = {
    "POST /auth/token": _op("auth.login", 400, 401, 429),
    "POST /auth/logout": _op("auth.logout"),
    "POST /auth/reset": _op("auth.reset_password", 401, 429, beyond=_NATIONAL_ID),
    "POST /citizens": _op("citizens.register", 409, 429, beyond=_NATIONAL_ID),
    "GET /citizens/me": _op("citizens.me"),
    "PATCH /citizens/me": _op("citizens.update_me", beyond=_BIRTH_DATE),
    "DELETE /citizens/me": _op("citizens.erase_me", 409),
    "GET /citizens/me/export": _op("citizens.export", 500, binary=("application/zip",)),
    "GET /citizens/me/audit-proof": _op("citizens.audit_proof", 409),
    "POST /citizens/me/recovery-codes": _op("citizens.recovery_codes"),
    "GET /document-types": _op("document_types.list"),
    "POST /documents": _op(
        "documents.upload", *_PAPER_IN, 404, beyond=f"{_DOC_TYPE}; {_PAPER}", refusing=_FILE
    ),
    "GET /documents": _op("documents.list", beyond=_DOC_TYPE),
    "GET /documents/{document_id}": _op("documents.get"),
    "DELETE /documents/{document_id}": _op("documents.delete", 409),
    "GET /documents/{document_id}/content": _op(
        "documents.download", 500, binary=PAPER_TYPES, ranges=True
    ),
    "GET /documents/{document_id}/thumbnail": _op(
        "documents.thumbnail", 500, binary=("image/jpeg",)
    ),
    "POST /documents/{document_id}/versions": _op(
        "documents.add_version",
        *_PAPER_IN,
        beyond=f"a doc_type other than the paper's own; {_PAPER}",
        refusing=_FILE,
    ),
    "GET /documents/{document_id}/versions": _op("documents.list_versions"),
    "GET /documents/{document_id}/versions/{version}/content": _op(
        "documents.download_version", 500, binary=PAPER_TYPES, ranges=True
    ),
    "GET /documents/{document_id}/signature": _op("documents.signature"),
    "POST /documents/{document_id}/reading/accept": _op(
        "documents.accept_reading",
        409,
        beyond=f"{_DOC_TYPE}; an issued_on in the future or after expires_on",
    ),
    "GET /documents/{document_id}/certification": _op("documents.certification"),
    "OPTIONS /uploads": _op("uploads.describe"),
    "POST /uploads": _op(
        "uploads.create",
        400,
        403,
        413,
        415,
        429,
        460,
        beyond=_CHUNK,
        refusing=(413,),
        headers=("Upload-Length",),
        stream=False,
    ),
    "OPTIONS /uploads/{upload_id}": _op("uploads.describe_one"),
    "HEAD /uploads/{upload_id}": _op("uploads.offset", 403, 410),
    "PATCH /uploads/{upload_id}": _op(
        "uploads.append",
        400,
        403,
        409,
        410,
        413,
        415,
        460,
        beyond=_CHUNK,
        refusing=(413,),
        headers=("Upload-Offset", "Upload-Checksum"),
        stream=True,
    ),
    "DELETE /uploads/{upload_id}": _op("uploads.cancel", 403),
    "GET /grants": _op("grants.list"),
    "POST /grants": _op(
        "grants.create",
        404,
        beyond=f"{_AGENCY}; a purpose with no visible character; "
        f"more than {MAX_PAPERS} distinct papers",
    ),
    "GET /grants/{grant_id}": _op("grants.get"),
    "DELETE /grants/{grant_id}": _op("grants.revoke"),
    "GET /grants/{grant_id}/qr": _op("grants.qr", binary=("image/png",)),
    "GET /access-log": _op("access_log.list"),
    "POST /agency/token": _op("agency.token", 400, 401, 429),
    "GET /shared/{token}": _op("shared.open", *_SHARE),
    "GET /shared/{token}/documents/{document_id}/content": _op(
        "shared.fetch", *_SHARE, 500, binary=PAPER_TYPES
    ),
    "GET /procedures": _op("procedures.list"),
    "GET /procedures/{code}": _op("procedures.get"),
    "GET /dossiers": _op("dossiers.list"),
    "POST /dossiers": _op(
        "dossiers.create", beyond=f"{_AGENCY}; a procedure code not in GET /procedures"
    ),
    "GET /dossiers/{dossier_id}": _op("dossiers.get"),
    "POST /dossiers/{dossier_id}/attachments": _op(
        "dossiers.attach",
        *_PAPER_IN,
        beyond=f"a doc_type the procedure does not ask for; {_PAPER}",
        refusing=_FILE,
    ),
    "DELETE /dossiers/{dossier_id}/attachments/{doc_type}": _op("dossiers.detach", 409),
    "PATCH /dossiers/{dossier_id}/form": _op(
        "dossiers.update_form", 409, beyond="a field the procedure's form does not have"
    ),
    "POST /dossiers/{dossier_id}/submit": _op("dossiers.submit", 409),
    "POST /dossiers/{dossier_id}/withdraw": _op("dossiers.withdraw", 409),
    "GET /agency/dossiers": _op("agency_dossiers.list", 429),
    "GET /agency/dossiers/{dossier_id}": _op("agency_dossiers.get", 429),
    "GET /agency/dossiers/{dossier_id}/documents/{document_id}/content": _op(
        "agency_dossiers.fetch", *_SHARE, 500, binary=PAPER_TYPES
    ),
    "POST /agency/dossiers/{dossier_id}/status": _op(
        "agency_dossiers.set_status",
        409,
        429,
        beyond="needs_supplement or rejected without a note saying what is needed or why",
    ),
    "POST /agency/dossiers/{dossier_id}/result": _op(
        "agency_dossiers.deposit_result",
        *_PAPER_IN,
        beyond="a doc_type other than the one the procedure issues; a signature that does "
        f"not verify under the agency's key; {_PAPER}",
        refusing=_FILE,
    ),
    "GET /stats": _op("stats.get"),
    "GET /notifications": _op("notifications.list"),
    "POST /notifications/{notice_id}/read": _op("notifications.mark_read"),
    "GET /citizens/me/notifications": _op("notifications.settings"),
    "PUT /citizens/me/notifications": _op(
        "notifications.update_settings",
        409,
        429,
        beyond=f"more than {contacts.MAX_REMINDERS} distinct numbers of days; {_ADDRESS}",
    ),
    "POST /citizens/me/notifications/verify-email": _op(
        "notifications.verify_email", 409, 429, beyond=_CODE
    ),
    "POST /citizens/me/notifications/helpers": _op(
        "notifications.add_helper",
        409,
        429,
        beyond=f"{_ADDRESS}; a phone number without 8 to 16 digits",
    ),
    "POST /citizens/me/notifications/helpers/{helper_id}/verify": _op(
        "notifications.verify_helper", 409, 429, beyond=_CODE
    ),
    "DELETE /citizens/me/notifications/helpers/{helper_id}": _op("notifications.remove_helper"),
    "POST /officer/token": _op("officer.login", 400, 401, 429),
    "GET /officer/me": _op("officer.me"),
    "POST /officer/logout": _op("officer.logout"),
    "GET /assist/requests": _op("assist.list_requests"),
    "POST /assist/requests": _op("assist.ask", 404, 409, 429, beyond=f"{_NATIONAL_ID}; {_SCOPES}"),
    "GET /assist/requests/{request_id}": _op("assist.get_request", 403),
    "DELETE /assist/requests/{request_id}": _op("assist.withdraw_request", 409),
    "POST /assist/requests/{request_id}/approve": _op("assist.approve", 403, 409, 429),
    "POST /assist/requests/{request_id}/decline": _op("assist.decline", 409),
    "POST /assist/requests/{request_id}/session": _op("assist.open_session", 409),
    "GET /assist/sessions": _op("assist.list_sessions"),
    "GET /assist/sessions/current": _op("assist.current_session", 403, 404),
    "DELETE /assist/sessions/{session_id}": _op("assist.end_session", 403),
    "POST /assist/certifications": _op("assist.certify", 403, 404, 409),
    "GET /agencies/{code}/keys": _op("agencies.keys"),
    "POST /assist/password-resets": _op(
        "assist.issue_reset_code", 404, 409, 429, beyond=_NATIONAL_ID
    ),
    "GET /delegations": _op("delegations.list"),
    "POST /delegations": _op(
        "delegations.offer", 404, 409, 429, beyond=f"{_NATIONAL_ID}; {_SCOPES}; a past date"
    ),
    "GET /delegations/{delegation_id}": _op("delegations.get"),
    "DELETE /delegations/{delegation_id}": _op("delegations.end", 409),
    "POST /delegations/{delegation_id}/accept": _op("delegations.accept", 409),
    "POST /delegations/{delegation_id}/decline": _op("delegations.decline", 409),
    "POST /delegations/{delegation_id}/session": _op("delegations.open_session", 403, 409),
    "GET /dependents": _op("dependents.list"),
    "POST /dependents": _op(
        "dependents.add", 404, 409, 429, beyond=f"{_NATIONAL_ID}; {_BIRTH_DATE}"
    ),
    "GET /audit/checkpoints/latest": _op("audit.latest_checkpoint", 404),
    "GET /audit/public-key": _op("audit.public_key", 404),
}

# What a dependency may answer whichever route it serves: an acting token outside its scopes,
# refusals without agency credentials budgeted per client, tus spoken or not, a part down.
_IMPLIED: dict[Any, set[int]] = {
    deps.get_current_citizen: {403},
    deps.get_current_agency: {429},
    uploads.SpeaksTus.dependency: {412},
    deps.get_session: {503},
    deps.get_backend: {503},
}
_TUS_HEADERS: dict[str, dict[str, Any]] = {
    "Tus-Resumable": {"type": "string", "enum": [uploads.TUS_VERSION]},
    "Upload-Offset": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    "Upload-Checksum": {
        "type": "string",
        "pattern": "^(sha1|sha256|md5) [A-Za-z0-9+/]+={0,2}$",
        "description": "Algorithm and base64 digest of this chunk (tus checksum extension)",
    },
}


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def implied_statuses(route: APIRoute) -> set[int]:
    """What the route's signature alone lets it answer, whatever its service decides."""
    found: set[int] = set()
    declared = route.openapi_extra or {}
    has_body = route.body_field is not None or "requestBody" in declared
    for dependant in (route.dependant, *_dependencies(route.dependant)):
        if isinstance(dependant.call, SecurityBase):
            found.add(401)
        found |= _IMPLIED.get(dependant.call, set())
        if dependant.path_params:
            found |= {404, 422}
        if dependant.query_params or dependant.header_params or dependant.cookie_params:
            found.add(422)
    if has_body:
        found |= {400, 413, 422}
    return found


def statuses(route: APIRoute, operation: Operation) -> list[int]:
    found = implied_statuses(route) | operation.rules
    if operation.ranges:
        found.add(416)
    return sorted(found)


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


_DESCRIPTIONS = {
    400: "Bad request: the body is not valid JSON or not a well-formed form",
    401: "No valid token or credentials (WWW-Authenticate: Bearer)",
    403: "The caller may not do this (an acting token outside its scopes, another agency's "
    "share, a wrong password at the counter)",
    404: "No such object, or not the caller's",
    409: "The object's state does not allow it (see `detail`; `missing` for an incomplete dossier)",
    410: "The share is over: revoked, expired or used up (`reason`)",
    412: "Not spoken in tus 1.0.0 (Tus-Resumable)",
    413: "The body or a file is over its size limit",
    415: "A file of a kind the vault does not keep, or a body of the wrong media type",
    416: "The range is outside the paper",
    422: "An input is not valid: `errors` lists where and what for a malformed request, "
    "`field` names the one input a rule refused (an unknown agency code, a birth date that "
    "contradicts the identification number, a corrupt file)",
    429: "Too many attempts or uploads; Retry-After says when to try again",
    460: "The tus checksum of the chunk does not match",
    500: "A stored paper failed its integrity check and was not served",
    503: "The database, the store or the keys are unreachable; Retry-After says when to retry",
}


def _binary(kinds: tuple[str, ...]) -> dict[str, Any]:
    return {kind: {"schema": {"type": "string", "format": "binary"}} for kind in kinds}


def _id(parameter: str, field: str = "id") -> dict[str, str]:
    return {parameter: f"$response.body#/{field}"}


# What a client does next with what an answer gave it (OpenAPI links): the paper uploaded is
# read and shared, the share made is opened and fetched by its agency, the dossier made is
# filled and sent, the consent asked for is answered and used.
LINKS: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
    "documents.upload": {
        "read": ("documents.get", _id("document_id")),
        "download": ("documents.download", _id("document_id")),
        "add_version": ("documents.add_version", _id("document_id")),
    },
    "grants.create": {
        "read": ("grants.get", _id("grant_id")),
        "open": ("shared.open", _id("token", "token")),
        "fetch": (
            "shared.fetch",
            _id("token", "token") | _id("document_id", "document_ids/0"),
        ),
        "revoke": ("grants.revoke", _id("grant_id")),
    },
    "dossiers.create": {
        "read": ("dossiers.get", _id("dossier_id")),
        "fill": ("dossiers.update_form", _id("dossier_id")),
        "submit": ("dossiers.submit", _id("dossier_id")),
    },
    "assist.ask": {
        "read": ("assist.get_request", _id("request_id")),
        "approve": ("assist.approve", _id("request_id")),
        "open_session": ("assist.open_session", _id("request_id")),
    },
    "delegations.offer": {
        "read": ("delegations.get", _id("delegation_id")),
        "end": ("delegations.end", _id("delegation_id")),
    },
}


def _links(operation: Operation, success: dict[str, Any]) -> None:
    found = LINKS.get(operation.id, {})
    if found:
        success["links"] = {
            name: {"operationId": target, "parameters": parameters}
            for name, (target, parameters) in found.items()
        }


def _tus(route: APIRoute, operation: Operation, spec: dict[str, Any], limit: int) -> None:
    """The headers and raw body of the tus protocol, which no Python parameter declares."""
    names = operation.headers
    if any(d.call is uploads.SpeaksTus.dependency for d in _dependencies(route.dependant)):
        names = ("Tus-Resumable", *names)
    schemas = {**_TUS_HEADERS, "Upload-Length": {"type": "integer", "minimum": 0, "maximum": limit}}
    parameters = spec.setdefault("parameters", [])
    for name in names:
        required = name != "Upload-Checksum"
        parameters.append(
            {"name": name, "in": "header", "required": required, "schema": schemas[name]}
        )
    if operation.stream is not None:
        spec["requestBody"] = {
            "required": operation.stream,
            "content": {uploads.OFFSET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        }


def _document(
    route: APIRoute, operation: Operation, spec: dict[str, Any], upload_limit: int
) -> None:
    spec["operationId"] = operation.id
    _tus(route, operation, spec, upload_limit)
    responses = spec["responses"]
    code = str(route.status_code or 200)
    success = responses.setdefault(code, {"description": HTTPStatus(int(code)).phrase})
    if operation.binary:
        success["content"] = _binary(operation.binary)
    _links(operation, success)
    if operation.ranges:
        responses["206"] = {
            "description": "The one range asked for (Range), with Content-Range",
            "content": _binary(operation.binary),
        }
        responses["304"] = {"description": "Not modified: If-None-Match holds the ETag"}
    for status in statuses(route, operation):
        responses[str(status)] = _problem(status)
    examples.attach(spec, operation.id)
    if operation.beyond:
        for status in operation.refusing:
            responses[str(status)]["description"] += (
                f". Besides the schema, this operation refuses {operation.beyond}"
            )
        refused = sorted(operation.refusing)
        spec["x-refuses-beyond-schema"] = {"statuses": refused, "rules": operation.beyond}


def routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """("METHOD /path" under the prefix, the published path, the route) of each operation."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path_format or ""
        if isinstance(route, APIRoute) and route.include_in_schema and path.startswith(PREFIX):
            for method in sorted(route.methods or ()):
                yield f"{method} {path.removeprefix(PREFIX)}", path, route


def publish(app: FastAPI) -> None:
    """Rewrites the schema FastAPI builds, once, the first time it is asked for."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
        for key, path, route in routes(app):
            method = key.partition(" ")[0]
            spec = schema["paths"][path][method.lower()]
            _document(route, OPERATIONS[key], spec, app.state.settings.max_upload_bytes)
        components = schema["components"]["schemas"]
        # FastAPI's own 422 body, which the vault never sends (the Problem above is what it sends).
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

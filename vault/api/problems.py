"""The published schema of the problem documents (RFC 9457) every refusal and failure is.

Without this, FastAPI documents only its own 422 (`application/json`, `detail` as a list), which
the vault never sends: a client generated from the schema would misread every error. Its shape
follows `vault.api.errors.problem`, which writes every one."""

from __future__ import annotations

from typing import Any

PROBLEM: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "examples": ["/problems/not-found"],
        },
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "The one input at fault"},
        "errors": {
            "type": "array",
            "description": "Each invalid input of a 422 `invalid-input`: where and what",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
        "reason": {"type": "string", "description": "Why a grant is over (410)"},
        "tries_left": {
            "type": "integer",
            "description": "Passwords the citizen may still type to consent (403 `wrong-password`)",
        },
        "error": {"type": "string", "description": "The OAuth2 error code (400 at a token URL)"},
        "missing": {
            "type": "array",
            "description": "The papers a dossier still lacks (409 `incomplete`)",
            "items": {
                "type": "object",
                "required": ["doc_type", "reason", "detail"],
                "properties": {
                    "doc_type": {"type": "string"},
                    "reason": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
        "missing_fields": {
            "type": "array",
            "description": "The form fields a dossier still lacks (409 `incomplete`)",
            "items": {"type": "string"},
        },
    },
}

"""What the API accepts and returns. Deliberately not derived from the tables: a column added
to a table (a wrapped key, a hash) must never reach a response by inheritance."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from vault.documents import DocumentView


class CitizenCreate(BaseModel):
    national_id: str = Field(
        examples=["048095001234"], description="Số định danh cá nhân, 12 digits"
    )
    full_name: str = Field(min_length=1, max_length=200, examples=["Nguyễn Thị Lan"])
    password: str = Field(min_length=8, max_length=128)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ]{8,16}$", examples=["0905123456"])


class CitizenPublic(BaseModel):
    id: uuid.UUID
    national_id: str
    full_name: str
    phone: str | None
    created_at: datetime


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class DocumentTypePublic(BaseModel):
    code: str
    name_vi: str
    name_en: str
    expires: bool
    validity_months: int | None


class DocumentPublic(BaseModel):
    id: uuid.UUID
    doc_type: str
    title: str | None
    number: str | None
    content_type: str
    size: int
    sha256: str
    pages: int
    version: int
    issued_on: date | None
    expires_on: date | None
    trust: str
    filename: str
    has_thumbnail: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: DocumentView) -> DocumentPublic:
        return cls.model_validate(view, from_attributes=True)


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "One PDF, or one or more photos/scans (JPEG, PNG, "
                            "WebP, TIFF, HEIC): several photos are the pages of one paper.",
                        },
                        "doc_type": {"type": "string", "description": "See GET /document-types"},
                        "title": {"type": "string", "maxLength": 200},
                        "number": {"type": "string", "maxLength": 64},
                        "issued_on": {"type": "string", "format": "date"},
                        "expires_on": {"type": "string", "format": "date"},
                    },
                }
            }
        },
    }
}

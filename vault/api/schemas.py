"""What the API accepts and returns. Deliberately not derived from the tables: a column added
to a table (a wrapped key, a hash) must never reach a response by inheritance."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal, Self

from pydantic import BaseModel, Field

from vault.documents import DocumentView
from vault.sharing.grants import GrantView


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


class GrantCreate(BaseModel):
    agency: str = Field(description="The agency's code", examples=["UBND-HAICHAU"])
    document_ids: list[uuid.UUID] = Field(min_length=1)
    purpose: str = Field(examples=["Đăng ký kết hôn tại UBND phường Hải Châu"])
    expires_in_days: int = Field(default=7, description="1 to 90")
    max_uses: int | None = Field(
        default=None, description="How many downloads; unlimited if absent"
    )


class GrantPublic(BaseModel):
    id: uuid.UUID
    agency: str
    agency_name: str
    document_ids: list[uuid.UUID]
    purpose: str
    created_at: datetime
    expires_at: datetime
    max_uses: int | None
    uses: int
    status: Literal["active", "expired", "revoked", "used_up"]
    revoked_at: datetime | None

    @classmethod
    def of(cls, view: GrantView) -> Self:
        return cls(agency=view.agency_code, **_fields(view, cls, exclude={"agency"}))


class GrantCreated(GrantPublic):
    token: str = Field(description="Shown only in this response; the vault keeps only its hash")
    share_url: str


class AgencyRef(BaseModel):
    code: str
    name: str


class AccessLogEntry(BaseModel):
    time: datetime
    action: Literal["share.open", "share.download"]
    outcome: Literal["success", "denied"]
    reason: str | None
    agency: AgencyRef | None
    officer: str | None
    grant_id: uuid.UUID | None
    document_id: uuid.UUID | None
    doc_type: str | None
    purpose: str | None


class SharedPaperPublic(BaseModel):
    id: uuid.UUID
    doc_type: str
    title: str | None
    number: str | None
    content_type: str
    size: int
    pages: int
    version: int
    issued_on: date | None
    expires_on: date | None
    trust: str


class CitizenRef(BaseModel):
    full_name: str
    national_id: str


class SharedPublic(BaseModel):
    grant_id: uuid.UUID
    purpose: str
    expires_at: datetime
    max_uses: int | None
    uses: int
    citizen: CitizenRef
    papers: list[SharedPaperPublic]


def _fields(source: object, model: type[BaseModel], exclude: set[str]) -> dict[str, object]:
    return {name: getattr(source, name) for name in model.model_fields if name not in exclude}

"""Administrative procedures and the papers they ask for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Text,
)
from sqlmodel import Field, SQLModel

from vault.db import timestamp_field


class Procedure(SQLModel, table=True):
    """An administrative procedure (thủ tục hành chính) and the papers its dossier needs."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=300)
    name_en: str | None = Field(default=None, max_length=300)
    agency_level: str = Field(max_length=16)
    result_doc_type: str | None = Field(default=None, max_length=32)
    # The requirements and form fields as validated JSON (see vault/procedures.py).
    requirements: str = Field(sa_type=Text)
    form_fields: str = Field(sa_type=Text)
    updated_at: datetime = timestamp_field()

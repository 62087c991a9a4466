"""The catalog of administrative procedures: the papers each dossier needs and its form.

Loaded from the package's data file at start (codes not yet present are added) and from an
operator's file with `vault procedures import FILE` (which adds or replaces).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlmodel import Session, col, select

from vault import db
from vault.catalog import document_types
from vault.catalog.document_types import Trust
from vault.catalog.models import Procedure
from vault.kit.errors import InvalidInput, NotFound

Level = Literal["commune", "province", "central"]
_PROFILE_SOURCES = {"full_name", "national_id", "date_of_birth", "phone", "address"}
_PAPER_SOURCE = re.compile(r"^paper\.([A-Z0-9_]+)\.(number|issued_on|expires_on)$")


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    doc_type: str
    required: bool = True
    max_age_days: int | None = Field(default=None, ge=1, le=36500)  # a century at most
    min_trust: Trust = Trust.SELF_SCAN
    note: str | None = None

    @field_validator("doc_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return document_types.document_type(value).code


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: str
    type: Literal["text", "date", "textarea", "select"] = "text"
    required: bool = False
    source: str | None = None
    options: list[str] | None = None


class ProcedureSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[0-9A-Za-z.\-_]{3,32}$")
    name: str = Field(min_length=1, max_length=300)
    name_en: str | None = Field(default=None, max_length=300)
    agency_level: Level
    result_doc_type: str | None = None
    requirements: list[Requirement]
    form_fields: list[FormField]

    @model_validator(mode="after")
    def _consistent(self) -> ProcedureSpec:
        types = [r.doc_type for r in self.requirements]
        if len(types) != len(set(types)):
            raise ValueError("a document type is required twice")
        names = [f.name for f in self.form_fields]
        if len(names) != len(set(names)):
            raise ValueError("two form fields have the same name")
        if self.result_doc_type is not None:
            document_types.document_type(self.result_doc_type)
        for field in self.form_fields:
            if field.source is None:
                continue
            paper = _PAPER_SOURCE.match(field.source)
            profile = field.source.removeprefix("profile.")
            if paper is None and profile not in _PROFILE_SOURCES:
                raise ValueError(f"field {field.name}: unknown source {field.source!r}")
            if paper is not None and paper.group(1) not in types:
                raise ValueError(f"field {field.name}: {paper.group(1)} is not a required paper")
        return self


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | None = None
    procedures: list[ProcedureSpec]


def parse(text: str) -> list[ProcedureSpec]:
    try:
        specs = _CatalogFile.model_validate_json(text).procedures
    except (ValidationError, InvalidInput) as error:
        raise InvalidInput(f"The procedure file is not valid: {error}") from None
    codes = [spec.code for spec in specs]
    if len(codes) != len(set(codes)):
        raise InvalidInput("The procedure file lists a code twice.")
    return specs


def packaged() -> list[ProcedureSpec]:
    return parse(resources.files("vault.data").joinpath("procedures.json").read_text())


def seed(session: Session) -> int:
    """Add the packaged procedures that are not in the database yet; never overwrite."""
    present = set(session.exec(select(Procedure.code)).all())
    added = [spec for spec in packaged() if spec.code not in present]
    for spec in added:
        session.add(_row(spec))
    return len(added)


def import_specs(session: Session, specs: list[ProcedureSpec]) -> tuple[int, int]:
    """Add or replace; returns (added, replaced)."""
    added = replaced = 0
    for spec in specs:
        existing = session.get(Procedure, spec.code)
        if existing is None:
            session.add(_row(spec))
            added += 1
        else:
            for name, value in _row(spec).model_dump(exclude={"code"}).items():
                setattr(existing, name, value)
            existing.updated_at = db.utc_now()
            session.add(existing)
            replaced += 1
    return added, replaced


def get(session: Session, code: str) -> ProcedureSpec:
    row = session.get(Procedure, code)
    if row is None:
        raise NotFound(f"No procedure has the code {code!r}; see GET /api/v1/procedures.")
    return _spec(row)


def list_all(session: Session) -> list[ProcedureSpec]:
    return [_spec(row) for row in session.exec(select(Procedure).order_by(col(Procedure.code)))]


def _row(spec: ProcedureSpec) -> Procedure:
    return Procedure(
        code=spec.code,
        name=spec.name,
        name_en=spec.name_en,
        agency_level=spec.agency_level,
        result_doc_type=spec.result_doc_type,
        requirements=json.dumps([r.model_dump() for r in spec.requirements], ensure_ascii=False),
        form_fields=json.dumps([f.model_dump() for f in spec.form_fields], ensure_ascii=False),
    )


def _spec(row: Procedure) -> ProcedureSpec:
    return ProcedureSpec(
        code=row.code,
        name=row.name,
        name_en=row.name_en,
        agency_level=row.agency_level,
        result_doc_type=row.result_doc_type,
        requirements=json.loads(row.requirements),
        form_fields=json.loads(row.form_fields),
    )

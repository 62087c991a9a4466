"""What the API accepts and returns. Deliberately not derived from the tables: a column added
to a table (a wrapped key, a hash) must never reach a response by inheritance."""

from __future__ import annotations

import copy
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from vault import db
from vault.accounts import acting
from vault.accounts.citizens import MAX_ADDRESS, PHONE_PATTERN
from vault.accounts.models import ActorKind, EndReason, Scope
from vault.agencies.registry import CODE_PATTERN
from vault.assist import delegations as assist_delegations
from vault.assist import requests as assist_requests
from vault.assist.models import (
    DelegationEnder,
    DelegationKind,
    DelegationStatus,
    IdentityCheck,
    Kinship,
    RequestStatus,
)
from vault.audit import Outcome
from vault.catalog.document_types import Trust
from vault.catalog.procedures import ProcedureSpec
from vault.documents import DocumentView
from vault.documents.resumable import UPLOAD_FIELD
from vault.dossiers.models import AttachmentReason, DossierStatus
from vault.dossiers.workflow import DossierView
from vault.kit.text import MAX_NAME
from vault.notices import contacts
from vault.notices.inbox import NoticeView
from vault.notices.models import Medium, NoticeKind
from vault.sharing import grants
from vault.sharing.grants import GrantView
from vault.sharing.masks import MAX_PER_PAPER as MAX_MASKS
from vault.sharing.masks import Mask
from vault.sharing.models import GrantStatus

# The number as typed: the vault strips the spaces around it. Those spaces are spelt out: \s
# names different sets in Python, in pydantic's Rust and in a client's JSON Schema.
_SPACE = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
NATIONAL_ID_PATTERN = rf"^{_SPACE}*[0-9]{{12}}{_SPACE}*$"
# SQLite hands timestamps back without their zone; they were written in UTC.
Moment = Annotated[datetime, AfterValidator(db.aware)]


class CitizenCreate(BaseModel):
    national_id: str = Field(
        pattern=NATIONAL_ID_PATTERN,
        examples=["048095001234"],
        description="Số định danh cá nhân, 12 digits",
    )
    full_name: str = Field(min_length=1, max_length=MAX_NAME, examples=["Nguyễn Thị Lan"])
    password: str = Field(min_length=8, max_length=128)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN, examples=["0905123456"])


class CitizenPublic(BaseModel):
    id: uuid.UUID
    national_id: str
    full_name: str
    phone: str | None
    date_of_birth: date | None
    address: str | None
    created_at: Moment


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class AgencyRef(BaseModel):
    code: str
    name: str


class OfficerPublic(BaseModel):
    username: str
    name: str
    agency: AgencyRef


class OfficerTokenPublic(TokenPublic):
    officer: OfficerPublic


class PasswordResetCreate(BaseModel):
    national_id: str = Field(examples=["048095001234"], max_length=20)
    identity_check: IdentityCheck = Field(
        description="How the officer checked that the person is the citizen."
    )


class PasswordResetCode(BaseModel):
    reset_code: str = Field(description="Shown once: give it to the citizen.")
    expires_at: Moment


class PasswordReset(BaseModel):
    national_id: str = Field(max_length=20)
    reset_code: str = Field(
        max_length=40, description="An officer's reset code or one of the recovery codes."
    )
    new_password: str = Field(min_length=8, max_length=128)


class RecoveryCodesPublic(BaseModel):
    codes: list[str] = Field(description="Ten one-time codes, shown once: print them.")


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
    trust: Trust
    filename: str
    has_thumbnail: bool
    issuer: AgencyRef | None = Field(description="The issuing agency of an `issued` paper")
    created_at: Moment
    updated_at: Moment

    @classmethod
    def of(cls, view: DocumentView) -> DocumentPublic:
        issuer = (
            AgencyRef(code=view.issuer_code, name=view.issuer_name or "")
            if view.issuer_code
            else None
        )
        return cls(issuer=issuer, **_fields(view, cls, exclude={"issuer"}))


# A date field sent empty clears the date (a new version keeps it when the field is absent).
# The form's values are stripped as Python strips (str.isspace), spelt out as _SPACE is.
_STRIPPED = r"[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_DAY_FIELD = {
    "type": "string",
    "pattern": rf"^{_STRIPPED}*([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})?{_STRIPPED}*$",
    "description": "YYYY-MM-DD, or empty",
}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "anyOf": [{"required": ["file"]}, {"required": [UPLOAD_FIELD]}],
                    "additionalProperties": False,
                    "properties": {
                        "file": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "format": "binary"},
                            "description": "One PDF, or one or more photos/scans (JPEG, PNG, "
                            "WebP, TIFF, HEIC): several photos are the pages of one paper.",
                        },
                        UPLOAD_FIELD: {
                            "type": "array",
                            "items": {"type": "string", "format": "uuid"},
                            "description": "Pages sent before by resumable upload (/uploads), "
                            "each a finished upload's id, in place of or besides `file` parts",
                        },
                        "doc_type": {
                            "type": "string",
                            "description": "A code of GET /document-types; empty or absent, the "
                            "vault reads the paper and the type stays KHAC until confirmed",
                        },
                        "title": {"type": "string", "maxLength": 200},
                        "number": {"type": "string", "maxLength": 64},
                        "issued_on": _DAY_FIELD,
                        "expires_on": _DAY_FIELD,
                    },
                }
            }
        },
    }
}


def _signed(body: dict[str, Any]) -> dict[str, Any]:
    """An agency's result paper: the upload form, with the signature it is refused without;
    resumable uploads are the citizen's own and do not apply."""
    signed = copy.deepcopy(body)
    form = signed["requestBody"]["content"]["multipart/form-data"]["schema"]
    del form["anyOf"], form["properties"][UPLOAD_FIELD]
    form["required"] = ["file", "doc_type", "signature"]
    form["properties"]["doc_type"] = {
        "type": "string",
        "minLength": 1,
        "description": "The type of paper the dossier's procedure issues",
    }
    form["properties"]["signature"] = {
        "type": "string",
        "description": "base64 of the agency's detached signature over the PDF's SHA-256",
    }
    return signed


RESULT_BODY = _signed(UPLOAD_BODY)


class MaskPublic(BaseModel):
    """A rectangle blacked out on one page of a shared paper."""

    page: int = Field(description="The page, numbered from 1", examples=[1])
    x: float = Field(description="Left edge, a fraction of the page's width", examples=[0.03])
    y: float = Field(description="Top edge, a fraction of the page's height", examples=[0.3])
    w: float = Field(description="Width, a fraction of the page's width", examples=[0.25])
    h: float = Field(description="Height, a fraction of the page's height", examples=[0.5])

    def mask(self) -> Mask:
        return Mask(self.page, self.x, self.y, self.w, self.h)


class GrantCreate(BaseModel):
    agency: str = Field(
        description="The agency's code; one that no active agency has is refused (422)",
        pattern=CODE_PATTERN,
        examples=["UBND-HAICHAU"],
    )
    document_ids: list[uuid.UUID] = Field(
        min_length=1, description=f"1 to {grants.MAX_PAPERS} distinct papers of the citizen"
    )
    purpose: str = Field(
        min_length=1,
        max_length=grants.MAX_PURPOSE,
        pattern=r"\S",
        examples=["Đăng ký kết hôn tại UBND phường Hải Châu"],
    )
    expires_in_days: int = Field(default=7, ge=1, le=grants.MAX_DAYS)
    max_uses: int | None = Field(
        default=None,
        ge=1,
        le=grants.MAX_USES,
        description="How many downloads; unlimited if absent",
    )
    masks: dict[uuid.UUID, list[MaskPublic]] = Field(
        default_factory=dict,
        description=(
            "Parts of papers to black out, by document id: rectangles in fractions of the "
            f"page (x + w and y + h at most 1), at most {MAX_MASKS} a paper. The agency only "
            "receives copies with those pixels destroyed; the stored paper is unchanged."
        ),
    )

    def masks_by_paper(self) -> dict[uuid.UUID, list[Mask]]:
        return {paper: [m.mask() for m in boxes] for paper, boxes in self.masks.items()}


class GrantPublic(BaseModel):
    id: uuid.UUID
    agency: str
    agency_name: str
    document_ids: list[uuid.UUID]
    purpose: str
    created_at: Moment
    expires_at: Moment
    max_uses: int | None
    uses: int
    status: GrantStatus
    revoked_at: Moment | None = Field(
        description="When the grant ended before its time: revoked, or completed with its dossier"
    )
    masks: dict[uuid.UUID, list[MaskPublic]] = Field(
        default_factory=dict, description="The masked papers' masks; the others are shared whole"
    )

    @classmethod
    def of(cls, view: GrantView) -> Self:
        masks = {
            paper: [MaskPublic.model_validate(m, from_attributes=True) for m in boxes]
            for paper, boxes in view.masks.items()
        }
        fields = _fields(view, cls, exclude={"agency", "masks"})
        return cls(agency=view.agency_code, masks=masks, **fields)


class GrantCreated(GrantPublic):
    token: str = Field(description="Shown only in this response; the vault keeps only its hash")
    share_url: str


class AccessLogEntry(BaseModel):
    time: Moment
    # An agency's access (`share.open`, `share.preview`, `share.download`), an acting
    # session's start or end (`assist.session_start`, `assist.session_end`), or what was done
    # in one (`document.upload`, `document.read`, `grant.create`, …).
    action: str
    outcome: Outcome
    reason: str | None
    agency: AgencyRef | None
    officer: OfficerPublic | None
    acting_session_id: uuid.UUID | None
    grant_id: uuid.UUID | None
    document_id: uuid.UUID | None
    doc_type: str | None
    purpose: str | None
    # The citizen who acted, when the owner delegated to them (an `acting_session_id` too).
    delegate: DelegatePublic | None = None
    # The agency received a copy with the citizen's masks applied, not the paper as stored.
    masked: bool = False


class SharedPaperPublic(BaseModel):
    id: uuid.UUID
    doc_type: str
    title: str | None = Field(description="Withheld (null) for a masked paper")
    number: str | None = Field(description="Withheld (null) for a masked paper")
    content_type: str
    size: int
    pages: int
    version: int
    issued_on: date | None
    expires_on: date | None
    trust: Trust
    masked: bool = Field(
        default=False,
        description="The citizen blacked out parts of it: every copy served is the masked one",
    )


class CitizenRef(BaseModel):
    full_name: str
    national_id: str


class SharedPublic(BaseModel):
    grant_id: uuid.UUID
    purpose: str
    expires_at: Moment
    max_uses: int | None
    uses: int
    citizen: CitizenRef
    papers: list[SharedPaperPublic]


def _fields(source: object, model: type[BaseModel], exclude: set[str]) -> dict[str, object]:
    return {name: getattr(source, name) for name in model.model_fields if name not in exclude}


class ProfileUpdate(BaseModel):
    full_name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    date_of_birth: date | None = None
    address: str | None = Field(default=None, max_length=MAX_ADDRESS)


class RequirementPublic(BaseModel):
    doc_type: str
    required: bool
    max_age_days: int | None
    min_trust: Trust
    note: str | None


class FormFieldPublic(BaseModel):
    name: str
    label: str
    type: str
    required: bool
    source: str | None
    options: list[str] | None


class ProcedurePublic(BaseModel):
    code: str
    name: str
    name_en: str | None
    agency_level: str
    result_doc_type: str | None
    requirements: list[RequirementPublic]
    form_fields: list[FormFieldPublic]

    @classmethod
    def of(cls, spec: ProcedureSpec) -> ProcedurePublic:
        return cls.model_validate(spec.model_dump())


class DossierCreate(BaseModel):
    procedure: str = Field(examples=["1.000894"])
    agency: str = Field(
        description="The receiving agency's code; one that no active agency has is refused (422)",
        pattern=CODE_PATTERN,
        examples=["UBND-HAICHAU"],
    )


class AttachmentPublic(BaseModel):
    doc_type: str
    document_id: uuid.UUID
    version: int
    reused: bool
    title: str | None
    content_type: str
    pages: int
    trust: Trust
    issued_on: date | None
    expires_on: date | None


class MissingPublic(BaseModel):
    doc_type: str
    reason: Literal[
        AttachmentReason.NONE_STORED,
        AttachmentReason.EXPIRED,
        AttachmentReason.TOO_OLD,
        AttachmentReason.TRUST_TOO_LOW,
    ]
    required: bool
    detail: str


class HistoryPublic(BaseModel):
    status: DossierStatus
    at: Moment
    actor_type: str
    note: str | None


class DossierPublic(BaseModel):
    id: uuid.UUID
    procedure: str
    procedure_name: str
    agency: str
    agency_name: str
    status: DossierStatus
    attachments: list[AttachmentPublic]
    missing: list[MissingPublic]
    form: dict[str, str | None]
    history: list[HistoryPublic]
    created_at: Moment
    submitted_at: Moment | None
    closed_at: Moment | None
    grant_id: uuid.UUID | None
    result_document_id: uuid.UUID | None

    @classmethod
    def of(cls, view: DossierView, **more: object) -> Self:
        return cls(
            id=view.id,
            procedure=view.procedure.code,
            procedure_name=view.procedure.name,
            agency=view.agency_code,
            agency_name=view.agency_name,
            status=view.status,
            attachments=[
                AttachmentPublic(
                    doc_type=a.doc_type,
                    document_id=a.document_id,
                    version=a.version,
                    reused=a.reused,
                    title=a.paper.title,
                    content_type=a.paper.content_type,
                    pages=a.paper.pages,
                    trust=a.paper.trust,
                    issued_on=a.paper.issued_on,
                    expires_on=a.paper.expires_on,
                )
                for a in view.attachments
            ],
            missing=[
                MissingPublic(
                    doc_type=m.doc_type, reason=m.reason, required=m.required, detail=m.detail
                )
                for m in view.missing
            ],
            form=view.form,
            history=[HistoryPublic.model_validate(h, from_attributes=True) for h in view.history],
            created_at=view.created_at,
            submitted_at=view.submitted_at,
            closed_at=view.closed_at,
            grant_id=view.grant_id,
            result_document_id=view.result_document_id,
            **more,
        )


class AgencyDossierPublic(DossierPublic):
    citizen: CitizenRef


class StatusChange(BaseModel):
    status: Literal[
        DossierStatus.PROCESSING,
        DossierStatus.NEEDS_SUPPLEMENT,
        DossierStatus.REJECTED,
        DossierStatus.COMPLETED,
    ]
    note: str | None = Field(default=None, max_length=2000)


class ProcedureStats(BaseModel):
    procedure: str
    name: str
    dossiers_submitted: int
    papers_from_vault: int
    papers_uploaded: int
    reuse_rate: float | None


class StatsPublic(BaseModel):
    dossiers_submitted: int
    papers_from_vault: int
    papers_uploaded: int
    reuse_rate: float | None
    by_procedure: list[ProcedureStats]


class SignaturePublic(BaseModel):
    document_id: uuid.UUID
    version: int
    issuer: AgencyRef
    algorithm: str
    signature: str = Field(description="base64, over the SHA-256 of the paper")
    sha256: str
    public_key: str = Field(
        description="the issuer's public key (PEM) when the paper was deposited"
    )
    valid: bool = Field(description="checked now against the stored bytes")
    key_is_current: bool


class NoticePublic(BaseModel):
    id: uuid.UUID
    kind: NoticeKind
    title: str
    body: str
    link: str | None = Field(description="A path in the vault's pages the notice is about")
    created_at: Moment
    read_at: Moment | None

    @classmethod
    def of(cls, view: NoticeView) -> Self:
        return cls(**_fields(view, cls, exclude=set()))


class ChannelsPublic(BaseModel):
    email: bool = Field(description="To the citizen's email, once it is confirmed")
    webhook: bool = Field(description="Through the operator's gateway (SMS, Zalo)")


class HelperPublic(BaseModel):
    id: uuid.UUID
    kind: Medium
    address: str
    name: str | None
    verified: bool = Field(description="Reminders go to a helper only once confirmed")

    @classmethod
    def of(cls, helper: contacts.Helper) -> Self:
        return cls(kind=helper.medium, **_fields(helper, cls, exclude={"kind"}))


class NotificationSettingsPublic(BaseModel):
    email: str | None
    email_verified: bool
    channels: ChannelsPublic
    expiry_days_before: list[int] = Field(description="Days before a paper expires, largest first")
    helpers: list[HelperPublic]

    @classmethod
    def of(cls, chosen: contacts.Settings) -> Self:
        return cls(
            email=chosen.email,
            email_verified=chosen.email_verified,
            channels=ChannelsPublic(email=chosen.email_on, webhook=chosen.webhook_on),
            expiry_days_before=chosen.expiry_days_before,
            helpers=[HelperPublic.of(h) for h in chosen.helpers],
        )


# The shape every address has however it was typed; the vault checks the rest once invisible
# characters are dropped and spaces trimmed, which no pattern can say (a 422 documented so).
Email = Annotated[str, Field(pattern=r"^[^@]+@[^@]+\.[^@]+$")]


class ChannelsUpdate(BaseModel):
    """Only the channels named change."""

    model_config = ConfigDict(extra="forbid")

    # Defaults by factory are left out of the schema: a channel not named is kept, not false.
    email: bool = Field(default_factory=lambda: False, strict=True)
    webhook: bool = Field(default_factory=lambda: False, strict=True)


class NotificationSettingsUpdate(BaseModel):
    """Only the fields sent change (`model_fields_set`): a field left out is kept."""

    model_config = ConfigDict(extra="forbid")

    email: Email | None = Field(
        default_factory=lambda: None,
        description="A new address is sent a code to confirm it (see verify-email); null "
        "removes the address. Giving the waiting address again sends a new code.",
        examples=["lan.nguyen@example.vn"],
    )
    channels: ChannelsUpdate = Field(default_factory=ChannelsUpdate)
    expiry_days_before: list[Annotated[int, Field(ge=1, le=365)]] = Field(
        default_factory=list,
        description=f"Up to {contacts.MAX_REMINDERS} distinct numbers of days, each from 1 to 365",
        examples=[[30, 7]],
    )


class CodeSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="The 6 digits sent to the address", examples=["042917"])


class HelperCreate(BaseModel):
    """A helper (a child, a neighbour) who receives the reminders too: exactly one of
    `email` and `phone`. They are sent a code, which they read out to the citizen."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["email"]}, {"required": ["phone"]}]},
    )

    email: Email | SkipJsonSchema[None] = Field(
        default_factory=lambda: None, examples=["con.trai@example.vn"]
    )
    phone: str | SkipJsonSchema[None] = Field(default_factory=lambda: None, examples=["0905123456"])
    name: str | None = Field(default=None, max_length=MAX_NAME, examples=["Con trai Minh"])

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        for name in ("email", "phone"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} is text: leave it out rather than send null.")
        if (self.email is None) == (self.phone is None):
            raise ValueError("Give exactly one of email and phone.")
        return self

    @property
    def medium(self) -> Medium:
        return Medium.EMAIL if self.email is not None else Medium.PHONE

    @property
    def address(self) -> str:
        return self.email if self.email is not None else self.phone or ""


class AssistRequestCreate(BaseModel):
    national_id: str = Field(min_length=1, max_length=20)
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    minutes: int = Field(default=acting.DEFAULT_MINUTES, ge=1, le=acting.MAX_MINUTES)
    identity_check: IdentityCheck
    note: str | None = Field(default=None, max_length=assist_requests.MAX_NOTE)


class AssistRequestCreated(BaseModel):
    id: uuid.UUID
    status: RequestStatus
    citizen_name_masked: str
    expires_at: Moment


class AssistRequestPublic(BaseModel):
    id: uuid.UUID
    status: RequestStatus
    officer: OfficerPublic
    scopes: list[Scope]
    minutes: int
    identity_check: IdentityCheck
    note: str | None
    citizen_name_masked: str
    created_at: Moment
    expires_at: Moment

    @classmethod
    def of(cls, view: assist_requests.RequestView) -> Self:
        row = view.request
        return cls(
            id=row.id,
            status=view.status,
            officer=OfficerPublic(
                username=view.officer.username,
                name=view.officer.full_name,
                agency=AgencyRef(code=view.agency.code, name=view.agency.name),
            ),
            scopes=view.scopes,
            minutes=row.minutes,
            identity_check=row.identity_check,
            note=view.note,
            citizen_name_masked=view.citizen_name_masked,
            created_at=row.created_at,
            expires_at=row.expires_at,
        )


class CounterConsent(BaseModel):
    """The citizen's own password, typed by the citizen on the counter's screen."""

    password: str = Field(min_length=1, max_length=1024)


class ActingSessionCreated(BaseModel):
    id: uuid.UUID
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: Moment
    scopes: list[Scope]


class DelegatePublic(BaseModel):
    id: uuid.UUID
    name: str


class AssistActionPublic(BaseModel):
    time: Moment
    action: str
    outcome: Outcome
    document_id: uuid.UUID | None
    grant_id: uuid.UUID | None
    doc_type: str | None
    text: str


class AssistSessionPublic(BaseModel):
    id: uuid.UUID
    kind: ActorKind
    officer: OfficerPublic | None
    delegate: DelegatePublic | None
    scopes: list[Scope]
    started_at: Moment
    expires_at: Moment
    ended_at: Moment | None
    end_reason: EndReason | None
    live: bool
    actions: list[AssistActionPublic]


class CurrentActingPublic(BaseModel):
    """What the holder of an acting token is doing: for the counter's banner."""

    id: uuid.UUID
    citizen_name: str
    scopes: list[Scope]
    expires_at: Moment


class CertificationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_id: uuid.UUID
    version: int = Field(ge=1, le=2**31 - 1, description="must be the paper's current version")
    note: str | None = Field(default=None, max_length=500, examples=["Đã đối chiếu bản chính"])


class CertificationPublic(BaseModel):
    statement: str = Field(
        description="base64url of the exact signed bytes: canonical JSON with sha256 (hex), "
        "doc_type, version, citizen, agency, officer, certified_at"
    )
    signature: str = Field(description="base64url; Ed25519 over the statement's bytes")
    key_id: str = Field(description="the agency's key, at GET /agencies/{code}/keys")
    algorithm: Literal["Ed25519"] = "Ed25519"
    note: str | None = Field(description="the officer's note; not part of the statement")


class AgencyKeyPublic(BaseModel):
    key_id: str
    use: str = Field(description="certify (certified copies) or issue (issued papers)")
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str = Field(description="base64url of the raw 32 bytes")


class AgencyKeysPublic(BaseModel):
    keys: list[AgencyKeyPublic]


class DelegationCreate(BaseModel):
    # The delegate's personal identification number: they must have a vault.
    national_id: str = Field(min_length=1, max_length=20)
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    # The last day it holds (Vietnam's calendar), at most a year from today.
    expires_on: date


class PersonPublic(BaseModel):
    id: uuid.UUID
    name: str


class DelegationPublic(BaseModel):
    id: uuid.UUID
    # "given" by the caller, or "received" by them.
    direction: Literal["given", "received"]
    # "personal" (a citizen's choice) or "guardian" (a parent's hold on a child's vault).
    kind: DelegationKind
    status: DelegationStatus
    citizen: PersonPublic
    # To the citizen who offered it, the delegate's name is masked until they accept.
    delegate: PersonPublic
    scopes: list[Scope]
    expires_on: date
    ends_at: Moment
    created_at: Moment
    accepted_at: Moment | None
    ended_at: Moment | None
    # "citizen" (revoked) or "delegate" (declined or given up).
    ended_by: DelegationEnder | None

    @classmethod
    def of(cls, view: assist_delegations.DelegationView) -> Self:
        row = view.delegation
        return cls(
            id=row.id,
            direction=view.direction,
            kind=row.kind,
            status=view.status,
            citizen=PersonPublic(id=row.citizen_id, name=view.citizen_name),
            delegate=PersonPublic(id=row.delegate_id, name=view.delegate_name),
            scopes=view.scopes,
            expires_on=row.expires_on,
            ends_at=row.ends_at,
            created_at=row.created_at,
            accepted_at=row.accepted_at,
            ended_at=row.ended_at,
            ended_by=row.ended_by,
        )


class DelegationSessionCreate(BaseModel):
    # The delegation's scopes when left out; fewer may be asked, never more.
    scopes: list[Scope] | None = Field(default=None, min_length=1, max_length=len(Scope))
    minutes: int = Field(default=acting.DEFAULT_MINUTES, ge=1, le=acting.MAX_MINUTES)


class DependentCreate(BaseModel):
    national_id: str = Field(pattern=NATIONAL_ID_PATTERN, examples=["048220001234"])
    full_name: str = Field(min_length=1, max_length=MAX_NAME)
    date_of_birth: date
    relationship: Kinship
    # One of the parent's own papers, of type GKS.
    birth_certificate_id: uuid.UUID


class DependentPublic(BaseModel):
    # The child's vault: the `citizen` of the delegation.
    id: uuid.UUID
    full_name: str
    date_of_birth: date | None
    relationship: Kinship
    birth_certificate_id: uuid.UUID | None
    delegation_id: uuid.UUID
    status: DelegationStatus
    # The 18th birthday, when the delegation ends and the vault is the child's alone.
    adult_on: date
    # Whether the child has claimed the vault (set a password at the counter).
    claimed: bool

"""Every domain's tables, imported together so that SQLModel's metadata is whole: what the
migrations and the tests compare the schema against."""

from vault.accounts.models import (
    AccessToken,
    ActingSession,
    Citizen,
    KnownDevice,
    LoginThrottle,
    Officer,
    ResetCode,
)
from vault.agencies.models import Agency, AgencyToken
from vault.assist.models import (
    AssistRequest,
    Certification,
    Delegation,
    DependentVault,
    Guardianship,
)
from vault.audit.models import AuditEvent
from vault.catalog.models import Procedure
from vault.documents.models import Document, DocumentVersion, ResumableUpload
from vault.documents.recognition.models import DocumentReading
from vault.dossiers.models import Dossier, DossierAttachment, DossierEvent
from vault.keys.models import AgencyKey, CitizenKey, IndexKey, MasterKeyCheck
from vault.notices.models import Contact, Delivery, NoticePreference, Notification
from vault.queue.models import PeriodicRun
from vault.sharing.models import Grant, GrantDocument

__all__ = [
    "AccessToken",
    "ActingSession",
    "Agency",
    "AgencyKey",
    "AssistRequest",
    "AgencyToken",
    "AuditEvent",
    "Certification",
    "Citizen",
    "CitizenKey",
    "Contact",
    "Delivery",
    "MasterKeyCheck",
    "Document",
    "DocumentReading",
    "DocumentVersion",
    "Dossier",
    "DossierAttachment",
    "DossierEvent",
    "Grant",
    "GrantDocument",
    "IndexKey",
    "KnownDevice",
    "LoginThrottle",
    "NoticePreference",
    "Notification",
    "Officer",
    "PeriodicRun",
    "Procedure",
    "ResetCode",
    "ResumableUpload",
    "Delegation",
    "DependentVault",
    "Guardianship",
]

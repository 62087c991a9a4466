"""Examples of what the API takes and answers, with the data of one citizen's day at the
one-stop counter of UBND phường Hải Châu (Đà Nẵng), for the published description: a generated
client's documentation and the schema's readers see real shapes, and Schemathesis sends the
request examples as they are. Each is checked against its own schema by the tests."""

from __future__ import annotations

import copy
from typing import Any

_LAN = "6f1c2b0e-3a51-4f9e-9c1d-5b7e2a8d4c10"
_CCCD = "0b7d9e52-6c1a-4d43-8e0f-2a9c5b1d7e36"
_XN = "9a4e1c7b-2d58-4b6f-a3e0-7c1d5f9b2e48"
_GCNKH = "c3d8a1f6-5e2b-4c79-b0d4-8f6a2e1c9b57"
_GRANT = "4e9b2c7d-1f6a-4a85-9d3e-6b0c8f2a5d19"
_DOSSIER = "7d2f5a9c-8b1e-4e36-a4c0-3e9d6b2f1a84"
_REQUEST = "2a6c9e1f-4b7d-4d58-8a2e-9f3c1b6d0e75"
_SESSION = "5c8e1a4d-9f2b-4b63-b7d1-0a4e8c2f6b93"
_DELEGATION = "8f3b6d2a-5c9e-4f17-a1b8-4d7e0c3a9f26"
_CHILD = "1e5a8c3f-7b2d-4c94-9e6a-2b8f5d1c7a40"
_HELPER = "3b7f0d4e-6a1c-4e28-8b5f-9d2a6e0c4b81"
_NOTICE = "e2a9d6b3-0c4f-4d71-b5e8-1f7c3a9d6e02"
_FRONT = "f4a7c2e9-8b3d-4f16-a5e0-2c9d7b1f6a38"
_BACK = "a1d6f3b8-2e9c-4a57-b8f1-5e3a0c7d9b24"
_SHA = "9f2c4e7a1b8d3f6e0a5c9b2d7e4f1a8c3b6d0e9f2a5c8b1d4e7f0a3c6b9d2e5f"
_AGENCY = {"code": "UBND-HAICHAU", "name": "UBND phường Hải Châu"}
_OFFICER = {"username": "canbo.hoa", "name": "Lê Thị Hoa", "agency": _AGENCY}
_LAN_REF = {"full_name": "Nguyễn Thị Lan", "national_id": "048195001234"}
_CHECKPOINT = (
    "kho.danang.gov.vn/audit\n48213\nq3N8mZ2vT6xB0dF4hK9pS1uW5yA7cE3gJ2lN6rV0tX4=\n\n"
    "— kho.danang.gov.vn/audit 3f9a2c1eW8sL2kQ7vB4nX9mZ1tR6yP0dF5hJ3gC8aE2uK7oI4=\n"
)
_TOKEN = "vt_citizen_Jx3N9kQ2mR7sT4vW8yZ1bC5dF6gH0jK"

_PAPER = {
    "id": _CCCD,
    "doc_type": "CCCD",
    "title": "Căn cước công dân",
    "number": "048195001234",
    "content_type": "application/pdf",
    "size": 284_913,
    "sha256": _SHA,
    "pages": 2,
    "version": 1,
    "issued_on": "2021-06-15",
    "expires_on": "2035-03-08",
    "trust": "self_scan",
    "filename": "can-cuoc-cong-dan.pdf",
    "has_thumbnail": True,
    "issuer": None,
    "created_at": "2026-12-07T02:15:40Z",
    "updated_at": "2026-12-07T02:15:40Z",
}
_READING = {
    "status": "done",
    "source": "qr",
    "suggested_doc_type": "CCCD",
    "fields": {
        "number": "048195001234",
        "full_name": "Nguyễn Thị Lan",
        "date_of_birth": "1995-03-08",
        "issued_on": "2021-06-15",
        "expires_on": "2035-03-08",
        "address": "12 Lê Duẩn, phường Hải Châu, Đà Nẵng",
    },
    "confidence": 1.0,
    "warnings": [],
    "detail": None,
    "accepted": False,
}
_GRANT_VIEW = {
    "id": _GRANT,
    "agency": "UBND-HAICHAU",
    "agency_name": "UBND phường Hải Châu",
    "document_ids": [_CCCD, _XN],
    "purpose": "Đăng ký kết hôn tại UBND phường Hải Châu",
    "created_at": "2026-12-07T02:20:00Z",
    "expires_at": "2026-12-14T02:20:00Z",
    "max_uses": 10,
    "uses": 0,
    "status": "active",
    "revoked_at": None,
    "masks": {},
}
_ATTACHMENT = {
    "doc_type": "CCCD",
    "document_id": _CCCD,
    "version": 1,
    "reused": True,
    "title": "Căn cước công dân",
    "content_type": "application/pdf",
    "pages": 2,
    "trust": "self_scan",
    "issued_on": "2021-06-15",
    "expires_on": "2035-03-08",
}
_DOSSIER_VIEW = {
    "id": _DOSSIER,
    "procedure": "1.000894",
    "procedure_name": "Đăng ký kết hôn",
    "agency": "UBND-HAICHAU",
    "agency_name": "UBND phường Hải Châu",
    "status": "submitted",
    "attachments": [_ATTACHMENT],
    "missing": [],
    "form": {"ho_ten_ben_kia": "Lê Văn Bình", "so_dinh_danh_ben_kia": "048094009876"},
    "history": [
        {"status": "draft", "at": "2026-12-07T02:30:00Z", "actor_type": "citizen", "note": None},
        {
            "status": "submitted",
            "at": "2026-12-07T02:41:12Z",
            "actor_type": "citizen",
            "note": None,
        },
    ],
    "created_at": "2026-12-07T02:30:00Z",
    "submitted_at": "2026-12-07T02:41:12Z",
    "closed_at": None,
    "grant_id": _GRANT,
    "result_document_id": None,
}
_ASSIST_REQUEST = {
    "id": _REQUEST,
    "status": "pending",
    "officer": _OFFICER,
    "scopes": ["documents:read", "dossiers:write"],
    "minutes": 30,
    "identity_check": "chip_card",
    "note": "Nộp hồ sơ đăng ký kết hôn tại quầy",
    "citizen_name_masked": "Nguyễn T** L**",
    "created_at": "2026-12-07T02:05:00Z",
    "expires_at": "2026-12-07T02:15:00Z",
}
_DELEGATION_VIEW = {
    "id": _DELEGATION,
    "direction": "given",
    "kind": "personal",
    "status": "active",
    "citizen": {"id": _LAN, "name": "Nguyễn Thị Lan"},
    "delegate": {"id": "a7c2e9f4-3b6d-4a18-9e5c-0d8b2f6a1c73", "name": "Nguyễn Văn Hùng"},
    "scopes": ["documents:read", "dossiers:write"],
    "expires_on": "2027-06-30",
    "ends_at": "2027-06-30T16:59:59Z",
    "created_at": "2026-12-07T03:00:00Z",
    "accepted_at": "2026-12-07T03:12:00Z",
    "ended_at": None,
    "ended_by": None,
}
_HELPER_VIEW = {
    "id": _HELPER,
    "kind": "phone",
    "address": "0905123456",
    "name": "Con trai Minh",
    "verified": True,
}

# By the name of the schema in components/schemas; a list of them is shown as a list of one.
SCHEMAS: dict[str, Any] = {
    "CitizenCreate": {
        "national_id": "048195001234",
        "full_name": "Nguyễn Thị Lan",
        "password": "một mật khẩu dài",
        "phone": "0905123456",
    },
    "CitizenPublic": {
        "id": _LAN,
        "national_id": "048195001234",
        "full_name": "Nguyễn Thị Lan",
        "phone": "0905123456",
        "date_of_birth": "1995-03-08",
        "address": "12 Lê Duẩn, phường Hải Châu, Đà Nẵng",
        "created_at": "2026-12-07T02:00:00Z",
    },
    "ProfileUpdate": {
        "date_of_birth": "1995-03-08",
        "address": "12 Lê Duẩn, phường Hải Châu, Đà Nẵng",
    },
    "TokenPublic": {"access_token": _TOKEN, "token_type": "bearer", "expires_in": 3600},
    "OfficerTokenPublic": {
        "access_token": "vt_officer_Qm4R8tV2xZ6bD9fH3kN7pS1uW5yA0cE",
        "token_type": "bearer",
        "expires_in": 3600,
        "officer": _OFFICER,
    },
    "OfficerPublic": _OFFICER,
    "DocumentTypePublic": {
        "code": "CCCD",
        "name_vi": "Căn cước công dân",
        "name_en": "Citizen identity card",
        "expires": True,
        "validity_months": None,
    },
    "DocumentPublic": _PAPER,
    "DocumentRead": {**_PAPER, "reading": _READING},
    "ReadingAccept": {"doc_type": "CCCD", "number": "048195001234", "expires_on": "2035-03-08"},
    "SignaturePublic": {
        "document_id": _GCNKH,
        "version": 1,
        "issuer": _AGENCY,
        "algorithm": "ed25519",
        "signature": "mQ3rT8vX1zB5dF9hK2nP6sV0yC4gJ7lN3qU8wA1eI5oR9tY2xZ6bD0fH4kM8pS==",
        "sha256": _SHA,
        "public_key": "-----BEGIN PUBLIC KEY-----\n"
        "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
        "-----END PUBLIC KEY-----\n",
        "valid": True,
        "key_is_current": True,
    },
    "GrantCreate": {
        "agency": "UBND-HAICHAU",
        "document_ids": [_CCCD, _XN],
        "purpose": "Đăng ký kết hôn tại UBND phường Hải Châu",
        "expires_in_days": 7,
        "max_uses": 10,
    },
    "GrantPublic": _GRANT_VIEW,
    "GrantCreated": {
        **_GRANT_VIEW,
        "token": "s_7Kq2Wm9Xp4Rt8Vz3Bn6Dc1Fh5Jl0Gs",
        "share_url": "https://kho.danang.gov.vn/s/s_7Kq2Wm9Xp4Rt8Vz3Bn6Dc1Fh5Jl0Gs",
    },
    "AccessLogEntry": {
        "time": "2026-12-07T03:05:10Z",
        "action": "share.download",
        "outcome": "success",
        "reason": None,
        "agency": _AGENCY,
        "officer": None,
        "acting_session_id": None,
        "grant_id": _GRANT,
        "document_id": _CCCD,
        "doc_type": "CCCD",
        "purpose": "Đăng ký kết hôn tại UBND phường Hải Châu",
        "delegate": None,
        "masked": False,
    },
    "SharedPublic": {
        "grant_id": _GRANT,
        "purpose": "Đăng ký kết hôn tại UBND phường Hải Châu",
        "expires_at": "2026-12-14T02:20:00Z",
        "max_uses": 10,
        "uses": 1,
        "citizen": _LAN_REF,
        "papers": [
            {
                **{k: v for k, v in _PAPER.items() if k in _ATTACHMENT or k in ("id", "size")},
                "id": _CCCD,
                "number": "048195001234",
                "masked": False,
            }
        ],
    },
    "ProcedurePublic": {
        "code": "1.000894",
        "name": "Đăng ký kết hôn",
        "name_en": "Marriage registration",
        "agency_level": "commune",
        "result_doc_type": "GCNKH",
        "requirements": [
            {
                "doc_type": "XNTTHN",
                "required": True,
                "max_age_days": 180,
                "min_trust": "self_scan",
                "note": "Giấy xác nhận tình trạng hôn nhân còn trong 6 tháng",
            }
        ],
        "form_fields": [
            {
                "name": "ho_ten_ben_kia",
                "label": "Họ tên bên kia",
                "type": "text",
                "required": True,
                "source": None,
                "options": None,
            }
        ],
    },
    "DossierCreate": {"procedure": "1.000894", "agency": "UBND-HAICHAU"},
    "DossierPublic": _DOSSIER_VIEW,
    "AgencyDossierPublic": {**_DOSSIER_VIEW, "citizen": _LAN_REF},
    "StatusChange": {"status": "needs_supplement", "note": "Bổ sung ảnh chân dung 4x6"},
    "StatsPublic": {
        "dossiers_submitted": 128,
        "papers_from_vault": 301,
        "papers_uploaded": 74,
        "reuse_rate": 0.8026,
        "by_procedure": [
            {
                "procedure": "1.000894",
                "name": "Đăng ký kết hôn",
                "dossiers_submitted": 41,
                "papers_from_vault": 97,
                "papers_uploaded": 18,
                "reuse_rate": 0.8435,
            }
        ],
    },
    "NoticePublic": {
        "id": _NOTICE,
        "kind": "paper_expiring",
        "title": "Giấy tờ sắp hết hạn",
        "body": "Hộ chiếu của bạn hết hạn ngày 05/01/2027.",
        "link": f"/documents/{_CCCD}",
        "created_at": "2026-12-07T00:00:05Z",
        "read_at": None,
    },
    "NotificationSettingsPublic": {
        "email": "lan.nguyen@example.vn",
        "email_verified": True,
        "channels": {"email": True, "webhook": False},
        "expiry_days_before": [30, 7],
        "helpers": [_HELPER_VIEW],
    },
    "NotificationSettingsUpdate": {
        "email": "lan.nguyen@example.vn",
        "channels": {"email": True},
        "expiry_days_before": [30, 7],
    },
    "CodeSubmit": {"code": "482915"},
    "HelperCreate": {"phone": "0905123456", "name": "Con trai Minh"},
    "HelperPublic": _HELPER_VIEW,
    "AssistRequestCreate": {
        "national_id": "048195001234",
        "scopes": ["documents:read", "dossiers:write"],
        "minutes": 30,
        "identity_check": "chip_card",
        "note": "Nộp hồ sơ đăng ký kết hôn tại quầy",
    },
    "AssistRequestCreated": {
        "id": _REQUEST,
        "status": "pending",
        "citizen_name_masked": "Nguyễn T** L**",
        "expires_at": "2026-12-07T02:15:00Z",
    },
    "AssistRequestPublic": _ASSIST_REQUEST,
    "CounterConsent": {"password": "một mật khẩu dài"},
    "ActingSessionCreated": {
        "id": _SESSION,
        "access_token": "vt_acting_Lp5Nr9Tv3Xz7Bd1Fh6Jm0Qs4Uw8Ya2Ce",
        "token_type": "bearer",
        "expires_at": "2026-12-07T02:40:00Z",
        "scopes": ["documents:read", "dossiers:write"],
    },
    "AssistSessionPublic": {
        "id": _SESSION,
        "kind": "officer",
        "officer": _OFFICER,
        "delegate": None,
        "scopes": ["documents:read", "dossiers:write"],
        "started_at": "2026-12-07T02:10:00Z",
        "expires_at": "2026-12-07T02:40:00Z",
        "ended_at": "2026-12-07T02:42:30Z",
        "end_reason": "actor",
        "live": False,
        "actions": [
            {
                "time": "2026-12-07T02:41:12Z",
                "action": "dossier.submit",
                "outcome": "success",
                "document_id": None,
                "grant_id": _GRANT,
                "doc_type": None,
                "text": "Nộp hồ sơ Đăng ký kết hôn tới UBND phường Hải Châu",
            }
        ],
    },
    "CurrentActingPublic": {
        "id": _SESSION,
        "citizen_name": "Nguyễn Thị Lan",
        "scopes": ["documents:read", "dossiers:write"],
        "expires_at": "2026-12-07T02:40:00Z",
    },
    "CertificationCreate": {
        "document_id": _CCCD,
        "version": 1,
        "note": "Chứng thực bản sao từ bản chính",
    },
    "CertificationPublic": {
        "statement": "eyJkb2N1bWVudF9pZCI6IjBiN2Q5ZTUyIiwidmVyc2lvbiI6MX0",
        "signature": "p3Xk8Rm2Tz6Vb0Nd4Fh9Jq1Ls5Wy7Ac3Ee8Gi2Ko6Mu0Ow4Qs",
        "key_id": "UBND-HAICHAU-2026",
        "algorithm": "Ed25519",
        "note": "Chứng thực bản sao từ bản chính",
    },
    "AgencyKeysPublic": {
        "keys": [
            {
                "key_id": "UBND-HAICHAU-2026",
                "use": "certify",
                "algorithm": "Ed25519",
                "public_key": "Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE",
            }
        ]
    },
    "PasswordResetCreate": {"national_id": "048195001234", "identity_check": "chip_card"},
    "PasswordResetCode": {"reset_code": "K7M2P9QX", "expires_at": "2026-12-07T02:30:00Z"},
    "PasswordReset": {
        "national_id": "048195001234",
        "reset_code": "K7M2P9QX",
        "new_password": "mật khẩu mới thật dài",
    },
    "RecoveryCodesPublic": {
        "codes": [
            "4HX7-K2PD",
            "9MQ3-T8VB",
            "R6NW-2ZJC",
            "C5LF-7YGA",
            "W3TE-9KPM",
            "8BDX-4QRN",
            "P2VJ-6HSW",
            "Z7GK-3MCT",
            "5NRY-8FLB",
            "J4WQ-2XDE",
        ]
    },
    "DelegationCreate": {
        "national_id": "048090004321",
        "scopes": ["documents:read", "dossiers:write"],
        "expires_on": "2027-06-30",
    },
    "DelegationPublic": _DELEGATION_VIEW,
    "DelegationSessionCreate": {"scopes": ["documents:read"], "minutes": 30},
    "DependentCreate": {
        "national_id": "048220001234",
        "full_name": "Trần Minh Khang",
        "date_of_birth": "2020-09-15",
        "relationship": "mother",
        "birth_certificate_id": "d4b8e2a6-1c5f-4e93-a7d0-6f2b9c4e8a13",
    },
    "DependentPublic": {
        "id": _CHILD,
        "full_name": "Trần Minh Khang",
        "date_of_birth": "2020-09-15",
        "relationship": "mother",
        "birth_certificate_id": "d4b8e2a6-1c5f-4e93-a7d0-6f2b9c4e8a13",
        "delegation_id": _DELEGATION,
        "status": "active",
        "adult_on": "2038-09-15",
        "claimed": False,
    },
    "VerifierKey": {
        "verifier_key": "kho.danang.gov.vn/audit+3f9a2c1e"
        "+AaH9vXqZ0s1Ue2Kf3l4Mm5Nn6Oo7Pp8Qq9Rr0Ss1Tt2",
        "algorithm": "Ed25519",
    },
}

_PAPER_FORM = {
    "doc_type": "CCCD",
    "title": "Căn cước công dân",
    "number": "048195001234",
    "issued_on": "2021-06-15",
    "expires_on": "2035-03-08",
}
# Bodies that name no schema of their own, by operation id.
OPERATIONS: dict[str, Any] = {
    # The pages as resumable uploads (/uploads) already finished, front and back of the card.
    "documents.upload": {**_PAPER_FORM, "upload_id": [_FRONT, _BACK]},
    "documents.add_version": {"number": "048195001234", "upload_id": [_FRONT, _BACK]},
    "dossiers.attach": {"doc_type": "XNTTHN", "upload_id": [_FRONT]},
    "agency_dossiers.deposit_result": {
        "doc_type": "GCNKH",
        "number": "15/2026/GCNKH-UBND",
        "issued_on": "2026-12-09",
        "signature": "mQ3rT8vX1zB5dF9hK2nP6sV0yC4gJ7lN3qU8wA1eI5oR9tY2xZ6bD0fH4kM8pS==",
        "file": ["%PDF-1.7 … (the signed PDF, sent as a file part)"],
    },
    "dossiers.update_form": {
        "ho_ten_ben_kia": "Lê Văn Bình",
        "so_dinh_danh_ben_kia": "048094009876",
        "ngay_sinh_ben_kia": "1994-05-02",
    },
    "auth.login": {"username": "048195001234", "password": "một mật khẩu dài"},
    "officer.login": {"username": "canbo.hoa", "password": "mật khẩu của cán bộ"},
    "agency.token": {
        "grant_type": "client_credentials",
        "client_id": "ubnd-haichau-3f9a2c1e",
        "client_secret": "cs_Zr8Xk2Vm6Tq0Pn4Lj9Hf3Db7Ba1Yw5",
    },
    "audit.latest_checkpoint": _CHECKPOINT,
    "citizens.audit_proof": {
        "checkpoint": _CHECKPOINT,
        "tree_size": 48213,
        "leaf_index": 48120,
        "leaf_hash": _SHA,
        "inclusion": [_SHA[::-1]],
        "events": [
            {
                "chain": _LAN,
                "seq": 1,
                "occurred_at": 1_796_610_000_000_000,
                "actor_type": "citizen",
                "actor_id": _LAN,
                "action": "document.upload",
                "outcome": "success",
                "reason": None,
                "document_id": _CCCD,
                "grant_id": None,
                "agency_id": None,
                "details": {"doc_type": "CCCD"},
                "prev_hash": "0" * 64,
                "hash": _SHA,
            }
        ],
    },
}


def attach(spec: dict[str, Any], operation_id: str) -> None:
    """The example of each request body and JSON success answer of one operation."""
    bodies = [spec.get("requestBody", {})]
    bodies += [answer for code, answer in spec["responses"].items() if code.startswith("2")]
    for body in bodies:
        for kind, media in body.get("content", {}).items():
            example = _example(media.get("schema", {}), operation_id)
            if example is not None and kind != "application/offset+octet-stream":
                media["example"] = copy.deepcopy(example)


def _example(schema: dict[str, Any], operation_id: str) -> Any:
    """A named schema's own example; else the operation's, for a body of its own."""
    for alternative in schema.get("anyOf", ()):
        found = _example(alternative, operation_id)
        if found is not None:
            return found
    name = schema.get("$ref", "").rpartition("/")[2]
    if name in SCHEMAS:
        return SCHEMAS[name]
    if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        item = _example(schema["items"], operation_id)
        return None if item is None else [item]
    if schema.get("format") == "binary" or schema.get("type") == "null":
        return None
    return OPERATIONS.get(operation_id)

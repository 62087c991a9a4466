"""Schemathesis over the whole published schema, each operation called with the credentials its
security names (a citizen's or an agency's bearer token): no 5xx, and every response documented
as it really is (status code, media type, schema).

The vault is seeded first (papers, an issued paper, grants, dossiers), and generated path
parameters and body fields are now and then swapped for the ids and values of those objects, so
that operations get past their 404s and 422s to the code behind them."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from schemathesis import APIOperation, AuthContext, Case, HookContext
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Stack
from tests.dossiers.test_dossiers import FORM, MARRIAGE, TODAY
from tests.support import files
from tests.support.api import (
    PASSWORD,
    Account,
    AgencyAccount,
    register,
    register_agency,
    share,
    upload,
)
from vault import db
from vault.crypto import signatures
from vault.notices import contacts, inbox, texts
from vault.notices.models import Contact
from vault.settings import Settings

pytestmark = pytest.mark.servers  # a minute or two of fuzzing: the full tier, not the edit loop

MAX_EXAMPLES = 50
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
PAPER = files.pdf()
DOC_TYPES = ["GKS", "CCCD", "XNTTHN", "GCNKH"]


@pytest.fixture
def stack() -> Stack:
    return Stack("sqlite", "file")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The agency routes must answer as themselves, not 429 once a minute's refusals are spent."""
    return settings.model_copy(update={"anonymous_per_minute": 1_000_000})


@dataclass
class World:
    """Who the fuzzer's requests act as, and the values that name real objects."""

    tokens: dict[str, str]
    tokens_by_operation: dict[str, str]
    ids: dict[str, list[Any]]
    ids_by_operation: dict[str, dict[str, list[Any]]]
    fields: dict[str, list[Any]]
    cases: Counter[str] = field(default_factory=Counter)

    def token_for(self, operation: APIOperation) -> str | None:
        if operation.label in self.tokens_by_operation:
            return self.tokens_by_operation[operation.label]
        for requirement in operation.definition.raw.get("security", []):
            for scheme in requirement:
                if scheme in self.tokens:
                    return self.tokens[scheme]
        return None

    def ids_for(self, operation: APIOperation) -> dict[str, list[Any]]:
        return {**self.ids, **self.ids_by_operation.get(operation.label, {})}


def _sometimes_real(generated: Any, known: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """The generated values as they are, or with each that has a real counterpart swapped."""
    if not isinstance(generated, dict) or not known.keys() & generated.keys():
        return st.just(generated)
    real = st.fixed_dictionaries(
        {
            name: st.sampled_from(known[name]) if name in known else st.just(value)
            for name, value in generated.items()
        }
    )
    return st.one_of(st.just(generated), real)


def _seed(client: TestClient) -> World:
    private_pem, public_pem = signatures.generate()
    agency = register_agency(client, "UBND-FUZZ", public_key_pem=public_pem)
    citizen = register(client)
    cccd = upload(client, citizen, ("cccd.pdf", PAPER), doc_type="CCCD").json()
    xn = upload(client, citizen, ("xn.pdf", PAPER), doc_type="XNTTHN", issued_on=str(TODAY)).json()
    photo = upload(client, citizen, ("gks.jpg", files.jpeg_with_gps()), doc_type="GKS").json()
    spare = upload(client, citizen, ("spare.pdf", PAPER), doc_type="GKS").json()
    grant = share(client, citizen, agency.code, cccd["id"], photo["id"]).json()
    spare_grant = share(client, citizen, agency.code, cccd["id"]).json()
    signature = base64.b64encode(
        signatures.sign(private_pem, hashlib.sha256(PAPER).digest())
    ).decode()
    submitted, awaiting, decided = (_dossier(client, citizen, agency.code) for _ in range(3))
    issued = upload(
        client,
        agency,
        ("kq.pdf", PAPER),
        path=f"/api/v1/agency/dossiers/{decided['id']}/result",
        doc_type="GCNKH",
        signature=signature,
    ).json()
    draft = _dossier(client, citizen, agency.code, submit=False)
    second_login = client.post(
        "/api/v1/auth/token", data={"username": citizen.national_id, "password": PASSWORD}
    ).json()["access_token"]
    leaving = register(client, full_name="Trần Thị Bình")
    upload(client, leaving, ("cccd.pdf", PAPER), doc_type="CCCD")
    notice = _notice(client, citizen, submitted["id"])
    helper, spare_helper = (_helper(client, citizen) for _ in range(2))
    agency_dossier = {"dossier_id": [submitted["id"]]}
    return World(
        tokens={"citizen": _bearer(citizen), "agency": _bearer(agency)},
        # Each ends its token: it gets one of its own, and the rest keep theirs.
        tokens_by_operation={
            "POST /api/v1/auth/logout": second_login,
            "DELETE /api/v1/citizens/me": _bearer(leaving),
        },
        ids={
            "document_id": [cccd["id"], xn["id"], photo["id"], issued["id"]],
            "version": [1],
            "grant_id": [grant["id"]],
            "token": [grant["token"]],
            "dossier_id": [draft["id"]],
            "doc_type": DOC_TYPES,
            "code": [MARRIAGE],
            "notice_id": [notice],
            "helper_id": [helper],
        },
        # Operations that end what they act on get objects of their own.
        ids_by_operation={
            "DELETE /api/v1/documents/{document_id}": {"document_id": [spare["id"]]},
            "DELETE /api/v1/grants/{grant_id}": {"grant_id": [spare_grant["id"]]},
            "GET /api/v1/documents/{document_id}/signature": {"document_id": [issued["id"]]},
            "GET /api/v1/agency/dossiers/{dossier_id}": agency_dossier,
            "GET /api/v1/agency/dossiers/{dossier_id}/documents/{document_id}/content": (
                agency_dossier
            ),
            "POST /api/v1/agency/dossiers/{dossier_id}/status": agency_dossier,
            "POST /api/v1/agency/dossiers/{dossier_id}/result": {"dossier_id": [awaiting["id"]]},
            "DELETE /api/v1/citizens/me/notifications/helpers/{helper_id}": {
                "helper_id": [spare_helper]
            },
        },
        fields={
            "file": [[PAPER]],
            "doc_type": DOC_TYPES,
            "signature": [signature],
            "agency": [agency.code],
            "document_ids": [[cccd["id"]], [cccd["id"], photo["id"]]],
            "procedure": [MARRIAGE],
            "username": [citizen.national_id],
            "password": [PASSWORD],
            "grant_type": ["client_credentials"],
            "client_id": [agency.client_id],
            "client_secret": [agency.client_secret],
            "code": [_code(client, helper)],
            "phone": ["0905123456"],
            "expiry_days_before": [[30, 7], [90, 30, 7, 1]],
        },
    )


def _notice(client: TestClient, citizen: Account, dossier: str) -> str:
    state = client.app.state  # type: ignore[attr-defined]
    news = texts.dossier_status(1, uuid.UUID(dossier), "submitted", "Kết hôn", "UBND", None)
    with db.unit_of_work(state.engine) as session:
        row = inbox.announce(session, state.backend.keyring, uuid.UUID(citizen.id), news)
        assert row is not None
        return str(row.id)


def _helper(client: TestClient, citizen: Account) -> str:
    added = client.post(
        "/api/v1/citizens/me/notifications/helpers",
        headers=citizen.headers,
        json={"phone": "0905123456", "name": "Minh"},
    )
    assert added.status_code == 201, added.text
    return str(added.json()["id"])


def _code(client: TestClient, helper: str) -> str:
    """The code sent to the helper, so that verifying it is fuzzed past its 422."""
    state = client.app.state  # type: ignore[attr-defined]
    with db.unit_of_work(state.engine, writes=False) as session:
        contact = session.get(Contact, uuid.UUID(helper))
        assert contact is not None
        return contacts.opened(session, state.backend.keyring, contact).code or ""


def _bearer(account: Account | AgencyAccount) -> str:
    return account.headers["Authorization"].removeprefix("Bearer ")


def _dossier(client: TestClient, citizen: Account, agency: str, *, submit: bool = True) -> Any:
    created = client.post(
        "/api/v1/dossiers", headers=citizen.headers, json={"procedure": MARRIAGE, "agency": agency}
    ).json()
    path = f"/api/v1/dossiers/{created['id']}"
    filled = client.patch(f"{path}/form", headers=citizen.headers, json=FORM)
    if not submit:
        return filled.json()
    submitted = client.post(f"{path}/submit", headers=citizen.headers)
    assert submitted.status_code == 200, submitted.text
    return submitted.json()


@pytest.fixture
def world(client: TestClient, capsys: pytest.CaptureFixture[str]) -> Iterator[World]:
    world = _seed(client)
    yield world
    with capsys.disabled():
        print(
            f"\nfuzzed {len(world.cases)} operations, {sum(world.cases.values())} cases "
            f"(at most {MAX_EXAMPLES} fuzzed per operation, with the examples and coverage phases)"
        )


@pytest.fixture
def vault_schema(
    app: FastAPI, world: World, request: pytest.FixtureRequest
) -> schemathesis.BaseSchema:
    if not hasattr(request.node, "_nodeid"):  # read by Schemathesis 4.32, gone in pytest 9.2
        request.node._nodeid = request.node.nodeid
    config = schemathesis.Config.from_dict(
        {"generation": {"max-examples": MAX_EXAMPLES, "database": "none"}}
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

    class Credentials:
        def get(self, case: Case, context: AuthContext) -> str | None:
            return world.token_for(context.operation)

        def set(self, case: Case, token: str, context: AuthContext) -> None:
            case.headers["Authorization"] = f"Bearer {token}"

    schema.auth.auth(refresh_interval=None, retry_on=[])(Credentials)

    def flatmap_path_parameters(context: HookContext, parameters: Any) -> st.SearchStrategy[Any]:
        assert context.operation is not None
        return _sometimes_real(parameters, world.ids_for(context.operation))

    def flatmap_body(context: HookContext, body: Any) -> st.SearchStrategy[Any]:
        assert context.operation is not None
        content = context.operation.definition.raw.get("requestBody", {}).get("content", {})
        if "multipart/form-data" not in content or not isinstance(body, dict):
            # A paper's bytes only go in a form's file part; a JSON body cannot carry them.
            return _sometimes_real(body, {k: v for k, v in world.fields.items() if k != "file"})
        # A part the form does not name is refused by design: a real paper comes alone.
        named = content["multipart/form-data"]["schema"]["properties"]
        paper = {
            name: st.sampled_from(world.fields[name]) for name in named if name in world.fields
        }
        return st.one_of(st.just(body), st.fixed_dictionaries(paper))

    schema.hook(flatmap_path_parameters)
    schema.hook(flatmap_body)
    return schema


fuzzed = schemathesis.pytest.from_fixture("vault_schema")


@fuzzed.parametrize()
def test_no_server_error_and_every_response_as_documented(case: Case, world: World) -> None:
    world.cases[case.operation.label] += 1
    case.call_and_validate(checks=CHECKS)

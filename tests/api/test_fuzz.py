"""Schemathesis over the whole published schema with all its checks, each operation called with
the credentials its security names: the citizen's own token, or — every other case on a route
whose scopes an acting token may hold — an officer's acting token for that citizen, given with
the citizen's consent; an agency's client-credentials token; an officer's token. No 5xx, every
response documented as it really is (status code, media type, headers, schema), and every
request the schema calls valid accepted unless the schema documents the rule that refused it.

The vault is seeded first (papers, an issued paper, grants, dossiers), and generated path
parameters and body fields are now and then swapped for the ids and values of those objects, so
that operations get past their 404s and 422s to the code behind them."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis import APIOperation, AuthContext, Case, HookContext

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
from tests.support.assist import ActingToken, OfficerAccount, open_acting, register_officer
from vault import db
from vault.accounts import citizens
from vault.crypto import signatures
from vault.notices import contacts, texts
from vault.notices.models import Contact
from vault.settings import Settings

# A tus chunk is raw bytes, sent as Schemathesis sends any binary body.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

pytestmark = pytest.mark.servers  # a minute or two of fuzzing: the full tier, not the edit loop

MAX_EXAMPLES = 50
# The same cases on every run of the first test, so that a red run is the code's doing and can be
# replayed; a new seed (VAULT_FUZZ_SEED) explores further. The linked sequences cannot be replayed
# (each step depends on what the server answered), and vary from run to run.
SEED = int(os.environ.get("VAULT_FUZZ_SEED", "18"))
STATEFUL_EXAMPLES = 50
STATEFUL_STEPS = 6
# Schemathesis's own expectation of a valid request's answer.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]
MISSING = ["400", "401", "403", "406", "415", "422"]
ALL_SCOPES = ("documents:read", "documents:write", "grants:write", "dossiers:write")
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
    acting: str
    tokens_by_operation: dict[str, str]
    ids: dict[str, list[Any]]
    ids_by_operation: dict[str, dict[str, list[Any]]]
    fields: dict[str, list[Any]]
    cases: Counter[str] = field(default_factory=Counter)
    pick: random.Random = field(default_factory=lambda: random.Random(18))
    link_sources: set[str] = field(default_factory=set)

    def token_for(self, operation: APIOperation) -> str | None:
        if operation.label in self.tokens_by_operation:
            return self.tokens_by_operation[operation.label]
        for requirement in operation.definition.raw.get("security", []):
            for scheme, scopes in requirement.items():
                if scopes and self.cases[operation.label] % 2:
                    return self.acting
                if scheme in self.tokens:
                    return self.tokens[scheme]
        return None

    def ids_for(self, operation: APIOperation) -> dict[str, list[Any]]:
        return {**self.ids, **self.ids_by_operation.get(operation.label, {})}

    def realistic(self, case: Case) -> Case:
        """Half the valid cases get real ids and values, to reach the code behind the 404s;
        an invalid case stays as generated, so that what it breaks is what gets refused."""
        if case.meta is None or not case.meta.generation.mode.is_positive:
            return case
        if case.meta.phase.name == "stateful" and case.operation.label not in self.link_sources:
            return case  # a link gives it the ids an earlier answer made
        if self.pick.random() < 0.5:
            return case
        # Schemathesis judges a changed component again; only what changes is set, and a form
        # with a file part is left alone: a changed one is judged invalid for its bytes.
        parameters = _real(case.path_parameters, self.ids_for(case.operation), self.pick)
        if parameters != case.path_parameters:
            case.path_parameters = parameters
        if case.media_type in ("application/json", "application/x-www-form-urlencoded"):
            body = _real(case.body, self.fields, self.pick)
            if body != case.body:
                case.body = body
        return case


def _real(generated: Any, known: dict[str, list[Any]], pick: random.Random) -> Any:
    """The generated values with each that has a real counterpart swapped for one."""
    if not isinstance(generated, dict):
        return generated
    return {name: pick.choice(known[name]) if name in known else v for name, v in generated.items()}


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
    officer = register_officer(client, agency.code)
    acting = open_acting(client, officer, citizen, ALL_SCOPES)
    spare_acting = open_acting(client, officer, citizen, ALL_SCOPES)
    pending = _ask(client, officer, citizen)
    return World(
        tokens={
            "citizen": _bearer(citizen),
            "agency": _bearer(agency),
            "officer": _bearer(officer),
            "any": _bearer(officer),
        },
        acting=_bearer(acting),
        # Each ends its token: it gets one of its own, and the rest keep theirs.
        tokens_by_operation={
            "POST /api/v1/auth/logout": second_login,
            "DELETE /api/v1/citizens/me": _bearer(leaving),
            "POST /api/v1/officer/logout": _bearer(register_officer(client, agency.code)),
            "DELETE /api/v1/assist/sessions/{session_id}": _bearer(citizen),
            "POST /api/v1/assist/requests/{request_id}/approve": _bearer(citizen),
            "POST /api/v1/assist/requests/{request_id}/decline": _bearer(citizen),
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
            "request_id": [pending],
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
            "DELETE /api/v1/assist/sessions/{session_id}": {"session_id": [spare_acting.id]},
        },
        fields={
            "doc_type": DOC_TYPES,
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
            "national_id": [citizen.national_id],
            "scopes": [list(ALL_SCOPES), ["documents:read"]],
            "identity_check": ["chip_card"],
        },
    )


def _ask(client: TestClient, officer: OfficerAccount, citizen: Account) -> str:
    """A request the citizen has not answered yet: approving or declining it is fuzzed."""
    asked = client.post(
        "/api/v1/assist/requests",
        headers=officer.headers,
        json={
            "national_id": citizen.national_id,
            "scopes": ["documents:read"],
            "identity_check": "chip_card",
        },
    )
    assert asked.status_code == 201, asked.text
    return str(asked.json()["id"])


def _notice(client: TestClient, citizen: Account, dossier: str) -> str:
    state = client.app.state  # type: ignore[attr-defined]
    news = texts.dossier_status(1, uuid.UUID(dossier), "submitted", "Kết hôn", "UBND", None)
    with db.unit_of_work(state.engine) as session:
        row = citizens.announce(session, state.backend.keyring, uuid.UUID(citizen.id), news)
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


def _bearer(account: Account | AgencyAccount | OfficerAccount | ActingToken) -> str:
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
def world(
    client: TestClient, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> Iterator[World]:
    world = _seed(client)
    yield world
    with capsys.disabled():
        print(
            f"\n{request.node.name}: {len(world.cases)} operations, "
            f"{sum(world.cases.values())} cases generated"
            + (f" (seed {SEED})" if "vault_schema" in request.fixturenames else "")
        )


@pytest.fixture
def vault_schema(
    app: FastAPI, world: World, request: pytest.FixtureRequest
) -> schemathesis.BaseSchema:
    if not hasattr(request.node, "_nodeid"):  # read by Schemathesis 4.32, gone in pytest 9.2
        request.node._nodeid = request.node.nodeid
    return _load(app, world, {"seed": SEED})


def _load(
    app: FastAPI, world: World, seeded: dict[str, int], *, stateful: bool = False
) -> schemathesis.BaseSchema:
    """The schema as served, with the world's credentials and values; `seeded`: a fixed seed,
    or none for the linked sequences, whose steps depend on the server's answers and so cannot
    be replayed from a seed."""
    config = schemathesis.Config.from_dict(
        {
            **seeded,
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "operations": list(_expectations(app.openapi())),
            **({"phases": {"stateful": {"inference": {"algorithms": []}}}} if stateful else {}),
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

    class Credentials:
        def get(self, case: Case, context: AuthContext) -> str | None:
            return world.token_for(context.operation)

        def set(self, case: Case, token: str, context: AuthContext) -> None:
            case.headers["Authorization"] = f"Bearer {token}"

    schema.auth.auth(refresh_interval=None, retry_on=[])(Credentials)

    def map_case(context: HookContext, case: Case) -> Case:
        world.cases[case.operation.label] += 1
        return world.realistic(case)

    def filter_case(context: HookContext, case: Case) -> bool:
        return not _empty_list_for_a_form_field(case)

    schema.hook(map_case)
    schema.hook(filter_case)
    return schema


def _empty_list_for_a_form_field(case: Case) -> bool:
    """An empty list in a form sends no part at all: on the wire the same request as the field
    left out, which is valid, though Schemathesis counts it as a negation of a text field."""
    if case.media_type != "multipart/form-data" or not isinstance(case.body, dict):
        return False
    content = case.operation.definition.raw["requestBody"]["content"]
    declared = content["multipart/form-data"]["schema"]["properties"]
    return any(
        value == [] and declared.get(name, {}).get("type") != "array"
        for name, value in case.body.items()
    )


def _expectations(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Where the schema itself says an answer differs from Schemathesis's defaults."""
    for path, methods in spec["paths"].items():
        for operation in methods.values():
            checks: dict[str, Any] = {}
            # A valid request may still be refused where the schema says in words what it
            # refuses (a value that must name an existing agency, a birth year the ID encodes).
            beyond = operation.get("x-refuses-beyond-schema")
            if beyond:
                statuses = [*ACCEPTED, *map(str, beyond["statuses"])]
                checks["positive_data_acceptance"] = {"expected-statuses": statuses}
            # tus 1.0.0 answers 412 to a request without its Tus-Resumable header, and 413 to
            # an Upload-Length over the limit.
            tus = sorted({"412", "413"} & set(operation["responses"]))
            if "412" in tus:
                checks["negative_data_rejection"] = {"expected-statuses": [*REJECTED, *tus]}
                checks["missing_required_header"] = {"expected-statuses": [*MISSING, *tus]}
            # DELETE /assist/sessions/{session_id} takes this URL too, and rightly answers
            # 422 (`current` is not a session id), where Schemathesis looks for a 405.
            if path == "/api/v1/assist/sessions/current":
                checks["unsupported_method"] = {"enabled": False}
            if checks:
                yield {"include-operation-id": operation["operationId"], "checks": checks}


fuzzed = schemathesis.pytest.from_fixture("vault_schema")


@fuzzed.parametrize()
def test_no_server_error_and_every_response_as_documented(case: Case, world: World) -> None:
    case.call_and_validate()


def test_linked_calls_hold_to_the_schema_too(app: FastAPI, world: World) -> None:
    """Sequences along the schema's links (a grant made, then opened and fetched by its agency;
    a dossier made, then filled and sent), each answer checked as above."""
    spec = app.openapi()
    world.link_sources = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if any("links" in answer for answer in operation.get("responses", {}).values())
    }
    base = _load(app, world, {}, stateful=True).as_state_machine()
    calls: Counter[str] = Counter()

    class Machine(base):  # type: ignore[valid-type,misc]
        """Hypothesis replays sequences that start alike and requires the same draws to meet the
        same answers: each sequence starts from the same picks and token turns, and follows only
        the links the schema declares (no ids inferred from lists of earlier sequences' work)."""

        def setup(self) -> None:
            world.pick.seed(18)
            world.cases.clear()

        def teardown(self) -> None:
            calls.update(world.cases)

    machine = Machine
    machine.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    world.cases = calls

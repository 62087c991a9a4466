"""The published OpenAPI description as a contract: readable operation ids, every refusal as the
problem document the server really sends, downloads typed, examples that fit their schemas, and
the rules the server enforces said in the schema. Schemathesis checks the running server
against it (test_fuzz.py); these check the description itself."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.api import register, register_agency, upload
from tests.support.files import pdf
from vault.api import contract

ERRORS = {"400", "401", "403", "404", "409", "410", "412", "413", "415", "416", "422", "429"}


@pytest.fixture
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


def _validator(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**schema, "components": spec["components"]})


def test_every_operation_has_a_readable_id_from_the_table(
    app: FastAPI, spec: dict[str, Any]
) -> None:
    ids = [operation["operationId"] for _, operation in _operations(spec)]
    assert len(ids) == len(set(ids)) == len(contract.OPERATIONS)
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", i) for i in ids), ids
    assert {key for key, _, _ in contract.routes(app)} == set(contract.OPERATIONS)
    assert dict(_operations(spec))["POST /api/v1/documents"]["operationId"] == "documents.upload"
    assert all(operation.get("tags") for _, operation in _operations(spec))


def test_every_refusal_is_a_problem_document_and_nothing_is_left_to_ranges(
    spec: dict[str, Any],
) -> None:
    for label, operation in _operations(spec):
        codes = set(operation["responses"])
        assert not codes & {"4XX", "5XX", "default"}, label
        for code in codes - {"200", "201", "204", "206", "304"}:
            content = operation["responses"][code]["content"]
            assert content == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (label, code)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_what_each_operation_may_answer_follows_from_what_it_takes(
    spec: dict[str, Any],
) -> None:
    operations = dict(_operations(spec))

    def codes(label: str) -> set[str]:
        return set(operations[label]["responses"])

    assert {"401", "403", "404", "422", "503"} <= codes("GET /api/v1/documents/{document_id}")
    assert {"400", "413", "415", "422", "429"} <= codes("POST /api/v1/documents")
    assert {"401", "403", "410", "429"} <= codes("GET /api/v1/shared/{token}")
    assert "401" not in codes("GET /api/v1/document-types")
    assert codes("GET /api/v1/document-types") & ERRORS == set()
    assert "412" in codes("PATCH /api/v1/uploads/{upload_id}")
    assert "409" in codes("POST /api/v1/dossiers/{dossier_id}/submit")


def test_the_documented_problem_is_the_one_sent(client: TestClient, spec: dict[str, Any]) -> None:
    problem = _validator(spec, {"$ref": "#/components/schemas/Problem"})
    citizen = register(client)
    json_headers = citizen.headers | {"Content-Type": "application/json"}
    refused = [
        client.post("/api/v1/grants", headers=citizen.headers, json={"agency": "x"}),
        client.post("/api/v1/grants", headers=json_headers, content=b"{"),
        client.get(
            f"/api/v1/documents/{'0' * 8}-0000-4000-8000-{'0' * 12}", headers=citizen.headers
        ),
        client.get("/api/v1/documents/not-an-id", headers=citizen.headers),
        client.get("/api/v1/documents"),
    ]
    assert [r.status_code for r in refused] == [422, 400, 404, 422, 401]
    for answer in refused:
        assert answer.headers["content-type"] == "application/problem+json"
        problem.validate(answer.json())
    assert refused[0].json()["errors"][0]["loc"] == ["body", "agency"]


def test_downloads_are_typed_binary(spec: dict[str, Any]) -> None:
    operations = dict(_operations(spec))
    paper = operations["GET /api/v1/shared/{token}/documents/{document_id}/content"]
    content = paper["responses"]["200"]["content"]
    assert set(content) == {"application/pdf", "image/jpeg", "image/png"}
    assert all(c["schema"] == {"type": "string", "format": "binary"} for c in content.values())
    ranged = operations["GET /api/v1/documents/{document_id}/content"]["responses"]
    assert {"206", "304", "416"} <= set(ranged)
    export = operations["GET /api/v1/citizens/me/export"]["responses"]["200"]["content"]
    assert set(export) == {"application/zip"}
    qr = operations["GET /api/v1/grants/{grant_id}/qr"]["responses"]["200"]["content"]
    assert set(qr) == {"image/png"}


def test_every_body_and_answer_has_an_example_that_fits_its_schema(
    spec: dict[str, Any],
) -> None:
    checked = 0
    for label, operation in _operations(spec):
        media = [*operation.get("requestBody", {}).get("content", {}).items()]
        for code, answer in operation["responses"].items():
            if code.startswith("2"):
                media += answer.get("content", {}).items()
        for kind, declared in media:
            if declared["schema"].get("format") == "binary":
                continue
            assert "example" in declared, (label, kind)
            if kind == "multipart/form-data" and "file" in declared["example"]:
                continue  # a file part is bytes, which JSON cannot hold
            _validator(spec, declared["schema"]).validate(declared["example"])
            checked += 1
    assert checked > 80  # 88 when written


def test_the_schema_says_what_the_server_enforces(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    grant = schemas["GrantCreate"]["properties"]
    max_uses = grant["max_uses"]["anyOf"][0]
    assert (max_uses["minimum"], max_uses["maximum"]) == (1, 10_000)
    assert (grant["expires_in_days"]["minimum"], grant["expires_in_days"]["maximum"]) == (1, 90)
    assert grant["agency"]["pattern"] == schemas["DossierCreate"]["properties"]["agency"]["pattern"]
    assert schemas["DependentCreate"]["properties"]["national_id"]["pattern"]
    operations = dict(_operations(spec))
    dependents = operations["POST /api/v1/dependents"]
    assert "date_of_birth" in dependents["x-refuses-beyond-schema"]["rules"]
    assert "date_of_birth" in dependents["responses"]["422"]["description"]
    grants = operations["POST /api/v1/grants"]
    assert "agency code" in grants["x-refuses-beyond-schema"]["rules"]


def test_a_grant_outside_the_documented_bounds_is_refused_as_documented(
    client: TestClient,
) -> None:
    agency = register_agency(client, "UBND-HAICHAU", "UBND phường Hải Châu")
    citizen = register(client)
    paper = upload(client, citizen, ("cccd.pdf", pdf()), doc_type="CCCD").json()
    body = {"agency": agency.code, "document_ids": [paper["id"]], "purpose": "Đăng ký kết hôn"}
    for bad in ({"max_uses": 0}, {"max_uses": 10_001}, {"agency": "Ủy ban"}, {"purpose": " "}):
        refused = client.post("/api/v1/grants", headers=citizen.headers, json=body | bad)
        assert refused.status_code == 422, (bad, refused.text)
    made = client.post("/api/v1/grants", headers=citizen.headers, json=body | {"max_uses": 10_000})
    assert made.status_code == 201, made.text


def test_links_lead_from_an_answer_to_the_operations_it_opens(spec: dict[str, Any]) -> None:
    operations = {operation["operationId"]: operation for _, operation in _operations(spec)}
    fetch = operations["grants.create"]["responses"]["201"]["links"]["fetch"]
    assert fetch["operationId"] == "shared.fetch"
    assert fetch["parameters"]["token"] == "$response.body#/token"
    for _, operation in _operations(spec):
        for answer in operation["responses"].values():
            for link in answer.get("links", {}).values():
                target = operations[link["operationId"]]
                names = {p["name"] for p in target.get("parameters", ())}
                assert set(link["parameters"]) <= names, link

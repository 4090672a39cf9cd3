"""The API describes itself: an OpenAPI 3 schema and browsable documentation."""

from __future__ import annotations

import json

from django.test import Client

from tests.conftest import body


def test_it_publishes_an_openapi_3_schema_of_every_resource(clinician_client: Client) -> None:
    response = clinician_client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "OpenIOP API"
    paths = set(schema["paths"])
    for expected in (
        "/api/v1/patients/",
        "/api/v1/patients/{id}/",
        "/api/v1/patients/search/",
        "/api/v1/facilities/",
        "/api/v1/programs/",
        "/api/v1/staff/",
        "/api/v1/audit-events/",
    ):
        assert expected in paths
    assert set(schema["paths"]["/api/v1/patients/search/"]) == {"post"}
    assert "delete" not in schema["paths"]["/api/v1/patients/{id}/"]
    assert set(schema["paths"]["/api/v1/audit-events/{id}/"]) == {"get"}
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_it_serves_the_schema_as_yaml_by_default(clinician_client: Client) -> None:
    response = clinician_client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert body(response).startswith("openapi: 3.")


def test_it_serves_the_documentation_page_from_our_own_static_files(
    clinician_client: Client,
) -> None:
    response = clinician_client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    text = body(response)
    assert "swagger-ui" in text
    assert "/static/drf_spectacular_sidecar/" in text
    assert "cdn.jsdelivr.net" not in text

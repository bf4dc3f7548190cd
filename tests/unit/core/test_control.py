"""The control API: health, reset, state, journal, faults, clock, actions — validated too."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

AUTH = {"Authorization": "Bearer jobmock"}
JOB = {"name": "nightly", "agent_name": "crawler"}


@pytest.fixture
def client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client("nimble")


def create_job(client: FlaskClient) -> str:
    response = client.post("/nimble/v1/jobs", json=JOB, headers=AUTH)
    assert response.status_code == 201
    job_id: str = response.json["id"]
    return job_id


def test_health_lists_the_mounts(client: FlaskClient) -> None:
    body = client.get("/__jobmock/health").json
    assert body == {"status": "ok", "apis": {"nimble": "/nimble"}, "virtual_clock": True}


def test_reset_forgets_state_and_restarts_ids(client: FlaskClient) -> None:
    create_job(client)
    assert client.post("/__jobmock/reset").json == {"reset": ["nimble"]}
    assert client.get("/nimble/v1/jobs", headers=AUTH).json["total"] == 0
    assert create_job(client) == "job_1"


def test_reset_of_one_api(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nimble", "nemo")
    create_job(client)
    assert client.post("/__jobmock/reset", json={"api": "nemo"}).json == {"reset": ["nemo"]}
    assert client.get("/nimble/v1/jobs", headers=AUTH).json["total"] == 1


def test_reset_of_an_unserved_api_says_which_are_served(client: FlaskClient) -> None:
    response = client.post("/__jobmock/reset", json={"api": "sap"})
    assert response.status_code == 404 and "served: nimble" in response.json["error"]


def test_state_round_trips(make_client: Callable[..., FlaskClient]) -> None:
    first = make_client("nimble")
    create_job(first)
    state = first.get("/__jobmock/state").json
    second = make_client("nimble")
    assert second.put("/__jobmock/state", json=state).json == {"loaded": True}
    assert second.get("/nimble/v1/jobs/job_1", headers=AUTH).json["name"] == "nightly"
    assert create_job(second) == "job_2"


def test_state_fixture_loads_at_start(make_client: Callable[..., FlaskClient]) -> None:
    source = make_client("nimble")
    create_job(source)
    fixture = source.get("/__jobmock/state").json
    seeded = make_client("nimble", fixture=fixture)
    assert seeded.get("/nimble/v1/jobs", headers=AUTH).json["total"] == 1


def test_invalid_state_document_is_refused(client: FlaskClient) -> None:
    response = client.put("/__jobmock/state", json={"nothing": 1})
    assert response.status_code == 400 and "store" in response.json["issues"][0]


def test_journal_records_and_filters_and_masks_secrets(client: FlaskClient) -> None:
    create_job(client)
    client.get("/nimble/v1/jobs/job_9", headers=AUTH)
    entries = client.get(
        "/__jobmock/journal?operation=get_job_v1_jobs__job_id__get").json["entries"]
    assert [(e["status"], e["path"]) for e in entries] == [(404, "/nimble/v1/jobs/job_9")]
    assert entries[0]["request_headers"]["authorization"] == "***"
    assert "jobmock" not in str(client.get("/__jobmock/journal").json)


def test_journal_can_be_cleared(client: FlaskClient) -> None:
    create_job(client)
    client.delete("/__jobmock/journal")
    assert client.get("/__jobmock/journal").json == {"entries": []}


def test_fault_injects_documented_errors_with_a_seeded_probability(client: FlaskClient) -> None:
    create_job(client)
    fault = {"api": "nimble", "operation": "get_job_v1_jobs__job_id__get",
             "probability": 1.0, "statuses": [404], "seed": 3}
    assert client.put("/__jobmock/faults", json=fault).status_code == 200
    response = client.get("/nimble/v1/jobs/job_1", headers=AUTH)
    assert response.status_code == 404
    assert response.json == {"detail": "jobmock: injected fault"}
    entry = client.get("/__jobmock/journal?limit=1").json["entries"][0]
    assert entry["fault"] == "injected 404" and entry["response_violations"] == []
    client.delete("/__jobmock/faults")
    assert client.get("/nimble/v1/jobs/job_1", headers=AUTH).status_code == 200


def test_fault_only_uses_statuses_the_operation_documents(client: FlaskClient) -> None:
    fault = {"api": "nimble", "probability": 1.0, "statuses": [503]}
    client.put("/__jobmock/faults", json=fault)
    assert client.get("/nimble/v1/jobs", headers=AUTH).status_code == 200


def test_fault_on_an_unknown_operation_names_the_known_ones(client: FlaskClient) -> None:
    response = client.put("/__jobmock/faults", json={"api": "nimble", "operation": "nope"})
    assert response.status_code == 404 and "list_jobs_v1_jobs_get" in response.json["error"]


def test_fault_with_a_bad_probability_is_refused(client: FlaskClient) -> None:
    response = client.put("/__jobmock/faults", json={"api": "nimble", "probability": 2})
    assert response.status_code == 400


def test_virtual_clock_advances(client: FlaskClient) -> None:
    before = client.get("/__jobmock/clock").json
    after = client.post("/__jobmock/clock", json={"advance": 3600}).json
    assert before["virtual"] and after["now"] > before["now"]
    assert after["now"].startswith("2026-01-01T01:00")


def test_real_clock_refuses_to_advance(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nimble", random_seed=None)
    response = client.post("/__jobmock/clock", json={"advance": 1})
    assert response.status_code == 409 and "real time" in response.json["error"]


def test_actions_are_listed_with_their_docs(client: FlaskClient) -> None:
    actions = client.get("/__jobmock/apis/nimble/actions").json["actions"]
    docs = {a["name"]: a["doc"] for a in actions}
    assert "RUNNING" in docs["set-run-status"]


def test_unknown_action_and_bad_arguments(client: FlaskClient) -> None:
    unknown = client.post("/__jobmock/apis/nimble/actions/explode", json={})
    assert unknown.status_code == 404 and "set-run-status" in unknown.json["error"]
    bad = client.post("/__jobmock/apis/nimble/actions/set-run-status", json={"color": "red"})
    assert bad.status_code == 400 and "run_id" in bad.json["error"]


def test_control_requests_are_validated(client: FlaskClient) -> None:
    response = client.post("/__jobmock/clock", json={"advance": "soon"})
    assert response.status_code == 400
    assert response.json["issues"] == ["body.advance: 'soon' is not of type 'number'"]

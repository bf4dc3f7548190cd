"""Tenants never see each other's data (reads, list filters, pagination, the journal), and no
secret shows in the journal, error bodies or the server log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.security.conftest import Watched, request_bytes, send_raw

WS_A, WS_B = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
NEMO = "/nemo/apis/jobs/v2/workspaces"
KEY = {"x-api-key": "jobmock"}
BEARER = {"Authorization": "Bearer jobmock"}


def _nemo_job(name: str) -> dict[str, Any]:
    return {"name": name, "spec": {"model": "m"}, "source": "nemo-evaluator",
            "platform_spec": {"steps": [{"name": "evaluate", "executor": {"provider": "gpu"}}]}}


def _intuned_job(job_id: str) -> dict[str, Any]:
    return {"id": job_id, "configuration": {"retry": {"maximumAttempts": 1}},
            "payload": [{"apiName": "scrape", "parameters": {}}]}


def test_nemo_workspaces_are_isolated(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nemo")
    for workspace, count in (("ws-a", 3), ("ws-b", 2)):
        for n in range(count):
            created = client.post(f"{NEMO}/{workspace}/jobs", json=_nemo_job(f"{workspace}-{n}"))
            assert created.status_code == 201
    assert client.get(f"{NEMO}/ws-a/jobs/ws-b-0").status_code == 404
    assert client.get(f"{NEMO}/ws-a/jobs/ws-b-0/status").status_code == 404
    assert client.post(f"{NEMO}/ws-a/jobs/ws-b-0/cancel").status_code == 404
    assert client.delete(f"{NEMO}/ws-a/jobs/ws-b-0").status_code == 404
    seen = set()
    for page in (1, 2, 3):  # every page of ws-a, whatever the filter says
        for query in ("", "&filter[workspace]=ws-b", "&filter[name]=ws-b-0"):
            listed = client.get(f"{NEMO}/ws-a/jobs?page={page}&page_size=1{query}").json
            seen |= {job["name"] for job in listed["data"]}
            assert all(job["workspace"] == "ws-a" for job in listed["data"])
    assert seen == {"ws-a-0", "ws-a-1", "ws-a-2"}
    assert client.get(f"{NEMO}/ws-b/jobs/ws-b-0").status_code == 200  # untouched


def test_intuned_workspaces_and_projects_are_isolated(
        make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("intuned")
    tenants = [(WS_A, "shop"), (WS_A, "other"), (WS_B, "shop")]
    for ws, project in tenants:
        created = client.post(f"/intuned/{ws}/projects/{project}/jobs", headers=KEY,
                              json=_intuned_job(f"job-{project}-{ws[:1]}"))
        assert created.status_code == 201, created.data
    for ws, project in tenants:
        listed = client.get(f"/intuned/{ws}/projects/{project}/jobs", headers=KEY).json
        assert [job["id"] for job in listed] == [f"job-{project}-{ws[:1]}"]
    same_id = client.post(f"/intuned/{WS_B}/projects/other/jobs", headers=KEY,
                          json=_intuned_job("job-other-1"))
    assert same_id.status_code == 201  # ids are per project: no clash with WS_A's
    foreign = client.get(f"/intuned/{WS_B}/projects/shop/jobs/job-shop-1", headers=KEY)
    assert foreign.status_code == 404
    triggered = client.post(f"/intuned/{WS_A}/projects/shop/jobs/job-shop-1/trigger",
                            headers=KEY)
    assert triggered.status_code == 200
    run_id = triggered.json["jobRunId"]
    elsewhere = client.get(f"/intuned/{WS_B}/projects/shop/jobs/job-shop-1/runs/{run_id}",
                           headers=KEY)
    assert elsewhere.status_code == 404


def test_bullmq_queues_are_isolated(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("bullmq")
    client.post("/bullmq/queues/queue-a/jobs", headers=BEARER,
                json=[{"name": f"a{n}", "data": {"secret": n}} for n in range(3)])
    client.post("/bullmq/queues/queue-b/jobs", headers=BEARER, json=[{"name": "b0", "data": {}}])
    job_b = client.get("/bullmq/queues/queue-b/jobs/1", headers=BEARER).json
    assert job_b["name"] == "b0"
    assert client.get("/bullmq/queues/queue-b/jobs/2", headers=BEARER).status_code == 404
    listed = client.get("/bullmq/queues/queue-b/jobs?statuses=waiting&start=0&length=10",
                        headers=BEARER).json
    assert [job["name"] for job in listed["jobs"]] == ["b0"]
    assert listed["counts"]["waiting"] == 1
    for start in (0, 1, 2):  # Redis-style slices never reach into another queue
        page = client.get(f"/bullmq/queues/queue-a/jobs?statuses=waiting&start={start}"
                          "&length=1", headers=BEARER).json
        assert all(job["name"].startswith("a") for job in page["jobs"])


def test_journal_filters_by_api_and_resets_per_api(
        make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nimble", "bullmq")
    client.get("/nimble/v1/jobs", headers=BEARER)
    client.get("/bullmq/queues/queue-a/jobs", headers=BEARER)
    nimble = client.get("/__jobmock/journal?api=nimble").json["entries"]
    assert [e["api"] for e in nimble] == ["nimble"]
    client.post("/__jobmock/reset", json={"api": "bullmq"})
    left = client.get("/__jobmock/journal").json["entries"]
    assert [e["api"] for e in left] == ["nimble"]


# -- secrets ----------------------------------------------------------------------------------

SECRET = "sup3r-s3cret-value"


def test_journal_masks_credentials_everywhere(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("bullmq", "intuned", auth_tokens=(SECRET,), api_key=SECRET)
    auth = {"Authorization": f"Bearer {SECRET}"}
    client.get(f"/bullmq/queues/queue-a/jobs?token={SECRET}&access_token={SECRET}&start=0",
               headers={**auth, "Cookie": f"session={SECRET}", "X-Auth-Token": SECRET,
                        "Proxy-Authorization": SECRET})
    client.get(f"/intuned/{WS_A}/projects/p/jobs?api_key={SECRET}",
               headers={"x-api-key": SECRET})
    client.post("/bullmq/workers", headers=auth, json={
        "queue": "queue-a", "endpoint": {"url": "http://127.0.0.1:9/w", "method": "POST",
                                         "headers": {"Authorization": f"Bearer {SECRET}"}}})
    client.get("/bullmq/queues/queue-a/jobs", headers={"Authorization": f"Bearer {SECRET}x"})
    journal = client.get("/__jobmock/journal").get_data(as_text=True)
    assert journal.count('"***"') >= 8
    assert SECRET not in journal
    entries = client.get("/__jobmock/journal").json["entries"]
    assert entries[0]["query"]["start"] == ["0"]  # ordinary parameters are kept


def test_error_bodies_never_echo_credentials(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client(token=SECRET, api_key=SECRET, auth_tokens=(SECRET,),
                         basic_user="u", basic_password=SECRET, nemo_auth=True)
    attempts = [
        ("/sap/scheduler/jobs", {"Authorization": f"Basic {SECRET}"}),
        ("/sap/scheduler/jobs", {"Authorization": f"Bearer {SECRET}x"}),
        ("/nemo/apis/jobs/v2/workspaces/w/jobs", {"Authorization": f"Bearer {SECRET}x"}),
        ("/bullmq/queues/queue-a/jobs", {"Authorization": f"Bearer {SECRET}x"}),
        (f"/intuned/{WS_A}/projects/p/jobs", {"x-api-key": f"{SECRET}x"}),
        ("/nimble/v1/jobs", {"Authorization": f"Bearer {SECRET}x"}),
    ]
    for path, headers in attempts:
        response = client.get(path, headers=headers)
        assert 400 <= response.status_code < 500
        assert SECRET not in response.get_data(as_text=True), (path, response.data)


def test_server_log_masks_query_credentials(watched_server: Callable[..., Watched],
                                            caplog: pytest.LogCaptureFixture) -> None:
    server = watched_server(apis=("nimble",))
    caplog.set_level(logging.INFO, logger="werkzeug")
    logging.getLogger("werkzeug").setLevel(logging.INFO)
    send_raw(server.port, request_bytes("GET", f"/nimble/v1/jobs?token={SECRET}",
                                        {"Authorization": f"Bearer {SECRET}"},
                                        version="HTTP/9.9"))  # logged as an error line
    send_raw(server.port, request_bytes("GET", f"/nimble/v1/jobs?api_key={SECRET}&x=1",
                                        {"Authorization": "Bearer jobmock"}))
    logged = server.log.text + caplog.text
    assert "token=***" in logged and "api_key=***" in logged
    assert SECRET not in logged

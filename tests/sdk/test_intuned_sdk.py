"""Intuned's official Python SDK (PyPI `intuned-client==1.1.1`) against the mock, unchanged.

The client is built exactly as the SDK's README shows; only `base_url` (the mock's
`<server>/intuned`, below which the paths are Intuned's own `/{workspaceId}/projects/...`) and
the API key (`jobmock`) change. The SDK checks each status exactly (create: 201 only) and parses
every answer into its pydantic models (required fields, `Literal` enums), so a wrong shape fails
here as it would fail its users. The models allow extra fields, so the test also asserts that
the mock sends none the SDK does not know.

Setup: `pip install 'intuned-client==1.1.1'` (part of the dev extra). Without it the test is
skipped, or fails when `CI=true`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from mockserver.server import ServerThread
from tests.sdk.sdk_models import undeclared_fields

try:
    import intuned_client
    from intuned_client import IntunedClient, models
    from intuned_client.exceptions import AuthenticationError, NotFoundError, ValidationError
except ImportError:  # pragma: no cover - depends on the environment
    intuned_client = None

SETUP = "pip install 'intuned-client==1.1.1' (in the dev extra: pip install -e '.[dev]')"
WORKSPACE = "123e4567-e89b-12d3-a456-426614174000"
PROJECT = "my-project"
API_KEY = "jobmock"


@pytest.fixture
def sdk_installed() -> None:
    if intuned_client is None:
        message = f"intuned-client is not installed; run: {SETUP}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture
def server(sdk_installed: None, live_server: Callable[..., ServerThread]) -> ServerThread:
    return live_server(apis=("intuned",))


@pytest.fixture
def client(server: ServerThread) -> Iterator[Any]:
    with IntunedClient(api_key=API_KEY, workspace_id=WORKSPACE,
                       base_url=f"{server.url}/intuned") as sdk:
        yield sdk


def _job_body(job_id: str) -> Any:
    return models.JobsCreateRequestBody(
        id=job_id,
        payload=[
            models.JobsCreateRequestBodyPayloadItem(api_name="scrape-list",
                                                    parameters={"page": 1}),
            models.JobsCreateRequestBodyPayloadItem(api_name="scrape-list",
                                                    parameters={"page": 2}),
        ],
        configuration=models.JobsCreateRequestBodyConfiguration(
            retry=models.JobsCreateRequestBodyConfigurationRetry(maximum_attempts=2),
            max_concurrent_requests=2,
        ),
        proxy="http://proxy.example.com:8080",
    )


def test_job_lifecycle_through_the_sdk(client: Any, server: ServerThread) -> None:
    jobs, runs = client.projects.jobs, client.projects.jobs.runs

    created = jobs.create(project_name=PROJECT, body=_job_body("nightly-scrape"))
    assert (created.id, created.message) == ("nightly-scrape", "created")

    job = jobs.get(project_name=PROJECT, job_id="nightly-scrape")
    assert (job.id, job.state, job.proxy) == ("nightly-scrape", "ACTIVE",
                                              "http://proxy.example.com:8080")
    assert [(p.api_name, p.parameters) for p in job.payload] == [
        ("scrape-list", {"page": 1}), ("scrape-list", {"page": 2})]
    assert job.configuration.retry.maximum_attempts == 2
    assert job.configuration.max_concurrent_requests == 2
    assert job.project_id and job.last_run_time is None
    listed = jobs.list(project_name=PROJECT)
    assert [(j.id, j.workspace_id, j.project_id) for j in listed] == [
        ("nightly-scrape", WORKSPACE, job.project_id)]
    assert listed[0].proxy.url == "http://proxy.example.com:8080"

    first = jobs.trigger(project_name=PROJECT, job_id="nightly-scrape")
    assert first.job_run_id.startswith("jr_") and first.message
    second = jobs.trigger(project_name=PROJECT, job_id="nightly-scrape")
    assert second.job_run_id not in ("", first.job_run_id)

    page = runs.list(project_name=PROJECT, job_id="nightly-scrape")
    assert page.total_count == 2
    assert {r.id for r in page.job_runs} == {first.job_run_id, second.job_run_id}
    assert {(r.job_id, r.type, r.status, r.payloads) for r in page.job_runs} == {
        ("nightly-scrape", "MANUAL", "PENDING", 2)}
    one = runs.list(project_name=PROJECT, job_id="nightly-scrape", page_size="1",
                    page_number="1", sort_by="start_time,asc")
    assert (one.total_count, [r.id for r in one.job_runs]) == (2, [second.job_run_id])

    # The seed operation: a pending run, every required field and the snapshot of the job.
    got = runs.get(project_name=PROJECT, job_id="nightly-scrape", job_run_id=first.job_run_id)
    run = got.job_run
    assert (run.id, run.job_id, run.workspace_id, run.project_id) == (
        first.job_run_id, "nightly-scrape", WORKSPACE, job.project_id)
    assert (run.status, run.type, run.end_time, got.results) == ("PENDING", "MANUAL", None, None)
    assert (run.payloads, run.successful_runs, run.failed_runs) == (2, 0, 0)
    snapshot = run.job_configuration_snapshot
    assert snapshot.configuration.retry.maximum_attempts == 2
    assert (snapshot.proxy.version, snapshot.proxy.url) == ("v1",
                                                            "http://proxy.example.com:8080")
    assert undeclared_fields(got) == []

    # The backend finishes the second run (control API); the SDK then sees its results.
    finished = requests.post(
        f"{server.url}/__jobmock/apis/intuned/actions/set-run-status", timeout=5,
        json={"workspace_id": WORKSPACE, "project_name": PROJECT, "job_id": "nightly-scrape",
              "run_id": second.job_run_id, "status": "SUCCESS"})
    assert finished.status_code == 200, finished.text
    done = runs.get(project_name=PROJECT, job_id="nightly-scrape", job_run_id=second.job_run_id)
    assert (done.job_run.status, done.job_run.successful_runs, done.job_run.failed_runs) == (
        "SUCCESS", 2, 0)
    assert done.job_run.end_time is not None
    assert done.results is not None and done.results.format == "json"
    assert second.job_run_id in done.results.signed_url
    assert undeclared_fields(done) == []

    terminated = runs.terminate(project_name=PROJECT, job_id="nightly-scrape",
                                job_run_id=first.job_run_id)
    assert terminated.message
    after = runs.get(project_name=PROJECT, job_id="nightly-scrape",
                     job_run_id=first.job_run_id).job_run
    assert (after.status, after.reason.type) == ("TERMINATED", "terminated")
    assert after.end_time is not None
    every = runs.list(project_name=PROJECT, job_id="nightly-scrape")
    assert {r.id: r.status for r in every.job_runs} == {first.job_run_id: "TERMINATED",
                                                        second.job_run_id: "SUCCESS"}
    assert undeclared_fields(every) == []
    assert undeclared_fields(jobs.list(project_name=PROJECT)) == []
    assert undeclared_fields(jobs.get(project_name=PROJECT, job_id="nightly-scrape")) == []


def test_pause_blocks_trigger_until_resume(client: Any) -> None:
    jobs = client.projects.jobs
    jobs.create(project_name=PROJECT, body=_job_body("paused-job"))
    assert jobs.pause(project_name=PROJECT, job_id="paused-job").message == "Paused"
    listed = jobs.list(project_name=PROJECT)
    assert (listed[0].state, listed[0].reason.type) == ("PAUSED", "paused")
    with pytest.raises(ValidationError) as refused:
        jobs.trigger(project_name=PROJECT, job_id="paused-job")
    assert refused.value.status_code == 400
    assert refused.value.body["code"] == "bad-request"
    assert jobs.resume(project_name=PROJECT, job_id="paused-job").message == "Resumed"
    assert jobs.get(project_name=PROJECT, job_id="paused-job").state == "ACTIVE"
    assert jobs.trigger(project_name=PROJECT, job_id="paused-job").job_run_id.startswith("jr_")


def test_sdk_errors(client: Any, server: ServerThread) -> None:
    jobs, runs = client.projects.jobs, client.projects.jobs.runs
    jobs.create(project_name=PROJECT, body=_job_body("errors-job"))

    with pytest.raises(NotFoundError) as missing:
        runs.get(project_name=PROJECT, job_id="errors-job", job_run_id="jr_does_not_exist")
    assert missing.value.status_code == 404
    assert missing.value.body["code"] == "not-found"
    assert "jr_does_not_exist" in missing.value.body["message"]
    with pytest.raises(NotFoundError):
        jobs.get(project_name=PROJECT, job_id="no-such-job")

    with pytest.raises(ValidationError) as duplicate:
        jobs.create(project_name=PROJECT, body=_job_body("errors-job"))
    assert duplicate.value.status_code == 400

    for key in ("wrong-key", None):
        with IntunedClient(api_key=key, workspace_id=WORKSPACE,
                           base_url=f"{server.url}/intuned") as stranger:
            with pytest.raises(AuthenticationError) as refused:
                stranger.projects.jobs.runs.list(project_name=PROJECT, job_id="errors-job")
            assert refused.value.status_code == 401
            assert refused.value.body["code"] == "unauthorized"

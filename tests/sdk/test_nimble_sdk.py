"""Nimble's official Python SDK against the mock, unchanged: 1.6.0 on /v2, 0.24.0 on /v1.

`nimble-python` 1.6.0 (PyPI, in the dev extra) is the current SDK: its typed methods call
`/v2/jobs...` only. 0.24.0 is the last release whose typed methods reach `/v1/jobs` (create,
get, the seed PATCH as `jobs.update`, list, delete, `jobs.run`, `jobs.runs.*`); both install the
same `nimble_python` package, so 0.24.0 lives in its own venv (`tests/sdk/nimble/setup.sh`, under
`.sdk-cache/`) and runs `tests/sdk/nimble/flow_v1.py` there. Each client is built as the SDK's
README shows; only `base_url` (the mock's `<server>/nimble`) and the API key (`jobmock`) change,
plus the SDK's opt-in strict response validation (`_strict_response_validation=True`), which
validates every answer against its pydantic models (required fields, `Literal` enums, types).

v1 and v2 share one job store in the mock, so a job written through one version reads back
through the other (`extract_template_name` is v2's name for `agent_name`).

Setup: `pip install 'nimble-python==1.6.0'` (dev extra) and `bash tests/sdk/nimble/setup.sh`.
Without them the tests are skipped, or fail when `CI=true`.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver.server import ServerThread
from tests.sdk.sdk_models import undeclared_fields

try:
    import nimble_python
    from nimble_python import Nimble
    from nimble_python.types.jobs import RunGetResponse
except ImportError:  # pragma: no cover - depends on the environment
    nimble_python = None

VERSION = "1.6.0"
SETUP = f"pip install 'nimble-python=={VERSION}' (in the dev extra: pip install -e '.[dev]')"
SETUP_V1 = "tests/sdk/nimble/setup.sh"
ROOT = Path(__file__).resolve().parents[2]
SIDE_VENV = ROOT / ".sdk-cache" / "nimble-0.24.0"
FLOW_V1 = Path(__file__).parent / "nimble" / "flow_v1.py"
API_KEY = "jobmock"
SCHEDULE = {"cron": "0 */6 * * *", "enabled": True}
INPUTS = {"type": "inline", "data": [{"asin": "B0CHX1W1XY"}, {"asin": "B09G9FPHY6"}]}
DESTINATION = {"type": "s3", "path": "s3://acme-results/competitors/", "format": "jsonl"}


def _setup_missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _at(milliseconds: int) -> datetime:
    """A time of the mock's virtual clock (seeded: 2026-01-01, one millisecond per write)."""
    return datetime(2026, 1, 1, 0, 0, 0, milliseconds * 1000, tzinfo=UTC)


@pytest.fixture
def sdk_installed() -> None:
    if nimble_python is None:
        _setup_missing(f"nimble-python is not installed; run: {SETUP}")
    elif nimble_python.__version__ != VERSION:
        _setup_missing(f"nimble-python {nimble_python.__version__} is installed, the test pins "
                       f"{VERSION}; run: {SETUP}")


@pytest.fixture
def server(live_server: Callable[..., ServerThread]) -> ServerThread:
    return live_server(apis=("nimble",))


@pytest.fixture
def client(sdk_installed: None, server: ServerThread) -> Iterator[Any]:
    with Nimble(api_key=API_KEY, base_url=f"{server.url}/nimble",
                _strict_response_validation=True) as sdk:
        yield sdk


def _act(server: ServerThread, name: str, **body: Any) -> dict[str, Any]:
    """A control-API action (the backend moving a run)."""
    reply = requests.post(f"{server.url}/__jobmock/apis/nimble/actions/{name}", json=body,
                          timeout=5)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def _journal(server: ServerThread, operation: str | None = None) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"api": "nimble", "limit": 500}
    if operation:
        query["operation"] = operation
    reply = requests.get(f"{server.url}/__jobmock/journal", params=query, timeout=5)
    entries: list[dict[str, Any]] = reply.json()["entries"]
    return entries


def _create(client: Any, name: str = "competitor-prices") -> Any:
    return client.jobs.create(
        name=name, extract_template_name="amazon_product_page",
        display_name="Competitor prices", description="Track two competitor listings",
        schedule=SCHEDULE, inputs=INPUTS, destination=DESTINATION)


def test_v2_jobs_through_the_current_sdk(client: Any, server: ServerThread) -> None:
    created = _create(client)
    assert (created.id, created.name, created.extract_template_name) == (
        "job_1", "competitor-prices", "amazon_product_page")
    assert (created.display_name, created.description) == (
        "Competitor prices", "Track two competitor listings")
    assert (created.schedule.cron, created.schedule.enabled) == ("0 */6 * * *", True)
    assert (created.inputs.type, created.inputs.data, created.inputs.node_data) == (
        "inline", INPUTS["data"], None)
    assert (created.destination.type, created.destination.path, created.destination.format) == (
        "s3", "s3://acme-results/competitors/", "jsonl")
    assert (created.created_at, created.updated_at) == (_at(1), _at(1))
    assert (created.last_run_at, created.last_run_status) == (None, None)
    assert undeclared_fields(created) == []
    got = client.jobs.get("job_1")
    assert got.model_dump() == created.model_dump()

    # PATCH: exactly the fields sent change; an explicit null clears one.
    updated = client.jobs.update("job_1", display_name="Competitors",
                                 schedule={"cron": "0 7 * * *", "enabled": False})
    assert updated.model_dump() == {
        **created.model_dump(), "display_name": "Competitors",
        "schedule": {"cron": "0 7 * * *", "enabled": False}, "updated_at": _at(2)}
    cleared = client.jobs.update("job_1", description=None, destination=None)
    assert (cleared.description, cleared.destination, cleared.display_name) == (
        None, None, "Competitors")
    assert client.jobs.get("job_1").model_dump() == cleared.model_dump()

    # limit / offset paging over every job, oldest first.
    node_job = client.jobs.create(name="merged", extract_template_name="catalog_merge",
                                  inputs={"type": "inline",
                                          "node_data": {"source_a": [{"sku": "A-1"}]}})
    assert (node_job.id, node_job.inputs.node_data) == ("job_2", {"source_a": [{"sku": "A-1"}]})
    _create(client, "third")
    first = client.jobs.list(limit=2)
    assert ([j.id for j in first.items], first.total, first.limit, first.offset) == (
        ["job_1", "job_2"], 3, 2, 0)
    rest = client.jobs.list(limit=2, offset=2)
    assert ([j.id for j in rest.items], rest.total, rest.offset) == (["job_3"], 3, 2)
    past = client.jobs.list(offset=5)
    assert (past.items, past.total, past.limit) == ([], 3, 20)
    assert undeclared_fields(first) == []

    assert client.jobs.delete("job_2") is None
    with pytest.raises(nimble_python.NotFoundError) as gone:
        client.jobs.get("job_2")
    assert (gone.value.status_code, gone.value.body) == (404, {"detail": "Job job_2 not found"})
    assert [j.id for j in client.jobs.list().items] == ["job_1", "job_3"]
    assert all(not e["response_violations"] for e in _journal(server))


def test_v2_runs_through_the_current_sdk(client: Any, server: ServerThread) -> None:
    job = _create(client)
    first = client.jobs.runs.create(job.id)
    assert (first.id, first.job_id, first.status, first.triggered_by) == (
        "run_1", "job_1", "PENDING", "manual")
    assert (first.created_at, first.started_at, first.finished_at) == (_at(2), None, None)
    assert (first.input_count, first.result_count) == (None, None)
    second = client.jobs.runs.create(job.id, inputs={"type": "inline",
                                                     "data": [{"asin": "B0CHX1W1XY"}]})
    assert second.id == "run_2"
    bodies = [e["request_body"] for e in _journal(
        server, "trigger_job_run_public_v2_v2_jobs__job_id__runs_post")]
    assert sorted((json.loads(b) for b in bodies), key=len) == [  # what the SDK sends
        {}, {"inputs": {"type": "inline", "data": [{"asin": "B0CHX1W1XY"}]}}]

    listed = client.jobs.runs.list(job.id)
    assert ([r.id for r in listed.items], listed.total, listed.limit, listed.offset) == (
        ["run_2", "run_1"], 2, 20, 0)
    older = client.jobs.runs.list(job.id, limit=1, offset=1)
    assert ([r.id for r in older.items], older.total) == (["run_1"], 2)
    assert undeclared_fields(listed) == []

    detail = client.jobs.runs.get("run_2")
    assert (detail.id, detail.status, detail.triggered_by) == ("run_2", "PENDING", "manual")
    assert (detail.job.id, detail.job.name, detail.job.extract_template_name) == (
        "job_1", "competitor-prices", "amazon_product_page")
    assert detail.job.schedule.model_dump() == SCHEDULE
    assert detail.inputs_sample == [{"asin": "B0CHX1W1XY"}]
    assert client.jobs.runs.get("run_1").inputs_sample == []
    assert (detail.summary.input_count, detail.summary.match_rate, detail.error) == (
        None, None, None)
    assert undeclared_fields(detail) == []
    noted = client.jobs.get(job.id)
    assert (noted.last_run_at, noted.last_run_status) == (second.created_at, "PENDING")

    # The backend runs the second run to success (control API); the SDK sees the outcome.
    _act(server, "set-run-status", run_id="run_2", status="RUNNING")
    _act(server, "set-run-status", run_id="run_2", status="SUCCESS", input_count=4,
         result_count=3)
    done = client.jobs.runs.get("run_2")
    assert (done.status, done.started_at, done.finished_at) == ("SUCCESS", _at(4), _at(5))
    assert (done.summary.input_count, done.summary.result_count, done.summary.match_rate) == (
        4, 3, 0.75)
    assert client.jobs.get(job.id).last_run_status == "SUCCESS"

    cancelled = client.jobs.runs.cancel("run_1")
    assert (cancelled.id, cancelled.status) == ("run_1", "CANCELLED")
    after = client.jobs.runs.get("run_1")
    assert (after.status, after.started_at, after.finished_at is not None) == (
        "CANCELLED", None, True)

    # A finished run cannot be cancelled: 409, which the SDK retries twice before raising.
    with pytest.raises(nimble_python.ConflictError) as refused:
        client.jobs.runs.cancel("run_2")
    assert refused.value.body == {"detail": "Run run_2 is already finished (SUCCESS)"}
    attempts = _journal(server, "cancel_run_public_v2_v2_jobs_runs__run_id__cancel_post")
    assert [e["status"] for e in attempts].count(409) == 3

    client.jobs.delete(job.id)
    with pytest.raises(nimble_python.NotFoundError) as gone:
        client.jobs.runs.get("run_1")
    assert gone.value.body == {"detail": "Run run_1 not found"}
    with pytest.raises(nimble_python.NotFoundError):
        client.jobs.runs.list(job.id)
    assert all(not e["response_violations"] for e in _journal(server))


def test_v2_errors_reach_the_sdk_as_its_typed_exceptions(client: Any,
                                                         server: ServerThread) -> None:
    with (Nimble(api_key="wrong-key", base_url=f"{server.url}/nimble",
                 _strict_response_validation=True) as stranger,
          pytest.raises(nimble_python.AuthenticationError) as denied):
        stranger.jobs.list()
    assert (denied.value.status_code, denied.value.body) == (
        401, {"detail": "Invalid or missing API key"})
    assert denied.value.response.headers["www-authenticate"] == "Bearer"

    # The SDK's TypedDicts are not enforced at run time: the mock's 422 names the field.
    with pytest.raises(nimble_python.UnprocessableEntityError) as untyped:
        client.jobs.create(name="n", extract_template_name="t",
                           inputs={"data": [{"asin": "B0CHX1W1XY"}]})
    assert [(d["type"], d["loc"]) for d in untyped.value.body["detail"]] == [
        ("missing", ["body", "inputs", "type"])]
    with pytest.raises(nimble_python.UnprocessableEntityError) as too_small:
        client.jobs.list(limit=0)
    assert [(d["type"], d["loc"], d["ctx"]) for d in too_small.value.body["detail"]] == [
        ("greater_than_equal", ["query", "limit"], {"ge": 1})]
    with pytest.raises(nimble_python.UnprocessableEntityError) as both:
        client.jobs.create(name="n", extract_template_name="t",
                           inputs={"type": "inline", "data": [{}], "node_data": {"a": [{}]}})
    assert [d["loc"] for d in both.value.body["detail"]] == [["body", "inputs"]]
    with pytest.raises(nimble_python.NotFoundError) as missing:
        client.jobs.runs.cancel("run_9")
    assert missing.value.body == {"detail": "Run run_9 not found"}


def test_strict_validation_is_really_on(client: Any) -> None:
    """The same client refuses an answer that does not fit the model it is cast to."""
    job = _create(client)
    with pytest.raises(nimble_python.APIResponseValidationError):
        client.get(f"/v2/jobs/{job.id}", cast_to=RunGetResponse)


def test_a_job_written_through_v1_reads_through_the_current_sdk(client: Any,
                                                                server: ServerThread) -> None:
    """v1 accepts inputs and destination without `type` (as the seed sends them); the v2 view
    fills it in, so the strict v2 models accept the job."""
    auth = {"Authorization": f"Bearer {API_KEY}"}
    for body in (
        {"name": "daily-product-prices", "agent_name": "amazon_product_page",
         "inputs": {"file_path": "s3://acme-inputs/products.csv"},
         "destination": {"path": "s3://acme-results/prices/", "format": "parquet"}},
        {"name": "uploaded", "agent_name": "walmart_product_page",
         "inputs": {"file_path": "file_upload_17.csv"}, "destination": {"path": "/exports/"}},
    ):
        reply = requests.post(f"{server.url}/nimble/v1/jobs", json=body, headers=auth, timeout=5)
        assert reply.status_code == 201, reply.text
    s3, uploaded = client.jobs.list().items
    assert (s3.extract_template_name, s3.inputs.type, s3.inputs.file_path) == (
        "amazon_product_page", "s3", "s3://acme-inputs/products.csv")
    assert (s3.destination.type, s3.destination.format) == ("s3", "parquet")
    assert (uploaded.inputs.type, uploaded.destination.type) == ("file", "file")
    run = client.jobs.runs.create(uploaded.id)
    v1_detail = requests.get(f"{server.url}/nimble/v1/jobs/runs/{run.id}", headers=auth,
                             timeout=5).json()
    assert v1_detail["job"]["agent_name"] == "walmart_product_page"
    assert client.jobs.runs.get(run.id).job.extract_template_name == "walmart_product_page"


# -- nimble-python 0.24.0 on /v1 (its own venv) ------------------------------------------------


@pytest.fixture
def side_python() -> Path:
    python = SIDE_VENV / "bin" / "python"
    installed = list(SIDE_VENV.glob("lib/python*/site-packages/nimble_python-0.24.0.dist-info"))
    if not (python.exists() and installed):
        _setup_missing(f"nimble-python 0.24.0 is not installed in {SIDE_VENV.relative_to(ROOT)}; "
                       f"run `bash {SETUP_V1}` first")
    return python


def test_v1_through_sdk_0_24(side_python: Path, server: ServerThread) -> None:
    done = subprocess.run([str(side_python), str(FLOW_V1), f"{server.url}/nimble", API_KEY],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"flow_v1.py failed:\n{done.stdout}\n{done.stderr}"
    out = json.loads(done.stdout)
    stamp = "2026-01-01T00:00:00.{:03d}000Z".format
    assert out["version"] == "0.24.0"

    created = out["created"]
    assert created == {
        "id": "job_1", "name": "daily-product-prices", "agent_name": "amazon_product_page",
        "display_name": "Daily product prices",
        "description": "Refresh product prices every morning",
        "schedule": {"cron": "0 6 * * *", "enabled": True},
        "inputs": {"type": "s3", "file_path": "s3://acme-inputs/products.csv", "data": None},
        "destination": {"type": "s3", "path": "s3://acme-results/prices/", "format": "parquet"},
        "last_run_at": None, "last_run_status": None,
        "created_at": stamp(1), "updated_at": stamp(1)}
    assert out["got"] == created

    # The seed PATCH through `jobs.update`: exactly the fields sent change.
    assert out["updated"] == {**created, "display_name": "Prices (morning)",
                              "schedule": {"cron": "0 7 * * *", "enabled": False},
                              "updated_at": stamp(2)}
    assert out["cleared"] == {**out["updated"], "description": None, "updated_at": stamp(3)}
    assert out["after_update"] == out["cleared"]

    assert ([j["id"] for j in out["listed"]["items"]], out["listed"]["total"],
            out["listed"]["page"], out["listed"]["per_page"]) == (["job_2"], 2, 2, 1)
    assert [j["id"] for j in out["searched"]["items"]] == ["job_1"]
    assert [j["id"] for j in out["by_agent"]["items"]] == ["job_2"]

    run = out["run"]
    assert run == {"id": "run_1", "job_id": "job_1", "status": "PENDING",
                   "triggered_by": "manual", "input_count": None, "result_count": None,
                   "started_at": None, "finished_at": None, "created_at": stamp(5)}
    assert (out["runs"]["items"], out["runs"]["total"]) == ([run], 1)
    detail = out["run_detail"]
    assert (detail["id"], detail["status"], detail["inputs_sample"]) == ("run_1", "PENDING", [])
    assert detail["job"] == {"id": "job_1", "name": "daily-product-prices",
                             "display_name": "Prices (morning)",
                             "agent_name": "amazon_product_page",
                             "schedule": {"cron": "0 7 * * *", "enabled": False}}
    assert out["cancelled"] == {"id": "run_1", "status": "CANCELLED"}
    assert (out["job_after_cancel"]["last_run_at"],
            out["job_after_cancel"]["last_run_status"]) == (stamp(5), "CANCELLED")

    assert out["delete"] is None
    assert out["deleted_get"] == {"error": "NotFoundError", "status": 404,
                                  "body": {"detail": "Job job_2 not found"}}
    assert out["missing_run"] == {"error": "NotFoundError", "status": 404,
                                  "body": {"detail": "Run run_999 not found"}}
    assert (out["bad_body"]["error"], out["bad_body"]["status"]) == (
        "UnprocessableEntityError", 422)
    assert [d["loc"] for d in out["bad_body"]["body"]["detail"]] == [
        ["body", "inputs", "file_path"]]
    assert out["wrong_key"] == {"error": "AuthenticationError", "status": 401,
                                "body": {"detail": "Invalid or missing API key"}}

    # The same job through v2 (one store): agent_name is v2's extract_template_name.
    v2 = requests.get(f"{server.url}/nimble/v2/jobs/job_1", timeout=5,
                      headers={"Authorization": f"Bearer {API_KEY}"}).json()
    assert (v2["extract_template_name"], v2["last_run_status"]) == (
        "amazon_product_page", "CANCELLED")
    assert "agent_name" not in v2
    assert all(not e["response_violations"] for e in _journal(server))

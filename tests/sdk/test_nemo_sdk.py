"""NVIDIA's NeMo Python SDKs against the mock, unchanged.

**nemo-platform 0.6.0** (`nemo_platform.NeMoPlatform`), the SDK of the Jobs v2 API the mock
serves, needs Python 3.12 or 3.13, so it runs in its own venv (`bash tests/sdk/nemo/setup.sh`
builds `.sdk-cache/nemo-venv`) as `tests/sdk/nemo/flow.py`. The flow finds the mock through
`NEMO_PLATFORM_BASE_URL=<server>/nemo` (the SDK appends `/apis/jobs/v2/...` itself), creates a
job, PATCHes its status details (`jobs.update_status_details`, the seed) while the backend (the
control API) moves it, and reads them back through `get_status` and `retrieve`; then list and
its auto-pagination, the SDK's opt-in strict response validation, cancel, delete, errors, and
a server with auth on (`access_token`). Without the setup the test is skipped, or fails when
CI=true.

**nemo-microservices 1.5.0** (`nemo_microservices.NeMoMicroservices`, the older SDK) overlaps
in no typed call: every jobs method (and those of `jobs.steps`, `jobs.tasks`, `jobs.results`)
targets `/v1/jobs/{job_id}...`, keyed by job id with no workspace, while the API (and the mock)
serves `/apis/jobs/v2/workspaces/{workspace}/jobs/{name}...`; no base URL maps one onto the
other, and its models differ too (`PlatformJob` wants `attempt`, its status wants `job_id`).
The tests show each typed call answered 404 by the mock, and what does overlap: the client's
documented generic requests (`client.post/get/patch` with a path) reaching the seed, its error
classes, and the shared types (`PlatformJobStatus`, `PlatformJobSpec`). It installs into the
project venv: `pip install nemo-microservices==1.5.0`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
import pytest
import requests

from mockserver.server import ServerThread

try:
    import nemo_microservices
    from nemo_microservices import NeMoMicroservices, NotFoundError
    from nemo_microservices.types.jobs import PlatformJob, PlatformJobSpec
    from nemo_microservices.types.jobs import (
        PlatformJobStatusResponse as V1StatusResponse,
    )
    from nemo_microservices.types.jobs.platform_job_status import PlatformJobStatus
except ImportError:  # pragma: no cover - depends on the environment
    nemo_microservices = None

REPO = Path(__file__).resolve().parents[2]
FLOW = Path(__file__).parent / "nemo" / "flow.py"
SDK_PYTHON = REPO / ".sdk-cache" / "nemo-venv" / "bin" / "python"
SETUP = "bash tests/sdk/nemo/setup.sh"
PLATFORM_VERSION = "0.6.0"
MICROSERVICES_SETUP = ("pip install nemo-microservices==1.5.0 "
                       "(in the dev extra: pip install -e '.[dev]')")
NAME = "eval-llama-3-8b"
JOBS = "/nemo/apis/jobs/v2/workspaces/default/jobs"
STATUSES = ["created", "pending", "active", "cancelled", "cancelling", "error", "completed",
            "paused", "pausing", "resuming"]
ID = re.compile(r"[a-z]+-[1-9A-HJ-NP-Za-km-z]{1,22}")


def _setup_missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _journal(server: ServerThread) -> list[dict[str, Any]]:
    reply = requests.get(f"{server.url}/__jobmock/journal", params={"api": "nemo", "limit": 200},
                         timeout=5)
    reply.raise_for_status()
    entries: list[dict[str, Any]] = reply.json()["entries"]
    return sorted(entries, key=lambda entry: entry["seq"])


# -- nemo-platform 0.6.0 -----------------------------------------------------------------------


def _sdk_python() -> Path:
    """The SDK venv's interpreter, with nemo-platform at the pinned version."""
    if not SDK_PYTHON.is_file():
        _setup_missing(f"the nemo-platform SDK venv ({SDK_PYTHON.relative_to(REPO)}) is missing;"
                       f" run `{SETUP}` first")
    done = subprocess.run(
        [str(SDK_PYTHON), "-c",
         "from importlib.metadata import version; print(version('nemo-platform'))"],
        capture_output=True, text=True, timeout=60, check=False)
    installed = done.stdout.strip()
    if done.returncode != 0 or installed != PLATFORM_VERSION:
        found = installed or done.stderr.strip()
        _setup_missing(f"nemo-platform {PLATFORM_VERSION} is not installed in "
                       f"{SDK_PYTHON.relative_to(REPO)} (found {found!r}); run `{SETUP}` first")
    return SDK_PYTHON


def _run_flow(python: Path, server: ServerThread, auth_server: ServerThread,
              home: Path) -> dict[str, Any]:
    # A clean environment: no proxy, no nmp config of the machine (HOME is empty); the SDK's
    # documented variable names the base URL.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "NEMO_PLATFORM_BASE_URL": f"{server.url}/nemo"}
    done = subprocess.run([str(python), str(FLOW), server.url, auth_server.url], env=env,
                          capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, f"flow.py failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_nemo_platform_sdk_runs_the_seed_flow(
        live_server: Callable[..., ServerThread], tmp_path: Path) -> None:
    sdk_python = _sdk_python()
    server = live_server(apis=("nemo",))
    auth_server = live_server(apis=("nemo",), nemo_auth=True)
    out = _run_flow(sdk_python, server, auth_server, tmp_path)
    assert out["base_url"] == f"{server.url}/nemo/"

    # create: typed models, the executor union resolved by `provider`.
    created = out["created"]
    assert created["type"] == "PlatformJobResponse"
    job = created["value"]
    assert ID.fullmatch(job["id"]) and job["id"].startswith("job-")
    assert ID.fullmatch(job["attempt_id"]) and job["attempt_id"].startswith("attempt-")
    assert (job["name"], job["workspace"], job["status"], job["status_details"]) == (
        NAME, "default", "created", {})
    assert (job["fileset"], job["project"], job["source"], job["custom_fields"]) == (
        f"{NAME}-files", "default/llama-evals", "nemo-evaluator", {"team": "research"})
    assert job["spec"] == {"model": "meta/llama-3.1-8b-instruct", "tasks": ["mmlu"]}
    assert job["error_details"] is None
    assert out["executors"] == ["CPUExecutionProvider", "GPUExecutionProvider"]
    steps = job["platform_spec"]["steps"]
    assert [s["name"] for s in steps] == ["prepare-data", "evaluate"]
    assert steps[0]["executor"]["container"]["image"] == "python:3.12-slim"
    assert steps[1]["executor"]["resources"]["num_gpus"] == 1
    assert steps[1]["lifecycle"] == {"staleness_timeout_seconds": 600}
    assert steps[0]["environment"][1]["from_secret"] == {"name": "hf-token"}
    unnamed = out["unnamed"]["value"]
    assert re.fullmatch(r"nemo-evaluator-[a-z]{8}", unnamed["name"])
    assert unnamed["platform_spec"]["steps"][0]["executor"]["provider"] == "subprocess"

    # The seed: update_status_details returns None (the service answers JSON null); the two
    # PATCHes merge shallowly (`metrics` replaced whole, `phase` kept).
    assert out["patched"] == [{"type": "NoneType", "value": None}] * 3
    merged = {"progress": 45, "phase": "prepare-data", "metrics": {"samples": 512, "mmlu": 0.61}}
    status = out["status"]
    assert status["type"] == "PlatformJobStatusResponse"
    assert out["step_types"] == ["PlatformJobStepStatusResponse"] * 2
    assert (status["value"]["id"], status["value"]["name"], status["value"]["status"]) == (
        job["id"], NAME, "active")
    assert status["value"]["status_details"] == merged
    assert status["value"]["created_at"] == job["created_at"]
    assert [(s["name"], s["status"], s["error_details"], s["tasks"])
            for s in status["value"]["steps"]] == [
        ("prepare-data", "active", {}, []), ("evaluate", "active", {}, [])]
    retrieved = out["retrieved"]
    assert retrieved["type"] == "PlatformJobResponse"
    assert (retrieved["value"]["id"], retrieved["value"]["attempt_id"]) == (
        job["id"], job["attempt_id"])
    assert (retrieved["value"]["status"], retrieved["value"]["status_details"]) == (
        "active", merged)
    assert {k: v for k, v in retrieved["value"].items()
            if k not in ("status", "status_details", "updated_at")} == {
        k: v for k, v in job.items() if k not in ("status", "status_details", "updated_at")}

    # list: filter, and auto-pagination (page_size=1 walks page 1 then page 2).
    assert out["active"] == [NAME]
    assert out["all_by_page"] == [NAME, unnamed["name"]]

    # Strict response validation: every job model validates. The status of a job without an
    # error does not: the SDK types the job's `error_details` as a required object, the service
    # sends null (dispatcher.get_job_status) - the mock too. Once the job has failed it does.
    assert [j["value"]["name"] for j in out["strict_listed"]] == [NAME, unnamed["name"]]
    assert out["strict_retrieved"]["value"] == retrieved["value"]
    assert out["strict_status_no_error"] == {
        "type": "APIResponseValidationError", "status": 200, "locs": [["error_details"]]}
    failed = out["strict_status_error"]["value"]
    assert (failed["status"], failed["error_details"]) == (
        "error", {"message": "CUDA out of memory", "step": "evaluate"})
    assert [s["status"] for s in failed["steps"]] == ["error", "error"]

    # The PATCH also merges into a terminal job; cancel returns the terminal job unchanged.
    assert out["after_terminal_patch"] == {**merged, "phase": "failed"}
    cancelled = out["cancelled"]["value"]
    assert (cancelled["status"], cancelled["status_details"]) == ("error", {**merged,
                                                                            "phase": "failed"})
    assert out["deleted"] == {"type": "NoneType", "value": None}

    # Errors: the SDK's classes, with the mock's status and body.
    def missing(name: str) -> dict[str, Any]:
        return {"type": "NotFoundError", "status": 404,
                "body": {"detail": f"Job '{name}' not found in workspace 'default'."}}

    assert out["errors"] == {
        "missing_job": missing("no-such-job"),
        "missing_status": missing("no-such-job"),
        "missing_patch": missing("no-such-job"),
        "duplicate": {"type": "ConflictError", "status": 409,
                      "body": {"detail": f"Job '{NAME}' already exists in workspace 'default'."}},
        "deleted_job": missing(NAME),
        "wrong_token": {"type": "AuthenticationError", "status": 401,
                        "body": {"detail": "Invalid or expired token"}},
        "no_token": {"type": "AuthenticationError", "status": 401,
                     "body": {"detail": "Unauthorized"}},
    }

    # Auth on: the token reaches the mock as a bearer and the flow works.
    secured = out["authed_created"]["value"]
    assert (secured["name"], secured["source"], secured["status"]) == (
        "secured-job", "nemo-customizer", "created")
    assert out["authed_patch"]["value"] is None
    assert out["authed_status"] == {"progress": 5}

    # What the mock saw. The SDK retries a 409 twice (Stainless retries 408/409/429/5xx).
    journal = _journal(server)
    seen = [(e["method"], e["path"].removeprefix(JOBS), e["status"]) for e in journal]
    job_path, bad = f"/{NAME}", "/no-such-job"
    assert seen == [
        ("POST", "", 201), ("POST", "", 201),
        ("PATCH", f"{job_path}/status-details", 200), ("PATCH", f"{job_path}/status-details", 200),
        ("GET", f"{job_path}/status", 200), ("GET", job_path, 200),
        ("GET", "", 200), ("GET", "", 200), ("GET", "", 200),
        ("GET", job_path, 200), ("GET", "", 200),
        ("GET", f"{job_path}/status", 200), ("GET", f"{job_path}/status", 200),
        ("PATCH", f"{job_path}/status-details", 200), ("GET", f"{job_path}/status", 200),
        ("POST", f"{job_path}/cancel", 200),
        ("GET", bad, 404), ("GET", f"{bad}/status", 404), ("PATCH", f"{bad}/status-details", 404),
        ("POST", "", 409), ("POST", "", 409), ("POST", "", 409),
        ("DELETE", job_path, 204), ("GET", job_path, 404)]
    assert all(not e["response_violations"] and not e["request_issues"] for e in journal)
    seeds = [e for e in journal if e["path"].endswith(f"{job_path}/status-details")]
    assert [json.loads(e["request_body"]) for e in seeds] == [
        {"progress": 10, "phase": "prepare-data", "metrics": {"samples": 0}},
        {"progress": 45, "metrics": {"samples": 512, "mmlu": 0.61}}, {"phase": "failed"}]
    assert [e["response_body"] for e in seeds] == ["null"] * 3
    assert [e["query"] for e in journal[6:9]] == [
        {"filter[status]": ["active"]}, {"page_size": ["1"], "sort": ["created_at"]},
        {"page_size": ["1"], "sort": ["created_at"], "page": ["2"]}]
    assert {e["request_headers"]["user-agent"] for e in journal} == {"NeMoPlatform/Python 0.6.0"}

    # With `access_token` the client first asks for the OIDC discovery document, which the
    # mock does not serve: the SDK takes the 404 as "no OIDC" and sends the token as given.
    auth_journal = _journal(auth_server)
    assert [(e["method"], e["path"], e["status"]) for e in auth_journal
            if not e["path"].startswith(JOBS)] == [("GET", "/nemo/apis/auth/discovery", 404)] * 2
    jobs_seen = [(e["method"], e["path"].removeprefix(JOBS), e["status"])
                 for e in auth_journal if e["path"].startswith(JOBS)]
    assert jobs_seen == [("POST", "", 201), ("PATCH", "/secured-job/status-details", 200),
                         ("GET", "/secured-job/status", 200), ("GET", "/secured-job", 401),
                         ("GET", "/secured-job", 401)]
    authorized = [e["request_headers"].get("authorization") for e in auth_journal
                  if e["path"].startswith(JOBS)]
    assert [a is not None for a in authorized] == [True, True, True, True, False]


# -- nemo-microservices 1.5.0 ------------------------------------------------------------------


def _require_microservices() -> None:
    if nemo_microservices is None:
        _setup_missing(f"nemo-microservices is not installed; run: {MICROSERVICES_SETUP}")
    elif nemo_microservices.__version__ != "1.5.0":
        _setup_missing(f"nemo-microservices {nemo_microservices.__version__} is installed, the "
                       f"test pins 1.5.0; run: {MICROSERVICES_SETUP}")


def _v2_job(server: ServerThread, name: str) -> dict[str, Any]:
    """A job created through the v2 route (plain HTTP, as the platform SDK would)."""
    reply = requests.post(f"{server.url}{JOBS}", timeout=5, json={
        "name": name, "source": "nemo-evaluator", "spec": {},
        "platform_spec": {"steps": [{"name": "evaluate", "executor": {
            "provider": "cpu", "container": {"image": "python:3.12-slim"}}}]}})
    assert reply.status_code == 201, reply.text
    job: dict[str, Any] = reply.json()
    return job


def test_nemo_microservices_typed_jobs_calls_do_not_reach_the_v2_api(
        live_server: Callable[..., ServerThread]) -> None:
    _require_microservices()
    server = live_server(apis=("nemo",))
    job_id = _v2_job(server, NAME)["id"]
    client = NeMoMicroservices(base_url=f"{server.url}/nemo")
    spec = {"steps": [{"name": "evaluate", "executor": {"provider": "cpu",
                                                         "container": {"image": "x"}}}]}
    create = {"platform_spec": spec, "source": "nemo-evaluator", "spec": {}}
    jobs, steps, tasks, results = (client.jobs, client.jobs.steps, client.jobs.tasks,
                                   client.jobs.results)
    step, task, result = {"job_id": job_id, "step_name": "evaluate"}, "task-1", "report"
    new_result = {"job_id": job_id, "result_name": result, "namespace": "default",
                  "artifact_storage_type": "fileset", "artifact_url": "fs://x"}
    calls: dict[str, tuple[Callable[..., Any], dict[str, Any], str]] = {
        "jobs.create": (jobs.create, create, "POST /v1/jobs"),
        "jobs.create_from_dict": (jobs.create_from_dict, {"data": create}, "POST /v1/jobs"),
        "jobs.list": (jobs.list, {}, "GET /v1/jobs"),
        "jobs.list_execution_profiles": (jobs.list_execution_profiles, {},
                                         "GET /v1/jobs/execution-profiles"),
        "jobs.retrieve": (jobs.retrieve, {"job_id": job_id}, "GET /v1/jobs/{id}"),
        "jobs.get_status": (jobs.get_status, {"job_id": job_id}, "GET /v1/jobs/{id}/status"),
        "jobs.update_status_details": (jobs.update_status_details,
                                       {"job_id": job_id, "body": {"progress": 1}},
                                       "PATCH /v1/jobs/{id}/status-details"),
        "jobs.get_logs": (jobs.get_logs, {"job_id": job_id}, "GET /v1/jobs/{id}/logs"),
        "jobs.cancel": (jobs.cancel, {"job_id": job_id}, "POST /v1/jobs/{id}/cancel"),
        "jobs.pause": (jobs.pause, {"job_id": job_id}, "POST /v1/jobs/{id}/pause"),
        "jobs.resume": (jobs.resume, {"job_id": job_id}, "POST /v1/jobs/{id}/resume"),
        "jobs.delete": (jobs.delete, {"job_id": job_id}, "DELETE /v1/jobs/{id}"),
        "steps.list": (steps.list, {"job_id": job_id}, "GET /v1/jobs/{id}/steps"),
        "steps.retrieve": (steps.retrieve, step, "GET /v1/jobs/{id}/steps/evaluate"),
        "steps.update_status": (steps.update_status, {**step, "status": "active"},
                                "PATCH /v1/jobs/{id}/steps/evaluate/status"),
        "tasks.list": (tasks.list, step, "GET /v1/jobs/{id}/steps/evaluate/tasks"),
        "tasks.retrieve": (tasks.retrieve, {**step, "task_id": task},
                           "GET /v1/jobs/{id}/steps/evaluate/tasks/task-1"),
        "tasks.create_or_update": (tasks.create_or_update, {**step, "task_id": task},
                                   "PUT /v1/jobs/{id}/steps/evaluate/tasks/task-1"),
        "results.create": (results.create, new_result, "POST /v1/jobs/{id}/results/report"),
        "results.list": (results.list, {"job_id": job_id}, "GET /v1/jobs/{id}/results"),
        "results.retrieve": (results.retrieve, {"job_id": job_id, "result_name": result},
                             "GET /v1/jobs/{id}/results/report"),
        "results.download": (results.download, {"job_id": job_id, "result_name": result},
                             "GET /v1/jobs/{id}/results/report/download"),
        "results.create_from_dict": (results.create_from_dict, {"data": new_result},
                                     "POST /v1/jobs/{id}/results/report"),
    }
    # Every public method of the four resources is covered. `create_from_dict` of steps and
    # tasks calls a `create` those resources do not have: it sends nothing.
    public = {f"{label}.{name}" for label, resource in
              (("jobs", jobs), ("steps", steps), ("tasks", tasks), ("results", results))
              for name in dir(resource)
              if not name.startswith(("_", "with_")) and name not in ("steps", "tasks", "results")}
    assert public == {*calls, "steps.create_from_dict", "tasks.create_from_dict"}
    for resource in (steps, tasks):
        with pytest.raises(AttributeError, match="create"):
            resource.create_from_dict({"job_id": job_id})

    sent = []
    for label, (method, kwargs, expected) in calls.items():
        with pytest.raises(NotFoundError) as caught:
            method(**kwargs)
        assert (caught.value.status_code, caught.value.body) == (404, {"detail": "Not Found"}), \
            label
        sent.append(expected.replace("{id}", job_id))

    journal = _journal(server)[1:]  # after the v2 create
    assert [f"{e['method']} {e['path'].removeprefix('/nemo')}" for e in journal] == sent
    assert all(e["operation"] is None and e["status"] == 404 for e in journal)
    assert all(e["path"].startswith("/nemo/v1/jobs") for e in journal)
    # ... and the v2 job is untouched.
    assert requests.get(f"{server.url}{JOBS}/{NAME}/status", timeout=5).json()[
        "status_details"] == {}


def test_nemo_microservices_what_overlaps(live_server: Callable[..., ServerThread]) -> None:
    _require_microservices()
    server = live_server(apis=("nemo",))
    client = NeMoMicroservices(base_url=f"{server.url}/nemo")
    path = "/apis/jobs/v2/workspaces/default/jobs"

    # The client's documented generic requests (README "Undocumented Endpoints") reach the v2
    # routes under the same base URL, the seed PATCH included.
    body = {"name": NAME, "source": "nemo-evaluator", "spec": {"model": "m"},
            "platform_spec": {"steps": [{"name": "evaluate", "executor": {
                "provider": "gpu", "container": {"image": "nvcr.io/nvidia/nemo:25.06"}}}]}}
    created = client.post(path, body=body, cast_to=object)
    assert isinstance(created, dict)
    assert (created["name"], created["status"], created["status_details"]) == (
        NAME, "created", {})
    assert client.patch(f"{path}/{NAME}/status-details", body={"progress": 45, "phase": "eval"},
                        cast_to=object) is None
    assert client.patch(f"{path}/{NAME}/status-details", body={"progress": 80},
                        cast_to=object) is None
    status = client.get(f"{path}/{NAME}/status", cast_to=object)
    assert isinstance(status, dict)
    assert (status["id"], status["status"], status["status_details"]) == (
        created["id"], "created", {"progress": 80, "phase": "eval"})
    retrieved = client.get(f"{path}/{NAME}", cast_to=object)
    assert isinstance(retrieved, dict)
    assert retrieved["status_details"] == {"progress": 80, "phase": "eval"}

    # Its error classes apply, with the mock's bodies.
    with pytest.raises(NotFoundError) as caught:
        client.get(f"{path}/no-such-job/status", cast_to=object)
    assert caught.value.body == {"detail": "Job 'no-such-job' not found in workspace 'default'."}

    # Shared types: the status enum is the same, and the step spec parses the v2 platform_spec.
    assert list(typing.get_args(PlatformJobStatus)) == STATUSES
    spec = PlatformJobSpec.model_validate(created["platform_spec"])
    assert [(s.name, type(s.executor).__name__) for s in spec.steps] == [
        ("evaluate", "GPUExecutionProvider")]
    # Its job and status models do not fit v2 answers, so the typed methods could not be
    # pointed at them even if the paths matched.
    assert _missing_or_wrong(PlatformJob, created) == [("attempt", "missing"),
                                                       ("ownership", "dict_type")]
    assert _missing_or_wrong(V1StatusResponse, status) == [("error_details", "dict_type"),
                                                           ("job_id", "missing")]

    journal = _journal(server)
    assert [(e["method"], e["operation"].split("-apis-")[0], e["status"]) for e in journal] == [
        ("POST", "create-job", 201), ("PATCH", "update-job-status-details", 200),
        ("PATCH", "update-job-status-details", 200), ("GET", "get-job-status", 200),
        ("GET", "get-job", 200), ("GET", "get-job-status", 404)]
    assert all(not e["response_violations"] for e in journal)


def _missing_or_wrong(model: Any, data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(pydantic.ValidationError) as caught:
        model.model_validate(data)
    return sorted((".".join(map(str, e["loc"])), e["type"]) for e in caught.value.errors())

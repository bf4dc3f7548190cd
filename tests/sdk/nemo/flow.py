"""The NeMo Platform SDK (PyPI nemo-platform 0.6.0) used as its users use it, against the mock.

Run by tests/sdk/test_nemo_sdk.py under .sdk-cache/nemo-venv (Python 3.12+, see setup.sh):

    python flow.py <server-url> <auth-server-url>

`<server-url>` serves nemo with auth off (the real service's default); the SDK finds it through
NEMO_PLATFORM_BASE_URL (`<server-url>/nemo`), which the test sets together with an empty HOME, so
no nmp config of the machine is read. `<auth-server-url>` serves nemo with `nemo_auth` on: the
client gets the bearer token through `access_token`. Only the mock's control API (the platform's
backend moving a job) is called without the SDK. Prints one JSON document of what the SDK
returned: models dumped as JSON, their class names, and errors as class, status and body.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pydantic
from nemo_platform import (
    APIResponseValidationError,
    APIStatusError,
    NeMoPlatform,
)

WORKSPACE = "default"
NAME = "eval-llama-3-8b"
PLATFORM_SPEC: dict[str, Any] = {
    "steps": [
        {
            "name": "prepare-data",
            "executor": {"provider": "cpu",
                         "container": {"image": "python:3.12-slim",
                                       "command": ["python", "-m", "prepare"]}},
            "environment": [{"name": "LOG_LEVEL", "value": "info"},
                            {"name": "HF_TOKEN", "from_secret": {"name": "hf-token"}}],
            "config": {"shards": 4},
        },
        {
            "name": "evaluate",
            "executor": {"provider": "gpu",
                         "container": {"image": "nvcr.io/nvidia/nemo-evaluator:25.06"},
                         "resources": {"num_gpus": 1}},
            "lifecycle": {"staleness_timeout_seconds": 600},
        },
    ],
}


def dump(model: Any) -> Any:
    """A returned SDK model as JSON, with its class name; other values as they are."""
    if isinstance(model, pydantic.BaseModel):
        return {"type": type(model).__name__, "value": model.model_dump(mode="json")}
    return {"type": type(model).__name__, "value": model}


def error(call: Callable[[], Any]) -> dict[str, Any]:
    """The error the SDK raised for a call that must fail."""
    try:
        result = call()
    except APIStatusError as exc:
        return {"type": type(exc).__name__, "status": exc.status_code, "body": exc.body}
    except APIResponseValidationError as exc:
        cause = exc.__cause__
        locs = ([list(e["loc"]) for e in cause.errors()]
                if isinstance(cause, pydantic.ValidationError) else [])
        return {"type": type(exc).__name__, "status": exc.status_code, "locs": locs}
    raise AssertionError(f"the call succeeded: {result!r}")


def backend(server: str, status: str, **extra: Any) -> None:
    """The platform's backend moves the job (the mock's control API)."""
    reply = httpx.post(f"{server}/__jobmock/apis/nemo/actions/set-status",
                       json={"workspace": WORKSPACE, "name": NAME, "status": status, **extra},
                       timeout=10)
    reply.raise_for_status()


def main(server: str, auth_server: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    client = NeMoPlatform(workspace=WORKSPACE)  # base URL from NEMO_PLATFORM_BASE_URL
    out["base_url"] = str(client.base_url)

    created = client.jobs.create(
        name=NAME, description="Nightly evaluation run", project="default/llama-evals",
        source="nemo-evaluator", spec={"model": "meta/llama-3.1-8b-instruct", "tasks": ["mmlu"]},
        platform_spec=PLATFORM_SPEC, custom_fields={"team": "research"})
    out["created"] = dump(created)
    out["executors"] = [type(step.executor).__name__ for step in created.platform_spec.steps]
    out["unnamed"] = dump(client.jobs.create(
        source="nemo-evaluator", spec={},
        platform_spec={"steps": [{"name": "run", "executor": {
            "provider": "subprocess", "command": ["python", "-m", "task"]}}]}))

    # The seed: PATCH status details (a shallow merge), while the backend runs the job.
    out["patched"] = [dump(client.jobs.update_status_details(
        NAME, body={"progress": 10, "phase": "prepare-data", "metrics": {"samples": 0}}))]
    backend(server, "active")
    out["patched"].append(dump(client.jobs.update_status_details(
        NAME, body={"progress": 45, "metrics": {"samples": 512, "mmlu": 0.61}})))

    status = client.jobs.get_status(NAME)
    out["status"] = dump(status)
    out["step_types"] = [type(step).__name__ for step in status.steps]
    out["retrieved"] = dump(client.jobs.retrieve(NAME))
    out["active"] = [job.name for job in client.jobs.list(filter={"status": "active"})]
    out["all_by_page"] = [job.name for job in client.jobs.list(page_size=1, sort="created_at")]

    # Opt-in strict response validation (pydantic validates every response).
    strict = NeMoPlatform(base_url=os.environ["NEMO_PLATFORM_BASE_URL"], workspace=WORKSPACE,
                          _strict_response_validation=True)
    out["strict_retrieved"] = dump(strict.jobs.retrieve(NAME))
    out["strict_listed"] = [dump(job) for job in strict.jobs.list(sort="created_at")]
    out["strict_status_no_error"] = error(lambda: strict.jobs.get_status(NAME))
    backend(server, "error", error_details={"message": "CUDA out of memory", "step": "evaluate"})
    out["strict_status_error"] = dump(strict.jobs.get_status(NAME))

    # The PATCH works on a terminal job too; cancel leaves it as it is.
    out["patched"].append(dump(client.jobs.update_status_details(NAME, body={"phase": "failed"})))
    out["after_terminal_patch"] = client.jobs.get_status(NAME).status_details
    out["cancelled"] = dump(client.jobs.cancel(NAME))

    out["errors"] = {
        "missing_job": error(lambda: client.jobs.retrieve("no-such-job")),
        "missing_status": error(lambda: client.jobs.get_status("no-such-job")),
        "missing_patch": error(lambda: client.jobs.update_status_details(
            "no-such-job", body={"progress": 1})),
        "duplicate": error(lambda: client.jobs.create(
            name=NAME, source="nemo-evaluator", spec={}, platform_spec=PLATFORM_SPEC)),
    }
    out["deleted"] = dump(client.jobs.delete(NAME))
    out["errors"]["deleted_job"] = error(lambda: client.jobs.retrieve(NAME))

    # Auth on: the bearer token through `access_token`.
    auth_base = f"{auth_server}/nemo"
    authed = NeMoPlatform(base_url=auth_base, workspace=WORKSPACE, access_token="jobmock")
    out["authed_created"] = dump(authed.jobs.create(
        name="secured-job", source="nemo-customizer", spec={}, platform_spec=PLATFORM_SPEC))
    out["authed_patch"] = dump(authed.jobs.update_status_details(
        "secured-job", body={"progress": 5}))
    out["authed_status"] = authed.jobs.get_status("secured-job").status_details
    wrong = NeMoPlatform(base_url=auth_base, workspace=WORKSPACE, access_token="not-the-token")
    anonymous = NeMoPlatform(base_url=auth_base, workspace=WORKSPACE)
    out["errors"]["wrong_token"] = error(lambda: wrong.jobs.retrieve("secured-job"))
    out["errors"]["no_token"] = error(lambda: anonymous.jobs.retrieve("secured-job"))
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2]), indent=1, sort_keys=True))

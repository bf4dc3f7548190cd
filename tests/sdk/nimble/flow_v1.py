"""nimble-python 0.24.0 against the mock's Nimble /v1 API, used as its users use it.

Run by tests/sdk/test_nimble_sdk.py in the venv that tests/sdk/nimble/setup.sh makes (0.24.0
cannot share a venv with the current 1.x). Usage: `python flow_v1.py BASE_URL API_KEY`, where
BASE_URL is the mock's `<server>/nimble`. The client is the SDK's own, with its opt-in strict
response validation on, so every answer is validated against the SDK's pydantic models. Prints
one JSON object: what each call returned (`model_dump(mode="json")`) or the error it raised;
the test asserts on those values.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import nimble_python
from nimble_python import Nimble

# 0.24.0 marks its v1 job methods @deprecated in favour of v2; users see the warning, not an error.
warnings.simplefilter("ignore", DeprecationWarning)

SCHEDULE = {"cron": "0 6 * * *", "enabled": True}


def dump(value: Any) -> Any:
    return value.model_dump(mode="json") if value is not None else None


def error_of(call: Any) -> dict[str, Any]:
    """The SDK exception a call raises: its class, status and the body the mock sent."""
    try:
        call()
    except nimble_python.APIStatusError as exc:
        return {"error": type(exc).__name__, "status": exc.status_code, "body": exc.body}
    raise AssertionError("the call succeeded but should have raised")


def main(base_url: str, api_key: str) -> dict[str, Any]:
    out: dict[str, Any] = {"version": nimble_python.__version__}
    client = Nimble(api_key=api_key, base_url=base_url, _strict_response_validation=True)
    jobs, runs = client.jobs, client.jobs.runs

    created = jobs.create(
        name="daily-product-prices", agent_name="amazon_product_page",
        display_name="Daily product prices", description="Refresh product prices every morning",
        schedule=SCHEDULE, inputs={"type": "s3", "file_path": "s3://acme-inputs/products.csv"},
        destination={"type": "s3", "path": "s3://acme-results/prices/", "format": "parquet"})
    out["created"] = dump(created)
    out["got"] = dump(jobs.get(created.id))
    # The seed PATCH: only the fields sent change; an explicit null clears.
    out["updated"] = dump(jobs.update(created.id, display_name="Prices (morning)",
                                      schedule={"cron": "0 7 * * *", "enabled": False}))
    out["cleared"] = dump(jobs.update(created.id, description=None))
    out["after_update"] = dump(jobs.get(created.id))

    other = jobs.create(name="one-off-check", agent_name="google_search")
    out["listed"] = dump(jobs.list(per_page=1, page=2))
    out["searched"] = dump(jobs.list(q="PRICES"))
    out["by_agent"] = dump(jobs.list(agent_name="google_search"))

    run = jobs.run(created.id)
    out["run"] = dump(run)
    out["runs"] = dump(runs.list(created.id, status="PENDING"))
    out["run_detail"] = dump(runs.get(run.id))
    out["cancelled"] = dump(runs.cancel(run.id))
    out["job_after_cancel"] = dump(jobs.get(created.id))

    out["delete"] = jobs.delete(other.id)
    out["deleted_get"] = error_of(lambda: jobs.get(other.id))
    out["missing_run"] = error_of(lambda: runs.get("run_999"))
    out["bad_body"] = error_of(lambda: jobs.create(name="x", agent_name="y",
                                                   inputs={"file_path": "/tmp/in.csv"}))
    stranger = Nimble(api_key="wrong-key", base_url=base_url, _strict_response_validation=True)
    out["wrong_key"] = error_of(lambda: stranger.jobs.get(created.id))
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))

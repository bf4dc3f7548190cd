"""The seven seed operations of the five source documents, exactly as printed there."""

from __future__ import annotations

import pytest

from mockserver.spec import load_spec

# (api, method, path template, required path/query parameters, required body fields)
SEED_OPERATIONS = [
    ("sap", "PUT", "/scheduler/jobs/{jobId}/schedules/{scheduleId}/runs/{runId}",
     {"jobId", "scheduleId", "runId"}, {"success"}),
    ("nemo", "PATCH", "/apis/jobs/v2/workspaces/{workspace}/jobs/{name}/status-details",
     {"workspace", "name"}, set()),
    ("bullmq", "POST", "/queues/{queueName}/jobs/{jobId}/progress", {"queueName", "jobId"},
     set()),
    ("bullmq", "POST", "/queues/{queueName}/jobs/{jobId}/logs", {"queueName", "jobId"}, set()),
    ("bullmq", "GET", "/queues/{queueName}/jobs/{jobId}/logs", {"queueName", "jobId"}, set()),
    ("intuned", "GET", "/{workspaceId}/projects/{projectName}/jobs/{jobId}/runs/{jobRunId}",
     {"workspaceId", "projectName", "jobId", "jobRunId"}, set()),
    ("nimble", "PATCH", "/v1/jobs/{job_id}", {"job_id"}, set()),
]


@pytest.mark.parametrize(("api", "method", "path", "params", "body_fields"), SEED_OPERATIONS)
def test_seed_operation_exists_as_documented(
    api: str, method: str, path: str, params: set[str], body_fields: set[str]
) -> None:
    spec = load_spec(api)
    matches = [op for op in spec.operations if op.method == method and op.path == path]
    assert len(matches) == 1, f"{api}: no {method} {path}"
    op = matches[0]
    assert op.seed
    required = {p.name for p in op.parameters if p.required}
    assert required == params
    if body_fields:
        schema = spec.document
        media = op.raw["requestBody"]["content"]["application/json"]["schema"]
        resolved = _follow(schema, media)
        assert body_fields <= set(resolved.get("required", []))


def test_there_are_exactly_seven_seed_operations() -> None:
    seeds = [op for api in ("sap", "nemo", "bullmq", "intuned", "nimble")
             for op in load_spec(api).operations if op.seed]
    assert len(seeds) == len(SEED_OPERATIONS) == 7


def test_seed_operation_ids_are_the_documents_own() -> None:
    assert load_spec("intuned").operation("getJobRun").seed
    nemo_id = ("update-job-status-details-apis-jobs-v-2-workspaces-workspace-jobs-name-"
               "status-details-patch")
    assert load_spec("nemo").operation(nemo_id).seed


def _follow(document: object, node: dict) -> dict:  # type: ignore[type-arg]
    while "$ref" in node:
        target: object = document
        for part in node["$ref"][2:].split("/"):
            target = target[part]  # type: ignore[index]
        node = target  # type: ignore[assignment]
    return node

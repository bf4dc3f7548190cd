"""Nimble Jobs API v1: jobs, the seed PATCH, runs and their lifecycle.

Sources: shared/vendors.md section 5 ([seed] 004 update-job, [M1] docs.nimbleway.com, [M2] the
vendor's OpenAPI copy, [M3] nimble-python); what no source says is marked inferred in
specs/nimble.yaml.

- Ids are `job_N` / `run_N`, counting up from 1 and never reused [M2 patterns].
- The seed PATCH changes only the fields sent (an explicit null clears a field, inferred),
  ignores `name` / `agent_name` and unknown fields, and bumps `updated_at` [seed].
- Trigger creates a run: PENDING, `triggered_by: manual`; the job's `last_run_at` is the newest
  run's creation time and its `last_run_status` follows that run's status [M1, inferred].
- Runs move PENDING → RUNNING → SUCCESS | FAILED | TIMEOUT | WARNING (PENDING may also fail),
  driven by the control API (`set-run-status`, `fire-schedule`); `started_at` is set on
  RUNNING, `finished_at` on a final state (inferred). Cancel moves a PENDING or RUNNING run to
  CANCELLED and is refused with 409 once the run has finished (inferred).
- Lists page with `page` / `per_page` and report `total` [M2]; jobs oldest first, runs newest
  first (inferred). Deleting a job deletes its runs (inferred).
- Errors are FastAPI's: `{"detail": "..."}` (401 with `WWW-Authenticate: Bearer`, 404, 405
  with `Allow`, 409, 413) and 422 `{"detail": [{type, loc, msg, input, ctx}]}` [M2].
"""

from __future__ import annotations

from typing import Any

from mockserver.apis._fastapi import FastApiDialect
from mockserver.apis.base import Reply, VendorApi, action, handles, json_reply, no_content
from mockserver.errors import ApiError
from mockserver.spec import Operation
from mockserver.validation import HttpRequest, ValidRequest

__all__ = ["Api"]

JOBS = "nimble:jobs"
RUNS = "nimble:runs"
LAST_RUN = "nimble:last-run"
UPDATABLE = ("display_name", "description", "schedule", "inputs", "destination")
STATUSES = ("PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED", "TIMEOUT", "WARNING")
FINISHED = frozenset({"SUCCESS", "FAILED", "CANCELLED", "TIMEOUT", "WARNING"})
TRANSITIONS = {
    "PENDING": frozenset({"RUNNING", "CANCELLED", "FAILED"}),
    "RUNNING": frozenset({"SUCCESS", "FAILED", "TIMEOUT", "WARNING", "CANCELLED"}),
}


class Api(FastApiDialect, VendorApi):
    name = "nimble"

    # -- dialect details: FastAPI's HTTPBearer and Starlette's 405 -----------------------------

    def auth_failure(self, op: Operation, request: HttpRequest) -> ApiError:
        if "authorization" not in request.headers:
            return ApiError(401, "Not authenticated")
        return ApiError(401, "Invalid or missing API key")

    def method_not_allowed(self, request: HttpRequest, allowed: tuple[str, ...]) -> ApiError:
        return ApiError(405, "Method Not Allowed", detail={"allow": list(allowed)})

    def render_error(self, error: ApiError, op: Operation | None) -> Reply:
        reply = super().render_error(error, op)
        if error.status == 401:
            reply.headers["WWW-Authenticate"] = "Bearer"
        if error.status == 405 and isinstance(error.detail, dict):
            reply.headers["Allow"] = ", ".join(error.detail.get("allow", ()))
        return reply

    # -- jobs ---------------------------------------------------------------------------------

    @handles("list_jobs_v1_jobs_get")
    def list_jobs(self, req: ValidRequest) -> Reply:
        jobs = self.store.values(JOBS)
        query = str(req.query.get("q") or "").lower()
        agent = req.query.get("agent_name")
        if query:
            jobs = [j for j in jobs if _mentions(j, query)]
        if agent:
            jobs = [j for j in jobs if j.get("agent_name") == agent]
        return json_reply(200, _page(jobs, req))

    @handles("create_job_v1_jobs_post")
    def create_job(self, req: ValidRequest) -> Reply:
        now = self.clock.iso("milliseconds")
        job_id = f"job_{self.store.next_id('nimble:job')}"
        job = {"id": job_id, "last_run_at": None, "last_run_status": None,
               "created_at": now, "updated_at": now}
        for field in ("name", "agent_name", *UPDATABLE):
            job[field] = req.body.get(field)
        self.store.put(JOBS, job_id, job)
        return json_reply(201, job)

    @handles("get_job_v1_jobs__job_id__get")
    def get_job(self, req: ValidRequest) -> Reply:
        return json_reply(200, self._job(req.path["job_id"]))

    @handles("update_job_v1_jobs__job_id__patch")
    def update_job(self, req: ValidRequest) -> Reply:
        changes = {k: v for k, v in req.body.items() if k in UPDATABLE}
        now = self.clock.iso("milliseconds")
        updated = self.store.update(JOBS, req.path["job_id"],
                                    lambda job: {**job, **changes, "updated_at": now})
        if updated is None:
            raise _job_not_found(req.path["job_id"])
        return json_reply(200, updated)

    @handles("delete_job_v1_jobs__job_id__delete")
    def delete_job(self, req: ValidRequest) -> Reply:
        job_id = req.path["job_id"]
        if not self.store.delete(JOBS, job_id):
            raise _job_not_found(job_id)
        self.store.delete(LAST_RUN, job_id)
        for run in self.store.values(RUNS):
            if run["job_id"] == job_id:
                self.store.delete(RUNS, run["id"])
        return no_content()

    # -- runs ---------------------------------------------------------------------------------

    @handles("trigger_job_run_v1_jobs__job_id__runs_post")
    def trigger_run(self, req: ValidRequest) -> Reply:
        return json_reply(201, self._start_run(req.path["job_id"], "manual"))

    @handles("list_job_runs_v1_jobs__job_id__runs_get")
    def list_runs(self, req: ValidRequest) -> Reply:
        job = self._job(req.path["job_id"])
        runs = [r for r in self.store.values(RUNS) if r["job_id"] == job["id"]]
        runs.reverse()
        status = req.query.get("status")
        if status:
            runs = [r for r in runs if r["status"] == status]
        return json_reply(200, _page(runs, req))

    @handles("get_run_v1_jobs_runs__run_id__get")
    def get_run(self, req: ValidRequest) -> Reply:
        run = self._run(req.path["run_id"])
        job = self.store.get(JOBS, run["job_id"]) or {"id": run["job_id"], "name": ""}
        return json_reply(200, _run_detail(run, job))

    @handles("cancel_run_v1_jobs_runs__run_id__cancel_post")
    def cancel_run(self, req: ValidRequest) -> Reply:
        current = self._run(req.path["run_id"])
        if current["status"] in FINISHED:
            raise ApiError(409, f"Run {current['id']} is already finished ({current['status']})")
        run = self._move(current["id"], "CANCELLED")
        return json_reply(200, {"id": run["id"], "status": run["status"]})

    # -- control-API actions --------------------------------------------------------------------

    @action("set-run-status")
    def set_run_status(self, run_id: str, status: str, input_count: int | None = None,
                       result_count: int | None = None) -> dict[str, Any]:
        """Move a run to `status`: PENDING -> RUNNING | FAILED | CANCELLED, RUNNING -> SUCCESS |
        FAILED | TIMEOUT | WARNING | CANCELLED (the same status again only sets the counts).
        Sets started_at on RUNNING, finished_at on a final status, and the job's last_run_status
        when this is its newest run; optional input_count / result_count (integers >= 0).
        409 for any other move, 404 for an unknown run."""
        run_id = _text("run_id", run_id)
        if status not in STATUSES:
            raise ApiError(400, f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        counts = {"input_count": _count("input_count", input_count),
                  "result_count": _count("result_count", result_count)}
        return self._move(run_id, status, **counts)

    @action("fire-schedule")
    def fire_schedule(self, job_id: str) -> dict[str, Any]:
        """Start a run of a job as its schedule would (PENDING, triggered_by schedule), updating
        the job's last_run_at / last_run_status. 409 when the job has no enabled schedule, 404
        for an unknown job."""
        job = self._job(_text("job_id", job_id))
        if not (job.get("schedule") or {}).get("enabled"):
            raise ApiError(409, f"Job {job['id']} has no enabled schedule")
        return self._start_run(job["id"], "schedule")

    # -- helpers --------------------------------------------------------------------------------

    def _job(self, job_id: str) -> dict[str, Any]:
        job = self.store.get(JOBS, job_id)
        if job is None:
            raise _job_not_found(job_id)
        return dict(job)

    def _run(self, run_id: str) -> dict[str, Any]:
        run = self.store.get(RUNS, run_id)
        if run is None:
            raise ApiError(404, f"Run {run_id} not found")
        return dict(run)

    def _start_run(self, job_id: str, triggered_by: str) -> dict[str, Any]:
        job = self._job(job_id)
        now = self.clock.iso("milliseconds")
        run = {"id": f"run_{self.store.next_id('nimble:run')}", "job_id": job["id"],
               "status": "PENDING", "triggered_by": triggered_by, "input_count": None,
               "result_count": None, "started_at": None, "finished_at": None, "created_at": now}
        self.store.put(RUNS, run["id"], run)
        self._note_run(run, now)
        return run

    def _move(self, run_id: str, status: str, **counts: int | None) -> dict[str, Any]:
        run = self._run(run_id)
        if status != run["status"] and status not in TRANSITIONS.get(run["status"], ()):
            raise ApiError(409, f"Run {run_id} is {run['status']} and cannot become {status}")
        now = self.clock.iso("milliseconds")
        changes: dict[str, Any] = {"status": status}
        changes.update({k: v for k, v in counts.items() if v is not None})
        if status == "RUNNING" and run["started_at"] is None:
            changes["started_at"] = now
        if status in FINISHED and run["finished_at"] is None:
            changes["finished_at"] = now
        moved = self.store.update(RUNS, run_id, lambda r: {**r, **changes})
        if moved is None:
            raise ApiError(404, f"Run {run_id} not found")
        self._note_run(moved, None)
        return dict(moved)

    def _note_run(self, run: dict[str, Any], started: str | None) -> None:
        """Keep the job's last_run_at / last_run_status on its newest run."""
        if started is not None:
            self.store.put(LAST_RUN, run["job_id"], run["id"])
        elif self.store.get(LAST_RUN, run["job_id"]) != run["id"]:
            return
        noted = {"last_run_status": run["status"]}
        if started is not None:
            noted["last_run_at"] = started
        self.store.update(JOBS, run["job_id"], lambda job: {**job, **noted})


def _job_not_found(job_id: str) -> ApiError:
    return ApiError(404, f"Job {job_id} not found")


def _mentions(job: dict[str, Any], query: str) -> bool:
    """`q` search: a case-insensitive substring of the name or the display name."""
    return query in f"{job['name']}\n{job.get('display_name') or ''}".lower()


def _text(name: str, value: Any) -> str:
    """A control-action argument that must be a string (400 otherwise)."""
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string, got {value!r}")
    return value


def _count(name: str, value: Any) -> int | None:
    """A control-action count: null, or an integer >= 0 (400 otherwise)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApiError(400, f"{name} must be an integer >= 0, got {value!r}")
    return value


def _page(items: list[dict[str, Any]], req: ValidRequest) -> dict[str, Any]:
    page, per_page = req.query.get("page", 1), req.query.get("per_page", 20)
    start = (page - 1) * per_page
    return {"items": items[start:start + per_page], "total": len(items), "page": page,
            "per_page": per_page}


def _run_detail(run: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": run["id"], "status": run["status"], "triggered_by": run["triggered_by"],
        "job": {k: job.get(k) for k in ("id", "name", "display_name", "agent_name", "schedule")},
        "summary": _summary(run),
        "inputs_sample": [], "error": None, "started_at": run["started_at"],
        "finished_at": run["finished_at"], "created_at": run["created_at"],
    }


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    """Counts of the run and match_rate = result_count / input_count, capped to 0..1."""
    inputs, results = run["input_count"], run["result_count"]
    rate = None
    if inputs and results is not None:
        rate = min(1.0, round(results / inputs, 4))
    return {"input_count": inputs, "result_count": results, "match_rate": rate}

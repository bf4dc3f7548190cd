"""Nimble Jobs API v1 and v2: jobs, the seed PATCH, runs and their lifecycle.

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

v2 (`/v2/jobs...`, the paths of nimble-python 1.6.0 [M3]) is a second view of the same jobs and
runs, not a second store: the SDK's v2 types are v1's with `agent_name` renamed
`extract_template_name` (stored as `agent_name`), the same `job_N` / `run_N` ids, run statuses and
run shapes, so a job created through one version is read, triggered or deleted through the other.
The differences are in the view: lists page with `limit` / `offset` and answer `{items, limit,
offset, total}`; v2 requires `inputs.type` and `destination.type`, which v1 lets a client leave
out, so the v2 view fills them in for such jobs (inferred); a v2 trigger may carry `{inputs}` for
that run only, whose first inline records become the run's `inputs_sample` (inferred).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter

from mockserver.apis._fastapi import FastApiDialect
from mockserver.apis.base import Reply, VendorApi, action, handles, json_reply, no_content
from mockserver.dispatch import Timer
from mockserver.errors import ApiError, Issue
from mockserver.spec import Operation
from mockserver.validation import HttpRequest, ValidRequest

__all__ = ["Api"]

JOBS = "nimble:jobs"
RUNS = "nimble:runs"
LAST_RUN = "nimble:last-run"
RUN_INPUTS = "nimble:run-inputs"
SAMPLE_SIZE = 10
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

    def render_issues(self, issues: list[Issue], op: Operation) -> Reply:
        return super().render_issues([_explained(issue) for issue in issues], op)

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
        return json_reply(201, self._create(req.body))

    @handles("get_job_v1_jobs__job_id__get")
    def get_job(self, req: ValidRequest) -> Reply:
        return json_reply(200, self._job(req.path["job_id"]))

    @handles("update_job_v1_jobs__job_id__patch")
    def update_job(self, req: ValidRequest) -> Reply:
        return json_reply(200, self._update(req.path["job_id"], req.body))

    @handles("delete_job_v1_jobs__job_id__delete")
    def delete_job(self, req: ValidRequest) -> Reply:
        self._delete(req.path["job_id"])
        return no_content()

    # -- runs ---------------------------------------------------------------------------------

    @handles("trigger_job_run_v1_jobs__job_id__runs_post")
    def trigger_run(self, req: ValidRequest) -> Reply:
        return json_reply(201, self._start_run(req.path["job_id"], "manual"))

    @handles("list_job_runs_v1_jobs__job_id__runs_get")
    def list_runs(self, req: ValidRequest) -> Reply:
        runs = self._runs_of(req.path["job_id"])
        status = req.query.get("status")
        if status:
            runs = [r for r in runs if r["status"] == status]
        return json_reply(200, _page(runs, req))

    @handles("get_run_v1_jobs_runs__run_id__get")
    def get_run(self, req: ValidRequest) -> Reply:
        return json_reply(200, self._run_detail(req.path["run_id"], "agent_name"))

    @handles("cancel_run_v1_jobs_runs__run_id__cancel_post")
    def cancel_run(self, req: ValidRequest) -> Reply:
        return json_reply(200, self._cancel(req.path["run_id"]))

    # -- v2: the same jobs and runs, as nimble-python 1.6.0 sees them ---------------------------

    @handles("list_jobs_public_v2_v2_jobs_get")
    def list_jobs_v2(self, req: ValidRequest) -> Reply:
        return json_reply(200, _slice([_v2_job(j) for j in self.store.values(JOBS)], req))

    @handles("create_job_public_v2_v2_jobs_post")
    def create_job_v2(self, req: ValidRequest) -> Reply:
        fields = {**req.body, "agent_name": req.body["extract_template_name"]}
        return json_reply(201, _v2_job(self._create(fields)))

    @handles("get_job_public_v2_v2_jobs__job_id__get")
    def get_job_v2(self, req: ValidRequest) -> Reply:
        return json_reply(200, _v2_job(self._job(req.path["job_id"])))

    @handles("update_job_public_v2_v2_jobs__job_id__patch")
    def update_job_v2(self, req: ValidRequest) -> Reply:
        return json_reply(200, _v2_job(self._update(req.path["job_id"], req.body)))

    @handles("delete_job_public_v2_v2_jobs__job_id__delete")
    def delete_job_v2(self, req: ValidRequest) -> Reply:
        self._delete(req.path["job_id"])
        return no_content()

    @handles("trigger_job_run_public_v2_v2_jobs__job_id__runs_post")
    def trigger_run_v2(self, req: ValidRequest) -> Reply:
        inputs = req.body.get("inputs") if isinstance(req.body, dict) else None
        return json_reply(201, self._start_run(req.path["job_id"], "manual", inputs))

    @handles("list_job_runs_public_v2_v2_jobs__job_id__runs_get")
    def list_runs_v2(self, req: ValidRequest) -> Reply:
        return json_reply(200, _slice(self._runs_of(req.path["job_id"]), req))

    @handles("get_run_public_v2_v2_jobs_runs__run_id__get")
    def get_run_v2(self, req: ValidRequest) -> Reply:
        return json_reply(200, self._run_detail(req.path["run_id"], "extract_template_name"))

    @handles("cancel_run_public_v2_v2_jobs_runs__run_id__cancel_post")
    def cancel_run_v2(self, req: ValidRequest) -> Reply:
        return json_reply(200, self._cancel(req.path["run_id"]))

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

    def _create(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A new job from a validated create body (v1 field names)."""
        now = self.clock.iso("milliseconds")
        job_id = f"job_{self.store.next_id('nimble:job')}"
        job = {"id": job_id, "last_run_at": None, "last_run_status": None,
               "created_at": now, "updated_at": now}
        for field in ("name", "agent_name", *UPDATABLE):
            job[field] = fields.get(field)
        self.store.put(JOBS, job_id, job)
        self._plan_schedule(job)
        return job

    def _update(self, job_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The PATCH of both versions: exactly the updatable fields sent, and updated_at."""
        changes = {k: v for k, v in body.items() if k in UPDATABLE}
        now = self.clock.iso("milliseconds")
        updated = self.store.update(JOBS, job_id,
                                    lambda job: {**job, **changes, "updated_at": now})
        if updated is None:
            raise _job_not_found(job_id)
        if "schedule" in changes:
            self.timers.cancel("cron", job_id=job_id)
            self._plan_schedule(updated)
        return dict(updated)

    def _delete(self, job_id: str) -> None:
        """Delete a job with its runs (and their trigger inputs)."""
        if not self.store.delete(JOBS, job_id):
            raise _job_not_found(job_id)
        self.store.delete(LAST_RUN, job_id)
        for run in self.store.values(RUNS):
            if run["job_id"] == job_id:
                self.store.delete(RUNS, run["id"])
                self.store.delete(RUN_INPUTS, run["id"])

    def _runs_of(self, job_id: str) -> list[dict[str, Any]]:
        """The runs of a job, newest first (404 for an unknown job)."""
        job = self._job(job_id)
        runs = [r for r in self.store.values(RUNS) if r["job_id"] == job["id"]]
        runs.reverse()
        return runs

    def _run_detail(self, run_id: str, template_key: str) -> dict[str, Any]:
        """A run's detail; `template_key` names the job's agent in this version's view."""
        run = self._run(run_id)
        job = self.store.get(JOBS, run["job_id"]) or {"id": run["job_id"], "name": ""}
        detail = _run_detail(run, job, template_key)
        detail["inputs_sample"] = _sample(self.store.get(RUN_INPUTS, run_id))
        return detail

    def _cancel(self, run_id: str) -> dict[str, Any]:
        current = self._run(run_id)
        if current["status"] in FINISHED:
            raise ApiError(409, f"Run {current['id']} is already finished ({current['status']})")
        run = self._move(current["id"], "CANCELLED")
        return {"id": run["id"], "status": run["status"]}

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

    def _start_run(self, job_id: str, triggered_by: str,
                   inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        job = self._job(job_id)
        now = self.clock.iso("milliseconds")
        run = {"id": f"run_{self.store.next_id('nimble:run')}", "job_id": job["id"],
               "status": "PENDING", "triggered_by": triggered_by, "input_count": None,
               "result_count": None, "started_at": None, "finished_at": None, "created_at": now}
        self.store.put(RUNS, run["id"], run)
        if inputs is not None:
            self.store.put(RUN_INPUTS, run["id"], inputs)
        self._note_run(run, now)
        if self.config.auto_progress:
            start = self.clock.peek()
            self.timers.add(start, "progress", run_id=run["id"], status="RUNNING")
            self.timers.add(start + timedelta(seconds=self.config.run_seconds), "progress",
                            run_id=run["id"], status="SUCCESS")
        return run

    # -- dispatch: cron schedules and automatic progress ------------------------------------------

    def _plan_schedule(self, job: dict[str, Any]) -> None:
        """Set the timer of the job's next cron firing (UTC) when its schedule is enabled."""
        schedule = job.get("schedule") or {}
        cron = schedule.get("cron")
        if not schedule.get("enabled") or not isinstance(cron, str) or not croniter.is_valid(
                cron):
            return
        due = croniter(cron, self.clock.peek()).get_next(datetime)
        self.timers.add(due, "cron", job_id=job["id"], cron=cron)

    def on_timer(self, timer: Timer) -> None:
        args = timer.args
        if timer.kind == "cron":
            job = self.store.get(JOBS, args["job_id"])
            schedule = (job or {}).get("schedule") or {}
            if job is None or not schedule.get("enabled") or schedule.get("cron") != args["cron"]:
                return  # deleted, disabled or changed since (the change planned its own)
            self._start_run(job["id"], "schedule")
            self._plan_schedule(job)
        elif timer.kind == "progress":
            run = self.store.get(RUNS, args["run_id"])
            if run is not None and args["status"] in TRANSITIONS.get(run["status"], ()):
                self._move(run["id"], args["status"])

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


def _explained(issue: Issue) -> Issue:
    """A broken `not` rule (v2 inputs: data and node_data both set) reads as pydantic's model
    validator would put it: its message is the rule's description."""
    rule = issue.constraint
    if issue.kind == "not" and isinstance(rule, dict) and rule.get("description"):
        return replace(issue, message=str(rule["description"]))
    return issue


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


def _slice(items: list[dict[str, Any]], req: ValidRequest) -> dict[str, Any]:
    """v2 paging: `limit` items after `offset`, with the total."""
    limit, offset = req.query.get("limit", 20), req.query.get("offset", 0)
    return {"items": items[offset:offset + limit], "limit": limit, "offset": offset,
            "total": len(items)}


def _v2_job(job: dict[str, Any]) -> dict[str, Any]:
    """A stored job as v2 shows it: extract_template_name, and typed inputs / destination."""
    view = {k: v for k, v in job.items() if k != "agent_name"}
    view["extract_template_name"] = job.get("agent_name")
    view["inputs"] = _typed_inputs(job.get("inputs"))
    view["destination"] = _typed_destination(job.get("destination"))
    return view


def _typed_inputs(inputs: dict[str, Any] | None) -> dict[str, Any] | None:
    """v1 inputs may lack `type` (v2 requires it): inline when they hold records, else by the
    file_path prefix ('s3' or 'file_', the pattern), else inline (inferred). v1 knows no
    `node_data`: one written through v1 that v2 would refuse is left out of the v2 view."""
    if inputs is None:
        return None
    nodes = inputs.get("node_data")
    if nodes is not None and (inputs.get("data") is not None or not _by_node(nodes)):
        inputs = {k: v for k, v in inputs.items() if k != "node_data"}
    if "type" in inputs:
        return inputs
    path = inputs.get("file_path") or ""
    kind = "inline"
    if not (inputs.get("data") or inputs.get("node_data")) and path:
        kind = "s3" if path.startswith("s3") else "file"
    return {"type": kind, **inputs}


def _by_node(value: Any) -> bool:
    """Whether a value has v2's node_data shape: {node id: [record objects]}."""
    return isinstance(value, dict) and all(
        isinstance(rows, list) and all(isinstance(row, dict) for row in rows)
        for rows in value.values())


def _typed_destination(destination: dict[str, Any] | None) -> dict[str, Any] | None:
    """v1 destinations may lack `type`: s3 when the path starts with s3, else file (inferred)."""
    if destination is None or "type" in destination:
        return destination
    kind = "s3" if str(destination.get("path", "")).startswith("s3") else "file"
    return {"type": kind, **destination}


def _sample(inputs: dict[str, Any] | None) -> list[Any]:
    """The first inline records (data, then node_data) of a run's trigger inputs."""
    if not inputs:
        return []
    records = list(inputs.get("data") or [])
    for rows in (inputs.get("node_data") or {}).values():
        records.extend(rows)
    return records[:SAMPLE_SIZE]


def _run_detail(run: dict[str, Any], job: dict[str, Any], template_key: str) -> dict[str, Any]:
    context = {k: job.get(k) for k in ("id", "name", "display_name", "schedule")}
    context[template_key] = job.get("agent_name")
    return {
        "id": run["id"], "status": run["status"], "triggered_by": run["triggered_by"],
        "job": context,
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

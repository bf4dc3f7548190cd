"""Intuned Client API: jobs and their JobRuns, per workspace and project.

Behaviour (sources: `shared/vendors.md` section 4 [I1] intuned-client 1.1.1, [I2] the
TypeScript SDK docs, seed 003 = Intuned OpenAPI 0.0.2; choices of ours are marked inferred):

- Auth: the `x-api-key` header must equal the configured key, else 401 `unauthorized` [seed].
- Errors: `{code, category: "user", message, retirable: false, details?, correlationId}` with
  codes `bad-request` (400), `unauthorized` (401), `not-found` (404) [seed][I3]. Validation
  failures are 400 with `details: [{field, message}]`; unknown routes and wrong methods are
  404 `not-found` (inferred); an oversize body is 413 with code `bad-request` on every operation
  (inferred: no size limit is documented).
- Jobs live per (workspaceId, projectName) under caller-chosen ids; a duplicate id is 400
  (inferred). List jobs returns the `Job` shape (`project_id`, `proxy: {version, url}`), get
  job the `JobDetails` shape (`projectId`, `proxy` as URL string) [I1 models/generated.py].
  PUT replaces the definition as a whole; DELETE answers 204 and forgets the job's runs.
- Pause: job `PAUSED` (with `reason`), its running JobRuns `PAUSED`; resume undoes both [I2].
- Trigger: a `jr_` JobRun, MANUAL, PENDING, with a `job_configuration_snapshot` of the job at
  that moment; refused with 400 while the job is paused ([I2] "fails if the Job is paused").
- List runs: `pageSize` (10) / `pageNumber` (0, zero-based) / `sortBy` (`start_time,desc`),
  with `totalCount` [I1]. The seed GET returns `{jobRun, results?}`; `results` exist once a
  run finished as SUCCESS or COMPLETED (inferred). Terminate moves a running JobRun to
  TERMINATED with `end_time`; a finished run is refused with 400 (inferred).
- The control action `set-run-status` drives a run as the vendor's backend would, keeping
  `successful_runs + failed_runs <= payloads` and setting `end_time` on terminal statuses.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from mockserver.apis.base import Reply, VendorApi, action, handles, json_reply, no_content
from mockserver.apis.intuned_dispatch import OUTCOMES, RunDispatch, outcome_key
from mockserver.errors import ApiError, Issue
from mockserver.spec import Operation
from mockserver.validation import HttpRequest, ValidRequest

__all__ = ["Api"]

PROJECTS = "intuned:projects"
DEFINITION = ("payload", "configuration", "schedule", "sink", "proxy", "auth_session",
              "notifications")
SNAPSHOT = ("configuration", "sink", "auth_session", "proxy", "notifications")
STATUSES = ("PENDING", "PAUSING", "PAUSED", "RESUMING", "SUCCESS", "COMPLETED", "FAILURE",
            "TERMINATED", "CANCELED")
FINISHED = frozenset({"SUCCESS", "FAILURE", "TERMINATED", "COMPLETED", "CANCELED"})
RUNNING = frozenset({"PENDING", "PAUSING", "RESUMING"})
TRANSITIONS: dict[str, frozenset[str]] = {
    "PENDING": frozenset({"PENDING", "PAUSING", "PAUSED", *FINISHED}),
    "PAUSING": frozenset({"PAUSING", "PAUSED", "FAILURE", "TERMINATED", "CANCELED"}),
    "PAUSED": frozenset({"PAUSED", "RESUMING", "PENDING", "TERMINATED", "CANCELED"}),
    "RESUMING": frozenset({"RESUMING", "PENDING", "FAILURE", "TERMINATED", "CANCELED"}),
}
SORTABLE = frozenset({"start_time", "end_time", "created_at", "updated_at", "status", "type",
                      "id", "payloads", "successful_runs", "failed_runs"})
CODES = {401: "unauthorized", 404: "not-found"}
RESULTS_FOR = frozenset({"SUCCESS", "COMPLETED"})


class Api(RunDispatch, VendorApi):
    name = "intuned"

    # -- error dialect ------------------------------------------------------------------------

    def render_error(self, error: ApiError, op: Operation | None) -> Reply:
        body = self._error_body(CODES.get(error.status, "bad-request"), error.message,
                                error.detail)
        return json_reply(error.status, body)

    def render_issues(self, issues: list[Issue], op: Operation) -> Reply:
        details = _unique([{"field": _field_of(i), "message": i.message} for i in issues])
        shown = "; ".join(f"{d['field']}: {d['message']}" for d in details[:3])
        more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
        message = f"Invalid request: {shown}{more}"
        return json_reply(400, self._error_body("bad-request", message, details))

    def _error_body(self, code: str, message: str, details: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"code": code, "category": "user", "message": message,
                                "retirable": False}
        if details is not None:
            body["details"] = details
        body["correlationId"] = self.ids.uuid()
        return body

    def route_not_found(self, request: HttpRequest) -> ApiError:
        return ApiError(404, f"Route {request.method} {request.path} not found")

    def method_not_allowed(self, request: HttpRequest, allowed: tuple[str, ...]) -> ApiError:
        return ApiError(404, f"Route {request.method} {request.path} not found")

    def auth_failure(self, op: Operation, request: HttpRequest) -> ApiError:
        if not request.headers.get("x-api-key"):
            return ApiError(401, "Missing API key: send it in the x-api-key header")
        return ApiError(401, "Invalid API key")

    # -- jobs ---------------------------------------------------------------------------------

    @handles("listJobs")
    def list_jobs(self, req: ValidRequest) -> Reply:
        jobs = self.store.values(_jobs_ns(*_tenant(req)))
        return json_reply(200, [_job_item(job) for job in jobs])

    @handles("createJob")
    def create_job(self, req: ValidRequest) -> Reply:
        ws, project = _tenant(req)
        job_id = req.body["id"]
        if self.store.get(_jobs_ns(ws, project), job_id) is not None:
            raise ApiError(400, f"Job with id {job_id} already exists in project {project}")
        now = self.clock.iso("milliseconds")
        job: dict[str, Any] = {
            "id": job_id, "workspace_id": ws, "project_id": self._project_id(ws, project),
            **_definition(req.body), "created_at": now, "next_run_time": None,
            "last_run_time": None, "state": "ACTIVE", "reason": None, "schedule_id": None,
            "source": "API",
        }
        self.store.put(_jobs_ns(ws, project), job_id, job)
        return json_reply(201, {"id": job_id, "message": "created"})

    @handles("getJob")
    def get_job(self, req: ValidRequest) -> Reply:
        return json_reply(200, _job_details(self._job(*_tenant(req), req.path["jobId"])))

    @handles("updateJob")
    def update_job(self, req: ValidRequest) -> Reply:
        ws, project = _tenant(req)
        job = self._change_job(ws, project, req.path["jobId"], _definition(req.body))
        return json_reply(200, {"id": job["id"], "message": "updated job successfully"})

    @handles("deleteJob")
    def delete_job(self, req: ValidRequest) -> Reply:
        ws, project = _tenant(req)
        job_id = req.path["jobId"]
        if not self.store.delete(_jobs_ns(ws, project), job_id):
            raise _job_not_found(job_id)
        self.store.delete(OUTCOMES, outcome_key(ws, project, job_id))
        runs = _runs_ns(ws, project, job_id)
        for run in self.store.values(runs):
            self.store.delete(runs, run["id"])
        return no_content()

    @handles("pauseJob")
    def pause_job(self, req: ValidRequest) -> Reply:
        ws, project = _tenant(req)
        job = self._job(ws, project, req.path["jobId"])
        if job["state"] != "PAUSED":
            reason = {"type": "paused", "message": "Paused by user", "details": None,
                      "timestamp": self.clock.iso("milliseconds")}
            self._change_job(ws, project, job["id"], {"state": "PAUSED", "reason": reason})
            self._move_runs(ws, project, job["id"], RUNNING, "PAUSED")
        return json_reply(200, {"message": "Paused"})

    @handles("resumeJob")
    def resume_job(self, req: ValidRequest) -> Reply:
        ws, project = _tenant(req)
        job = self._job(ws, project, req.path["jobId"])
        if job["state"] != "ACTIVE":
            self._change_job(ws, project, job["id"], {"state": "ACTIVE", "reason": None})
            for run in self._move_runs(ws, project, job["id"], frozenset({"PAUSED"}),
                                       "PENDING"):
                self._plan_finish(ws, project, run, self.clock.peek())
        return json_reply(200, {"message": "Resumed"})

    @handles("triggerJob")
    def trigger_job(self, req: ValidRequest) -> Reply:
        ws, project = _tenant(req)
        job = self._job(ws, project, req.path["jobId"])
        if job["state"] == "PAUSED":
            raise ApiError(400, f"Job {job['id']} is paused; resume it before triggering")
        run = self._new_run(job)
        self.store.put(_runs_ns(ws, project, job["id"]), run["id"], run)
        self._change_job(ws, project, job["id"], {"last_run_time": run["start_time"]})
        self._plan_finish(ws, project, run, self.clock.peek())
        return json_reply(200, {"jobRunId": run["id"], "message": "Job triggered successfully"})

    # -- runs ---------------------------------------------------------------------------------

    @handles("listJobRuns")
    def list_runs(self, req: ValidRequest) -> Reply:
        ws, project = _tenant(req)
        job = self._job(ws, project, req.path["jobId"])
        runs = _sorted_runs(self.store.values(_runs_ns(ws, project, job["id"])),
                            str(req.query.get("sortBy", "start_time,desc")))
        size, number = req.query.get("pageSize", 10), req.query.get("pageNumber", 0)
        page = runs[number * size:(number + 1) * size]
        return json_reply(200, {"jobRuns": page, "totalCount": len(runs)})

    @handles("getJobRun")
    def get_run(self, req: ValidRequest) -> Reply:
        run = self._run(*_tenant(req), req.path["jobId"], req.path["jobRunId"])
        body: dict[str, Any] = {"jobRun": run}
        if run["status"] in RESULTS_FOR:
            body["results"] = _results(run)
        return json_reply(200, body)

    @handles("terminateJobRun")
    def terminate_run(self, req: ValidRequest) -> Reply:
        ws, project = _tenant(req)
        run = self._run(ws, project, req.path["jobId"], req.path["jobRunId"])
        if run["status"] in FINISHED:
            raise ApiError(400, f"JobRun {run['id']} has already finished ({run['status']})")
        reason = {"type": "terminated", "message": "Terminated by user"}
        self._save_run(ws, project, run, {"status": "TERMINATED", "reason": reason})
        return json_reply(200, {"message": "JobRun terminated successfully."})

    # -- control-API actions --------------------------------------------------------------------

    @action("set-run-status")
    def set_run_status(self, workspace_id: str, project_name: str, job_id: str, run_id: str,
                       status: str, successful_runs: int | None = None,
                       failed_runs: int | None = None) -> dict[str, Any]:
        """Move a JobRun to `status` as Intuned's backend would (PENDING → PAUSING → PAUSED →
        RESUMING → PENDING → SUCCESS | COMPLETED | FAILURE, or TERMINATED | CANCELED), with
        optional `successful_runs` / `failed_runs` (their sum never exceeds `payloads`).
        Terminal statuses set `end_time`; SUCCESS/COMPLETED count the rest as successful and
        FAILURE as failed (and set `error`). Returns the JobRun; 409 for an illegal move."""
        ws = _checked_text("workspace_id", workspace_id).lower()
        for name, text in (("project_name", project_name), ("job_id", job_id),
                           ("run_id", run_id), ("status", status)):
            _checked_text(name, text)
        if status not in STATUSES:
            raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
        run = self._run(ws, project_name, job_id, run_id)
        if status not in TRANSITIONS.get(run["status"], frozenset()):
            raise ApiError(409, f"JobRun {run_id} is {run['status']} and cannot become {status}")
        changes = self._status_changes(run, status, successful_runs, failed_runs)
        return self._save_run(ws, project_name, run, changes)

    @action("set-outcome")
    def set_outcome(self, workspace_id: str, project_name: str, job_id: str,
                    outcomes: list[str] | None = None, results: list[Any] | None = None,
                    seconds: float = 2.0) -> dict[str, Any]:
        """Make the job's runs finish by themselves, even with automatic progress off:
        `seconds` after the trigger (or resume), payload i succeeds or fails by
        `outcomes[i % len]` ("success" / "failure", default all success), with result
        `results[i % len]` (sent to a webhook sink). A run ends SUCCESS (all succeeded),
        COMPLETED (some failed) or FAILURE (all failed). Returns the policy."""
        ws = _checked_text("workspace_id", workspace_id).lower()
        self._job(ws, _checked_text("project_name", project_name),
                  _checked_text("job_id", job_id))
        chosen = list(outcomes or ["success"])
        if any(o not in ("success", "failure") for o in chosen):
            raise ApiError(400, "outcomes are \"success\" or \"failure\"")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ApiError(400, "seconds must be a number >= 0")
        policy = {"outcomes": chosen, "results": list(results or []), "seconds": seconds}
        self.store.put(OUTCOMES, outcome_key(ws, project_name, job_id), policy)
        return policy

    # -- helpers --------------------------------------------------------------------------------

    def _project_id(self, ws: str, project: str) -> str:
        key = f"{ws}/{quote(project, safe='')}"
        known = self.store.get(PROJECTS, key)
        if known is None:
            known = self.ids.uuid()
            self.store.put(PROJECTS, key, known)
        return str(known)

    def _job(self, ws: str, project: str, job_id: str) -> dict[str, Any]:
        job = self.store.get(_jobs_ns(ws, project), job_id)
        if job is None:
            raise _job_not_found(job_id)
        return dict(job)

    def _change_job(self, ws: str, project: str, job_id: str,
                    changes: dict[str, Any]) -> dict[str, Any]:
        job = self.store.update(_jobs_ns(ws, project), job_id, lambda j: {**j, **changes})
        if job is None:
            raise _job_not_found(job_id)
        return dict(job)

    def _run(self, ws: str, project: str, job_id: str, run_id: str) -> dict[str, Any]:
        self._job(ws, project, job_id)
        run = self.store.get(_runs_ns(ws, project, job_id), run_id)
        if run is None:
            raise ApiError(404, f"Job run {run_id} not found")
        return dict(run)

    def _save_run(self, ws: str, project: str, run: dict[str, Any],
                  changes: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.iso("milliseconds")
        stamped = {**changes, "updated_at": now}
        if changes.get("status") in FINISHED and run["end_time"] is None:
            stamped["end_time"] = now
        saved = self.store.update(_runs_ns(ws, project, run["job_id"]), run["id"],
                                  lambda r: {**r, **stamped})
        if saved is None:
            raise ApiError(404, f"Job run {run['id']} not found")
        if saved["status"] in FINISHED and run["status"] not in FINISHED:
            self._notify(ws, project, saved)
        return dict(saved)

    def _move_runs(self, ws: str, project: str, job_id: str, current: frozenset[str],
                   status: str) -> list[dict[str, Any]]:
        reason = {"type": "user-request", "message": "Paused by user"} if status == "PAUSED" \
            else None
        return [self._save_run(ws, project, run, {"status": status, "reason": reason})
                for run in self.store.values(_runs_ns(ws, project, job_id))
                if run["status"] in current]

    def _new_run(self, job: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.iso("milliseconds")
        return {
            "id": f"jr_{self.ids.token(21)}", "start_time": now, "end_time": None,
            "workspace_id": job["workspace_id"], "project_id": job["project_id"],
            "job_id": job["id"], "created_at": now, "updated_at": now, "type": "MANUAL",
            "status": "PENDING", "payloads": len(job.get("payload") or []),
            "successful_runs": 0, "failed_runs": 0, "error": None, "reason": None,
            "job_configuration_snapshot": _snapshot(job),
        }

    def _status_changes(self, run: dict[str, Any], status: str, successful: int | None,
                        failed: int | None) -> dict[str, Any]:
        done = _count("successful_runs", successful, run["successful_runs"])
        lost = _count("failed_runs", failed, run["failed_runs"])
        total = run["payloads"] or 0
        if done + lost > total:
            raise ApiError(400, f"successful_runs + failed_runs ({done + lost}) exceeds "
                                f"payloads ({total})")
        rest = total - done - lost
        if status in RESULTS_FOR and successful is None:
            done += rest
        elif status == "FAILURE" and failed is None:
            lost += rest
        changes: dict[str, Any] = {"status": status, "successful_runs": done,
                                   "failed_runs": lost}
        if status == "FAILURE":
            changes["error"] = self._run_error()
        if status == "TERMINATED":
            changes["reason"] = {"type": "terminated", "message": "Terminated"}
        return changes

    def _run_error(self) -> dict[str, Any]:
        return {"message": "An error occurred while executing the job",
                "code": "internal-server-error", "category": "infrastructure",
                "correlationId": self.ids.uuid(), "retirable": False}


def _tenant(req: ValidRequest) -> tuple[str, str]:
    """(workspace, project) of a request; UUIDs compare case-insensitively."""
    return str(req.path["workspaceId"]).lower(), str(req.path["projectName"])


def _jobs_ns(ws: str, project: str) -> str:
    return f"intuned:jobs:{ws}:{quote(project, safe='')}"


def _runs_ns(ws: str, project: str, job_id: str) -> str:
    return f"intuned:runs:{ws}:{quote(project, safe='')}:{quote(job_id, safe='')}"


def _job_not_found(job_id: str) -> ApiError:
    return ApiError(404, f"Job {job_id} not found")


def _definition(body: dict[str, Any]) -> dict[str, Any]:
    """The replaceable part of a job: every definition field, absent ones as null."""
    return {name: body.get(name) for name in DEFINITION}


def _proxy_object(url: Any) -> dict[str, str] | None:
    return {"version": "v1", "url": str(url)} if url else None


def _job_item(job: dict[str, Any]) -> dict[str, Any]:
    """A job as list-jobs shows it (`Job`)."""
    return {**job, "proxy": _proxy_object(job.get("proxy"))}


def _job_details(job: dict[str, Any]) -> dict[str, Any]:
    """A job as get-job shows it (`JobDetails`: camelCase projectId, proxy as a URL)."""
    fields = ("id", "configuration", "sink", "created_at", "next_run_time", "last_run_time",
              "state", "payload", "schedule", "auth_session", "proxy")
    return {**{name: job.get(name) for name in fields}, "projectId": job["project_id"]}


def _snapshot(job: dict[str, Any]) -> dict[str, Any]:
    snapshot = {name: job.get(name) for name in SNAPSHOT}
    snapshot["configuration"] = snapshot["configuration"] or {}
    snapshot["proxy"] = _proxy_object(job.get("proxy"))
    return snapshot


def _sorted_runs(runs: list[dict[str, Any]], sort_by: str) -> list[dict[str, Any]]:
    field, _, direction = sort_by.partition(",")
    if field not in SORTABLE:
        raise ApiError(400, f"Cannot sort by {field}; sortable: {', '.join(sorted(SORTABLE))}")
    present = [r for r in runs if r.get(field) is not None]
    absent = [r for r in runs if r.get(field) is None]
    present.sort(key=lambda r: r[field], reverse=direction == "desc")
    return present + absent


def _results(run: dict[str, Any]) -> dict[str, Any]:
    finished = datetime.fromisoformat(str(run["end_time"] or run["updated_at"]))
    expires = (finished + timedelta(hours=1)).isoformat(timespec="milliseconds")
    key = f"results/{run['id']}.json"
    return {"signed_url": f"https://results.intuned.io/{key}?X-Amz-Signature=jobmock",
            "signed_url_expiration": expires.replace("+00:00", "Z"), "key": key,
            "format": "json"}


def _field_of(issue: Issue) -> str:
    """Where an issue is, as a dotted name inside its source (`payload.0.apiName`)."""
    if issue.kind in ("json_invalid", "content_type") or len(issue.location) < 2:
        return str(issue.location[0]) if issue.location else "body"
    return ".".join(str(part) for part in issue.location[1:])


def _unique(details: list[dict[str, str]]) -> list[dict[str, str]]:
    """Drop repeats: the core reports each missing property once per `required` error."""
    seen: list[dict[str, str]] = []
    for detail in details:
        if detail not in seen:
            seen.append(detail)
    return seen


def _checked_text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"{name} must be a non-empty string")
    return value


def _count(name: str, given: Any, current: Any) -> int:
    if given is None:
        return int(current or 0)
    if isinstance(given, bool) or not isinstance(given, int) or given < 0:
        raise ApiError(400, f"{name} must be a non-negative integer")
    return given

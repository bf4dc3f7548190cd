"""NVIDIA NeMo Platform Jobs v2: jobs per workspace, their status tree and the seed PATCH.

Behaviour (vendors.md §2, nemo-platform 0.6.0 server source [N1]-[N8]):

- Jobs live in a workspace; nothing of one workspace is visible through another. Names are
  unique per workspace (duplicate → 409 "Job '<n>' already exists in workspace '<ws>'.");
  an omitted name becomes `<source[:20]>-<8 lowercase letters>` [N8]. Ids are
  `<prefix>-<base58 uuid>` [N8]. A job starts `created` with a fresh attempt and
  `status_details` `{}`; each step of `platform_spec` gets a status entry.
- Status moves follow the vendor's table [N2] (same → same always allowed); the control
  action `set-status` drives them (the backend does on the real service). The steps mirror
  the job's status (a simplification: the mock models no per-step progress). In the status
  tree a step's or task's `error_details` is `{}` when unset, the job's own stays null [N8].
- Cancel [N8]: a job whose steps are all `created` becomes `cancelled`; a running job moves to
  `cancelling`; a terminal (or already cancelling) job comes back unchanged; a move the table
  refuses (e.g. from `pausing`) is a 409.
- Delete [N1, nemo-platform#1799]: 409 unless the job is terminal; then 204 and 404 after.
- The seed PATCH shallow-merges the body into `status_details`, whatever the status (also on
  terminal jobs), and answers 200 with JSON `null` (the handler returns None [N1]). It leaves
  the job's `updated_at` alone: the real dispatcher only updates the attempt [N8].
- List: `page`/`page_size`, `sort` (created_at, updated_at, source, `-` for descending),
  `filter[...]` (status, name, project, source, workspace, created_at/updated_at
  `{$gte,$lte}`); list items leave out null fields (response_model_exclude_none) [N1][N4].
- Auth is off unless `credentials.nemo_auth` is set [N5]; then the bearer must equal the
  configured token: 401 "Unauthorized" without a header, "Invalid bearer token" for a header
  that is not `Bearer <token>`, "Invalid or expired token" for a wrong token.
- Errors: FastAPI `{"detail": ...}`; 404 "Job '<name>' not found in workspace '<ws>'." [N1].
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from mockserver.apis._fastapi import FastApiDialect
from mockserver.apis.base import (
    Reply,
    VendorApi,
    action,
    bearer_of,
    handles,
    json_reply,
    no_content,
    secret_equals,
)
from mockserver.dispatch import Timer
from mockserver.errors import ApiError
from mockserver.spec import Operation
from mockserver.validation import HttpRequest, ValidRequest

__all__ = ["Api"]

STATUSES = ("created", "pending", "active", "cancelled", "cancelling", "error", "completed",
            "paused", "pausing", "resuming")
TERMINAL = frozenset({"completed", "error", "cancelled"})
TRANSITIONS: dict[str, frozenset[str]] = {
    "created": frozenset({"pending", "active", "cancelling", "cancelled", "pausing", "paused",
                          "error"}),
    "pending": frozenset({"active", "cancelling", "cancelled", "error", "pausing", "paused",
                          "completed"}),
    "active": frozenset({"completed", "error", "cancelling", "cancelled", "pausing", "paused"}),
    "paused": frozenset({"resuming", "active", "cancelling"}),
    "cancelling": frozenset({"cancelled", "error"}),
    "pausing": frozenset({"paused", "error"}),
    "resuming": frozenset({"pending", "active", "error", "cancelling"}),
}
SORT_FIELDS = ("created_at", "updated_at", "source")
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
JOB_FIELDS = ("project", "description", "spec", "platform_spec", "source", "ownership",
              "custom_fields", "output_location")

Record = dict[str, Any]


class Api(FastApiDialect, VendorApi):
    name = "nemo"

    def authenticate(self, op: Operation, request: HttpRequest) -> ApiError | None:
        """Auth is off by default; when on, the bearer must be the configured token [N5]."""
        creds = self.config.credentials
        if not creds.nemo_auth:
            return None
        if "authorization" not in request.headers:
            return ApiError(401, "Unauthorized")
        token = bearer_of(request)
        if token is None:
            return ApiError(401, "Invalid bearer token")
        if not secret_equals(token, creds.token):
            return ApiError(401, "Invalid or expired token")
        return None

    # -- jobs ---------------------------------------------------------------------------------

    @handles("create-job-apis-jobs-v-2-workspaces-workspace-jobs-post")
    def create_job(self, req: ValidRequest) -> Reply:
        workspace, body = req.path["workspace"], req.body
        _check_step_names(body["platform_spec"]["steps"])
        name = body.get("name") or self._generated_name(body["source"])
        if self.store.get(_jobs(workspace), name) is not None:
            raise ApiError(409, f"Job '{name}' already exists in workspace '{workspace}'.")
        record = self._new_record(workspace, name, body)
        self.store.put(_jobs(workspace), name, record)
        if self.config.auto_progress:
            start = self.clock.peek()
            self.timers.add(start, "progress", workspace=workspace, name=name, status="active")
            self.timers.add(start + timedelta(seconds=self.config.run_seconds), "progress",
                            workspace=workspace, name=name, status="completed")
        return json_reply(201, record["job"])

    @handles("list-jobs-apis-jobs-v-2-workspaces-workspace-jobs-get")
    def list_jobs(self, req: ValidRequest) -> Reply:
        workspace = req.path["workspace"]
        flt: dict[str, Any] = dict(req.query.get("filter") or {})
        sort = str(req.query.get("sort", "-created_at"))
        jobs = [r["job"] for r in self.store.values(_jobs(workspace))]
        jobs = [j for j in jobs if _matches(j, flt, workspace)]
        jobs = _sorted(jobs, sort)
        page, page_size = req.query.get("page", 1), req.query.get("page_size", 10)
        return json_reply(200, _page(jobs, page, page_size, sort, flt))

    @handles("get-job-apis-jobs-v-2-workspaces-workspace-jobs-name-get")
    def get_job(self, req: ValidRequest) -> Reply:
        record = self._record(req.path["workspace"], req.path["name"])
        return json_reply(200, record["job"])

    @handles("get-job-status-apis-jobs-v-2-workspaces-workspace-jobs-name-status-get")
    def get_status(self, req: ValidRequest) -> Reply:
        record = self._record(req.path["workspace"], req.path["name"])
        job = record["job"]
        status = {k: job[k] for k in ("id", "name", "status", "status_details",
                                       "error_details")}
        status.update(steps=[_step_status(step) for step in record["steps"]],
                      created_at=job["created_at"], updated_at=job["updated_at"])
        return json_reply(200, status)

    @handles("update-job-status-details-apis-jobs-v-2-workspaces-workspace-jobs-name-"
             "status-details-patch")
    def update_status_details(self, req: ValidRequest) -> Reply:
        changes: dict[str, Any] = dict(req.body)

        def merge(record: Record) -> Record:
            job = record["job"]
            job["status_details"] = {**job["status_details"], **changes}
            return record

        self._change(req.path["workspace"], req.path["name"], merge)
        return json_reply(200, None)

    @handles("cancel-job-apis-jobs-v-2-workspaces-workspace-jobs-name-cancel-post")
    def cancel_job(self, req: ValidRequest) -> Reply:
        now = self._now()
        record = self._change(req.path["workspace"], req.path["name"],
                              lambda r: _cancelled(r, now))
        return json_reply(200, record["job"])

    @handles("delete-job-apis-jobs-v-2-workspaces-workspace-jobs-name-delete")
    def delete_job(self, req: ValidRequest) -> Reply:
        workspace, name = req.path["workspace"], req.path["name"]
        record = self._record(workspace, name)
        unfinished = [s for s in record["steps"] if s["status"] not in TERMINAL]
        status = record["job"]["status"]
        if status not in TERMINAL or unfinished:
            shown = status if status not in TERMINAL else unfinished[0]["status"]
            raise ApiError(409, f"Cannot delete job '{name}' while it is in status '{shown}'.")
        self.store.delete(_jobs(workspace), name)
        return no_content()

    # -- control-API actions --------------------------------------------------------------------

    @action("set-status")
    def set_status(self, workspace: str, name: str, status: str,
                   error_details: dict[str, Any] | None = None) -> dict[str, Any]:
        """Move job `name` of `workspace` to `status` along the vendor's transition table
        (same → same allowed; 409 otherwise); its steps follow. `error_details` (an object) is
        stored with the move, e.g. when moving to `error`."""
        if status not in STATUSES:
            raise ApiError(400, f"unknown status {status!r}; choose from {', '.join(STATUSES)}")
        if error_details is not None and not isinstance(error_details, dict):
            raise ApiError(400, "error_details must be a JSON object")
        now = self._now()
        record = self._change(str(workspace), str(name),
                              lambda r: _moved(r, status, now, error_details))
        job: dict[str, Any] = record["job"]
        return job

    def on_timer(self, timer: Timer) -> None:
        """Automatic progress (`auto_progress`): created → active → completed, unless the job
        moved elsewhere meanwhile (cancelled, paused, driven through the control API)."""
        args, now = timer.args, self._now()
        record = self.store.get(_jobs(args["workspace"]), args["name"])
        if record is None or args["status"] not in TRANSITIONS.get(record["job"]["status"], ()):
            return
        with contextlib.suppress(ApiError):
            self._change(args["workspace"], args["name"],
                         lambda r: _moved(r, args["status"], now))

    # -- helpers --------------------------------------------------------------------------------

    def _now(self) -> str:
        return self.clock.iso("milliseconds")

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{_base58(uuid.UUID(self.ids.uuid()).int)}"

    def _generated_name(self, source: str) -> str:
        letters = "".join(chr(ord("a") + int(self.ids.random() * 26)) for _ in range(8))
        return f"{source[:20]}-{letters}"

    def _new_record(self, workspace: str, name: str, body: dict[str, Any]) -> Record:
        now = self._now()
        job: dict[str, Any] = {"id": self._new_id("job"), "attempt_id": self._new_id("attempt"),
                               "name": name, "workspace": workspace}
        job.update({k: body.get(k) for k in JOB_FIELDS})
        job["platform_spec"] = _normalised_platform_spec(body["platform_spec"])
        job.update(fileset=f"{name}-files", status="created", status_details={},
                   error_details=None, created_at=now, updated_at=now)
        steps = [_new_step(self._new_id("step"), step["name"], now)
                 for step in job["platform_spec"]["steps"]]
        return {"job": job, "steps": steps}

    def _record(self, workspace: str, name: str) -> Record:
        record: Record | None = self.store.get(_jobs(workspace), name)
        if record is None:
            raise _not_found(workspace, name)
        return record

    def _change(self, workspace: str, name: str, change: Callable[[Record], Record]) -> Record:
        record: Record | None = self.store.update(_jobs(workspace), name, change)
        if record is None:
            raise _not_found(workspace, name)
        return record


def _jobs(workspace: str) -> str:
    return f"nemo:ws:{workspace}:jobs"


def _not_found(workspace: str, name: str) -> ApiError:
    return ApiError(404, f"Job '{name}' not found in workspace '{workspace}'.")


def _base58(number: int) -> str:
    digits: list[str] = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(B58[rest])
    return "".join(reversed(digits)) or "1"


def _check_step_names(steps: list[dict[str, Any]]) -> None:
    """Step names are unique within a job (pydantic validator of PlatformJobSpec [N3])."""
    names = [step["name"] for step in steps]
    if len(set(names)) == len(names):
        return
    message = "Step names must be unique within a job"
    raise ApiError(422, message, detail=[{
        "type": "value_error", "loc": ["body", "platform_spec"],
        "msg": f"Value error, {message}", "input": {"steps": steps}, "ctx": {"error": message},
    }])


def _normalised_platform_spec(platform_spec: dict[str, Any]) -> dict[str, Any]:
    """Defaults the service's model fills in (as the spec's create example shows; inferred)."""
    steps = []
    for step in platform_spec["steps"]:
        executor = {"profile": "default", **step["executor"]}
        steps.append({**step, "executor": executor, "config": step.get("config", {}),
                      "lifecycle": {"staleness_timeout_seconds": 0, **step.get("lifecycle", {})}})
    return {**platform_spec, "steps": steps}


def _new_step(step_id: str, name: str, now: str) -> dict[str, Any]:
    return {"id": step_id, "name": name, "status": "created", "status_details": {},
            "error_details": None, "tasks": [], "created_at": now, "updated_at": now}


def _step_status(step: dict[str, Any]) -> dict[str, Any]:
    """A step (and its tasks) in the status tree: the dispatcher sends `error_details or {}`
    for steps and tasks, never null, while the job's own `error_details` stays null until set
    [N8 dispatcher.get_job_status]; nemo-platform 0.6.0's SDK types require the object."""
    tasks = [{**task, "error_details": task.get("error_details") or {}}
             for task in step["tasks"]]
    return {**step, "error_details": step.get("error_details") or {}, "tasks": tasks}


def _moved(record: Record, status: str, now: str,
           error_details: dict[str, Any] | None = None) -> Record:
    """The record with the job (and its steps) in `status`; 409 for a move the table refuses."""
    job = record["job"]
    current = job["status"]
    if status != current and status not in TRANSITIONS.get(current, frozenset()):
        raise ApiError(409, f"Cannot move job '{job['name']}' from status '{current}' "
                            f"to '{status}'.")
    if status == current and error_details is None:
        return record
    job["status"], job["updated_at"] = status, now
    if error_details is not None:
        job["error_details"] = error_details
    for step in record["steps"]:
        step["status"], step["updated_at"] = status, now
    return record


def _cancelled(record: Record, now: str) -> Record:
    """Cancel as the dispatcher does [N8]."""
    job = record["job"]
    if job["status"] in TERMINAL or job["status"] == "cancelling":
        return record
    untouched = all(step["status"] == "created" for step in record["steps"])
    target = "cancelled" if untouched else "cancelling"
    if target not in TRANSITIONS[job["status"]]:
        raise ApiError(409, f"Cannot cancel job '{job['name']}' from its current state.")
    return _moved(record, target, now)


def _matches(job: dict[str, Any], flt: dict[str, Any], workspace: str) -> bool:
    statuses = flt.get("status")
    if statuses is not None:
        wanted = statuses if isinstance(statuses, list) else [statuses]
        if job["status"] not in wanted:
            return False
    if "workspace" in flt and flt["workspace"] != workspace:
        return False
    for key in ("name", "project", "source"):
        if key in flt and job.get(key) != flt[key]:
            return False
    return all(_in_range(job[key], flt[key], key) for key in ("created_at", "updated_at")
               if isinstance(flt.get(key), dict))


def _in_range(value: str, bounds: dict[str, Any], key: str) -> bool:
    moment = _instant(value, key, "value")
    low, high = bounds.get("$gte"), bounds.get("$lte")
    if low is not None and moment < _instant(low, key, "$gte"):
        return False
    return not (high is not None and moment > _instant(high, key, "$lte"))


def _instant(text: Any, key: str, bound: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise ApiError(422, f"Invalid datetime for filter[{key}][{bound}]: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sorted(jobs: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    field = sort.lstrip("-")
    if field not in SORT_FIELDS:
        field = "created_at"
    if field == "source":
        return sorted(jobs, key=lambda j: str(j["source"]), reverse=sort.startswith("-"))
    return sorted(jobs, key=lambda j: _instant(j[field], field, "value"),
                  reverse=sort.startswith("-"))


def _page(jobs: list[dict[str, Any]], page: int, page_size: int, sort: str,
          flt: dict[str, Any]) -> dict[str, Any]:
    start = (page - 1) * page_size
    data = [{k: v for k, v in job.items() if v is not None}
            for job in jobs[start:start + page_size]]
    pagination = {"page": page, "page_size": page_size, "current_page_size": len(data),
                  "total_pages": max(1, math.ceil(len(jobs) / page_size)),
                  "total_results": len(jobs)}
    return {"data": data, "pagination": pagination, "sort": sort, "filter": flt}

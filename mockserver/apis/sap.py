"""SAP BTP Job Scheduling service: jobs, schedules, run logs and the seed Update Job Run Log.

Behaviour (sources are the tags of shared/vendors.md section 1):

- Jobs get integer ids from 1 (`_id`, [S1]); names are unique, a duplicate create is a 400
  [S1]. Schedules get UUIDs; their `data` is returned as a JSON string by Create Job and
  Create Job Schedule and as an object by Retrieve Job Details [S1][S2][S3]. Times are UTC:
  job/schedule times as "YYYY-MM-DD HH:mm:ss" [S1][S3], run-log times without a zone
  ("2015-11-14T04:15:22") [S4][S5].
- A run log comes to exist when a schedule fires: a `time: "now"` schedule of an active job
  fires once when it is created [S3]; the control action `fire-schedule` fires any schedule.
  A fired run is RUNNING/TRIGGERED [S14]. The seed PUT completes it: COMPLETED with SUCCESS or
  ERROR by `success`, `message` as `runText`, and a `completionTimestamp` [S6][S14][S15];
  a completed one-time schedule deactivates [S17]. `set-run-state` moves a run to any legal
  (runStatus, runState) pair [S14]; a completed run cannot move again (409).
- Retrieve All Jobs pages with page_size (default 10, at most 100) and offset and sends the
  deprecation headers when page_size is missing [S8][S12]; `name`/`jobId` look one job up
  and cannot be combined with paging (400 "Invalid query") [S13]. Run logs page by offset
  (10 with offset only, up to 200 without paging) or by a runId cursor [S4][S16].
- Delete Job removes its schedules and run logs [S7]; unknown job/schedule/run ids are 404.
- Errors are `{code, message, type, detailedError}` [S1]; validation failures are 400
  "Error while <doing X>: <what is wrong>" with every issue in `detailedError`. A method the
  path does not support is a 404 of the same shape, as the service's Express router answers
  it (Express has no automatic 405). Bodies over the limit are 413 "request entity too
  large" [S10].
- Auth: HTTP Basic with the configured pair, or a Bearer JWT signed HS256 with the configured
  secret, standing in for XSUAA tokens (the Node client accepts nothing but JWTs) [S9][S11].
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from mockserver.apis.base import Reply, VendorApi, action, bearer_of, handles, json_reply
from mockserver.apis.sap_dispatch import ScheduleDispatch
from mockserver.errors import ApiError, Issue
from mockserver.spec import Operation
from mockserver.validation import HttpRequest, ValidRequest

__all__ = ["Api"]

JOBS = "sap:jobs"
NAMES = "sap:names"
MODES = ("cron", "time", "repeatInterval", "repeatAt")
LEGAL_STATES = {
    "SCHEDULED": frozenset({"SCHEDULED"}),
    "RUNNING": frozenset({"TRIGGERED", "ACK_RECVD", "ACK_NOT_RECVD"}),
    "COMPLETED": frozenset({"SUCCESS", "ERROR", "REQUEST_ERROR", "UNKNOWN", "TIMEOUT"}),
}
NEXT_STATUSES = {"SCHEDULED": ("SCHEDULED", "RUNNING", "COMPLETED"),
                 "RUNNING": ("RUNNING", "COMPLETED"), "COMPLETED": ()}
ERROR_TYPES = {400: "Bad Request/Invalid Request", 401: "Unauthorized", 403: "Forbidden",
               404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
               413: "Payload Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests"}
DOING = {"createJob": "creating job", "listJobs": "fetching list of jobs",
         "getJob": "fetching job details", "deleteJob": "deleting job",
         "createJobSchedule": "creating schedule", "listJobRunLogs": "fetching run logs",
         "getJobRunLog": "fetching run log", "updateJobRunLog": "updating run log"}
LIST_FIELDS = ("jobId", "_id", "name", "description", "action", "active", "httpMethod", "user",
               "startTime", "endTime", "signatureVersion", "jobType", "subDomain", "ansConfig",
               "calmConfig", "createdAt")
JOB_FIELDS = ("_id", "name", "description", "action", "active", "httpMethod", "user",
              "startTime", "endTime", "signatureVersion", "ansConfig", "calmConfig")
FILTER_FIELDS = ("name", "subDomain", "tenantId")
SORT_FIELDS = {"name": "name", "jobId": "_id", "_id": "_id", "createdAt": "createdAt",
               "description": "description"}
PAGING_GUIDE = ("https://github.com/SAP-docs/btp-job-scheduling-service/blob/main/docs/"
                "40---Using-JOB-SCHDULR-TITLE/pagination-guide-for-get-scheduler-jobs-9b22bbf.md")
DEPRECATION_HEADERS = {
    "X-Deprecation-Warning": "GET /scheduler/jobs without page_size is deprecated; from "
                             "2026-06-25 at most page_size (default 10) jobs are returned",
    "X-Breaking-Change-Date": "2026-06-25",
    "X-Breaking-Change-Type": "pagination-required",
    "X-Migration-Guide": PAGING_GUIDE,
    "Deprecation": "@1782345600",
    "Link": f'<{PAGING_GUIDE}>; rel="deprecation"',
    "Sunset": "Thu, 25 Jun 2026 00:00:00 GMT",
}
_MOMENT_TOKENS = {"YYYY": "%Y", "MM": "%m", "DD": "%d", "HH": "%H", "hh": "%I", "mm": "%M",
                  "ss": "%S", "A": "%p", "Z": "%z"}
_MOMENT = re.compile("|".join(sorted(_MOMENT_TOKENS, key=len, reverse=True)))
_CLAUSE = re.compile(r"(\w+)\s+eq\s+'([^']*)'|contains\(\s*(\w+)\s*,\s*'([^']*)'\s*\)")


class Api(ScheduleDispatch, VendorApi):
    name = "sap"
    not_found_message = "Not Found"

    # -- error dialect --------------------------------------------------------------------------

    def render_error(self, error: ApiError, op: Operation | None) -> Reply:
        message = error.message
        detail = error.detail if isinstance(error.detail, str) else message
        if error.status == 413:  # every 413 (pipeline, web layer, injected fault) reads alike
            message = "request entity too large"
            detail = f"request body exceeds the limit of {_size(self.config.max_body_bytes)}"
        kind = ERROR_TYPES.get(error.status, "Error")
        return json_reply(error.status, {"code": error.status, "message": message,
                                         "type": kind, "detailedError": detail})

    def render_issues(self, issues: list[Issue], op: Operation) -> Reply:
        doing = DOING.get(op.operation_id, "processing request")
        texts = [_issue_text(issue, op, issues) for issue in issues]
        unique = list(dict.fromkeys(texts))
        return self.render_error(ApiError(400, f"Error while {doing}: {unique[0]}",
                                          detail=f"Error while {doing}: {'; '.join(unique)}"),
                                 op)

    def route_not_found(self, request: HttpRequest) -> ApiError:
        return ApiError(404, "Not Found", detail=f"Cannot {request.method} {request.path}")

    def method_not_allowed(self, request: HttpRequest, allowed: tuple[str, ...]) -> ApiError:
        return ApiError(404, "Not Found", detail=f"Cannot {request.method} {request.path} "
                                                 f"(supported here: {', '.join(allowed)})")

    def too_large(self, limit: int) -> ApiError:
        return ApiError(413, "request entity too large")

    # -- auth -----------------------------------------------------------------------------------

    def check_scheme(self, name: str, op: Operation, request: HttpRequest) -> bool:
        if name == "bearerAuth":
            return self._jwt_problem(bearer_of(request)) is None
        return super().check_scheme(name, op, request)

    def auth_failure(self, op: Operation, request: HttpRequest) -> ApiError:
        header = request.headers.get("authorization", "")
        scheme = header.partition(" ")[0].lower()
        if not header.strip():
            why = "no credentials: send HTTP Basic credentials or a Bearer token"
        elif scheme == "basic":
            why = "wrong user or password (HTTP Basic)"
        elif scheme == "bearer":
            why = f"invalid bearer token: {self._jwt_problem(bearer_of(request))}"
        else:
            why = f"unsupported authorization scheme {scheme!r}: use Basic or Bearer"
        return ApiError(401, "Unauthorized", detail=f"Unauthorized: {why}")

    def _jwt_problem(self, token: str | None) -> str | None:
        """Why a bearer token is refused, or None when it is a valid HS256 JWT."""
        if token is None:
            return "the token is empty"
        try:
            with warnings.catch_warnings():  # the default secret "jobmock" is short on purpose
                warnings.simplefilter("ignore", InsecureKeyLengthWarning)
                jwt.decode(token, self.config.credentials.jwt_secret, algorithms=["HS256"],
                           options={"require": ["exp"], "verify_aud": False})
        except jwt.ExpiredSignatureError:
            return "the token has expired"
        except jwt.InvalidSignatureError:
            return "the signature does not match"
        except jwt.InvalidTokenError as error:
            return f"not an acceptable HS256 JWT ({error})"
        return None

    # -- jobs -----------------------------------------------------------------------------------

    @handles("createJob")
    def create_job(self, req: ValidRequest) -> Reply:
        body, doing = req.body, "creating job"
        if self.store.get(NAMES, body["name"]) is not None:
            raise ApiError(400, f"Error while {doing}: job with name '{body['name']}' "
                                f"already exists")
        now = self.clock.now()
        job = self._new_job(body, now, doing)
        schedules = [_new_schedule(s, self.ids.uuid(), now, doing) for s in body["schedules"]]
        job_id = self.store.next_id("sap:job")
        job.update({"_id": job_id, "jobId": job_id})
        self.store.put(JOBS, str(job_id), job)
        self.store.put(NAMES, job["name"], job_id)
        created = [self._add_schedule(job, schedule) for schedule in schedules]
        reply = {**_pick(job, JOB_FIELDS), "schedules": [_schedule_out(s) for s in created]}
        return json_reply(201, reply, {"Location": f"/scheduler/jobs/{job_id}"})

    @handles("listJobs")
    def list_jobs(self, req: ValidRequest) -> Reply:
        query = req.query
        if "name" in query or "jobId" in query:
            return self._lookup(query)
        jobs = self._filtered(query)
        size, offset = query.get("page_size", 10), query.get("offset", 0)
        page = {"total": len(jobs),
                "results": [self._list_item(job) for job in jobs[offset:offset + size]],
                "prev_url": _jobs_url(size, max(0, offset - size)) if offset > 0 else None,
                "next_url": _jobs_url(size, offset + size) if offset + size < len(jobs)
                else None}
        headers = {} if "page_size" in query else DEPRECATION_HEADERS
        return json_reply(200, page, headers)

    @handles("getJob")
    def get_job(self, req: ValidRequest) -> Reply:
        job = self._job(req.path["jobId"], "fetching job details")
        return json_reply(200, self._job_detail(job, req.query.get("displaySchedules", False)))

    @handles("deleteJob")
    def delete_job(self, req: ValidRequest) -> Reply:
        job = self._job(req.path["jobId"], "deleting job")
        self.store.delete(JOBS, str(job["_id"]))
        self.store.delete(NAMES, job["name"])
        self.store.reset(_job_prefix(job["_id"]))
        return json_reply(200, {"success": True})

    # -- schedules ------------------------------------------------------------------------------

    @handles("createJobSchedule")
    def create_schedule(self, req: ValidRequest) -> Reply:
        doing = "creating schedule"
        job = self._job(req.path["jobId"], doing)
        schedule = self._add_schedule(job, _new_schedule(req.body, self.ids.uuid(),
                                                         self.clock.now(), doing))
        location = f"/scheduler/jobs/{job['_id']}/schedules/{schedule['scheduleId']}"
        return json_reply(201, _schedule_out(schedule), {"Location": location})

    # -- run logs -------------------------------------------------------------------------------

    @handles("listJobRunLogs")
    def list_run_logs(self, req: ValidRequest) -> Reply:
        job_id, schedule_id = req.path["jobId"], req.path["scheduleId"]
        self._schedule(job_id, schedule_id, "fetching run logs")
        runs = self.store.values(_runs_ns(job_id, schedule_id))
        base = f"/scheduler/jobs/{job_id}/schedules/{schedule_id}/runs"
        return json_reply(200, _run_page(runs, req.query, base))

    @handles("getJobRunLog")
    def get_run_log(self, req: ValidRequest) -> Reply:
        path = req.path
        return json_reply(200, self._run(path["jobId"], path["scheduleId"], path["runId"],
                                         "fetching run log"))

    @handles("updateJobRunLog")
    def update_run_log(self, req: ValidRequest) -> Reply:
        path, body = req.path, req.body
        run = self._run(path["jobId"], path["scheduleId"], path["runId"], "updating run log")
        changes = {"runText": body.get("message", run["runText"])}
        state = "SUCCESS" if body["success"] else "ERROR"
        # A repeated report re-completes the run: SAP documents no refusal for it [S6].
        self._move(path["jobId"], path["scheduleId"], run, "COMPLETED", state, changes,
                   again=True)
        return json_reply(200, {"success": True})

    # -- control-API actions --------------------------------------------------------------------

    @action("fire-schedule")
    def fire_schedule(self, job_id: int | str, schedule_id: str) -> dict[str, Any]:
        """Fire a schedule now, as the scheduler does when it is due: a new run log,
        RUNNING/TRIGGERED, with scheduleTimestamp and executionTimestamp set to now. The job's
        action URL is called at the next clock step (advance, or the real-time dispatcher)
        when its host is in call_hosts."""
        job_key = _job_key(job_id)
        self._schedule(job_key, str(schedule_id), "firing schedule")
        run = self._fire(job_key, str(schedule_id))
        self._plan_call(job_key, str(schedule_id), run["runId"], self.clock.peek())
        return run

    @action("set-run-state")
    def set_run_state(self, job_id: int | str, schedule_id: str, run_id: str, runStatus: str,
                      runState: str, httpStatus: int | None = None) -> dict[str, Any]:
        """Move a run log to a legal (runStatus, runState) pair: SCHEDULED/SCHEDULED,
        RUNNING/TRIGGERED|ACK_RECVD|ACK_NOT_RECVD, COMPLETED/SUCCESS|ERROR|REQUEST_ERROR|
        UNKNOWN|TIMEOUT. Status moves forward only (SCHEDULED → RUNNING → COMPLETED); a
        completed run is final (409). Sets executionTimestamp/completionTimestamp."""
        job_key = _job_key(job_id)
        known_states = frozenset().union(*LEGAL_STATES.values())
        if runStatus not in LEGAL_STATES or runState not in known_states:
            raise ApiError(400, f"unknown runStatus/runState {runStatus}/{runState}; legal: "
                                f"{_legal_pairs()}")
        if runState not in LEGAL_STATES[runStatus]:
            raise ApiError(409, f"({runStatus}, {runState}) is not a legal run status/state "
                                f"pair; legal: {_legal_pairs()}")
        run = self._run(job_key, str(schedule_id), str(run_id), "updating run log")
        changes = {} if httpStatus is None else {"httpStatus": _http_status(httpStatus)}
        return self._move(job_key, str(schedule_id), run, runStatus, runState, changes)

    # -- helpers: jobs --------------------------------------------------------------------------

    def _new_job(self, body: dict[str, Any], now: datetime, doing: str) -> dict[str, Any]:
        job = {key: body.get(key) for key in ("name", "description", "action", "httpMethod")}
        job.update({
            "active": body.get("active", False), "user": None, "signatureVersion": 0,
            "startTime": _stored_time(body.get("startTime"), now, "startTime", doing),
            "endTime": _stored_time(body.get("endTime"), now, "endTime", doing),
            "jobType": "HTTP_ENDPOINT", "subDomain": None, "tenantId": None,
            "createdAt": now.strftime("%Y-%m-%d %H:%M:%S"),
        })
        for key in ("ansConfig", "calmConfig"):
            if key in body:
                job[key] = body[key]
        return job

    def _job(self, job_id: int | str, doing: str) -> dict[str, Any]:
        job = self.store.get(JOBS, str(job_id))
        if job is None:
            raise ApiError(404, f"Error while {doing}: Job not found",
                           detail=f"Error while {doing}: no job with id {job_id}")
        return dict(job)

    def _lookup(self, query: Any) -> Reply:
        doing = "fetching job details"
        if "page_size" in query or "offset" in query:
            raise ApiError(400, f"Error while {doing}: Invalid query",
                           detail=f"Error while {doing}: Invalid query; name/jobId cannot be "
                                  f"combined with page_size/offset")
        job_id = self.store.get(NAMES, query["name"]) if "name" in query else query["jobId"]
        job = self.store.get(JOBS, str(job_id)) if job_id is not None else None
        if job is None or ("jobId" in query and job["_id"] != query["jobId"]):
            wanted = f"name '{query['name']}'" if "name" in query else f"id {query['jobId']}"
            raise ApiError(404, f"Error while {doing}: Job not found",
                           detail=f"Error while {doing}: no job with {wanted}")
        return json_reply(200, self._job_detail(job, query.get("displaySchedules", False)))

    def _filtered(self, query: Any) -> list[dict[str, Any]]:
        jobs = self.store.values(JOBS)
        if "jobType" in query:
            jobs = [j for j in jobs if j["jobType"] == query["jobType"]]
        if "tenantId" in query:
            jobs = [j for j in jobs if j["tenantId"] == query["tenantId"]]
        if "filter" in query:
            matches = _filter_matcher(query["filter"])
            jobs = [j for j in jobs if matches(j)]
        if "sort_by" in query:
            jobs = _sorted(jobs, query["sort_by"], query.get("sort_order", "ASC"))
        elif query.get("sort_order") == "DESC":
            jobs.reverse()
        return jobs

    def _list_item(self, job: dict[str, Any]) -> dict[str, Any]:
        schedules = self.store.values(_schedules_ns(job["_id"]))
        active = sum(1 for s in schedules if s["active"])
        return {**_pick(job, LIST_FIELDS), "ACTIVECOUNT": active,
                "INACTIVECOUNT": len(schedules) - active}

    def _job_detail(self, job: dict[str, Any], with_schedules: bool) -> dict[str, Any]:
        detail = _pick(job, JOB_FIELDS)
        if with_schedules:
            detail["schedules"] = [_pick(s, tuple(s)) for s in
                                   self.store.values(_schedules_ns(job["_id"]))]
        return detail

    # -- helpers: schedules and runs ------------------------------------------------------------

    def _add_schedule(self, job: dict[str, Any], schedule: dict[str, Any]) -> dict[str, Any]:
        schedule["jobId"] = job["_id"]
        self.store.put(_schedules_ns(job["_id"]), schedule["scheduleId"], schedule)
        now = self.clock.peek()
        if schedule["_fires_now"] and job["active"] and schedule["active"]:
            run = self._fire(str(job["_id"]), schedule["scheduleId"])
            self._plan_call(str(job["_id"]), schedule["scheduleId"], run["runId"], now)
        self._plan(job, schedule, now)
        return schedule

    def _schedules_ns(self, job_id: int | str) -> str:
        return _schedules_ns(job_id)

    def _schedule(self, job_id: int | str, schedule_id: str, doing: str) -> dict[str, Any]:
        self._job(job_id, doing)
        schedule = self.store.get(_schedules_ns(job_id), schedule_id)
        if schedule is None:
            raise ApiError(404, f"Error while {doing}: Schedule not found",
                           detail=f"Error while {doing}: no schedule {schedule_id} for job "
                                  f"{job_id}")
        return dict(schedule)

    def _run(self, job_id: int | str, schedule_id: str, run_id: str,
             doing: str) -> dict[str, Any]:
        self._schedule(job_id, schedule_id, doing)
        run = self.store.get(_runs_ns(job_id, schedule_id), run_id)
        if run is None:
            raise ApiError(404, f"Error while {doing}: Run log not found",
                           detail=f"Error while {doing}: no run {run_id} for schedule "
                                  f"{schedule_id} of job {job_id}")
        return dict(run)

    def _fire(self, job_id: str, schedule_id: str) -> dict[str, Any]:
        now = _run_time(self.clock.now())
        run: dict[str, Any] = {
            "runId": self.ids.uuid(), "runText": "", "httpStatus": None,
            "executionTimestamp": now, "runStatus": "RUNNING", "runState": "TRIGGERED",
            "scheduleTimestamp": now, "completionTimestamp": None}
        self.store.put(_runs_ns(job_id, schedule_id), run["runId"], run)
        return run

    def _move(self, job_id: int | str, schedule_id: str, run: dict[str, Any], status: str,
              state: str, changes: dict[str, Any], again: bool = False) -> dict[str, Any]:
        """Put a run in (status, state); refuse backward moves and moves of a final run
        (unless `again`: the seed PUT may complete a completed run once more)."""
        repeat = again and run["runStatus"] == status == "COMPLETED"
        if status not in NEXT_STATUSES[run["runStatus"]] and not repeat:
            raise ApiError(409, f"run {run['runId']} is {run['runStatus']}/{run['runState']} "
                                f"and cannot become {status}/{state}")
        now = _run_time(self.clock.now())
        moved = {**run, **changes, "runStatus": status, "runState": state}
        if state == "ACK_RECVD" and moved["httpStatus"] is None:
            moved["httpStatus"] = 202  # the application acknowledged with 202 [S15]
        if status != "SCHEDULED" and moved["executionTimestamp"] is None:
            moved["executionTimestamp"] = now
        if status == "COMPLETED":
            moved["completionTimestamp"] = now
            self._finish_schedule(job_id, schedule_id)
        self.store.put(_runs_ns(job_id, schedule_id), run["runId"], moved)
        return moved

    def _finish_schedule(self, job_id: int | str, schedule_id: str) -> None:
        """A one-time schedule deactivates once its run has completed [S17]."""
        self.store.update(_schedules_ns(job_id), schedule_id,
                          lambda s: {**s, "active": False} if s["type"] == "one-time" else s)


# -- schedules ----------------------------------------------------------------------------------


def _new_schedule(body: dict[str, Any], schedule_id: str, now: datetime,
                  doing: str) -> dict[str, Any]:
    modes = [mode for mode in MODES if mode in body]
    if len(modes) != 1:
        raise ApiError(400, f"Error while {doing}: specify exactly one of cron, time, "
                            f"repeatInterval, repeatAt")
    mode = modes[0]
    schedule: dict[str, Any] = {
        "scheduleId": schedule_id, "type": "one-time" if mode == "time" else "recurring",
        "active": body["active"] in (True, "true"), "description": body.get("description"),
        "startTime": _stored_time(body.get("startTime"), now, "startTime", doing),
        "endTime": _stored_time(body.get("endTime"), now, "endTime", doing),
        "data": body.get("data"), "_fires_now": False,
    }
    schedule.update({m: None for m in MODES})
    schedule[mode] = body[mode]
    if mode == "time":
        schedule["_fires_now"] = str(body["time"]).strip().lower() == "now"
        schedule["time"] = _one_time(body["time"], now, doing)
    return schedule


def _one_time(value: Any, now: datetime, doing: str) -> str:
    """A one-time moment, normalised; human-readable text the mock cannot read is kept."""
    if isinstance(value, str) and _parse_time(value, now) is None:
        return value
    return str(_stored_time(value, now, "time", doing))


def _schedule_out(schedule: dict[str, Any]) -> dict[str, Any]:
    """A schedule as the create operations return it: `data` as a JSON string [S1][S3]."""
    shown = _pick(schedule, tuple(schedule))
    if shown["data"] is not None:
        shown["data"] = json.dumps(shown["data"], separators=(",", ":"))
    return shown


# -- times --------------------------------------------------------------------------------------


def _parse_time(value: Any, now: datetime) -> datetime | None:
    """A schedule time: "now", ISO 8601, RFC 2822, or {date, format} in moment.js tokens."""
    if isinstance(value, dict):
        if "format" not in value:
            return _parse_time(value["date"], now)
        pattern = _MOMENT.sub(lambda m: _MOMENT_TOKENS[m.group(0)], value["format"])
        return _utc(_try(lambda: datetime.strptime(value["date"], pattern)))
    text = str(value).strip()
    if text.lower() == "now":
        return now
    found = _try(lambda: datetime.fromisoformat(text.replace(" +", "+")))
    return _utc(found or _try(lambda: parsedate_to_datetime(text)))


def _try(parse: Callable[[], datetime]) -> datetime | None:
    try:
        return parse()
    except (ValueError, TypeError, IndexError):
        return None


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stored_time(value: Any, now: datetime, field: str, doing: str) -> str | None:
    if value is None:
        return None
    moment = _parse_time(value, now)
    if moment is None:
        raise ApiError(400, f"Error while {doing}: '{field}' is not a valid date",
                       detail=f"Error while {doing}: '{field}' {value!r} is neither ISO 8601, "
                              f"RFC 2822 nor a {{date, format}} object")
    return _format_stored(moment)


def _format_stored(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _run_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


# -- listing ------------------------------------------------------------------------------------


def _jobs_url(size: int, offset: int) -> str:
    return f"/scheduler/jobs?page_size={size}&offset={offset}"


def _filter_matcher(expression: str) -> Callable[[dict[str, Any]], bool]:
    """`name eq 'x' and contains(subDomain, 'y') or ...` (no brackets) [S8]."""
    alternatives = [[_clause(text) for text in re.split(r"\s+and\s+", branch)]
                    for branch in re.split(r"\s+or\s+", expression.strip())]
    return lambda job: any(all(test(job) for test in branch) for branch in alternatives)


def _clause(text: str) -> Callable[[dict[str, Any]], bool]:
    found = _CLAUSE.fullmatch(text.strip())
    field, value = (found.group(1) or found.group(3), found.group(2) or found.group(4)) \
        if found else ("", "")
    if field not in FILTER_FIELDS:
        raise ApiError(400, "Error while fetching list of jobs: Invalid filter",
                       detail=f"Error while fetching list of jobs: cannot read filter clause "
                              f"{text.strip()!r}; use <field> eq '<value>' or "
                              f"contains(<field>, '<value>') with {', '.join(FILTER_FIELDS)}")
    if found and found.group(1):
        return lambda job: job.get(field) == value
    return lambda job: value in str(job.get(field) or "")


def _sorted(jobs: list[dict[str, Any]], sort_by: str, order: str) -> list[dict[str, Any]]:
    key = SORT_FIELDS.get(sort_by)
    if key is None:
        raise ApiError(400, "Error while fetching list of jobs: Invalid sort_by",
                       detail=f"Error while fetching list of jobs: cannot sort by {sort_by!r};"
                              f" use one of {', '.join(SORT_FIELDS)}")
    return sorted(jobs, key=lambda job: (str(job[key]) if key != "_id" else job[key]),
                  reverse=order == "DESC")


def _run_page(runs: list[dict[str, Any]], query: Any, base: str) -> dict[str, Any]:
    """Offset paging, or cursor paging with `next`/`prev` = a runId [S4][S16]."""
    cursor = [name for name in ("next", "prev") if name in query]
    if len(cursor) > 1 or (cursor and "offset" in query):
        raise ApiError(400, "Error while fetching run logs: Invalid query",
                       detail="Error while fetching run logs: use either offset, next or prev")
    if cursor:
        return _cursor_page(runs, query, base, cursor[0])
    size = query.get("page_size", 10 if "offset" in query else 200)
    start = query.get("offset", 0)
    results = runs[start:start + size]
    return {"total": len(runs), "results": results,
            "next_url": f"{base}?page_size={size}&offset={start + size}"
            if start + size < len(runs) else None,
            "prev_url": f"{base}?page_size={size}&offset={max(0, start - size)}"
            if start > 0 else None}


def _cursor_page(runs: list[dict[str, Any]], query: Any, base: str,
                 direction: str) -> dict[str, Any]:
    ids = [run["runId"] for run in runs]
    if query[direction] not in ids:
        raise ApiError(400, "Error while fetching run logs: Invalid cursor",
                       detail=f"Error while fetching run logs: no run {query[direction]} in "
                              f"this schedule")
    size, at = query.get("page_size", 10), ids.index(query[direction])
    start = at + 1 if direction == "next" else max(0, at - size)
    results = runs[start:min(start + size, at if direction == "prev" else len(runs))]
    end = start + len(results)
    return {"total": len(runs), "results": results,
            "next_url": f"{base}?page_size={size}&next={ids[end - 1]}"
            if results and end < len(runs) else None,
            "prev_url": f"{base}?page_size={size}&prev={ids[start]}"
            if results and start > 0 else None}


# -- small helpers ------------------------------------------------------------------------------


def _pick(record: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The public fields of a stored record (internal ones start with `_` and are not `_id`)."""
    return {k: record[k] for k in keys if k in record and (k == "_id" or not k.startswith("_"))}


def _job_prefix(job_id: int | str) -> str:
    return f"sap:job:{job_id}:"


def _schedules_ns(job_id: int | str) -> str:
    return f"{_job_prefix(job_id)}schedules"


def _runs_ns(job_id: int | str, schedule_id: str) -> str:
    return f"{_job_prefix(job_id)}runs:{schedule_id}"


def _job_key(job_id: Any) -> str:
    if isinstance(job_id, bool) or not (isinstance(job_id, int) or str(job_id).isdigit()):
        raise ApiError(400, f"job_id must be an integer, got {job_id!r}")
    return str(int(job_id))


def _http_status(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ApiError(400, f"httpStatus must be an integer from 100 to 599, got {value!r}")
    return value


def _legal_pairs() -> str:
    return ", ".join(f"{status}/{'|'.join(sorted(states))}"
                     for status, states in LEGAL_STATES.items())


def _size(limit: int) -> str:
    return f"{limit // 1024} KB" if limit % 1024 == 0 else f"{limit} bytes"


# -- validation messages ------------------------------------------------------------------------

_TYPE_WORDS = {"string": "string", "integer": "integer", "number": "number",
               "boolean": "boolean", "object": "object", "array": "array"}


def _issue_text(issue: Issue, op: Operation, issues: list[Issue]) -> str:
    """One issue as SAP words its validation errors ("'enabled' in 'calmConfig' must be ...")."""
    field, where = _named(issue)
    if op.operation_id == "listJobs" and field in ("page_size", "offset"):
        return "Invalid Page Size" if field == "page_size" else "Invalid Offset"
    if issue.kind == "missing" and where == "calmConfig" and not any(
            i.kind == "extra_forbidden" and i.location[:-1] == issue.location[:-1]
            for i in issues):
        return "'calmConfig' object cannot be empty"
    subject = f"'{field}' in '{where}'" if where else f"'{field}'"
    return _KIND_TEXT.get(issue.kind, _fallback)(subject, issue)


def _named(issue: Issue) -> tuple[str, str]:
    """The innermost named field and its named parent (schedules[0] reads 'schedules')."""
    names = [str(p) for p in issue.location[1:] if isinstance(p, str)]
    if not names:
        return ("body" if issue.location[:1] == ("body",) else issue.field), ""
    return names[-1], (names[-2] if len(names) > 1 else "")


def _shown(option: Any) -> str:
    return option if isinstance(option, str) else json.dumps(option)


def _fallback(subject: str, issue: Issue) -> str:
    return f"{subject} is invalid: {issue.message}"


def _type_text(subject: str, issue: Issue) -> str:
    wanted = issue.constraint if isinstance(issue.constraint, list) else [issue.constraint]
    named = " or ".join(f"'{_TYPE_WORDS.get(str(w), w)}'" for w in wanted)
    return f"{subject} must be of type {named}"


_KIND_TEXT: dict[str, Callable[[str, Issue], str]] = {
    "missing": lambda s, i: f"{s} is a required property",
    "extra_forbidden": lambda s, i: f"{s} is not an allowed property",
    "type": _type_text,
    "parsing": lambda s, i: f"{s} must be of type '{i.constraint}'",
    "enum": lambda s, i: f"{s} must be one of {', '.join(_shown(o) for o in i.constraint)}",
    "const": lambda s, i: f"{s} must be {i.constraint!r}",
    "pattern": lambda s, i: (f"{s} must contain only letters, digits, '_' and '-', and not "
                             f"only digits" if s == "'name'" else f"{s} has an invalid format"),
    "minimum": lambda s, i: f"{s} must be at least {i.constraint}",
    "maximum": lambda s, i: f"{s} must be at most {i.constraint}",
    "minLength": lambda s, i: f"{s} must not be empty",
    "minItems": lambda s, i: f"{s} must contain at least {i.constraint} item(s)",
    "format": lambda s, i: f"{s} must be a valid {i.constraint}",
    "not": lambda s, i: "specify at most one of cron, time, repeatInterval, repeatAt",
    "anyOf": lambda s, i: "specify exactly one of cron, time, repeatInterval, repeatAt",
    "oneOf": lambda s, i: f"{s} must be a date string or a {{date, format}} object",
    "json_invalid": lambda s, i: f"request body is not valid JSON ({i.message})",
    "content_type": lambda s, i: f"Content-Type must be {i.constraint} (got {i.value})",
}

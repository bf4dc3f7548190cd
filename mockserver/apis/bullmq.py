"""BullMQ Proxy (taskforcesh/bullmq-proxy v1.5.3 over BullMQ 5): queues, jobs, logs, workers.

Behaviour (sources: shared/vendors.md §3 [B1]-[B8]; the proxy's src/routes, controllers,
validators and authware; BullMQ's Job.toJSON / queue getters):

- Every queue is its own namespace (queues never mix). Jobs get ids "1", "2", ... per queue
  (BullMQ's counter, which also advances when `opts.jobId` names the id), or `opts.jobId`. A
  duplicate custom id adds nothing (BullMQ answers with the job it was given). A job starts
  `waiting`, or `delayed` while `opts.delay` has not elapsed (promoted to `waiting` when due).
- A job becomes `active` only when a worker takes it (control action `take-next`, which returns
  `{"job", "token"}` as the proxy posts it to the worker endpoint); only then does it have a lock
  token. Progress and add-log need `Authorization: Bearer <that token>`: without it, with another
  job's token, or once the job finished (lock released), the answer is 401 `Unauthorized`.
  Control actions `complete` / `fail` finish an active job (`finishedOn`, `attemptsMade`,
  `returnvalue` / `failedReason` + `stacktrace`); `removeOnComplete` / `removeOnFail: true`
  delete it then, as BullMQ does.
- GET jobs: per-state counts (`paused: 0` added when `waiting` is asked for), and for each
  requested state in turn its jobs newest first, sliced Redis-style [start, start+length-1]
  (so `length=0, start=0` gives all of them, as LRANGE 0 -1 does).
- Logs keep append order; GET logs answers `{count: <total>, logs: <the same Redis slice>}`;
  an unknown job has `{count: 0, logs: []}`. Progress is any JSON value, shown on GET job.
- Workers: one per queue (register upserts), list `{queue: url}`, remove (404 `Worker not found`).
  A registered worker's endpoint gets each waiting job of its queue as the proxy posts it
  (`apis/bullmq_worker.py`: timeouts, retries with backoff, concurrency, limiter).
- Dialect: plain-text bodies. 401 `Unauthorized` (static tokens are `AUTH_TOKENS`; an empty list
  refuses every token route; the scheme must be spelt `Bearer `, as the proxy splits on it),
  404 `Not found` for unknown routes and methods, 400 with the proxy validators' messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from mockserver.apis.base import (
    Reply,
    VendorApi,
    action,
    handles,
    json_reply,
    secret_equals,
    text_reply,
)
from mockserver.apis.bullmq_worker import WORKERS, WorkerDispatch, due_ms
from mockserver.errors import ApiError, Issue
from mockserver.spec import Operation
from mockserver.validation import HttpRequest, ValidRequest

__all__ = ["Api", "issue_text"]

STATES = ("waiting", "active", "completed", "failed", "delayed")
DEFAULT_STATUSES = ("waiting", "active", "completed", "failed")
Job = dict[str, Any]


class Api(WorkerDispatch, VendorApi):
    name = "bullmq"
    not_found_message = "Not found"

    # -- dialect: plain text ------------------------------------------------------------------

    def render_error(self, error: ApiError, op: Operation | None) -> Reply:
        return text_reply(error.status, error.message)

    def render_issues(self, issues: list[Issue], op: Operation) -> Reply:
        return text_reply(400, issue_text(op.operation_id, issues[0]))

    def route_not_found(self, request: HttpRequest) -> ApiError:
        return ApiError(404, "Not found")

    def method_not_allowed(self, request: HttpRequest, allowed: tuple[str, ...]) -> ApiError:
        return ApiError(404, "Not found")

    def too_large(self, limit: int) -> ApiError:
        return ApiError(413, "Payload too large")

    # -- auth: static AUTH_TOKENS, or the job's lock token --------------------------------------

    def check_scheme(self, name: str, op: Operation, request: HttpRequest) -> bool:
        token = _bearer(request)
        if token is None:
            return False
        if name == "jobToken":
            return self._holds_lock(request, token)
        if name == "bearerAuth":
            return any([secret_equals(token, t) for t in self.config.credentials.auth_tokens])
        return False

    def _holds_lock(self, request: HttpRequest, token: str) -> bool:
        base = self.config.mount_of(self.name).rstrip("/")
        params = self.spec.match(request.method, request.path[len(base):] or "/").path_params
        queue, job_id = params.get("queueName"), params.get("jobId")
        if not queue or not job_id:
            return False
        lock = self.store.get(_ns(queue, "locks"), job_id)
        return isinstance(lock, str) and secret_equals(token, lock)

    # -- queues and jobs ------------------------------------------------------------------------

    @handles("addJobs")
    def add_jobs(self, req: ValidRequest) -> Reply:
        queue = req.path["queueName"]
        return json_reply(200, [self._add(queue, new) for new in req.body])

    @handles("getJobs")
    def get_jobs(self, req: ValidRequest) -> Reply:
        queue = req.path["queueName"]
        self._promote_due(queue)
        statuses = _statuses(req.query.get("statuses"))
        start, length = req.query.get("start", 0), req.query.get("length", 10)
        jobs = self.store.values(_ns(queue, "jobs"))
        counts = {s: sum(1 for j in jobs if j["state"] == s) for s in statuses}
        if "waiting" in statuses:
            counts["paused"] = 0
        listed: list[Job] = []
        for state in statuses:
            newest = sorted((j for j in jobs if j["state"] == state), key=lambda j: -j["rank"])
            listed += _redis_range(newest, start, start + length - 1)
        return json_reply(200, {"counts": counts, "jobs": [_job_json(j, queue) for j in listed],
                                "start": start, "length": length})

    @handles("getJob")
    def get_job(self, req: ValidRequest) -> Reply:
        queue = req.path["queueName"]
        self._promote_due(queue)
        job = self.store.get(_ns(queue, "jobs"), req.path["jobId"])
        if job is None:
            raise ApiError(404, "Job not found")
        return json_reply(200, _job_json(job, queue))

    # -- what a worker endpoint does with the job it holds ---------------------------------------

    @handles("updateJobProgress")
    def update_progress(self, req: ValidRequest) -> Reply:
        queue, job_id = req.path["queueName"], req.path["jobId"]
        progress = req.body
        if self.store.update(_ns(queue, "jobs"), job_id,
                             lambda job: {**job, "progress": progress}) is None:
            raise ApiError(500, f"Missing key for job {job_id}. updateProgress")
        return text_reply(200, "OK")

    @handles("addJobLog")
    def add_log(self, req: ValidRequest) -> Reply:
        queue, job_id = req.path["queueName"], req.path["jobId"]
        if self.store.get(_ns(queue, "jobs"), job_id) is None:
            raise ApiError(500, f"Missing key for job {job_id}. addLog")
        self.store.append(_logs(queue, job_id), req.body)
        return text_reply(200, "OK")

    @handles("getJobLogs")
    def get_logs(self, req: ValidRequest) -> Reply:
        name = _logs(req.path["queueName"], req.path["jobId"])
        start, length = req.query.get("start", 0), req.query.get("length", 10)
        total = self.store.length(name)
        end = start + length - 1
        if end < 0:
            end += total
        logs = self.store.slice(name, start, end + 1) if end >= start else []
        return json_reply(200, {"count": total, "logs": logs})

    # -- workers ----------------------------------------------------------------------------------

    @handles("registerWorker")
    def register_worker(self, req: ValidRequest) -> Reply:
        self.store.put(WORKERS, req.body["queue"], req.body)
        return text_reply(200, "OK")

    @handles("listWorkers")
    def list_workers(self, req: ValidRequest) -> Reply:
        workers = self.store.values(WORKERS)
        return json_reply(200, {w["queue"]: w["endpoint"]["url"] for w in workers})

    @handles("removeWorker")
    def remove_worker(self, req: ValidRequest) -> Reply:
        if not self.store.delete(WORKERS, req.path["queueName"]):
            raise ApiError(404, "Worker not found")
        return text_reply(200, "OK")

    # -- control-API actions --------------------------------------------------------------------

    @action("take-next")
    def take_next(self, queue: Any) -> dict[str, Any]:
        """Hand the next waiting job of `queue` to a worker, as the proxy does: the job becomes
        active (processedOn, attemptsStarted) and gets a lock token. Returns {"job", "token"},
        the body the proxy posts to the worker endpoint. 409 when nothing is waiting."""
        queue = _text("queue", queue)
        self._promote_due(queue)
        taken = self._take(queue)
        if taken is None:
            raise ApiError(409, f"queue {queue!r} has no waiting job")
        job, token = taken
        return {"job": {**_job_json(job, queue), "token": token}, "token": token}

    def _take(self, queue: str) -> tuple[Job, str] | None:
        waiting = self._waiting(self._queue_jobs(queue))
        return self._take_job(queue, waiting[0]) if waiting else None

    def _waiting(self, jobs: list[Job]) -> list[Job]:
        """The waiting jobs in the order a worker takes them."""
        return sorted((j for j in jobs if j["state"] == "waiting"), key=_take_order)

    def _take_job(self, queue: str, chosen: Job) -> tuple[Job, str]:
        """Make `chosen` (waiting) active with a new lock token (409 if it moved meanwhile)."""
        now, rank, token = self._now_ms(), self._rank(queue), self.ids.token()
        job = self._move(queue, chosen["id"], "waiting", lambda j: {
            **j, "state": "active", "rank": rank, "processedOn": now,
            "attemptsStarted": j["attemptsStarted"] + 1})
        self.store.put(_ns(queue, "locks"), job["id"], token)
        return job, token

    @action("complete")
    def complete(self, queue: Any, job_id: Any, returnvalue: Any = None) -> Job:
        """Complete an active job with `returnvalue` (what the worker endpoint answered): state
        completed, finishedOn, attemptsMade + 1, lock token released. 409 unless active."""
        return self._finish(_text("queue", queue), _text("job_id", job_id), "completed",
                            {"returnvalue": returnvalue})

    @action("fail")
    def fail(self, queue: Any, job_id: Any, reason: Any) -> Job:
        """Fail an active job with `reason` (for HTTP workers the endpoint's status text): state
        failed, failedReason, stacktrace, finishedOn, attemptsMade + 1, lock token released.
        No retry is scheduled. 409 unless active."""
        reason = _text("reason", reason, ints=False)
        return self._finish(_text("queue", queue), _text("job_id", job_id), "failed",
                            {"failedReason": reason})

    # -- helpers --------------------------------------------------------------------------------

    def _queue_jobs(self, queue: str) -> list[Job]:
        return self.store.values(_ns(queue, "jobs"))

    def _job_body(self, job: Job, queue: str) -> Job:
        return _job_json(job, queue)

    def _job_of(self, queue: str, job_id: str) -> Job | None:
        job: Job | None = self.store.get(_ns(queue, "jobs"), job_id)
        return job

    def _lock_of(self, queue: str, job_id: str) -> str | None:
        lock = self.store.get(_ns(queue, "locks"), job_id)
        return lock if isinstance(lock, str) else None

    def _release(self, queue: str, job_id: str) -> None:
        self.store.delete(_ns(queue, "locks"), job_id)

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def _rank(self, queue: str) -> int:
        """Order of entering a state (newest = highest)."""
        return self.store.next_id(_ns(queue, "order"))

    def _add(self, queue: str, new: Mapping[str, Any]) -> Job:
        opts = _stored_opts(new.get("opts") or {})
        counter = self.store.next_id(_ns(queue, "id"))
        job_id = str(opts.get("jobId") or counter)
        job = _new_job(job_id, new, opts, self._now_ms(), self._rank(queue))
        if self.store.get(_ns(queue, "jobs"), job_id) is None:
            self.store.put(_ns(queue, "jobs"), job_id, job)
        return _added_json(job, queue)

    def _promote_due(self, queue: str) -> None:
        """Delayed jobs whose delay has elapsed move to waiting (BullMQ's delayed set)."""
        delayed = [j for j in self.store.values(_ns(queue, "jobs")) if j["state"] == "delayed"]
        if not delayed:
            return
        now = self._now_ms()
        for job in sorted(delayed, key=due_ms):
            if due_ms(job) <= now:
                self.store.update(_ns(queue, "jobs"), job["id"], _to_state("waiting",
                                                                           self._rank(queue)))

    def _move(self, queue: str, job_id: str, expected: str,
              change: Callable[[Job], Job]) -> Job:
        """Apply `change` atomically if the job is in state `expected`; 404 / 409 otherwise."""

        def guarded(job: Job) -> Job:
            if job["state"] != expected:
                raise ApiError(409, f"job {job_id} of queue {queue!r} is {job['state']}, "
                                    f"not {expected}")
            return change(job)

        moved = self.store.update(_ns(queue, "jobs"), job_id, guarded)
        if moved is None:
            raise ApiError(404, f"queue {queue!r} has no job {job_id!r}")
        return dict(moved)

    def _finish(self, queue: str, job_id: str, state: str, changes: Job,
                remove: bool = False) -> Job:
        now, rank = self._now_ms(), self._rank(queue)

        def finish(job: Job) -> Job:
            done = {**job, **changes, "state": state, "rank": rank, "finishedOn": now,
                    "attemptsMade": job["attemptsMade"] + 1}
            if state == "failed":
                done["stacktrace"] = [*job["stacktrace"], f"Error: {changes['failedReason']}"]
            return done

        job = self._move(queue, job_id, "active", finish)
        self.store.delete(_ns(queue, "locks"), job_id)
        option = "removeOnComplete" if state == "completed" else "removeOnFail"
        if job["opts"].get(option) is True or remove:
            self.store.delete(_ns(queue, "jobs"), job_id)
            self.store.drop_list(_logs(queue, job_id))
        return _job_json(job, queue)


# -- state helpers ------------------------------------------------------------------------------


def _ns(queue: str, what: str) -> str:
    """A store name of one queue; the queue is quoted so that no two queues can collide."""
    return f"bullmq:q:{quote(queue, safe='')}:{what}"


def _logs(queue: str, job_id: str) -> str:
    return _ns(queue, f"logs:{quote(job_id, safe='')}")


def _bearer(request: HttpRequest) -> str | None:
    """The token as the proxy reads it: `authorization.split("Bearer ")[1]`."""
    parts = request.headers.get("authorization", "").split("Bearer ")
    return (parts[1] or None) if len(parts) > 1 else None


def _to_state(state: str, rank: int) -> Callable[[Job], Job]:
    return lambda job: {**job, "state": state, "rank": rank}


def _text(name: str, value: Any, ints: bool = True) -> str:
    """A control-action argument that must be a non-empty string (or an integer id)."""
    if isinstance(value, int) and not isinstance(value, bool) and ints:
        return str(value)
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"{name} must be a non-empty string")
    return value


def _statuses(raw: str | None) -> list[str]:
    """`?statuses=` as the proxy reads it: empty items dropped, default when none, deduplicated."""
    asked = [s for s in (raw or "").split(",") if s] or list(DEFAULT_STATUSES)
    return list(dict.fromkeys(asked))


def _redis_range(items: list[Job], start: int, end: int) -> list[Job]:
    """LRANGE start end: inclusive, a negative end counts from the tail."""
    if end < 0:
        end += len(items)
    return items[start:end + 1] if end >= start else []


def _take_order(job: Job) -> tuple[int, int, int]:
    """Wait list first (lifo jobs ahead, newest lifo first), then prioritized by priority."""
    if job["priority"] > 0:
        return 1, job["priority"], abs(job["rank"])
    return 0, 0, job["rank"]


def _stored_opts(given: Mapping[str, Any]) -> Job:
    """Options as BullMQ keeps them: `attempts: 0` by default, a numeric backoff normalised."""
    opts: Job = {"attempts": 0, **given}
    backoff = opts.get("backoff")
    if isinstance(backoff, int | float) and not isinstance(backoff, bool):
        opts["backoff"] = {"type": "fixed", "delay": backoff}
    return opts


def _new_job(job_id: str, new: Mapping[str, Any], opts: Job, now: int, rank: int) -> Job:
    delay = int(opts.get("delay") or 0)
    job: Job = {
        "id": job_id, "name": new["name"], "data": new["data"], "opts": opts,
        "state": "delayed" if delay > 0 else "waiting",
        "rank": -rank if opts.get("lifo") is True else rank,
        "progress": 0, "returnvalue": None, "stacktrace": [], "delay": delay,
        "priority": int(opts.get("priority") or 0), "timestamp": now, "attemptsStarted": 0,
        "attemptsMade": 0, "stalledCounter": 0, "processedOn": None, "finishedOn": None,
        "failedReason": None,
    }
    deduplication = opts.get("deduplication")
    if isinstance(deduplication, dict):
        job["deduplicationId"] = deduplication["id"]
    return job


_JSON_KEYS = ("id", "name", "data", "opts", "progress", "returnvalue", "stacktrace", "delay",
              "priority", "timestamp", "attemptsStarted", "attemptsMade", "stalledCounter")
_OPTIONAL_KEYS = ("processedOn", "finishedOn", "failedReason", "deduplicationId")


def _job_json(job: Job, queue: str) -> Job:
    """A stored job as BullMQ reads it back (Job.fromJSON(...).toJSON())."""
    shown = {key: job[key] for key in _JSON_KEYS}
    shown.update({key: job[key] for key in _OPTIONAL_KEYS if job.get(key) is not None})
    shown["queueQualifiedName"] = f"bull:{queue}"
    return shown


def _added_json(job: Job, queue: str) -> Job:
    """A job as addBulk returns it: `stacktrace` null, `delay` only when given."""
    shown = _job_json(job, queue)
    shown["stacktrace"] = None
    if "delay" not in job["opts"]:
        del shown["delay"]
    return shown


# -- validation issues → the proxy validators' messages -----------------------------------------


def issue_text(operation_id: str, issue: Issue) -> str:
    """The one-line plain-text message the proxy would answer for this validation issue."""
    source = issue.location[0] if issue.location else "body"
    if issue.kind == "json_invalid":
        return f"JSON Parse error: {(issue.constraint or {}).get('error', issue.message)}"
    if issue.kind == "content_type":
        return issue.message
    if source == "path":
        return _path_text(issue)
    if source == "query":
        return _query_text(issue)
    if operation_id == "addJobs":
        return _job_text(issue, tuple(issue.location[1:]))
    if operation_id == "registerWorker":
        return _worker_text(issue, tuple(issue.location[1:]))
    return _generic_text(operation_id, issue)


def _path_text(issue: Issue) -> str:
    if issue.kind == "minLength":
        return f"queue name must be at least {issue.constraint} characters long"
    if issue.kind == "maxLength":
        return f"queue name must be at most {issue.constraint} characters long"
    return f"Invalid {issue.field}: {issue.message}"


def _query_text(issue: Issue) -> str:
    if issue.field == "statuses":
        parts = str(issue.value).split(",")
        bad = next((p for p in parts if p and p not in STATES), str(issue.value))
        return f"Invalid status: {bad}"
    if issue.kind == "minimum":
        return "Start and length must be positive"
    if issue.kind == "maximum":
        return "Length must be less than or equal to 100"
    return "Invalid start or length"


def _job_text(issue: Issue, where: tuple[str | int, ...]) -> str:
    """Messages of validateJob / validateJobOpts (src/validators/queue.validators.ts)."""
    if not where:
        return "Body must be an array"
    if issue.kind == "extra_forbidden":
        return f"Unexpected field: {'opts.' if 'opts' in where else ''}{where[-1]}"
    if len(where) == 1:
        return "name is required"
    if where[1] == "opts":
        return _opts_text(issue, tuple(str(p) for p in where[2:]))
    if where[1] == "name" and issue.kind == "type":
        return "name must be a string"
    return f"{where[1]} is required"


def _opts_text(issue: Issue, rest: tuple[str, ...]) -> str:
    value = "undefined" if issue.kind == "missing" else _js(issue.value)
    if not rest:
        return f"Invalid opts {value}"
    if rest[0] == "jobId" and issue.kind in ("pattern", "not"):
        return ("Custom Id cannot contain :" if issue.kind == "pattern"
                else "Custom Id cannot be integers")
    suffix = {"jobId": ", must be a string", "lifo": ", must be a boolean",
              "backoff": ", must be a number or an object"}.get(".".join(rest), "")
    if rest[0] == "deduplication" and len(rest) > 1:
        suffix = (", must be greater than 0" if issue.kind == "exclusiveMinimum"
                  else f", must be a {'string' if rest[1] == 'id' else 'number'}")
    return f"Invalid {'.'.join(rest)} {value}{suffix}"


def _worker_text(issue: Issue, where: tuple[str | int, ...]) -> str:
    """Messages of validateWorkerMetadata (src/validators/workers.validators.ts)."""
    if issue.kind == "extra_forbidden":
        nested = where[0] == "opts" and len(where) > 2
        return f"Invalid field: {f'{where[1]}.' if nested else ''}{where[-1]}"
    if where and where[0] == "opts":
        return f"Invalid {'.'.join(str(p) for p in where[1:]) or 'opts'}"
    if not where or issue.kind == "missing" or _falsy(issue.value):
        return f"{where[-1] if where else 'queue'} is required"
    if where == ("queue",) and issue.kind in ("minLength", "maxLength"):
        return _path_text(issue)
    field = where[-1]
    if field == "url":
        return "Invalid URL"
    if field == "method":
        return f"Invalid HTTP method {_js(issue.value)}"
    return f"Invalid {field}" if len(where) == 2 else f"Invalid {'.'.join(map(str, where))}"


def _generic_text(operation_id: str, issue: Issue) -> str:
    where = ".".join(str(p) for p in issue.location[1:])
    if issue.kind == "missing":
        return f"{where or 'body'} is required"
    if operation_id == "addJobLog" and not where:
        return "log must be a JSON-encoded string"
    return f"Invalid {where or 'body'}: {issue.message}"


def _falsy(value: Any) -> bool:
    """JavaScript falsiness of a JSON value."""
    return value is None or value is False or value == "" or (
        isinstance(value, int | float) and not isinstance(value, bool) and value == 0)


def _js(value: Any) -> str:
    """A JSON value as JavaScript's template strings print it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join("" if v is None else _js(v) for v in value)
    return str(value)

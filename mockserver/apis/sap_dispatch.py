"""SAP Job Scheduling's scheduler side: schedules fire on the clock and call the job's action.

Sources (SAP-docs/btp-job-scheduling-service; shared/vendors.md §1): schedule formats
[schedule-formats-54615f0], asynchronous mode [asynchronous-mode-d9fd81c, S15], run states
[S14], the Asynchronous Execution Timeout [manage-jobs-...-132fd06], and a REQUEST_ERROR run
log for an action that answered 404 [retrieve-job-schedule-details-fa16c72].

- A schedule of an active job fires at its `time` (once; "now" at creation), every
  `repeatInterval` from its start, daily at `repeatAt`, or at each match of its `cron`;
  never before `startTime`, never after `endTime` (the schedule then deactivates [S17]).
- Firing adds a run log (RUNNING/TRIGGERED) and calls the job's `action` with its
  `httpMethod` and the headers x-sap-job-id, x-sap-job-schedule-id, x-sap-job-run-id and
  x-sap-scheduler-host; a schedule's `data` is the JSON body of a POST or PUT and the query
  string of a GET or DELETE (the spec's `data` description).
- The answer: 202 → RUNNING/ACK_RECVD until the application's seed PUT, or COMPLETED/UNKNOWN
  after `sap_async_timeout` seconds; another 2xx-3xx → COMPLETED/SUCCESS; a 5xx →
  COMPLETED/ERROR; a 4xx, a timeout or no connection → COMPLETED/REQUEST_ERROR. `httpStatus`
  keeps the status and `runText` the answer (first 500 characters).
- Actions on hosts outside `call_hosts` are not called; their runs stay TRIGGERED for the
  control API (`set-run-state`) to drive.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from mockserver.dispatch import OutboundRequest, OutboundResult, Timer
from mockserver.dispatch.sapcron import (
    CronError,
    SapCron,
    next_repeat_at,
    parse_interval,
    parse_repeat_at,
)
from mockserver.errors import ApiError

__all__ = ["ACTION_TIMEOUT_SECONDS", "ScheduleDispatch"]

ACTION_TIMEOUT_SECONDS = 15.0  # a synchronous action's answer (ours: no documented figure)
SCHEDULER_HOST = "http://127.0.0.1/sap"
Record = dict[str, Any]


class ScheduleDispatch:
    """Mixed into the SAP `Api`: schedule timers, action calls and their outcomes."""

    # Provided by the Api (mockserver/apis/sap.py):
    store: Any
    timers: Any
    config: Any
    call_out: Any
    may_call: Any
    _fire: Any
    _move: Any
    _schedules_ns: Any
    clock: Any

    def _plan(self, job: Record, schedule: Record, after: datetime) -> None:
        """Set the timer of the schedule's next firing after `after`, if it has one."""
        if not (job["active"] and schedule["active"]) or schedule["_fires_now"]:
            return
        try:
            due = _next_firing(schedule, after)
        except (CronError, OverflowError, ValueError):
            return  # an unreadable (or endless) cron or interval never fires; the create stands
        end = _stored(schedule.get("endTime")) or _stored(job.get("endTime"))
        if due is not None and due <= after:
            return  # never twice at one moment: a schedule cannot spin the dispatcher
        if due is None or (end is not None and due > end):
            if schedule["type"] == "recurring" and end is not None and due is not None:
                self._deactivate(job["_id"], schedule["scheduleId"])
            return
        self.timers.add(due, "fire", job_id=str(job["_id"]), schedule_id=schedule["scheduleId"])

    def _plan_call(self, job_id: str, schedule_id: str, run_id: str, now: datetime) -> None:
        self.timers.add(now, "call", job_id=job_id, schedule_id=schedule_id, run_id=run_id)

    def on_timer(self, timer: Timer) -> None:
        args = dict(timer.args)
        job = self.store.get("sap:jobs", args["job_id"])
        schedule = self.store.get(self._schedules_ns(args["job_id"]), args["schedule_id"])
        if job is None or schedule is None:
            return  # deleted since
        if timer.kind == "fire":
            self._fire_due(job, schedule, timer.due)
        elif timer.kind == "call":
            self._call_action(job, schedule, args["run_id"])
        elif timer.kind == "async-timeout":
            self._async_timed_out(args["job_id"], args["schedule_id"], args["run_id"])

    def _fire_due(self, job: Record, schedule: Record, due: datetime) -> None:
        if not (job["active"] and schedule["active"]):
            return
        run = self._fire(str(job["_id"]), schedule["scheduleId"])
        self._call_action(job, schedule, run["runId"])
        self._plan(job, schedule, due)

    def _call_action(self, job: Record, schedule: Record, run_id: str) -> None:
        if not self.may_call(job["action"]):
            return
        job_id, schedule_id = str(job["_id"]), schedule["scheduleId"]
        headers = {"x-sap-job-id": job_id, "x-sap-job-schedule-id": schedule_id,
                   "x-sap-job-run-id": run_id, "x-sap-scheduler-host": SCHEDULER_HOST}
        body, url, data = None, job["action"], schedule.get("data")
        if isinstance(data, dict) and job["httpMethod"] in ("GET", "DELETE"):
            url = _with_query(url, data)
        elif data is not None and job["httpMethod"] in ("POST", "PUT"):
            body = data
            headers["content-type"] = "application/json"
        request = OutboundRequest("sap", "action", job["httpMethod"], url,
                                  ACTION_TIMEOUT_SECONDS, headers, body)
        self.call_out(request, lambda result: self._answered(job_id, schedule_id, run_id,
                                                             result))

    def _answered(self, job_id: str, schedule_id: str, run_id: str,
                  result: OutboundResult) -> None:
        status, state = _run_outcome(result)
        changes = {"httpStatus": result.status, "runText": _run_text(result)}
        if self._move_run(job_id, schedule_id, run_id, status, state, changes) and \
                state == "ACK_RECVD":
            due = self.clock.peek() + timedelta(seconds=self.config.sap_async_timeout)
            self.timers.add(due, "async-timeout", job_id=job_id, schedule_id=schedule_id,
                            run_id=run_id)

    def _async_timed_out(self, job_id: str, schedule_id: str, run_id: str) -> None:
        run = self.store.get(_runs(job_id, schedule_id), run_id)
        if run is not None and (run["runStatus"], run["runState"]) == ("RUNNING", "ACK_RECVD"):
            self._move_run(job_id, schedule_id, run_id, "COMPLETED", "UNKNOWN", {})

    def _move_run(self, job_id: str, schedule_id: str, run_id: str, status: str, state: str,
                  changes: Record) -> bool:
        """Move the run unless it moved on meanwhile (e.g. the seed PUT came first)."""
        run = self.store.get(_runs(job_id, schedule_id), run_id)
        if run is None or run["runStatus"] == "COMPLETED":
            return False
        with contextlib.suppress(ApiError):
            self._move(job_id, schedule_id, run, status, state, changes)
            return True
        return False

    def _deactivate(self, job_id: Any, schedule_id: str) -> None:
        self.store.update(self._schedules_ns(job_id), schedule_id,
                          lambda s: {**s, "active": False})



def _next_firing(schedule: Record, after: datetime) -> datetime | None:
    start = _stored(schedule.get("startTime"))
    after = max(after, start - timedelta(microseconds=1)) if start else after
    if schedule.get("time"):
        moment = _stored(schedule["time"])
        return moment if moment is not None and moment > after else None
    if schedule.get("cron"):
        return SapCron.parse(str(schedule["cron"])).next_after(after)
    if schedule.get("repeatInterval"):
        return after + parse_interval(str(schedule["repeatInterval"]))
    if schedule.get("repeatAt"):
        # An unreadable repeatAt raises CronError: it never fires here (SAP runs it once at
        # once and then "falls back to the current timestamp"; ours: not modelled).
        return next_repeat_at(parse_repeat_at(str(schedule["repeatAt"])), after)
    return None


def _run_outcome(result: OutboundResult) -> tuple[str, str]:
    status = result.status
    if status is None or 400 <= status < 500:
        return "COMPLETED", "REQUEST_ERROR"
    if status == 202:
        return "RUNNING", "ACK_RECVD"
    if 200 <= status < 400:
        return "COMPLETED", "SUCCESS"
    return "COMPLETED", "ERROR"


def _run_text(result: OutboundResult) -> str:
    if result.status is None:
        return f"Request error: {result.error}"
    return result.text[:500]


def _stored(value: Any) -> datetime | None:
    """A stored schedule time ("YYYY-MM-DD HH:MM:SS", UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _with_query(url: str, data: Record) -> str:
    """The schedule's data as the query string (GET and DELETE actions)."""
    pairs = {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    return f"{url}{'&' if '?' in url else '?'}{urlencode(pairs)}"


def _runs(job_id: str, schedule_id: str) -> str:
    return f"sap:job:{job_id}:runs:{schedule_id}"

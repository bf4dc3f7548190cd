"""The BullMQ proxy's side of a registered worker: it posts each waiting job to the endpoint.

Source: taskforcesh/bullmq-proxy src/controllers/http/worker-http-controller.ts [B4] over a
BullMQ `Worker` (shared/vendors.md §3): for each job the proxy calls `endpoint.url` with
`endpoint.method` and `endpoint.headers`, body `{"job": job.toJSON(), "token": <lock token>}`,
aborting after `endpoint.timeout` ms (3000 by default). A 2xx completes the job with the
answer as `returnvalue` (parsed JSON when the content type includes `application/json`, else
the text); anything else fails the attempt with the HTTP status text (or the abort / connection
error), and BullMQ retries while `attemptsMade < attempts`, after the job's `backoff` (fixed:
`delay`; exponential: `2^(attemptsMade-1) * delay`). Worker `opts`: `concurrency` (default 1)
jobs active at once; `limiter {max, duration}` at most `max` jobs started per `duration` ms;
`removeOnComplete` / `removeOnFail`. Removing the worker stops dispatch; the job in flight
finishes. Error texts for an abort or an unreachable endpoint are Bun's fetch errors (inferred).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from mockserver.dispatch import OutboundRequest, OutboundResult, Timer
from mockserver.dispatch.timers import epoch_ms, from_ms
from mockserver.errors import ApiError

__all__ = ["ABORTED", "UNREACHABLE", "WorkerDispatch", "due_ms"]

WORKERS = "bullmq:workers"
DEFAULT_TIMEOUT_MS = 3000
ABORTED = "The operation was aborted."
UNREACHABLE = "Unable to connect. Is the computer able to access the url?"
Job = dict[str, Any]


class WorkerDispatch:
    """Mixed into the BullMQ `Api`: what the proxy's Worker does for each registered queue."""

    # Provided by the Api (mockserver/apis/bullmq.py):
    store: Any
    timers: Any
    _take_job: Any
    _waiting: Any
    _finish: Any
    _move: Any
    _promote_due: Any
    _now_ms: Any
    _rank: Any
    call_out: Any
    may_call: Any

    def _queue_jobs(self, queue: str) -> list[Job]:
        raise NotImplementedError

    def _job_body(self, job: Job, queue: str) -> Job:
        raise NotImplementedError

    def _lock_of(self, queue: str, job_id: str) -> str | None:
        raise NotImplementedError

    def _job_of(self, queue: str, job_id: str) -> Job | None:
        raise NotImplementedError

    def _release(self, queue: str, job_id: str) -> None:
        raise NotImplementedError

    # -- what is due ------------------------------------------------------------------------------

    def next_due(self, now: datetime) -> datetime | None:
        moments = [self.timers.next_due()]
        moments += [self._queue_due(worker, now) for worker in self._callable_workers()]
        found = [m for m in moments if m is not None]
        return min(found) if found else None

    def run_due(self, now: datetime) -> None:
        for timer in self.timers.claim_due(now):
            self.on_timer(timer)
        for worker in sorted(self._callable_workers(), key=lambda w: w["queue"]):
            self._start_jobs(worker, now)

    def on_timer(self, timer: Timer) -> None:
        if timer.kind == "deadline":
            args = timer.args
            self._attempt_failed(args["queue"], args["job_id"], args["token"], ABORTED)

    def _callable_workers(self) -> list[Job]:
        """Registered workers whose endpoint the mock may call (others wait for take-next)."""
        return [w for w in self.store.values(WORKERS) if self.may_call(w["endpoint"]["url"])]

    def _queue_due(self, worker: Job, now: datetime) -> datetime | None:
        jobs = self._queue_jobs(worker["queue"])
        delayed = [from_ms(due_ms(j)) for j in jobs if j["state"] == "delayed"]
        waiting = any(j["state"] == "waiting" for j in jobs)
        if waiting and _active(jobs) < _concurrency(worker):
            delayed.append(self._limiter_free_at(worker, now))
        return min(delayed) if delayed else None

    def _start_jobs(self, worker: Job, now: datetime) -> None:
        """Post waiting jobs to the worker while concurrency and the limiter allow."""
        queue = worker["queue"]
        self._promote_due(queue)
        jobs = self._queue_jobs(queue)
        free = _concurrency(worker) - _active(jobs)
        for chosen in self._waiting(jobs)[:max(free, 0)]:
            if self._limiter_free_at(worker, now) > now:
                return
            with contextlib.suppress(ApiError):  # taken meanwhile (control API, a 2nd process)
                job, token = self._take_job(queue, chosen)
                self._post(worker, job, token, now)

    def _limiter_free_at(self, worker: Job, now: datetime) -> datetime:
        limiter = (worker.get("opts") or {}).get("limiter")
        if not limiter:
            return now
        window = int(limiter.get("duration") or 0)
        starts = [t for t in self.store.get(_limiter(worker["queue"]), "starts") or []
                  if t > epoch_ms(now) - window]
        if len(starts) < int(limiter.get("max") or 1):
            return now
        return from_ms(starts[-int(limiter.get("max") or 1)] + window)

    # -- one attempt ------------------------------------------------------------------------------

    def _post(self, worker: Job, job: Job, token: str, now: datetime) -> None:
        queue, endpoint = worker["queue"], worker["endpoint"]
        self.store.update(_limiter(queue), "starts", lambda t: [*t[-99:], epoch_ms(now)]) \
            or self.store.put(_limiter(queue), "starts", [epoch_ms(now)])
        timeout_ms = int(endpoint.get("timeout") or DEFAULT_TIMEOUT_MS)
        self.timers.add(now + timedelta(milliseconds=timeout_ms), "deadline", queue=queue,
                        job_id=job["id"], token=token)
        headers = {"content-type": "text/plain;charset=utf-8",  # what fetch sends with a string
                   **{k.lower(): str(v) for k, v in (endpoint.get("headers") or {}).items()}}
        request = OutboundRequest("bullmq", "worker", endpoint["method"], endpoint["url"],
                                  timeout_ms / 1000, headers,
                                  {"job": self._job_body(job, queue), "token": token})
        opts = worker.get("opts") or {}
        self.call_out(request, lambda result: self._answered(queue, job["id"], token, opts,
                                                             result))

    def _answered(self, queue: str, job_id: str, token: str, opts: Job,
                  result: OutboundResult) -> None:
        if self._lock_of(queue, job_id) != token:
            return  # the attempt already ended (deadline passed, or finished another way)
        self.timers.cancel("deadline", queue=queue, job_id=job_id, token=token)
        if result.answered and 200 <= (result.status or 0) < 300:
            self._complete_attempt(queue, job_id, token, opts, result.body())
            return
        reason = result.reason if result.answered else (ABORTED if result.timed_out
                                                        else UNREACHABLE)
        self._attempt_failed(queue, job_id, token, reason or str(result.status), opts)

    def _complete_attempt(self, queue: str, job_id: str, token: str, opts: Job,
                          value: Any) -> None:
        # The job may have left `active` meanwhile (finished through the control API).
        with contextlib.suppress(ApiError):
            self._finish(queue, job_id, "completed", {"returnvalue": value},
                         remove=opts.get("removeOnComplete") is True)

    def _attempt_failed(self, queue: str, job_id: str, token: str, reason: str,
                        opts: Job | None = None) -> None:
        if self._lock_of(queue, job_id) != token:
            return
        job = self._job_of(queue, job_id)
        if job is None or job["state"] != "active":
            return
        if job["attemptsMade"] + 1 < max(int(job["opts"].get("attempts") or 0), 1):
            self._retry(queue, job, reason)
            return
        with contextlib.suppress(ApiError):
            self._finish(queue, job_id, "failed", {"failedReason": reason},
                         remove=(opts or {}).get("removeOnFail") is True)

    def _retry(self, queue: str, job: Job, reason: str) -> None:
        """The attempt failed and attempts remain: back to waiting, or delayed by the backoff."""
        made = job["attemptsMade"] + 1
        delay = _backoff_ms(job["opts"].get("backoff"), made)
        now, rank = self._now_ms(), self._rank(queue)
        self._move(queue, job["id"], "active", lambda j: {
            **j, "state": "delayed" if delay > 0 else "waiting", "rank": rank,
            "attemptsMade": made, "failedReason": reason,
            "stacktrace": [*j["stacktrace"], f"Error: {reason}"], "due_ms": now + delay})
        self._release(queue, job["id"])


def due_ms(job: Job) -> int:
    """When a delayed job is due: its retry time after a backoff, else timestamp + delay."""
    return int(job.get("due_ms") or job["timestamp"] + job["delay"])


def _active(jobs: list[Job]) -> int:
    return sum(1 for j in jobs if j["state"] == "active")


def _concurrency(worker: Job) -> int:
    return max(int((worker.get("opts") or {}).get("concurrency") or 1), 1)


def _limiter(queue: str) -> str:
    from urllib.parse import quote

    return f"bullmq:q:{quote(queue, safe='')}:limiter"


def _backoff_ms(backoff: Any, attempts_made: int) -> int:
    """BullMQ's built-in strategies: fixed `delay`, or exponential `2^(made-1) * delay`."""
    if not isinstance(backoff, dict):
        return 0
    delay = int(backoff.get("delay") or 0)
    if backoff.get("type") == "exponential":
        return round(2 ** (attempts_made - 1) * delay)
    return delay

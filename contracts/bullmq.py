"""BullMQ Proxy contract: a model of queues, jobs, lock tokens, logs and workers.

Rules: added jobs read back as added (name, data, opts, state) under their own ids; a job id
of one queue means nothing in another (queues never mix); a worker's lock token (control
action `take-next`) works for its job only, and only while the job is active, while any
other token is refused with 401; progress shows on the job; the log `count` is the number of
lines appended and every page is the Redis slice of them in append order; `complete` /
`fail` finish the job (finishedOn, returnvalue / failedReason, removeOnComplete /
removeOnFail); the per-state counts and lists of GET jobs follow the model; delayed jobs wait
until due; workers register, list and go; a wrong static bearer gets 401 `Unauthorized`.

Request bodies come from the spec's own schemas, narrowed to keep generation cheap: a job is
`st.fixed_dictionaries` over the `NewJob` / `NewJobOptions` property schemas (or one of the
spec's example jobs), and a worker registration is a generated `WorkerEndpoint` with the
spec's example `opts`. Generated options are then made portable and unambiguous: custom
`jobId` and `deduplication.id` are unique names; a positive `delay` becomes 1h15, 2h15 or
3h15 (it cannot elapse by itself against a real proxy, and never ends within a tick of a
clock step); `attempts` is at most 1 (a failure is then final, no retry); a positive numeric
`backoff` is sent in its object form (the real proxy rejects numbers); `removeOnComplete` /
`removeOnFail` are booleans only (keep-counts and ages are not modelled).

BullMQ 5 keeps jobs with a `priority` in a `prioritized` set that the proxy's `statuses`
cannot name; the suite accepts such a job either listed (and counted) under `waiting` or
not listed at all.
"""

from __future__ import annotations

from typing import Any, NoReturn

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, initialize, multiple, precondition, rule

from contracts.client import Result
from contracts.stateful import ApiStateMachine, needs_clock, needs_control, suite_settings
from contracts.strategies import body_values, values
from mockserver.spec import load_spec

__all__ = ["StateMachine"]

SPEC = load_spec("bullmq")
ADD = "addJobs"
LIST = "getJobs"
GET = "getJob"
PROGRESS = "updateJobProgress"
ADD_LOG = "addJobLog"
LOGS = "getJobLogs"
REGISTER = "registerWorker"
WORKERS = "listWorkers"
REMOVE_WORKER = "removeWorker"
STATES = ("waiting", "active", "completed", "failed", "delayed")
DEFAULT_STATES = ("waiting", "active", "completed", "failed")
TAKEABLE = ("waiting", "prioritized")
HOUR_MS = 3_600_000
QUEUES = 3
QUEUE = st.integers(min_value=0, max_value=QUEUES - 1)
SAFE_INT = 2 ** 53

_S = "/components/schemas/"
_ADD_EXAMPLES = SPEC.document["paths"]["/queues/{queueName}/jobs"]["post"]["requestBody"][
    "content"]["application/json"]["examples"]
_REGISTER_EXAMPLES = SPEC.document["paths"]["/workers"]["post"]["requestBody"]["content"][
    "application/json"]["examples"]
_OPTION_KEYS = tuple(SPEC.document["components"]["schemas"]["NewJobOptions"]["properties"])

EXAMPLE_JOBS = [job for example in _ADD_EXAMPLES.values() for job in example["value"]]
NEW_JOB = st.one_of(
    st.sampled_from(EXAMPLE_JOBS),
    st.fixed_dictionaries(
        {"name": values(SPEC, _S + "NewJob/properties/name"),
         "data": st.one_of(st.sampled_from([job["data"] for job in EXAMPLE_JOBS]),
                           values(SPEC, _S + "NewJob/properties/data"))},
        optional={"opts": st.fixed_dictionaries(
            {}, optional={key: values(SPEC, f"{_S}NewJobOptions/properties/{key}")
                          for key in _OPTION_KEYS})}))
JOB_BATCHES = st.lists(NEW_JOB, min_size=1, max_size=3)
WORKER_OPTS = [ex["value"]["opts"] for ex in _REGISTER_EXAMPLES.values() if "opts" in ex["value"]]
ENDPOINTS = values(SPEC, _S + "WorkerEndpoint")
WORKER_BODIES = st.fixed_dictionaries({"endpoint": ENDPOINTS},
                                      optional={"opts": st.sampled_from(WORKER_OPTS)})
PROGRESS_VALUES = body_values(SPEC, PROGRESS)
LOG_LINES = body_values(SPEC, ADD_LOG)
RETURN_VALUES = values(SPEC, _S + "Job/properties/returnvalue")
REASONS = st.one_of(st.sampled_from(["Internal Server Error", "Bad Gateway",
                                     "This operation was aborted"]),
                    st.text(min_size=1, max_size=40))
FOREIGN_TOKENS = st.one_of(st.uuids().map(str),
                           st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1,
                                   max_size=40))
STATUS_SETS = st.lists(st.sampled_from(STATES), unique=True, max_size=5)
PAGE_START = st.integers(min_value=0, max_value=6)
PAGE_LENGTH = st.integers(min_value=0, max_value=100).flatmap(
    lambda n: st.sampled_from([n, n % 5]))

Job = dict[str, Any]
Key = tuple[str, str]


def lrange(items: list[Any], start: int, end: int) -> list[Any]:
    """Redis LRANGE start end (inclusive; a negative index counts from the tail)."""
    size = len(items)
    if start < 0:
        start = max(size + start, 0)
    if end < 0:
        end += size
    if start > end or start >= size:
        return []
    return items[start:min(end, size - 1) + 1]


def js(value: Any) -> Any:
    """A JSON value as it survives a JavaScript round trip (integers beyond 2**53 are doubles)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and abs(value) > SAFE_INT:
        return float(value)
    if isinstance(value, list):
        return [js(item) for item in value]
    if isinstance(value, dict):
        return {key: js(item) for key, item in value.items()}
    return value


class StateMachine(ApiStateMachine):
    """Model-based contract of the BullMQ Proxy HTTP API."""

    api = "bullmq"
    jobs = Bundle("jobs")
    workers = Bundle("workers")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[Key, Job] = {}
        self.ids_seen: dict[str, set[str]] = {}
        # Orders below follow insertion, never the (random) names, so replays are the same.
        self.custom_ids: dict[Key, None] = {}
        self.worker_model: dict[str, str] = {}
        self.removed_workers: set[str] = set()
        self.seq = 0
        self.queue_names: list[str] = []
        self.held: list[tuple[str, str, str]] = []  # every lock token handed out, in order

    # -- queues and jobs ----------------------------------------------------------------------

    @initialize(target=jobs, batch=st.lists(NEW_JOB, min_size=2, max_size=3),
                worker=WORKER_BODIES)
    def queues_with_jobs(self, batch: list[dict[str, Any]], worker: dict[str, Any]) -> Any:
        """Three queues of this run; the first gets jobs at once, and (on the mock) a worker
        takes one of them. A worker endpoint is registered and removed, so every run goes
        through a worker's whole life once."""
        self.queue_names = [self.unique("q") for _ in range(QUEUES)]
        added = self._add_jobs(self.queue_names[0], batch)
        if self.control is not None and any(j["state"] in TAKEABLE for j in self.model.values()):
            self._take(self.queue_names[0])
        self.remove_worker(self.register_worker(worker, again=False))
        return added

    @rule(target=jobs, queue=QUEUE, batch=JOB_BATCHES)
    def add_jobs(self, queue: int, batch: list[dict[str, Any]]) -> Any:
        return self._add_jobs(self.queue_names[queue], batch)

    def _add_jobs(self, queue: str, batch: list[dict[str, Any]]) -> Any:
        batch = [self._portable(new) for new in batch]
        result = self.client.call(ADD, {"queueName": queue}, body=batch)
        self.expect(result, 200, "bullmq.add-jobs")
        created = result.body
        self.check_equal(result, "bullmq.add-jobs", len(created), len(batch), "jobs created")
        added: list[Key] = []
        for new, job in zip(batch, created, strict=True):
            key = self._added(result, queue, new, job)
            if key is not None:
                added.append(key)
        for key in added:
            self._check_job(key, "bullmq.added-job-reads-back")
            self._check_state(key, "bullmq.added-job-state")
        return multiple(*added)

    @precondition(lambda self: self.custom_ids)
    @rule(pick=st.integers(min_value=0, max_value=99),
          data=st.sampled_from([job["data"] for job in EXAMPLE_JOBS]))
    def add_duplicate_job_id(self, pick: int, data: Any) -> None:
        """Adding a job under an id the queue holds adds nothing (BullMQ keeps the first)."""
        ids = list(self.custom_ids)
        job = ids[pick % len(ids)]
        queue, job_id = job
        new = {"name": "duplicate", "data": {"again": data}, "opts": {"jobId": job_id}}
        result = self.client.call(ADD, {"queueName": queue}, body=[new])
        self.expect(result, 200, "bullmq.duplicate-job-id-adds-nothing")
        self.check_equal(result, "bullmq.duplicate-job-id-adds-nothing", result.body[0]["id"],
                         job_id, "id")
        if job not in self.model:  # it was removed when it finished: the id is free again
            self.model[job] = self._new_model(new, {"attempts": 0, "jobId": job_id})
        self._check_job(job, "bullmq.duplicate-job-id-adds-nothing")
        self._check_queue(queue, "bullmq.duplicate-job-id-adds-nothing")

    @rule(job=jobs)
    def get_job(self, job: Key) -> None:
        self._check_job(job, "bullmq.get-job-matches-model")

    @rule(job=jobs, index=st.integers(min_value=0, max_value=QUEUES - 2))
    def other_queue_does_not_see_job(self, job: Key, index: int) -> None:
        """A job id means only what the model holds for that queue; its logs stay with it."""
        other = [q for q in self.queue_names if q != job[0]][index]
        key = (other, job[1])
        self._check_job(key, "bullmq.queues-never-mix")
        self._check_all_logs(key, "bullmq.queues-never-mix")

    @rule(index=QUEUE, states=STATUS_SETS, start=PAGE_START, length=PAGE_LENGTH)
    def list_jobs(self, index: int, states: list[str], start: int, length: int) -> None:
        queue = self.queue_names[index]
        query: dict[str, Any] = {"start": start, "length": length}
        if states:
            query["statuses"] = ",".join(states)
        asked = states or list(DEFAULT_STATES)
        result = self.client.call(LIST, {"queueName": queue}, query=query)
        self.expect(result, 200, "bullmq.list-jobs")
        listed = [job["id"] for job in result.body["jobs"]]
        mine = {job_id: job for (q, job_id), job in self.model.items() if q == queue}
        for item in result.body["jobs"]:
            job = mine.get(item["id"])
            if job is None or self._shown(job["state"], asked) == "no":
                self._fail(LIST, "bullmq.listed-jobs-match-model",
                           f"job {item['id']!r} listed, but the model has it "
                           f"{job['state'] if job else 'absent'}, not in {asked}")
            self._same_job(result, item, job, "bullmq.listed-jobs-match-model")
        if len(set(listed)) != len(listed):
            self._fail(LIST, "bullmq.listed-jobs-match-model", f"duplicates in {listed}")
        if not self.isolated:
            return
        self._check_counts(result, queue, asked)
        low_total = high_total = 0
        for state in asked:
            sure = [j for j in mine.values() if self._shown(j["state"], [state]) == "yes"]
            maybe = [j for j in mine.values() if self._shown(j["state"], [state]) == "maybe"]
            low_total += len(lrange(sure, start, start + length - 1))
            high_total += len(lrange(sure + maybe, start, start + length - 1))
        if not low_total <= len(listed) <= high_total:
            self._fail(LIST, "bullmq.list-slices-each-state",
                       f"{len(listed)} jobs listed for start={start} length={length}; "
                       f"the model expects {low_total}"
                       + (f" to {high_total}" if high_total != low_total else ""))

    # -- a worker holding a job (control API) --------------------------------------------------

    @needs_control
    @precondition(lambda self: any(j["state"] in TAKEABLE for j in self.model.values()))
    @rule(pick=st.integers(min_value=0, max_value=99))
    def take_next(self, pick: int) -> None:
        ready = [q for q in self.queue_names
                 if any(k[0] == q and j["state"] in TAKEABLE for k, j in self.model.items())]
        return self._take(ready[pick % len(ready)])

    def _take(self, queue: str) -> None:
        candidates = {job_id: job for (q, job_id), job in self.model.items()
                      if q == queue and job["state"] in TAKEABLE}
        taken = self._control("take-next", "bullmq.take-next-hands-a-waiting-job", queue=queue)
        job_json, token = taken.get("job") or {}, taken.get("token")
        job_id = job_json.get("id")
        if job_id not in candidates or not isinstance(token, str) or not token:
            self._fail("take-next", "bullmq.take-next-hands-a-waiting-job",
                       f"got job {job_id!r} and token {token!r}; waiting jobs are "
                       f"{sorted(candidates)}")
        self._check_take_order(job_id, candidates)
        job = self.model[(queue, job_id)]
        job.update(state="active", token=token)
        self._check_job((queue, job_id), "bullmq.take-next-hands-a-waiting-job")
        self._check_state((queue, job_id), "bullmq.take-next-hands-a-waiting-job")
        got = self.client.call(GET, {"queueName": queue, "jobId": job_id})
        if got.body.get("processedOn") is None:
            self._fail(GET, "bullmq.take-next-hands-a-waiting-job",
                       "an active job has no processedOn")
        self.held.append((queue, job_id, token))
        self._probe_token_on_neighbour(queue, job_id, token)
        self._probe_log_order(queue, job_id, token)

    def _probe_log_order(self, queue: str, job_id: str, token: str) -> None:
        """Two lines appended with the fresh token read back, in full, in append order."""
        key = (queue, job_id)
        for line in ("probe: first", "probe: second"):
            result = self.client.call(ADD_LOG, {"queueName": queue, "jobId": job_id},
                                      body=line, token=token)
            self.expect(result, 200, "bullmq.log-with-job-token")
            self.model[key]["logs"].append(line)
        appended = len(self.model[key]["logs"])
        self._check_logs(key, 0, min(appended, 100), "bullmq.log-page-is-append-order-slice")

    def _probe_token_on_neighbour(self, queue: str, job_id: str, token: str) -> None:
        """Every token handed out is tried at once on another job (of the same queue when
        there is one): a mix-up of lock tokens shows on the first take, not by chance."""
        others = sorted(self.model, key=lambda key: (key[0] != queue, key))
        other = next((key for key in others if key != (queue, job_id)), None)
        if other is None:
            return
        path = {"queueName": other[0], "jobId": other[1]}
        result = self.client.call(ADD_LOG, path, body="probe", token=token)
        self._refused(result, "bullmq.token-only-for-its-job")

    @precondition(lambda self: self.held)
    @rule(pick=st.integers(min_value=0, max_value=99), progress=PROGRESS_VALUES)
    def update_progress_with_held_token(self, pick: int, progress: Any) -> None:
        """Any token a worker was given: accepted only while its job is active."""
        held = self.held[pick % len(self.held)]
        queue, job_id, token = held
        result = self.client.call(PROGRESS, {"queueName": queue, "jobId": job_id},
                                  body=progress, token=token)
        if not self._holds(held):
            self._refused(result, "bullmq.token-only-while-active")
            self._check_job((queue, job_id), "bullmq.refused-write-changes-nothing")
            return
        self.expect(result, 200, "bullmq.progress-with-job-token")
        self.model[(queue, job_id)]["progress"] = progress
        self._check_job((queue, job_id), "bullmq.progress-shows-on-job")

    @precondition(lambda self: self.held)
    @rule(pick=st.integers(min_value=0, max_value=99), line=LOG_LINES, start=PAGE_START,
          length=PAGE_LENGTH)
    def add_log_with_held_token(self, pick: int, line: str, start: int, length: int) -> None:
        """Any token a worker was given: accepted only while its job is active."""
        held = self.held[pick % len(self.held)]
        queue, job_id, token = held
        key = (queue, job_id)
        result = self.client.call(ADD_LOG, {"queueName": queue, "jobId": job_id},
                                  body=line, token=token)
        if not self._holds(held):
            self._refused(result, "bullmq.token-only-while-active")
            self._check_all_logs(key, "bullmq.refused-write-changes-nothing")
            return
        self.expect(result, 200, "bullmq.log-with-job-token")
        self.model[key]["logs"].append(line)
        self._check_logs(key, start, length, "bullmq.log-page-is-append-order-slice")
        appended = len(self.model[key]["logs"])
        if appended >= 2:  # and the first page in full: the append order, deterministically
            self._check_logs(key, 0, min(appended, 100), "bullmq.log-page-is-append-order-slice")

    @precondition(lambda self: self.held)
    @rule(pick=st.integers(min_value=0, max_value=99), other=jobs,
          neighbour=st.integers(min_value=0, max_value=99), live=st.booleans(),
          progress=st.booleans(), line=LOG_LINES)
    def token_of_another_job(self, pick: int, other: Key, neighbour: int, live: bool,
                             progress: bool, line: str) -> None:
        """A lock token is refused for every other job: `live` takes the token of an active
        job and a job of the same queue (the likeliest mix-up), else any token and job."""
        held = self.held[pick % len(self.held)]
        if live and any(j["state"] == "active" for j in self.model.values()):
            held = self._active(pick)
            same = [key for key in self.model if key[0] == held[0] and key != held[:2]]
            other = same[neighbour % len(same)] if same else other
        if other == held[:2]:
            return
        path = {"queueName": other[0], "jobId": other[1]}
        result = (self.client.call(PROGRESS, path, body=line, token=held[2]) if progress
                  else self.client.call(ADD_LOG, path, body=line, token=held[2]))
        self._refused(result, "bullmq.token-only-for-its-job")
        self._check_job(other, "bullmq.refused-write-changes-nothing")
        self._check_all_logs(other, "bullmq.refused-write-changes-nothing")

    @rule(job=jobs, token=FOREIGN_TOKENS, progress=st.booleans(), static=st.booleans())
    def foreign_token_refused(self, job: Key, token: str, progress: bool,
                              static: bool) -> None:
        """A made-up token, or the static API token, is no job's lock token."""
        rule_name = "bullmq.static-token-not-a-job-token" if static else \
            "bullmq.random-token-refused"
        sent = None if static else token
        path = {"queueName": job[0], "jobId": job[1]}
        result = (self.client.call(PROGRESS, path, body=token, token=sent) if progress
                  else self.client.call(ADD_LOG, path, body=token, token=sent))
        self._refused(result, rule_name)
        self._check_job(job, "bullmq.refused-write-changes-nothing")
        self._check_all_logs(job, "bullmq.refused-write-changes-nothing")

    @rule(job=jobs, start=PAGE_START, length=PAGE_LENGTH)
    def get_logs(self, job: Key, start: int, length: int) -> None:
        self._check_logs(job, start, length, "bullmq.log-page-is-append-order-slice")

    @needs_control
    @precondition(lambda self: any(j["state"] == "active" for j in self.model.values()))
    @rule(pick=st.integers(min_value=0, max_value=99),
          lines=st.lists(LOG_LINES, min_size=1, max_size=4),
          progress=st.none() | st.tuples(PROGRESS_VALUES), start=PAGE_START,
          length=PAGE_LENGTH)
    def work_on_active_job(self, pick: int, lines: list[str], progress: tuple[Any] | None,
                           start: int, length: int) -> None:
        """What a worker endpoint does with the job it holds: log lines, maybe progress."""
        queue, job_id, token = self._active(pick)
        key, path = (queue, job_id), {"queueName": queue, "jobId": job_id}
        for line in lines:
            result = self.client.call(ADD_LOG, path, body=line, token=token)
            self.expect(result, 200, "bullmq.log-with-job-token")
            self.model[key]["logs"].append(line)
        total = len(self.model[key]["logs"])
        pages = {(start, length), (0, max(total - 1, 1)), (total - 1, 1)}  # + both edges
        for page_start, page_length in sorted(pages):
            self._check_logs(key, page_start, page_length,
                             "bullmq.log-page-is-append-order-slice")
        if progress is not None:
            result = self.client.call(PROGRESS, path, body=progress[0], token=token)
            self.expect(result, 200, "bullmq.progress-with-job-token")
            self.model[key]["progress"] = progress[0]
            self._check_job(key, "bullmq.progress-shows-on-job")

    @needs_control
    @precondition(lambda self: any(j["state"] == "active" for j in self.model.values()))
    @rule(pick=st.integers(min_value=0, max_value=99), returnvalue=RETURN_VALUES)
    def complete_job(self, pick: int, returnvalue: Any) -> None:
        held = self._active(pick)
        self._control("complete", "bullmq.complete-updates-job", queue=held[0],
                      job_id=held[1], returnvalue=returnvalue)
        self._finished(held, "completed", {"returnvalue": returnvalue},
                       "bullmq.complete-updates-job")

    @needs_control
    @precondition(lambda self: any(j["state"] == "active" for j in self.model.values()))
    @rule(pick=st.integers(min_value=0, max_value=99), reason=REASONS)
    def fail_job(self, pick: int, reason: str) -> None:
        held = self._active(pick)
        self._control("fail", "bullmq.fail-updates-job", queue=held[0], job_id=held[1],
                      reason=reason)
        self._finished(held, "failed", {"failedReason": reason}, "bullmq.fail-updates-job")

    @needs_control
    @precondition(lambda self: any(j["state"] == "delayed" for j in self.model.values()))
    @rule(hours=st.sampled_from([0.5, 1, 2]))
    def advance_clock(self, hours: float) -> None:
        """Delayed jobs become waiting once their delay has elapsed, not before."""
        assert self.control is not None
        self.control.advance(hours * 3600)
        due = sorted((job["remaining"] - hours * HOUR_MS, n, key)
                     for n, (key, job) in enumerate(self.model.items())
                     if job["state"] == "delayed")
        for left, _, key in due:
            job = self.model[key]
            job["remaining"] = left
            if left <= 0:
                job.update(state="prioritized" if job["priority"] else "waiting",
                           promoted=True, order=self._next())
        for _, _, key in due:
            self._check_state(key, "bullmq.delayed-until-due")

    # -- workers --------------------------------------------------------------------------------

    @rule(target=workers, body=WORKER_BODIES, again=st.booleans())
    def register_worker(self, body: dict[str, Any], again: bool) -> Any:
        """A new queue's worker is listed; registering a queue again replaces its worker."""
        known = list(self.worker_model)
        queue = known[0] if again and known else self.unique("wq")
        body = {**body, "queue": queue}
        result = self.client.call(REGISTER, body=body)
        self.expect(result, 200, "bullmq.register-worker")
        self.worker_model[queue] = body["endpoint"]["url"]
        self._check_workers("bullmq.register-replaces-worker" if queue in known
                            else "bullmq.registered-worker-is-listed")
        return multiple() if queue in known else queue

    @rule(worker=consumes(workers))
    def remove_worker(self, worker: str) -> None:
        result = self.client.call(REMOVE_WORKER, {"queueName": worker})
        self.expect(result, 200, "bullmq.remove-worker")
        del self.worker_model[worker]
        self.removed_workers.add(worker)
        self._check_workers("bullmq.removed-worker-is-gone")
        again = self.client.call(REMOVE_WORKER, {"queueName": worker})
        self.expect(again, 404, "bullmq.removed-worker-is-gone")
        self.check_equal(again, "bullmq.removed-worker-is-gone", again.received.text,
                         "Worker not found", "body")

    @needs_clock
    @rule(answer=st.sampled_from([{"done": True}, [1, 2], None]), data=st.integers(0, 9))
    def worker_endpoint_gets_the_job(self, answer: Any, data: int) -> None:
        """A registered worker endpoint (served by this suite) gets the queue's waiting job as
        the proxy posts it, `{job, token}` with the endpoint's method and headers; its 2xx
        answer completes the job with the answer as `returnvalue` (JSON, or the text when the
        answer is not JSON), and the lock token dies with the job. Needs the control API to
        move the virtual clock (and a proxy elsewhere could not reach this suite's port)."""
        assert self.control is not None
        rule_name = "bullmq.worker-endpoint-gets-the-job"
        receiver = self.receiver(200, answer)
        queue = self.unique("wk")
        endpoint = {"url": f"{receiver.url}/work", "method": "PUT",
                    "headers": {"x-suite": queue}}
        self.expect(self.client.call(REGISTER, body={"queue": queue, "endpoint": endpoint}),
                    200, rule_name)
        added = self.client.call(ADD, {"queueName": queue},
                                 body=[{"name": "dispatched", "data": {"n": data}}])
        self.expect(added, 200, rule_name)
        job_id = str(added.body[0]["id"])
        self.control.advance(0)
        calls = receiver.wait_for(1)
        self.check_equal(added, rule_name, len(calls), 1, "calls to the worker endpoint")
        call = calls[0]
        self.check_equal(added, rule_name, (call.method, call.path, call.headers.get("x-suite")),
                         ("PUT", "/work", queue), "method, path and header of the call")
        sent = call.json() or {}
        self.check_equal(added, rule_name, (sent.get("job", {}).get("id"),
                                            sent.get("job", {}).get("data")),
                         (job_id, {"n": data}), "the job posted")
        read = self.client.call(GET, {"queueName": queue, "jobId": job_id})
        self.expect(read, 200, rule_name)
        self.check_equal(read, rule_name, read.body.get("returnvalue"),
                         "" if answer is None else answer, "returnvalue")
        late = self.client.call(PROGRESS, {"queueName": queue, "jobId": job_id}, body=1,
                                token=str(sent.get("token")))
        self._refused(late, rule_name)
        self.expect(self.client.call(REMOVE_WORKER, {"queueName": queue}), 200, rule_name)

    # -- static-token auth ----------------------------------------------------------------------

    @rule(job=jobs, token=FOREIGN_TOKENS, operation=st.sampled_from(
        [GET, LIST, LOGS, ADD, WORKERS]), header=st.booleans())
    def wrong_bearer_unauthorized(self, job: Key, token: str, operation: str,
                                  header: bool) -> None:
        """Token routes refuse a bearer that is not one of AUTH_TOKENS, or none at all."""
        if token == self.client.credentials.token:
            return
        path = {"queueName": job[0], "jobId": job[1]}
        body = [{"name": "intruder", "data": {"x": 1}}] if operation == ADD else None
        kwargs: dict[str, Any] = {"token": token} if header else {"auth": False}
        if body is not None:
            kwargs["body"] = body
        result = self.client.call(operation, {} if operation == WORKERS else path, **kwargs)
        self._refused(result, "bullmq.wrong-bearer-unauthorized")
        if operation == ADD:
            self._check_queue(job[0], "bullmq.refused-write-changes-nothing")

    # -- helpers --------------------------------------------------------------------------------

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _portable(self, new: dict[str, Any]) -> dict[str, Any]:
        """A generated job made unambiguous and portable (see the module docstring)."""
        if "opts" not in new:
            return new
        opts = dict(new["opts"])
        if "jobId" in opts:
            opts["jobId"] = self.unique("jid")
        if "deduplication" in opts:
            opts["deduplication"] = {**opts["deduplication"], "id": self.unique("dd")}
        if opts.get("delay"):  # 1h15, 2h15 or 3h15: never within a tick of a clock step
            opts["delay"] = HOUR_MS * (1 + opts["delay"] % 3) + HOUR_MS // 4
        if opts.get("attempts", 0) > 1:
            opts["attempts"] = 1
        backoff = opts.get("backoff")
        if isinstance(backoff, int | float) and backoff > 0:
            opts["backoff"] = {"type": "fixed", "delay": backoff}
        for key in ("removeOnComplete", "removeOnFail"):
            if key in opts and not isinstance(opts[key], bool):
                del opts[key]
        return {**new, "opts": opts}

    def _new_model(self, new: dict[str, Any], opts: dict[str, Any]) -> Job:
        delay = opts.get("delay") or 0
        priority = opts.get("priority") or 0
        state = "delayed" if delay else ("prioritized" if priority else "waiting")
        return {"name": new["name"], "data": new["data"], "opts": opts, "state": state,
                "progress": 0, "logs": [], "returnvalue": None, "failedReason": None,
                "attemptsMade": 0, "order": self._next(), "lifo": opts.get("lifo") is True,
                "priority": priority, "delay": delay, "remaining": delay, "promoted": False,
                "token": None}

    def _added(self, result: Result, queue: str, new: dict[str, Any],
               job: dict[str, Any]) -> Key | None:
        """Check one created job of an add and put it in the model; None if it was a no-op."""
        rule_name = "bullmq.added-job-reads-back"
        given = new.get("opts") or {}
        custom = given.get("jobId")
        job_id = str(job["id"])
        if custom is not None:
            self.check_equal(result, "bullmq.custom-job-id-kept", job_id, custom, "id")
        else:
            seen = self.ids_seen.setdefault(queue, set())
            if job_id in seen:
                self._fail(ADD, "bullmq.job-ids-unique-per-queue",
                           f"id {job_id!r} was given twice in queue {queue!r}")
        self.check_equal(result, rule_name, job["name"], new["name"], "name")
        self.check_equal(result, rule_name, js(job["data"]), js(new["data"]), "data")
        self.ids_seen.setdefault(queue, set()).add(job_id)
        key = (queue, job_id)
        if key in self.model:
            return None
        if custom is not None:
            self.custom_ids[key] = None
        self.model[key] = self._new_model(new, {"attempts": 0, **given})
        return key

    def _check_job(self, key: Key, rule_name: str) -> None:
        """GET job answers what the model holds: the job, or 404 `Job not found`."""
        result = self.client.call(GET, {"queueName": key[0], "jobId": key[1]})
        job = self.model.get(key)
        if job is None:
            self.expect(result, 404, rule_name, f"queue {key[0]!r} has no job {key[1]!r}")
            self.check_equal(result, rule_name, result.received.text, "Job not found", "body")
            return
        self.expect(result, 200, rule_name)
        self._same_job(result, result.body, job, rule_name)

    def _same_job(self, result: Result, shown: dict[str, Any], job: Job, rule_name: str) -> None:
        self.check_equal(result, rule_name, shown["name"], job["name"], "name")
        self.check_equal(result, rule_name, js(shown["data"]), js(job["data"]), "data")
        self.check_equal(result, rule_name, js(shown["progress"]), js(job["progress"]),
                         "progress")
        self.check_equal(result, rule_name, shown["attemptsMade"], job["attemptsMade"],
                         "attemptsMade")
        self.check_equal(result, rule_name, js(shown["returnvalue"]), js(job["returnvalue"]),
                         "returnvalue")
        self.check_equal(result, rule_name, shown.get("failedReason"), job["failedReason"],
                         "failedReason")
        self.check_equal(result, rule_name, shown.get("priority", 0), job["priority"],
                         "priority")
        self.check_equal(result, rule_name, shown.get("delay", 0), job["delay"], "delay")
        opts = shown["opts"]
        for name, value in job["opts"].items():
            if name != "backoff":
                self.check_equal(result, rule_name, js(opts.get(name)), js(value),
                                 f"opts.{name}")
        finished = shown.get("finishedOn")
        if (finished is None) != (job["state"] not in ("completed", "failed")):
            self._fail(result.operation.operation_id, rule_name,
                       f"finishedOn is {finished!r} on a {job['state']} job")

    @staticmethod
    def _shown(state: str, asked: list[str]) -> str:
        """Whether a job in `state` is listed for `asked`: yes, no, or maybe (prioritized)."""
        if state in asked:
            return "yes"
        return "maybe" if state == "prioritized" and "waiting" in asked else "no"

    def _check_state(self, key: Key, rule_name: str) -> None:
        """The job is listed under its model state, and under no other state."""
        job = self.model.get(key)
        state = job["state"] if job else None
        if state in STATES:
            self._listed(key, [str(state)], 1, 1, rule_name, state)
        others = [s for s in STATES if s != state]
        self._listed(key, others, 0, 1 if state == "prioritized" else 0, rule_name, state)

    def _check_counts(self, result: Result, queue: str, asked: list[str]) -> None:
        """`counts` has a key per asked state (+ `paused` with `waiting`) and the model's
        numbers; called only when the target is isolated."""
        rule_name = "bullmq.counts-match-model"
        counts = result.body["counts"]
        expected_keys = set(asked) | ({"paused"} if "waiting" in asked else set())
        self.check_equal(result, rule_name, sorted(counts), sorted(expected_keys), "count keys")
        states = [job["state"] for (q, _), job in self.model.items() if q == queue]
        for state in asked:
            sure = sum(1 for s in states if self._shown(s, [state]) == "yes")
            maybe = sum(1 for s in states if self._shown(s, [state]) == "maybe")
            if not sure <= counts[state] <= sure + maybe:
                self._fail(LIST, rule_name,
                           f"counts.{state} is {counts[state]}; the model expects {sure}"
                           + (f" to {sure + maybe}" if maybe else ""))
        if "waiting" in asked:
            self.check_equal(result, rule_name, counts["paused"], 0, "counts.paused")

    def _check_queue(self, queue: str, rule_name: str) -> None:
        """The queue lists exactly the model's jobs (prioritized ones may be missing)."""
        result = self.client.call(LIST, {"queueName": queue},
                                  query={"statuses": ",".join(STATES), "start": 0,
                                         "length": 100})
        self.expect(result, 200, rule_name)
        listed = {item["id"] for item in result.body["jobs"]}
        mine = {job_id: job for (q, job_id), job in self.model.items() if q == queue}
        sure = {job_id for job_id, job in mine.items() if job["state"] in STATES}
        if not sure <= listed <= set(mine):
            self._fail(LIST, rule_name, f"queue {queue!r} lists {sorted(listed)}; the model "
                       f"has {sorted(sure)}")

    def _listed(self, key: Key, states: list[str], low: int, high: int, rule_name: str,
                state: str | None) -> None:
        result = self.client.call(LIST, {"queueName": key[0]},
                                  query={"statuses": ",".join(states), "start": 0,
                                         "length": 100})
        self.expect(result, 200, rule_name)
        if self.isolated:
            self._check_counts(result, key[0], states)
        found = sum(1 for item in result.body["jobs"] if item["id"] == key[1])
        if not low <= found <= high:
            self._fail(LIST, rule_name,
                       f"job {key[1]!r} is listed {found} times under {states}; the "
                       f"model has it {state or 'absent'}")

    def _check_all_logs(self, key: Key, rule_name: str) -> None:
        """Every line of the job (start=0, length=0 is LRANGE 0 -1), count included."""
        self._check_logs(key, 0, 0, rule_name, rule_name)

    def _check_logs(self, key: Key, start: int, length: int, rule_name: str,
                    count_rule: str = "bullmq.log-count-equals-appended") -> None:
        result = self.client.call(LOGS, {"queueName": key[0], "jobId": key[1]},
                                  query={"start": start, "length": length})
        self.expect(result, 200, rule_name)
        lines = self.model[key]["logs"] if key in self.model else []
        self.check_equal(result, count_rule, result.body["count"], len(lines), "count")
        self.check_equal(result, rule_name, result.body["logs"],
                         lrange(lines, start, start + length - 1),
                         f"logs[start={start}, length={length}]")

    def _check_workers(self, rule_name: str) -> None:
        result = self.client.call(WORKERS)
        self.expect(result, 200, rule_name)
        listed = result.body
        for queue, url in self.worker_model.items():
            self.check_equal(result, rule_name, listed.get(queue), url, f"worker of {queue}")
        for queue in self.removed_workers:
            self.check_equal(result, rule_name, listed.get(queue), None, f"worker of {queue}")
        if self.isolated:
            self.check_equal(result, rule_name, listed, self.worker_model, "workers")

    def _check_take_order(self, job_id: str, candidates: dict[str, Job]) -> None:
        """Jobs without priority go first (lifo newest first, else oldest first); then the
        lowest priority. Jobs promoted from delayed are not ordered by the model."""
        plain = {i: j for i, j in candidates.items() if j["state"] == "waiting"}
        rule_name = "bullmq.take-order"
        if not plain:
            lowest = min(j["priority"] for j in candidates.values())
            if candidates[job_id]["priority"] != lowest:
                self._fail("take-next", rule_name,
                           f"took job {job_id!r} of priority "
                           f"{candidates[job_id]['priority']}; {lowest} was waiting")
            return
        if job_id not in plain:
            self._fail("take-next", rule_name,
                       f"took prioritized job {job_id!r} while jobs without priority "
                       f"waited: {sorted(plain)}")
        if any(j["promoted"] for j in plain.values()):
            return
        lifo = {i: j for i, j in plain.items() if j["lifo"]}
        pool = lifo or plain
        pick = (max if lifo else min)(pool, key=lambda i: pool[i]["order"])
        self._fail_unless_equal("take-next", rule_name, job_id, pick, "job taken")

    def _fail_unless_equal(self, operation: str, rule_name: str, actual: Any, expected: Any,
                           what: str) -> None:
        if actual != expected:
            self._fail(operation, rule_name,
                       f"{what}: server says {actual!r}, the model expects {expected!r}")

    def _fail(self, operation: str, rule_name: str, message: str) -> NoReturn:
        self.client.fail(operation, rule_name, message)
        raise AssertionError(message)  # not reached: fail raises ContractFailure

    def _active(self, pick: int) -> tuple[str, str, str]:
        active = [(key, job["token"]) for key, job in self.model.items()
                  if job["state"] == "active"]
        (queue, job_id), token = active[pick % len(active)]
        return queue, job_id, token

    def _holds(self, held: tuple[str, str, str]) -> bool:
        job = self.model.get(held[:2])
        return job is not None and job["state"] == "active" and job["token"] == held[2]

    def _refused(self, result: Result, rule_name: str) -> None:
        self.expect(result, 401, rule_name)
        self.check_equal(result, rule_name, result.received.text, "Unauthorized", "body")

    def _control(self, name: str, rule_name: str, **params: Any) -> Any:
        assert self.control is not None
        try:
            return self.control.action("bullmq", name, **params)
        except RuntimeError as error:
            self._fail(name, rule_name, f"control action refused: {error}")

    def _finished(self, held: tuple[str, str, str], state: str, changes: Job,
                  rule_name: str) -> None:
        queue, job_id, token = held
        key = (queue, job_id)
        job = self.model[key]
        job.update(changes, state=state, token=None, attemptsMade=job["attemptsMade"] + 1,
                   order=self._next())
        option = "removeOnComplete" if state == "completed" else "removeOnFail"
        if job["opts"].get(option) is True:
            del self.model[key]
            self._check_job(key, "bullmq.remove-on-finish-deletes-job")
            self._check_all_logs(key, "bullmq.remove-on-finish-deletes-job")
        else:
            self._check_job(key, rule_name)
            self._check_state(key, rule_name)
        line = self.client.call(ADD_LOG, {"queueName": queue, "jobId": job_id},
                                body="after the end", token=token)
        self._refused(line, "bullmq.token-only-while-active")


StateMachine.TestCase.settings = suite_settings()

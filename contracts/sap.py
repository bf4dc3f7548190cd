"""SAP BTP Job Scheduling contract: a model of jobs, schedules and run logs, checked every step.

Rules: a created job (with its schedules) reads back as created, by id and by name; a
duplicate name is refused (400) and creates nothing; a new schedule shows on its job; a
`time: "now"` schedule of an active job runs once; the seed Update Job Run Log completes the
run (COMPLETED, SUCCESS/ERROR by `success`, `message` as `runText`, a completionTimestamp) and
the run log shows it; a completed one-time schedule is inactive; run-log and job pages
(page_size/offset) cover everything once with the right total; a deleted job is gone with
its schedules and run logs; wrong or missing credentials get 401 and change nothing.

Request bodies are built with `st.fixed_dictionaries` from the spec's sub-schemas (`values`)
and examples rather than `body_values`: every SAP request schema is an open object, and
hypothesis-jsonschema fills open objects with arbitrary extra properties at tens of
milliseconds a draw (Update Job Run Log, Create Job Schedule) or minutes for a few dozen
(Create Job, whose `not: anyOf` of modes it must filter), which made a failing run shrink
for over five minutes. success, message, description, action, calmConfig, httpMethod,
ansConfig's fields and schedule `active` come from the sub-schemas; cron, repeatInterval,
repeatAt and `data` are the spec's examples plus a few more in the same documented forms
(data also as small generated objects); jobs are active two times in three and reports
carry a message three times in four; bodies sent only to be refused are the spec's own
JobCreate example. Times are ISO 8601, RFC 2822 or {date, format} values with start times
in the past and end and one-time times in the future, so the documented deactivation at
endTime [S17] never interferes; a schedule always has exactly one scheduling mode.

Rules that drive runs (`fire_schedule`, `move_run`) use the control API; against a real
service runs come only from `time: "now"` schedules and their state is modelled only once
this suite has completed them.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, precondition, rule

from contracts.client import Result
from contracts.stateful import ApiStateMachine, needs_clock, needs_control, suite_settings
from contracts.strategies import values
from mockserver.spec import load_spec

__all__ = ["StateMachine"]

SPEC = load_spec("sap")
CREATE = "createJob"
LIST = "listJobs"
GET = "getJob"
DELETE = "deleteJob"
CREATE_SCHEDULE = "createJobSchedule"
LIST_RUNS = "listJobRunLogs"
GET_RUN = "getJobRunLog"
UPDATE_RUN = "updateJobRunLog"
MODES = ("cron", "time", "repeatInterval", "repeatAt")
JOB_FIELDS = ("name", "description", "action", "active", "httpMethod")
RUN_STATES = {"SCHEDULED": ("SCHEDULED",),
              "RUNNING": ("TRIGGERED", "ACK_RECVD", "ACK_NOT_RECVD"),
              "COMPLETED": ("SUCCESS", "ERROR", "REQUEST_ERROR", "UNKNOWN", "TIMEOUT")}
FORWARD = {"SCHEDULED": ("SCHEDULED", "RUNNING", "COMPLETED"),
           "RUNNING": ("RUNNING", "COMPLETED"), "COMPLETED": ()}
JOB_SCHEMA = "/components/schemas/JobCreate/properties"
SCHEDULE_SCHEMA = "/components/schemas/ScheduleCreate/properties"
PICK = st.integers(min_value=0, max_value=10_000)  # index into the model's schedules or runs
_SUCCESS = values(SPEC, "/components/schemas/RunLogUpdate/properties/success")
_MESSAGE = values(SPEC, "/components/schemas/RunLogUpdate/properties/message")
REPORTS = st.one_of(  # with a message three times in four
    st.fixed_dictionaries({"success": _SUCCESS, "message": _MESSAGE}),
    st.fixed_dictionaries({"success": _SUCCESS, "message": _MESSAGE}),
    st.fixed_dictionaries({"success": _SUCCESS, "message": _MESSAGE}),
    st.fixed_dictionaries({"success": _SUCCESS}))
BAD_AUTH = st.sampled_from(["wrong-password", "wrong-password", "missing", "bad-bearer"])

# -- request bodies ---------------------------------------------------------------------------


def _examples(*pointers: str) -> list[Any]:
    found: list[Any] = []
    for pointer in pointers:
        node: Any = SPEC.document
        for part in pointer.strip("/").split("/"):
            node = node[part]
        found.append(node["example"])
    return found


_PAST = st.datetimes(datetime(2000, 1, 1), datetime(2020, 12, 31)).map(
    lambda moment: moment.replace(second=0, microsecond=0, tzinfo=UTC))
_FUTURE = st.datetimes(datetime(2080, 1, 1), datetime(2099, 12, 31)).map(
    lambda moment: moment.replace(second=0, microsecond=0, tzinfo=UTC))


def _written(moment: datetime, style: str) -> Any:
    """One moment in one of the documented input forms (ISO 8601, RFC 2822, {date, format})."""
    if style == "iso":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "rfc2822":
        return format_datetime(moment, usegmt=True)
    return {"date": moment.strftime("%Y-%m-%d %H:%M +0000"), "format": "YYYY-MM-DD HH:mm Z"}


def _times(moments: st.SearchStrategy[datetime]) -> st.SearchStrategy[tuple[Any, datetime]]:
    """(what is sent, the instant it means)."""
    styles = st.sampled_from(("iso", "rfc2822", "object"))
    return st.tuples(moments, styles).map(lambda pair: (_written(pair[0], pair[1]), pair[0]))


_MODE = st.one_of(
    st.sampled_from(["* * * * * */10 0", "* * * * * */10 */5", "* * * * * 4 0",
                     *_examples(f"{SCHEDULE_SCHEMA}/cron")]).map(lambda v: ("cron", v)),
    st.sampled_from(["2 hours", "10 minutes", "1 day",
                     *_examples(f"{SCHEDULE_SCHEMA}/repeatInterval")]
                    ).map(lambda v: ("repeatInterval", v)),
    st.sampled_from(["4.40pm", "6.00am", *_examples(f"{SCHEDULE_SCHEMA}/repeatAt")]
                    ).map(lambda v: ("repeatAt", v)),
    st.just(("time", "now")),
    st.just(("time", "now")),
    _times(_FUTURE).map(lambda sent: ("time", sent[0])),
)


def _with_mode_and_times(base: dict[str, Any], mode: tuple[str, Any],
                         start: Any, end: Any) -> dict[str, Any]:
    body = {k: v for k, v in base.items() if k not in (*MODES, "startTime", "endTime")}
    body[mode[0]] = mode[1]
    for key, sent in (("startTime", start), ("endTime", end)):
        if sent is not None:
            body[key] = sent[0]
    return body


_OPTIONAL_PAST = st.none() | _times(_PAST)
_OPTIONAL_FUTURE = st.none() | _times(_FUTURE)
_DATA = st.one_of(  # the spec's examples, or small generated objects (its schema is any object)
    st.sampled_from([{"salesOrderId": "1234"}, {"customData": "some_value"},
                     {"order_id": "abcd"}]),
    st.dictionaries(st.text(max_size=8),
                    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                    max_size=3))
SCHEDULE_BODIES = st.builds(
    _with_mode_and_times,
    st.fixed_dictionaries({"active": values(SPEC, f"{SCHEDULE_SCHEMA}/active")},
                          optional={"description": values(SPEC, f"{SCHEDULE_SCHEMA}/description"),
                                    "data": _DATA}),
    _MODE, _OPTIONAL_PAST, _OPTIONAL_FUTURE)
_ANS = st.fixed_dictionaries(
    {}, optional={key: values(SPEC, f"/components/schemas/AnsConfig/properties/{key}")
                  for key in ("onSuccess", "onError")})
JOB_BODIES = st.fixed_dictionaries(
    {"description": values(SPEC, f"{JOB_SCHEMA}/description"),
     "action": values(SPEC, f"{JOB_SCHEMA}/action"),
     "active": st.sampled_from([True, True, False]),  # active jobs are the ones that run
     "httpMethod": values(SPEC, "/components/schemas/HttpMethod"),
     "schedules": st.lists(SCHEDULE_BODIES, min_size=1, max_size=3)},
    optional={"startTime": _OPTIONAL_PAST.map(lambda s: None if s is None else s[0]),
              "endTime": _OPTIONAL_FUTURE.map(lambda s: None if s is None else s[0]),
              "ansConfig": _ANS,
              "calmConfig": values(SPEC, "/components/schemas/CalmConfig")})

JOB_EXAMPLE: dict[str, Any] = _examples("/components/schemas/JobCreate")[0]

# -- reading what the service returns ---------------------------------------------------------


def _instant(value: Any) -> datetime | None:
    """A time as sent or as returned, as a UTC instant (None for null or unreadable text)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return _instant(datetime.strptime(value["date"], "%Y-%m-%d %H:%M %z").isoformat())
    text = str(value).strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _data(value: Any) -> Any:
    """Schedule `data`: a JSON string in create responses, an object in job details."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # not JSON: compared as it is, so the mismatch is reported


def _active(value: Any) -> bool:
    return value in (True, "true")


class StateMachine(ApiStateMachine):
    """Model-based contract of the SAP BTP Job Scheduling service."""

    api = "sap"
    jobs = Bundle("jobs")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[int, dict[str, Any]] = {}      # live jobs by _id
        self.gone: dict[int, dict[str, Any]] = {}       # deleted jobs (their last model)
        self.run_model: dict[str, dict[str, Any]] = {}  # runId -> job, schedule, state

    # -- jobs -----------------------------------------------------------------------------------

    @rule(target=jobs, body=JOB_BODIES)
    def create_job(self, body: dict[str, Any]) -> Any:
        body = {"name": self.unique("job"), **body}
        result = self.client.call(CREATE, body=body)
        self.expect(result, 201, "sap.create-job")
        job_id: int = result.body["_id"]
        job = {key: body[key] for key in JOB_FIELDS}
        job.update({"startTime": _instant(body.get("startTime")),
                    "endTime": _instant(body.get("endTime")),
                    "ansConfig": body.get("ansConfig"), "calmConfig": body.get("calmConfig"),
                    "schedules": {}})
        sent = body["schedules"]
        returned = result.body["schedules"]
        self.check_equal(result, "sap.created-job-reads-back", len(returned), len(sent),
                         "number of schedules")
        for schedule_body, shown in zip(sent, returned, strict=False):
            job["schedules"][shown["scheduleId"]] = self._schedule_model(schedule_body)
        self.model[job_id] = job
        self._same_job(result, job_id, "sap.created-job-reads-back", with_schedules=True)
        self._same_job(self._read_job(job_id), job_id, "sap.created-job-reads-back",
                       with_schedules=True)
        for schedule_id in list(job["schedules"]):
            self._discover_runs(job_id, schedule_id)
        return job_id

    @rule(job=jobs, by_name=st.booleans(), with_schedules=st.booleans())
    def get_job(self, job: int, by_name: bool, with_schedules: bool) -> None:
        if by_name:
            query = {"name": self.model[job]["name"],
                     "displaySchedules": "true" if with_schedules else "false"}
            result = self.client.call(LIST, query=query)
            rule_name = "sap.lookup-by-name-matches-model"
        else:
            result = self._read_job(job, with_schedules)
            rule_name = "sap.get-job-matches-model"
        self.expect(result, 200, rule_name)
        self._same_job(result, job, rule_name, with_schedules)

    @rule(job=jobs, active=st.booleans())
    def create_duplicate_name(self, job: int, active: bool) -> None:
        name = self.model[job]["name"]
        result = self.client.call(CREATE, body={**JOB_EXAMPLE, "name": name, "active": active})
        self.expect(result, 400, "sap.duplicate-name-refused",
                    f"a job named {name!r} already exists")
        lookup = self.client.call(LIST, query={"name": name, "displaySchedules": "true"})
        self.expect(lookup, 200, "sap.duplicate-name-refused")
        self.check_equal(lookup, "sap.duplicate-name-refused", lookup.body.get("_id"), job,
                         "_id of the job with that name")
        self._same_job(lookup, job, "sap.duplicate-name-refused", with_schedules=True)

    @rule(job=consumes(jobs))
    def delete_job(self, job: int) -> None:
        result = self.client.call(DELETE, {"jobId": job})
        self.expect(result, 200, "sap.delete-job")
        self.gone[job] = self.model.pop(job)
        self._gone(job)

    @precondition(lambda self: self.model or self.gone)
    @rule(page_size=st.integers(min_value=1, max_value=4))
    def list_jobs(self, page_size: int) -> None:
        if not self.isolated:
            return
        seen: list[int] = []
        offset = 0
        while True:
            result = self.client.call(LIST, query={"page_size": page_size, "offset": offset})
            self.expect(result, 200, "sap.list-jobs")
            total = result.body["total"]
            items = result.body["results"]
            wanted = max(0, min(page_size, total - offset))
            self.check_equal(result, "sap.job-pages-are-right-size", len(items), wanted,
                             f"jobs on the page at offset {offset}")
            for item in items:
                seen.append(item["_id"])
                self._same_list_item(result, item)
            offset += page_size
            if offset >= total or offset > 200:
                break
        self.check_equal(result, "sap.job-list-total", total, len(self.model), "total")
        self.check_equal(result, "sap.job-pages-cover-every-job-once", sorted(seen),
                         sorted(self.model), "job ids over all pages")

    # -- schedules ------------------------------------------------------------------------------

    @rule(job=jobs, body=SCHEDULE_BODIES)
    def create_schedule(self, job: int, body: dict[str, Any]) -> None:
        result = self.client.call(CREATE_SCHEDULE, {"jobId": job}, body=body)
        if job in self.gone:
            self.expect(result, 404, "sap.deleted-job-is-gone")
            return
        self.expect(result, 201, "sap.create-schedule")
        schedule_id: str = result.body["scheduleId"]
        expected = self._schedule_model(body)
        self.model[job]["schedules"][schedule_id] = expected
        self._same_schedule(result, job, result.body, expected, "sap.schedule-created-as-sent")
        self._same_job(self._read_job(job), job, "sap.schedule-shows-on-job",
                       with_schedules=True)
        self._discover_runs(job, schedule_id)

    # -- run logs -------------------------------------------------------------------------------

    @needs_control
    @precondition(lambda self: self._all_schedules())
    @rule(pick=PICK)
    def fire_schedule(self, pick: int) -> None:
        job, schedule_id = self._pick_schedule(pick)
        if job not in self.model:
            return
        assert self.control is not None
        fired = self.control.action("sap", "fire-schedule", job_id=job,
                                    schedule_id=schedule_id)
        run_id: str = fired["runId"]
        self._new_run(job, schedule_id, run_id, fired["runStatus"], fired["runState"],
                      fired["runText"])
        result = self.client.call(GET_RUN, self._run_path(run_id))
        self.expect(result, 200, "sap.fired-run-reads-back")
        self._same_run(result, result.body, run_id, "sap.fired-run-reads-back")
        if result.body["completionTimestamp"] is not None:
            self.client.fail(GET_RUN, "sap.fired-run-reads-back",
                             "a run that has just fired has a completionTimestamp")

    @needs_control
    @precondition(lambda self: self._all_schedules())
    @rule(pick=PICK, body=REPORTS)
    def fire_and_report(self, pick: int, body: dict[str, Any]) -> None:
        """The asynchronous flow [S15]: the scheduler fires, the application reports."""
        job, schedule_id = self._pick_schedule(pick)
        if job not in self.model:
            return
        assert self.control is not None
        fired = self.control.action("sap", "fire-schedule", job_id=job,
                                    schedule_id=schedule_id)
        self._new_run(job, schedule_id, fired["runId"], fired["runStatus"],
                      fired["runState"], fired["runText"])
        self._report(fired["runId"], body)

    @precondition(lambda self: self.run_model)
    @rule(report=st.tuples(PICK, REPORTS))
    def complete_run(self, report: tuple[int, dict[str, Any]]) -> None:
        """Update Job Run Log (the seed) on a known run. One argument and this name make it
        the first rule Hypothesis considers, which it draws most often."""
        self._report(self._pick_run(report[0]), report[1])

    def _report(self, run: str, body: dict[str, Any]) -> None:
        known = self.run_model[run]
        result = self.client.call(UPDATE_RUN, self._run_path(run), body=body)
        if known["job"] in self.gone:
            self.expect(result, 404, "sap.deleted-job-is-gone")
            return
        rule_name = "sap.run-log-update-shows-on-run-log"
        if known["status"] == "COMPLETED" or not known["exact"]:
            # SAP documents no answer to a second report of a finished run: accept it, or a
            # refusal that leaves the run as it was. (Without the control API the backend
            # may have finished the run already.)
            self.expect(result, {200, 400}, rule_name, "reporting a completed run again")
            if result.status == 400:
                if known["exact"]:
                    self._check_run_everywhere(run, rule_name)
                return
        else:
            self.expect(result, 200, rule_name)
        self.check_equal(result, rule_name, result.body, {"success": True}, "body")
        state = "SUCCESS" if body["success"] else "ERROR"
        text = body.get("message")
        self._run_completed(run, state, text)
        self._check_run_everywhere(run, rule_name)

    @needs_control
    @precondition(lambda self: self.run_model)
    @rule(pick=PICK, choice=st.integers(min_value=0, max_value=20))
    def move_run(self, pick: int, choice: int) -> None:
        run = self._pick_run(pick)
        known = self.run_model[run]
        if known["job"] in self.gone or not FORWARD[known["status"]]:
            return
        assert self.control is not None
        pairs = [(status, state) for status in FORWARD[known["status"]]
                 for state in RUN_STATES[status]]
        status, state = pairs[choice % len(pairs)]
        self.control.action("sap", "set-run-state", job_id=known["job"],
                            schedule_id=known["schedule"], run_id=run, runStatus=status,
                            runState=state)
        if status == "COMPLETED":
            self._run_completed(run, state, None, keep_text=True)
        else:
            known.update(status=status, state=state)
        self._check_run_everywhere(run, "sap.run-lifecycle")

    @needs_clock
    @rule(status=st.sampled_from([200, 204, 302, 202, 404, 500]),
          method=st.sampled_from(["POST", "PUT", "GET"]))
    def action_is_called_when_the_schedule_fires(self, status: int, method: str) -> None:
        """The scheduler calls the job's action URL (served by this suite) with the job's
        httpMethod and the x-sap-job-id, x-sap-job-schedule-id, x-sap-job-run-id and
        x-sap-scheduler-host headers; the answer sets the run log [S14][S15]: 202 →
        RUNNING/ACK_RECVD, another 2xx-3xx → COMPLETED/SUCCESS, 4xx → COMPLETED/REQUEST_ERROR,
        5xx → COMPLETED/ERROR. Needs the control API to move the virtual clock."""
        assert self.control is not None
        rule_name = "sap.action-called-when-schedule-fires"
        receiver = self.receiver(status)
        created: Any = self.create_job({"description": "called back",
                                        "action": f"{receiver.url}/act", "active": True,
                                        "httpMethod": method,
                                        "schedules": [{"time": "now", "active": True}]})
        job = int(created)
        schedule_id = next(iter(self.model[job]["schedules"]))
        (run,) = [r for r, known in self.run_model.items() if known["job"] == job]
        self.control.advance(0)
        calls = receiver.wait_for(1)
        read = self.client.call(GET_RUN, self._run_path(run))
        self.check_equal(read, rule_name, len(calls), 1, "calls to the action URL")
        call = calls[0]
        self.check_equal(read, rule_name, (call.method, call.path.split("?")[0]),
                         (method, "/act"), "method and path of the call")
        self.check_equal(read, rule_name, (call.headers.get("x-sap-job-id"),
                                           call.headers.get("x-sap-job-schedule-id"),
                                           call.headers.get("x-sap-job-run-id"),
                                           bool(call.headers.get("x-sap-scheduler-host"))),
                         (str(job), schedule_id, run, True), "x-sap-* headers")
        if status == 202:
            self.run_model[run].update(status="RUNNING", state="ACK_RECVD")
        else:
            state = "SUCCESS" if status < 400 else ("REQUEST_ERROR" if status < 500
                                                    else "ERROR")
            self._run_completed(run, state, "")
        self._check_run_everywhere(run, rule_name)
        # Gone, so that later rules (fire-schedule) never make the mock call this suite.
        self.delete_job(job)

    @precondition(lambda self: self._all_schedules())
    @rule(pick=PICK, page_size=st.integers(min_value=1, max_value=3))
    def list_run_logs(self, pick: int, page_size: int) -> None:
        job, schedule_id = self._pick_schedule(pick)
        path = {"jobId": job, "scheduleId": schedule_id}
        if job in self.gone:
            result = self.client.call(LIST_RUNS, path, query={"page_size": page_size})
            self.expect(result, 404, "sap.deleted-job-is-gone")
            return
        self._run_pages(job, schedule_id, page_size)

    # -- auth -----------------------------------------------------------------------------------

    @rule(job=jobs, kind=BAD_AUTH, what=st.sampled_from(["read", "create", "report-run"]),
          pick=PICK)
    def bad_credentials_refused(self, job: int, kind: str, what: str, pick: int) -> None:
        bad = self._bad_auth(kind)
        if what == "report-run" and self.run_model:
            run = self._pick_run(pick)
            report = {"success": self.run_model[run]["state"] != "SUCCESS", "message": "refused"}
            result = self.client.call(UPDATE_RUN, self._run_path(run), body=report, auth=False,
                                      headers=bad)
            self.expect(result, 401, self._auth_rule(kind))
            if self.run_model[run]["job"] not in self.gone:
                self._check_run_everywhere(run, "sap.refused-request-changes-nothing")
        elif what == "create":
            name = self.unique("refused")
            result = self.client.call(CREATE, body={**JOB_EXAMPLE, "name": name}, auth=False,
                                      headers=bad)
            self.expect(result, 401, self._auth_rule(kind))
            lookup = self.client.call(LIST, query={"name": name})
            self.expect(lookup, 404, "sap.refused-request-changes-nothing",
                        "a job created with bad credentials exists")
        else:
            result = self.client.call(GET, {"jobId": job}, auth=False, headers=bad)
            self.expect(result, 401, self._auth_rule(kind))

    # -- helpers: picking -----------------------------------------------------------------------

    def _all_schedules(self) -> list[tuple[int, str]]:
        return [(job_id, schedule_id) for jobs in (self.model, self.gone)
                for job_id, job in jobs.items() for schedule_id in job["schedules"]]

    def _pick_schedule(self, pick: int) -> tuple[int, str]:
        every = self._all_schedules()  # in creation order: ids are random, orders must not be
        return every[pick % len(every)]

    def _pick_run(self, pick: int) -> str:
        every = list(self.run_model)
        return every[pick % len(every)]

    # -- helpers: model -------------------------------------------------------------------------

    def _schedule_model(self, body: dict[str, Any]) -> dict[str, Any]:
        mode = next(m for m in MODES if m in body)
        now = mode == "time" and body["time"] == "now"
        return {"type": "one-time" if mode == "time" else "recurring",
                "active": _active(body["active"]), "description": body.get("description"),
                "data": body.get("data"), "mode": mode,
                "value": None if now else (_instant(body[mode]) if mode == "time"
                                           else body[mode]),
                "now": now, "startTime": _instant(body.get("startTime")),
                "endTime": _instant(body.get("endTime"))}

    def _discover_runs(self, job: int, schedule_id: str) -> None:
        """A `time: "now"` schedule of an active job runs once, right away [S3]."""
        schedule = self.model[job]["schedules"][schedule_id]
        fires = schedule["now"] and schedule["active"] and self.model[job]["active"]
        result = self.client.call(LIST_RUNS, {"jobId": job, "scheduleId": schedule_id},
                                  query={"page_size": 200, "offset": 0})
        if self._no_runs_yet(result, job, schedule_id):
            found: list[dict[str, Any]] = []
        else:
            self.expect(result, 200, "sap.list-run-logs")
            found = result.body["results"]
        if self.control is not None:  # the mock fires synchronously; a real one may lag
            self.check_equal(result, "sap.now-schedule-runs-once", len(found),
                             1 if fires else 0, "run logs of a new schedule")
        elif len(found) > (1 if fires else 0) and schedule["type"] == "one-time":
            self.client.fail(LIST_RUNS, "sap.now-schedule-runs-once",
                             f"{len(found)} runs of a one-time schedule")
        for run in found:
            if run["completionTimestamp"] is not None and self.control is not None:
                self.client.fail(LIST_RUNS, "sap.now-schedule-runs-once",
                                 "the run of a new schedule has already completed")
            self._new_run(job, schedule_id, run["runId"], run["runStatus"], run["runState"],
                          run["runText"])

    def _no_runs_yet(self, result: Result, job: int, schedule_id: str) -> bool:
        """[S4] answers 404 "when no run log matches job+schedule"; SAP leaves open whether a
        schedule that has not run yet gets that 404 or an empty page, so both are accepted."""
        return result.status == 404 and not any(
            (known["job"], known["schedule"]) == (job, schedule_id)
            for known in self.run_model.values())

    def _new_run(self, job: int, schedule_id: str, run_id: str, status: str, state: str,
                 text: str) -> None:
        self.run_model[run_id] = {"job": job, "schedule": schedule_id, "status": status,
                                  "state": state, "text": text,
                                  "exact": self.control is not None}
        schedule = self.model[job]["schedules"][schedule_id]
        if schedule["type"] == "one-time" and status != "COMPLETED":
            schedule["active"] = None  # the docs do not say when, while it runs [S17]

    def _run_completed(self, run: str, state: str, text: str | None,
                       keep_text: bool = False) -> None:
        known = self.run_model[run]
        known.update(status="COMPLETED", state=state, exact=True)
        if text is not None:
            known["text"] = text
            known.pop("text_unknown", None)
        elif not keep_text:
            known["text_unknown"] = True  # no message: SAP does not say what runText becomes
        schedule = self.model[known["job"]]["schedules"][known["schedule"]]
        if schedule["type"] == "one-time":
            schedule["active"] = False  # one-time schedules deactivate after running [S17]

    def _run_path(self, run: str) -> dict[str, Any]:
        known = self.run_model[run]
        return {"jobId": known["job"], "scheduleId": known["schedule"], "runId": run}

    # -- helpers: checks ------------------------------------------------------------------------

    def _read_job(self, job: int, with_schedules: bool = True) -> Result:
        return self.client.call(GET, {"jobId": job},
                                query={"displaySchedules": "true" if with_schedules
                                       else "false"})

    def _same_job(self, result: Result, job_id: int, rule_name: str,
                  with_schedules: bool) -> None:
        self.expect(result, {200, 201}, rule_name)
        job, body = self.model[job_id], result.body
        self.check_equal(result, rule_name, body.get("_id"), job_id, "_id")
        for key in JOB_FIELDS:
            self.check_equal(result, rule_name, body.get(key), job[key], key)
        for key in ("startTime", "endTime"):
            self.check_equal(result, rule_name, _instant(body.get(key)), job[key], key)
        for key in ("ansConfig", "calmConfig"):
            if job[key] is not None:
                self.check_equal(result, rule_name, body.get(key), job[key], key)
        if not with_schedules:
            return
        shown = {s["scheduleId"]: s for s in body.get("schedules") or []}
        self.check_equal(result, rule_name, sorted(shown), sorted(job["schedules"]),
                         "scheduleIds")
        for schedule_id, expected in job["schedules"].items():
            self._same_schedule(result, job_id, shown[schedule_id], expected, rule_name)

    def _same_schedule(self, result: Result, job_id: int, shown: dict[str, Any],
                       expected: dict[str, Any], rule_name: str) -> None:
        where = f"schedule {shown.get('scheduleId')}"
        for key in ("type", "description"):
            self.check_equal(result, rule_name, shown.get(key), expected[key], f"{where} {key}")
        if expected["active"] is not None:
            self.check_equal(result, rule_name, shown.get("active"), expected["active"],
                             f"{where} active")
        self.check_equal(result, rule_name, _data(shown.get("data")), expected["data"],
                         f"{where} data")
        for key in ("startTime", "endTime"):
            self.check_equal(result, rule_name, _instant(shown.get(key)), expected[key],
                             f"{where} {key}")
        mode = expected["mode"]
        if mode == "time":
            if expected["value"] is not None:
                self.check_equal(result, rule_name, _instant(shown.get("time")),
                                 expected["value"], f"{where} time")
        else:
            self.check_equal(result, rule_name, shown.get(mode), expected["value"],
                             f"{where} {mode}")
        for other in MODES:
            if other != mode and shown.get(other) is not None:
                self.client.fail(result.operation.operation_id, rule_name,
                                 f"{where} has {other}={shown[other]!r}; it was made with "
                                 f"{mode} only")
        if shown.get("jobId") is not None:
            self.check_equal(result, rule_name, shown["jobId"], job_id, f"{where} jobId")

    def _same_list_item(self, result: Result, item: dict[str, Any]) -> None:
        rule_name = "sap.job-list-item-matches-model"
        job = self.model.get(item["_id"])
        if job is None:
            self.client.fail(LIST, "sap.deleted-job-is-gone",
                             f"job {item['_id']} is listed but was never made or was deleted")
            return
        for key in JOB_FIELDS:
            self.check_equal(result, rule_name, item.get(key), job[key], f"job {key}")
        activity = [s["active"] for s in job["schedules"].values()]
        if None in activity:
            return
        for key, count in (("ACTIVECOUNT", sum(activity)),
                           ("INACTIVECOUNT", len(activity) - sum(activity))):
            if key in item:
                self.check_equal(result, rule_name, item[key], count,
                                 f"{key} of job {item['_id']}")

    def _same_run(self, result: Result, shown: dict[str, Any], run: str,
                  rule_name: str) -> None:
        known = self.run_model[run]
        if not known["exact"]:
            return
        self.check_equal(result, rule_name, shown.get("runStatus"), known["status"],
                         f"run {run} runStatus")
        self.check_equal(result, rule_name, shown.get("runState"), known["state"],
                         f"run {run} runState")
        if not known.get("text_unknown"):
            self.check_equal(result, rule_name, shown.get("runText"), known["text"],
                             f"run {run} runText")
        done = shown.get("completionTimestamp") is not None
        self.check_equal(result, rule_name, done, known["status"] == "COMPLETED",
                         f"run {run} has a completionTimestamp")

    def _check_run_everywhere(self, run: str, rule_name: str) -> None:
        """The run log, read alone and in its schedule's list, matches the model."""
        result = self.client.call(GET_RUN, self._run_path(run))
        self.expect(result, 200, rule_name)
        self._same_run(result, result.body, run, rule_name)
        known = self.run_model[run]
        listed = self._run_pages(known["job"], known["schedule"],
                                 1 + len(self.run_model) % 2)
        entries = [item for item in listed if item["runId"] == run]
        if len(entries) != 1:
            self.client.fail(LIST_RUNS, rule_name,
                             f"run {run} is listed {len(entries)} times in its run logs")
        self._same_run(result, entries[0], run, rule_name)
        job = self.model[known["job"]]
        schedule = job["schedules"][known["schedule"]]
        if schedule["type"] == "one-time" and schedule["active"] is False:
            self._same_job(self._read_job(known["job"]), known["job"],
                           "sap.one-time-schedule-inactive-after-run", with_schedules=True)

    def _run_pages(self, job: int, schedule_id: str, page_size: int) -> list[dict[str, Any]]:
        """Every page of a schedule's run logs (page_size/offset): each page holds what it
        should, and together they hold every run once, with the right total [S4][S16]."""
        path = {"jobId": job, "scheduleId": schedule_id}
        seen: list[dict[str, Any]] = []
        offset = 0
        while True:
            result = self.client.call(LIST_RUNS, path,
                                      query={"page_size": page_size, "offset": offset})
            if self._no_runs_yet(result, job, schedule_id):
                return []
            self.expect(result, 200, "sap.list-run-logs")
            total = result.body["total"]
            items = result.body["results"]
            self.check_equal(result, "sap.run-log-pages-are-right-size", len(items),
                             max(0, min(page_size, total - offset)),
                             f"run logs on the page at offset {offset}")
            for item in items:
                seen.append(item)
                if item["runId"] in self.run_model:
                    self._same_run(result, item, item["runId"], "sap.run-log-matches-model")
            offset += page_size
            if offset >= total or offset > 400:
                break
        ids = [item["runId"] for item in seen]
        mine = sorted(run for run, known in self.run_model.items()
                      if (known["job"], known["schedule"]) == (job, schedule_id))
        rule_name = "sap.run-log-pages-cover-every-run-once"
        if len(set(ids)) != len(ids):
            self.client.fail(LIST_RUNS, rule_name, f"a run is on more than one page: {ids}")
        if self.isolated:
            self.check_equal(result, "sap.run-log-total", total, len(mine), "total")
            self.check_equal(result, rule_name, sorted(ids), mine, "run ids over all pages")
        elif not set(mine) <= set(ids):
            self.client.fail(LIST_RUNS, rule_name,
                             f"runs {sorted(set(mine) - set(ids))} are on no page")
        return seen

    def _gone(self, job: int) -> None:
        rule_name = "sap.deleted-job-is-gone"
        self.expect(self._read_job(job), 404, rule_name, "reading a deleted job")
        name = self.gone[job]["name"]
        self.expect(self.client.call(LIST, query={"name": name}), 404, rule_name,
                    "looking a deleted job up by name")
        for schedule_id in self.gone[job]["schedules"]:
            self.expect(self.client.call(LIST_RUNS, {"jobId": job, "scheduleId": schedule_id}),
                        404, rule_name, "listing run logs of a deleted job's schedule")
        for run, known in self.run_model.items():
            if known["job"] == job:
                self.expect(self.client.call(GET_RUN, self._run_path(run)), 404, rule_name,
                            "reading a run log of a deleted job")

    def _bad_auth(self, kind: str) -> dict[str, str]:
        creds = self.client.credentials
        if kind == "wrong-password":
            pair = f"{creds.basic_user}:{creds.basic_password}-wrong".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        if kind == "bad-bearer":
            return {"Authorization": "Bearer not-a-jwt"}
        return {}

    @staticmethod
    def _auth_rule(kind: str) -> str:
        return {"wrong-password": "sap.wrong-password-refused",
                "missing": "sap.missing-credentials-refused",
                "bad-bearer": "sap.invalid-bearer-refused"}[kind]


StateMachine.TestCase.settings = suite_settings()

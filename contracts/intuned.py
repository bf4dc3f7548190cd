"""Intuned Client API contract: a model of jobs and JobRuns per tenant, checked after every step.

Rules (failures are named `intuned.<rule>`): a created job reads back as created (get-job and
list-jobs); a duplicate id is refused with 400 and leaves the job as it was; PUT replaces the
whole definition; pause and resume move the job and its JobRuns; triggering a paused job is
refused with 400 and makes no run, and works again after resume; a JobRun carries the job's
configuration snapshot of the moment it was triggered (a later PUT leaves it alone); get
JobRun (the seed operation) shows the status and counters the model expects, `end_time` only
once finished; terminate ends a running JobRun as TERMINATED and is refused on a finished
one; the pages of list-job-runs cover every run once and `totalCount` counts them; a deleted
job and its runs are gone; no tenant (workspace, project) sees another's jobs or runs; a
wrong or missing `x-api-key` gets 401 `unauthorized` and changes nothing.

Sources are the spec (`specs/intuned.yaml`) and `shared/vendors.md` section 4. Where those
leave a choice open the rules accept every reading that keeps the documented meaning (e.g.
a paused run may still be PAUSING; read-back may add a documented default such as
`requestTimeout: 600`; pausing a paused job may answer 200 or 400).

Request bodies: the spec's `CreateJobRequest` / `UpdateJobRequest` are too slow for
hypothesis-jsonschema (about 0.35 s a body, mostly free-form extra properties, URIs and
calendar `anyOf`s), so `job_bodies` builds them with `st.fixed_dictionaries` from the
spec's own examples (sink, schedule, auth session, notifications, proxy) plus small
generated payloads and configurations bounded as the schemas bound them; every body is
still filtered through the spec's validator.

Against a real implementation the tenant is `JOBMOCK_INTUNED_WORKSPACE` /
`JOBMOCK_INTUNED_PROJECT` (projects cannot be made through the API), rules driving runs
through the control API are skipped, and run status/counter checks are relaxed to the
invariants (the vendor's backend moves runs on its own).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, initialize, multiple, rule

from contracts.client import Result
from contracts.stateful import ApiStateMachine, needs_clock, needs_control, suite_settings
from contracts.strategies import body_pointer
from mockserver.spec import load_spec

__all__ = ["StateMachine", "job_bodies"]

SPEC = load_spec("intuned")
LIST_JOBS, CREATE, GET, UPDATE, DELETE = "listJobs", "createJob", "getJob", "updateJob", "deleteJob"
PAUSE, RESUME, TRIGGER = "pauseJob", "resumeJob", "triggerJob"
LIST_RUNS, GET_RUN, TERMINATE = "listJobRuns", "getJobRun", "terminateJobRun"

DEFINITION = ("payload", "configuration", "schedule", "sink", "proxy", "auth_session",
              "notifications")
DETAILS = ("payload", "configuration", "schedule", "sink", "auth_session")  # + proxy (a URL)
SNAPSHOT = ("configuration", "sink", "auth_session", "notifications")  # + proxy ({version, url})
FINISHED = frozenset({"SUCCESS", "COMPLETED", "FAILURE", "TERMINATED", "CANCELED"})
# vendors.md section 4 (inferred there): PENDING -> (PAUSING -> PAUSED -> RESUMING -> PENDING)
# -> SUCCESS | COMPLETED | FAILURE; terminate -> TERMINATED; a run may be CANCELED.
NEXT: dict[str, tuple[str, ...]] = {
    "PENDING": ("SUCCESS", "COMPLETED", "FAILURE", "PAUSING", "CANCELED"),
    "PAUSING": ("PAUSED",), "PAUSED": ("RESUMING",), "RESUMING": ("PENDING",)}
SORTS = (None, "start_time,desc", "status,asc")  # the documented sortBy values (default first)

MOCK_TENANTS = (("3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b", "alpha"),
                ("3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b", "beta"),
                ("9d8c7b6a-5f4e-4d3c-8b2a-0f1e2d3c4b5a", "alpha"))

Tenant = tuple[str, str]
JobRef = tuple[int, str]  # (tenant index, job id)
RunRef = tuple[int, str, str]  # (tenant index, job id, JobRun id)


# -- what the spec says ---------------------------------------------------------------------------

def _node(pointer: str) -> Any:
    node: Any = SPEC.document
    for part in pointer.strip("/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _documented_defaults() -> dict[str, Any]:
    """Property name -> `default` over the spec's schemas (names with one default only)."""
    found: dict[str, list[Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if isinstance(sub, dict) and "default" in sub:
                    found.setdefault(name, []).append(sub["default"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SPEC.document["components"]["schemas"])
    return {name: values[0] for name, values in found.items()
            if all(v == values[0] for v in values)}


DEFAULTS = _documented_defaults()


def _example_values(field: str) -> list[Any]:
    """Distinct values of a job-definition field in the spec's examples."""
    sources: list[Any] = []
    for op_id in (CREATE, UPDATE):
        op = SPEC.operation(op_id)
        media = _node(op.pointer)["requestBody"]["content"]["application/json"]
        sources += [example["value"] for example in media.get("examples", {}).values()]
    run_examples = _node(SPEC.operation(GET_RUN).pointer)["responses"]["200"]["content"][
        "application/json"]["examples"]
    sources += [ex["value"]["jobRun"]["job_configuration_snapshot"]
                for ex in run_examples.values()]
    seen: dict[str, Any] = {}
    for source in sources:
        if source.get(field) is not None:
            seen.setdefault(json.dumps(source[field], sort_keys=True), source[field])
    return list(seen.values())


def _examples_or_null(field: str) -> st.SearchStrategy[Any]:
    return st.sampled_from([None, *_example_values(field)])


_ints = st.integers(min_value=1, max_value=3600)
_retry = st.fixed_dictionaries({}, optional={"maximumAttempts": st.integers(1, 10)})
_scalars = st.one_of(st.integers(-1000, 1000), st.text(max_size=8), st.booleans())
_payload_item = st.fixed_dictionaries(
    {"apiName": st.text(min_size=1, max_size=12),
     "parameters": st.dictionaries(st.text(min_size=1, max_size=8), _scalars, max_size=3)},
    optional={"requestTimeout": _ints, "retry": _retry})
_configuration = st.fixed_dictionaries(
    {}, optional={"retry": _retry, "maxConcurrentRequests": st.integers(1, 25),
                  "requestTimeout": _ints, "maxRuns": st.integers(1, 100)})
_definition = st.fixed_dictionaries(
    {"payload": st.one_of(st.sampled_from(_example_values("payload")),
                          st.lists(_payload_item, max_size=3)),
     "configuration": st.one_of(st.sampled_from(_example_values("configuration")),
                                _configuration)},
    optional={field: _examples_or_null(field)
              for field in ("schedule", "sink", "auth_session", "notifications")}
    | {"proxy": st.sampled_from([None, "http://proxy.example.com:8080",
                                 "http://username:password@proxy.example.com:8080"])})


def job_bodies(operation_id: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies of createJob / updateJob (createJob's `id` is a placeholder to override)."""
    validator = SPEC.validator_at(body_pointer(SPEC.operation(operation_id)))
    bodies = _definition.map(lambda d: {"id": "placeholder", **d}) if operation_id == CREATE \
        else _definition
    return bodies.filter(validator.is_valid)


def _difference(sent: Any, got: Any, where: str) -> str | None:
    """Where `got` (read back) departs from `sent`; null equals absent, and read-back may add
    a property set to null or to its documented default."""
    if isinstance(sent, dict):
        if not isinstance(got, dict):
            return f"{where}: expected an object, got {got!r}"
        for key, value in sent.items():
            found = _difference(value, got.get(key), f"{where}.{key}")
            if found:
                return found
        for key, value in got.items():
            if key not in sent and value is not None and not (
                    key in DEFAULTS and _difference(DEFAULTS[key], value, "") is None):
                return f"{where}.{key}: expected absent, null or its default, got {value!r}"
        return None
    if isinstance(sent, list):
        if not isinstance(got, list) or len(got) != len(sent):
            return f"{where}: expected {len(sent)} items, got {got!r}"
        for index, (one, other) in enumerate(zip(sent, got, strict=True)):
            found = _difference(one, other, f"{where}[{index}]")
            if found:
                return found
        return None
    if sent != got or isinstance(sent, bool) != isinstance(got, bool):
        return f"{where}: expected {sent!r}, got {got!r}"
    return None


def _when(text: Any) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


# -- the state machine -----------------------------------------------------------------------------

class StateMachine(ApiStateMachine):
    """Model-based contract of Intuned's jobs and JobRuns."""

    api = "intuned"
    jobs = Bundle("jobs")
    gone = Bundle("gone")
    runs = Bundle("runs")

    def __init__(self) -> None:
        super().__init__()
        # Only our own calls move anything when the target is the mock (frozen backend).
        self.frozen = self.control is not None
        if self.control is not None:
            self.tenants: list[Tenant] = list(MOCK_TENANTS)
        else:
            self.tenants = [(os.environ.get("JOBMOCK_INTUNED_WORKSPACE",
                                            "123e4567-e89b-12d3-a456-426614174000"),
                             os.environ.get("JOBMOCK_INTUNED_PROJECT", "my-project"))]
        self.model: dict[JobRef, dict[str, Any]] = {}
        self.run_model: dict[RunRef, dict[str, Any]] = {}
        self.project_ids: dict[int, str] = {}

    # -- jobs ------------------------------------------------------------------------------------

    @initialize(target=jobs, tenant=st.integers(0, 5), body=job_bodies(CREATE))
    def first_job(self, tenant: int, body: dict[str, Any]) -> JobRef:
        return self._create((tenant % len(self.tenants), self.unique("job")), body,
                            "intuned.created-reads-back")

    @initialize(target=runs, tenant=st.integers(0, 5), body=job_bodies(CREATE))
    def first_run(self, tenant: int, body: dict[str, Any]) -> Any:
        """A job with one run from the start, so the run rules have something to act on."""
        job = self._create((tenant % len(self.tenants), self.unique("job")), body,
                           "intuned.created-reads-back")
        run = self._trigger(job, "intuned.trigger-makes-run")
        return multiple() if run is None else run

    @rule(target=jobs, tenant=st.integers(0, 5), body=job_bodies(CREATE))
    def create_job(self, tenant: int, body: dict[str, Any]) -> JobRef:
        return self._create((tenant % len(self.tenants), self.unique("job")), body,
                            "intuned.created-reads-back")

    @rule(target=jobs, job=jobs, other=st.integers(1, 5), body=job_bodies(CREATE))
    def same_id_in_another_tenant(self, job: JobRef, other: int,
                                  body: dict[str, Any]) -> Any:
        """Job ids are unique per project: another tenant may hold the same id."""
        ref: JobRef = ((job[0] + other) % len(self.tenants), job[1])
        if ref[0] == job[0] or ref in self.model:
            return multiple()
        self._create(ref, body, "intuned.tenants-are-separate")
        if job in self.model:
            self._check_job(job, "intuned.tenants-are-separate")
        return ref

    @rule(job=jobs, body=job_bodies(CREATE))
    def duplicate_id_refused(self, job: JobRef, body: dict[str, Any]) -> None:
        if job not in self.model:
            return
        result = self.client.call(CREATE, self._path(job[0]), body={**body, "id": job[1]})
        self._refused(result, 400, "bad-request", "intuned.duplicate-id-refused")
        self._check_job(job, "intuned.duplicate-id-refused")

    @rule(job=jobs)
    def get_job(self, job: JobRef) -> None:
        if job not in self.model:
            result = self.client.call(GET, self._path(job[0], job[1]))
            self._refused(result, 404, "not-found", "intuned.deleted-is-gone")
            return
        self._check_job(job, "intuned.get-job-matches-model")

    @rule(job=jobs, body=job_bodies(UPDATE))
    def replace_job(self, job: JobRef, body: dict[str, Any]) -> None:
        self._put(job, body, "intuned.put-replaces-whole-definition")

    @rule(target=gone, job=consumes(jobs))
    def delete_job(self, job: JobRef) -> JobRef:
        result = self.client.call(DELETE, self._path(job[0], job[1]))
        if job not in self.model:
            self._refused(result, 404, "not-found", "intuned.deleted-is-gone")
            return job
        self.expect(result, 204, "intuned.delete-job")
        del self.model[job]
        its_runs = [ref for ref in self.run_model if ref[:2] == job]
        for ref in its_runs:
            del self.run_model[ref]
        rule_name = "intuned.deleted-is-gone"
        self._refused(self.client.call(GET, self._path(job[0], job[1])), 404, "not-found",
                      rule_name)
        self._refused(self.client.call(LIST_RUNS, self._path(job[0], job[1])), 404,
                      "not-found", rule_name)
        for ref in its_runs[:2]:
            self._refused(self.client.call(GET_RUN, self._run_path(ref)), 404, "not-found",
                          rule_name)
        if self.isolated:
            listed = self.client.call(LIST_JOBS, self._path(job[0]))
            self.expect(listed, 200, rule_name)
            if job[1] in [item.get("id") for item in listed.body]:
                self.client.fail(LIST_JOBS, rule_name, f"deleted job {job[1]} is still listed")
        return job

    @rule(job=gone, op=st.sampled_from([GET, UPDATE, DELETE, PAUSE, RESUME, TRIGGER,
                                        LIST_RUNS]), body=job_bodies(UPDATE))
    def deleted_stays_gone(self, job: JobRef, op: str, body: dict[str, Any]) -> None:
        """Every operation on a deleted job is 404 and none brings it back."""
        if job in self.model:  # its id was taken again in the same tenant
            return
        path = self._path(job[0], job[1])
        result = (self.client.call(op, path, body=body) if op == UPDATE
                  else self.client.call(op, path))
        self._refused(result, 404, "not-found", "intuned.deleted-is-gone")
        self._refused(self.client.call(GET, path), 404, "not-found", "intuned.deleted-is-gone")

    @rule(tenant=st.integers(0, 5))
    def list_jobs(self, tenant: int) -> None:
        index = tenant % len(self.tenants)
        result = self.client.call(LIST_JOBS, self._path(index))
        self.expect(result, 200, "intuned.list-shows-created-jobs")
        listed: dict[str, dict[str, Any]] = {}
        for item in result.body:
            if item["id"] in listed:
                self.client.fail(LIST_JOBS, "intuned.list-shows-created-jobs",
                                 f"job {item['id']} is listed twice")
            listed[item["id"]] = item
            self._same_tenant(result, index, item.get("workspace_id"), item.get("project_id"),
                              "intuned.no-tenant-sees-another")
        mine = sorted(job_id for (t, job_id) in self.model if t == index)
        if self.isolated:
            self.check_equal(result, "intuned.list-shows-created-jobs", sorted(listed), mine,
                             "job ids of the project")
        for job_id in mine:
            item = listed.get(job_id)
            if item is None:
                self.client.fail(LIST_JOBS, "intuned.list-shows-created-jobs",
                                 f"job {job_id} is missing from the list")
                return
            self._compare_job(result, (index, job_id), item, "intuned.list-shows-created-jobs",
                              listed_item=True)

    # -- pause, resume, trigger ------------------------------------------------------------------

    @rule(job=jobs)
    def pause_job(self, job: JobRef) -> None:
        self._pause(job, "intuned.pause-pauses-job-and-runs")

    @rule(job=jobs)
    def resume_job(self, job: JobRef) -> None:
        self._resume(job, "intuned.resume-resumes-job-and-runs")

    @rule(target=runs, job=jobs)
    def trigger_job(self, job: JobRef) -> Any:
        if job in self.model and self.model[job]["state"] == "PAUSED":
            self._trigger_refused(job)
            return multiple()
        run = self._trigger(job, "intuned.trigger-makes-run")
        return multiple() if run is None else run

    @rule(target=runs, job=jobs)
    def trigger_refused_until_resumed(self, job: JobRef) -> Any:
        """Pause, trigger (refused, no run), resume, trigger (a run)."""
        if job not in self.model:
            return multiple()
        if self.model[job]["state"] != "PAUSED":
            self._pause(job, "intuned.pause-pauses-job-and-runs")
        self._trigger_refused(job)
        self._resume(job, "intuned.resume-resumes-job-and-runs")
        run = self._trigger(job, "intuned.resumed-job-accepts-trigger")
        return multiple() if run is None else run

    # -- runs ------------------------------------------------------------------------------------

    @rule(run=runs)
    def get_run(self, run: RunRef) -> None:
        result = self.client.call(GET_RUN, self._run_path(run))
        if run not in self.run_model:
            self._refused(result, 404, "not-found", "intuned.deleted-is-gone")
            return
        self._check_run(result, run, "intuned.get-run-matches-model")

    @rule(target=runs, job=jobs, body=job_bodies(UPDATE))
    def snapshot_survives_put(self, job: JobRef, body: dict[str, Any]) -> Any:
        """Trigger (when active), then PUT: the job changes, its runs' snapshots do not."""
        if job not in self.model:
            return multiple()
        run = self._trigger(job, "intuned.trigger-makes-run") \
            if self.model[job]["state"] == "ACTIVE" else None
        if not self._runs_of(job):
            return multiple()
        self._put(job, body, "intuned.put-replaces-whole-definition")
        self._check_runs_of(job, "intuned.snapshot-frozen-at-trigger")
        return multiple() if run is None else run

    @rule(run=runs)
    def terminate_run(self, run: RunRef) -> None:
        known = self.run_model.get(run)
        if known is None:
            result = self.client.call(TERMINATE, self._run_path(run))
            self._refused(result, 404, "not-found", "intuned.deleted-is-gone")
            return
        if not self.frozen:
            self._observe(run, "intuned.get-run-matches-model", force=True)
        finished = known["status"] <= FINISHED
        result = self.client.call(TERMINATE, self._run_path(run))
        if finished:
            self._refused(result, 400, "bad-request", "intuned.terminate-refused-when-finished")
            self._check_run(self.client.call(GET_RUN, self._run_path(run)), run,
                            "intuned.terminate-refused-when-finished")
            return
        if not self.frozen and result.status == 400:  # it finished on its own meanwhile
            return
        self.expect(result, 200, "intuned.terminate-ends-run")
        known.update(status=frozenset({"TERMINATED"}), successful=None, failed=None)
        after = self.client.call(GET_RUN, self._run_path(run))
        self._check_run(after, run, "intuned.terminate-ends-run")
        again = self.client.call(TERMINATE, self._run_path(run))
        self._refused(again, 400, "bad-request", "intuned.terminate-refused-when-finished")

    @needs_control
    @rule(run=runs, choice=st.integers(0, 9), share=st.integers(0, 99), loss=st.integers(0, 99))
    def advance_run(self, run: RunRef, choice: int, share: int, loss: int) -> None:
        """Drive a run as the vendor's backend would (control action `set-run-status`)."""
        known = self.run_model.get(run)
        if known is None:
            return
        current = self._observe(run, "intuned.get-run-matches-model")
        options = NEXT.get(current)
        if not options or known["successful"] is None:
            return
        status = options[choice % len(options)]
        done, lost = known["successful"], known["failed"]
        rest = known["payloads"] - done - lost
        if status in ("SUCCESS", "COMPLETED"):
            lost_now = loss % (rest + 1)
            done, lost = done + rest - lost_now, lost + lost_now
        elif status == "FAILURE":
            done_now = share % (rest + 1)
            done, lost = done + done_now, lost + rest - done_now
        else:
            done_now = share % (rest + 1)
            done, lost = done + done_now, lost + loss % (rest - done_now + 1)
        assert self.control is not None
        ws, project = self.tenants[run[0]]
        self.control.action("intuned", "set-run-status", workspace_id=ws, project_name=project,
                            job_id=run[1], run_id=run[2], status=status,
                            successful_runs=done, failed_runs=lost)
        known.update(status=frozenset({status}), successful=done, failed=lost)
        self._check_run(self.client.call(GET_RUN, self._run_path(run)), run,
                        "intuned.run-lifecycle")

    @needs_clock
    @rule(tenant=st.integers(0, 5), outcomes=st.lists(st.sampled_from(["success", "failure"]),
                                                      min_size=1, max_size=3))
    def sink_and_notifications_are_delivered(self, tenant: int, outcomes: list[str]) -> None:
        """A run that finishes delivers each payload's result to the job's webhook sink
        (`apiInfo.result` completed or failed) and calls each notification webhook once with
        its terminal status; all served by this suite. Needs the control API (`set-outcome`
        and the virtual clock)."""
        assert self.control is not None
        rule_name = "intuned.sink-and-notifications-delivered"
        receiver = self.receiver(200)
        body = {"payload": [{"apiName": f"api{i}", "parameters": {"i": i}}
                            for i in range(len(outcomes))],
                "configuration": {"retry": {"maximumAttempts": 1}},
                "sink": {"type": "webhook", "url": f"{receiver.url}/sink"},
                "notifications": [{"type": "webhook", "url": f"{receiver.url}/notify"}]}
        job = self._create((tenant % len(self.tenants), self.unique("hook")), body, rule_name)
        ws, project = self.tenants[job[0]]
        self.control.action("intuned", "set-outcome", workspace_id=ws, project_name=project,
                            job_id=job[1], outcomes=outcomes, seconds=5)
        run = self._trigger(job, rule_name)
        assert run is not None
        self.control.advance(5)
        calls = receiver.wait_for(len(outcomes) + 1)
        read = self.client.call(GET_RUN, self._run_path(run))
        self.expect(read, 200, rule_name)
        sink = sorted((c.json() for c in calls if c.path == "/sink"),
                      key=lambda c: str(c["apiInfo"]["name"]))
        self.check_equal(read, rule_name, [c["apiInfo"]["result"]["status"] for c in sink],
                         ["completed" if o == "success" else "failed" for o in outcomes],
                         "sink deliveries (apiInfo.result.status) per payload")
        notes = [c.json() for c in calls if c.path == "/notify"]
        status = read.body["jobRun"]["status"]
        self.check_equal(read, rule_name, [n.get("status") for n in notes], [status],
                         "notification calls")
        self.check_equal(read, rule_name, read.body["jobRun"]["successful_runs"],
                         outcomes.count("success"), "successful_runs")
        self.delete_job(job)  # its run finished outside the model: leave no trace

    @rule(run=runs, pick=st.integers(0, 9), sort=st.sampled_from(SORTS))
    def list_runs(self, run: RunRef, pick: int, sort: str | None) -> None:
        """Page through the runs of a triggered job, pageSize at most its number of runs."""
        job: JobRef = (run[0], run[1])
        page_size = 1 + pick % max(1, len(self._runs_of(job)))
        if job not in self.model:
            result = self.client.call(LIST_RUNS, self._path(job[0], job[1]))
            self._refused(result, 404, "not-found", "intuned.deleted-is-gone")
            return
        self._walk_runs(job, page_size, sort)

    # -- tenancy and auth ------------------------------------------------------------------------

    @rule(job=jobs, pick=st.integers(0, 9))
    def no_tenant_sees_another(self, job: JobRef, pick: int) -> None:
        """Another workspace or project sees none of this job's data."""
        rule_name = "intuned.no-tenant-sees-another"
        ws, project = self.tenants[job[0]]
        foreign: list[tuple[Tenant, int | None]] = [
            (tenant, index) for index, tenant in enumerate(self.tenants)
            if index != job[0] and (index, job[1]) not in self.model]
        foreign += [((str(uuid.uuid4()), project), None), ((ws, self.unique("project")), None)]
        (f_ws, f_project), f_index = foreign[pick % len(foreign)]
        denied = {404} if f_ws == ws else {401, 404}  # an API key belongs to one workspace
        path = {"workspaceId": f_ws, "projectName": f_project, "jobId": job[1]}
        for op in (GET, LIST_RUNS, TRIGGER):
            result = self.client.call(op, path)
            self.expect(result, denied, rule_name, f"{op} of job {job[1]} from another tenant")
        runs = [ref for ref in self.run_model if ref[:2] == job]
        if runs:
            result = self.client.call(GET_RUN, {**path, "jobRunId": runs[pick % len(runs)][2]})
            self.expect(result, denied, rule_name, "a run read from another tenant")
        listed = self.client.call(LIST_JOBS, {"workspaceId": f_ws, "projectName": f_project})
        self.expect(listed, {200} | denied, rule_name)
        if listed.status == 200:
            ids = [item.get("id") for item in listed.body]
            if f_index is None and self.isolated and ids:
                self.client.fail(LIST_JOBS, rule_name, f"an unused project lists {ids}")
            if job[1] in ids:
                self.client.fail(LIST_JOBS, rule_name,
                                 f"job {job[1]} of {ws}/{project} is listed in {f_ws}/{f_project}")
        if job in self.model:
            self._check_job(job, rule_name)

    @rule(job=jobs, op=st.sampled_from([LIST_JOBS, CREATE, GET, UPDATE, DELETE, PAUSE,
                                        TRIGGER, LIST_RUNS]),
          key=st.sampled_from([None, "", "wrong"]), body=job_bodies(CREATE))
    def bad_api_key_unauthorized(self, job: JobRef, op: str, key: str | None,
                                 body: dict[str, Any]) -> None:
        """A wrong or missing x-api-key gets 401 `unauthorized` and changes nothing."""
        headers = {} if key is None else {"x-api-key": key and self.unique("not-the-key")}
        new_id = self.unique("job")
        payload: Any = {**body, "id": new_id} if op == CREATE else (
            {k: v for k, v in body.items() if k != "id"} if op == UPDATE else None)
        path = self._path(job[0], None if op in (LIST_JOBS, CREATE) else job[1])
        result = (self.client.call(op, path, headers=headers, auth=False) if payload is None
                  else self.client.call(op, path, body=payload, headers=headers, auth=False))
        self._refused(result, 401, "unauthorized", "intuned.bad-api-key-unauthorized")
        rule_name = "intuned.unauthorized-call-has-no-effect"
        if op == CREATE:
            self._refused(self.client.call(GET, self._path(job[0], new_id)), 404, "not-found",
                          rule_name)
        elif job in self.model:
            self._check_job(job, rule_name)
            if op == TRIGGER and self.isolated:
                self._check_run_count(job, rule_name)
        else:
            self._refused(self.client.call(GET, self._path(job[0], job[1])), 404, "not-found",
                          rule_name)

    # -- helpers: jobs ---------------------------------------------------------------------------

    def _path(self, tenant: int, job_id: str | None = None) -> dict[str, str]:
        ws, project = self.tenants[tenant]
        path = {"workspaceId": ws, "projectName": project}
        return path if job_id is None else {**path, "jobId": job_id}

    def _run_path(self, run: RunRef) -> dict[str, str]:
        return {**self._path(run[0], run[1]), "jobRunId": run[2]}

    def _refused(self, result: Result, status: int, code: str, rule_name: str) -> None:
        self.expect(result, status, rule_name)
        body = result.body if isinstance(result.body, dict) else {}
        self.check_equal(result, rule_name, body.get("code"), code, "error code")

    def _create(self, ref: JobRef, body: dict[str, Any], rule_name: str) -> JobRef:
        body = {**body, "id": ref[1]}
        result = self.client.call(CREATE, self._path(ref[0]), body=body)
        self.expect(result, 201, rule_name)
        self.check_equal(result, rule_name, result.body["id"], ref[1], "id")
        self.model[ref] = {"definition": {k: body.get(k) for k in DEFINITION},
                           "state": "ACTIVE", "triggered": False}
        self._check_job(ref, rule_name)
        return ref

    def _put(self, job: JobRef, body: dict[str, Any], rule_name: str) -> None:
        result = self.client.call(UPDATE, self._path(job[0], job[1]), body=body)
        if job not in self.model:
            self._refused(result, 404, "not-found", "intuned.deleted-is-gone")
            return
        self.expect(result, 200, rule_name)
        self.check_equal(result, rule_name, result.body["id"], job[1], "id")
        self.model[job]["definition"] = {k: body.get(k) for k in DEFINITION}
        for _, run in self._runs_of(job):
            run["job_changed"] = True
        self._check_job(job, rule_name)

    def _check_job(self, job: JobRef, rule_name: str) -> None:
        result = self.client.call(GET, self._path(job[0], job[1]))
        self.expect(result, 200, rule_name)
        self._compare_job(result, job, result.body, rule_name, listed_item=False)

    def _compare_job(self, result: Result, job: JobRef, got: dict[str, Any], rule_name: str,
                     listed_item: bool) -> None:
        known = self.model[job]
        definition = known["definition"]
        self.check_equal(result, rule_name, got.get("id"), job[1], "id")
        self.check_equal(result, rule_name, got.get("state"), known["state"], "state")
        for field in (*DETAILS, "notifications") if listed_item else DETAILS:
            found = _difference(definition[field], got.get(field), field)
            if found:
                self.client.fail(result.operation.operation_id, rule_name, found)
        proxy = got.get("proxy")
        if listed_item:
            proxy = proxy.get("url") if isinstance(proxy, dict) else proxy
        self.check_equal(result, rule_name, proxy, definition["proxy"], "proxy")
        project_id = got.get("project_id" if listed_item else "projectId")
        self._same_tenant(result, job[0], got.get("workspace_id"), project_id,
                          "intuned.no-tenant-sees-another")
        if known["triggered"] and got.get("last_run_time") is None:
            self.client.fail(result.operation.operation_id, "intuned.job-shows-last-run-time",
                             f"job {job[1]} was triggered but last_run_time is null")
        if self.frozen and not known["triggered"] and got.get("last_run_time") is not None:
            self.client.fail(result.operation.operation_id, "intuned.job-shows-last-run-time",
                             f"job {job[1]} never ran but last_run_time is "
                             f"{got.get('last_run_time')!r}")

    def _same_tenant(self, result: Result, tenant: int, workspace_id: Any, project_id: Any,
                     rule_name: str) -> None:
        """Workspace ids match the path; one project id per project, none shared."""
        ws = self.tenants[tenant][0]
        if workspace_id is not None and str(workspace_id).lower() != ws.lower():
            self.client.fail(result.operation.operation_id, rule_name,
                             f"workspace_id {workspace_id!r} in workspace {ws}")
        if project_id is None:
            return
        known = self.project_ids.setdefault(tenant, str(project_id))
        self.check_equal(result, rule_name, str(project_id), known,
                         f"project id of {'/'.join(self.tenants[tenant])}")
        for other, other_id in self.project_ids.items():
            if other != tenant and other_id == known:
                self.client.fail(result.operation.operation_id, rule_name,
                                 f"projects {self.tenants[other]} and {self.tenants[tenant]} "
                                 f"share project id {known}")

    def _pause(self, job: JobRef, rule_name: str) -> None:
        result = self.client.call(PAUSE, self._path(job[0], job[1]))
        if job not in self.model:
            self._refused(result, 404, "not-found", "intuned.deleted-is-gone")
            return
        known = self.model[job]
        again = known["state"] == "PAUSED"  # undocumented: idempotent 200 or a 400 refusal
        self.expect(result, {200, 400} if again else 200, rule_name)
        if result.status == 200:
            known["state"] = "PAUSED"
            for _, run in self._runs_of(job):
                if not run["status"] <= FINISHED:  # "Pauses any JobRuns"
                    paused = frozenset({"PAUSING", "PAUSED"}) \
                        if run["status"] - {"PAUSED"} else frozenset({"PAUSED"})
                    run["status"] = paused | run["status"] if again else paused
        self._check_job(job, rule_name)
        self._check_runs_of(job, rule_name)

    def _resume(self, job: JobRef, rule_name: str) -> None:
        result = self.client.call(RESUME, self._path(job[0], job[1]))
        if job not in self.model:
            self._refused(result, 404, "not-found", "intuned.deleted-is-gone")
            return
        known = self.model[job]
        again = known["state"] == "ACTIVE"  # undocumented: idempotent 200 or a 400 refusal
        self.expect(result, {200, 400} if again else 200, rule_name)
        if result.status == 200:
            known["state"] = "ACTIVE"
            for _, run in self._runs_of(job):  # "Resumes any paused JobRuns"
                if run["status"] & {"PAUSED", "PAUSING"}:
                    resumed = (run["status"] - {"PAUSED"}) | {"RESUMING", "PENDING"}
                    run["status"] = resumed | run["status"] if again else resumed
        self._check_job(job, rule_name)
        self._check_runs_of(job, rule_name)

    def _trigger(self, job: JobRef, rule_name: str) -> RunRef | None:
        result = self.client.call(TRIGGER, self._path(job[0], job[1]))
        if job not in self.model:
            self._refused(result, 404, "not-found", "intuned.deleted-is-gone")
            return None
        self.expect(result, 200, rule_name)
        run: RunRef = (job[0], job[1], str(result.body["jobRunId"]))
        if run in self.run_model:
            self.client.fail(TRIGGER, rule_name, f"jobRunId {run[2]} was already used")
        definition = self.model[job]["definition"]
        self.model[job]["triggered"] = True
        self.run_model[run] = {
            "status": frozenset({"PENDING"}), "successful": 0, "failed": 0,
            "payloads": len(definition["payload"] or []),
            "snapshot": {k: definition[k] for k in (*SNAPSHOT, "proxy")}, "job_changed": False}
        self._check_run(self.client.call(GET_RUN, self._run_path(run)), run,
                        "intuned.run-carries-config-snapshot")
        self._check_job(job, "intuned.job-shows-last-run-time")
        self._walk_runs(job, (len(self._runs_of(job)) + 1) // 2)
        return run

    def _trigger_refused(self, job: JobRef) -> None:
        rule_name = "intuned.paused-job-refuses-trigger"
        result = self.client.call(TRIGGER, self._path(job[0], job[1]))
        self._refused(result, 400, "bad-request", rule_name)
        if self.isolated:
            self._check_run_count(job, rule_name)

    def _walk_runs(self, job: JobRef, page_size: int, sort: str | None = None) -> None:
        """Every page of the job's runs: right sizes, each run once, totalCount, order."""
        rule_name = "intuned.run-pages-cover-every-run-once"
        seen: list[dict[str, Any]] = []
        page, total = 0, 0
        while True:
            query: dict[str, Any] = {"pageSize": page_size, "pageNumber": page}
            if sort is not None:
                query["sortBy"] = sort
            result = self.client.call(LIST_RUNS, self._path(job[0], job[1]), query=query)
            self.expect(result, 200, rule_name)
            total = result.body["totalCount"]
            items = result.body["jobRuns"]
            wanted = max(0, min(page_size, total - page * page_size))
            self.check_equal(result, rule_name, len(items), wanted,
                             f"runs on page {page} (size {page_size}, totalCount {total})")
            seen += items
            page += 1
            if page * page_size >= total or page > 40:
                break
        ids = [item["id"] for item in seen]
        if len(set(ids)) != len(ids):
            self.client.fail(LIST_RUNS, rule_name, f"a run appears on two pages: {ids}")
        self.check_equal(result, "intuned.run-total-count", len(ids), total,
                         "runs over all pages vs totalCount")
        mine = sorted(ref[2] for ref in self.run_model if ref[:2] == job)
        if self.isolated:
            self.check_equal(result, "intuned.run-total-count", total, len(mine), "totalCount")
            self.check_equal(result, rule_name, sorted(ids), mine, "run ids over all pages")
        elif set(mine) - set(ids):
            self.client.fail(LIST_RUNS, rule_name, f"runs missing: {set(mine) - set(ids)}")
        if sort in (None, "start_time,desc"):
            starts = [_when(item["start_time"]) for item in seen]
            if starts != sorted(starts, reverse=True):
                self.client.fail(LIST_RUNS, "intuned.run-list-sorted",
                                 f"start_time,desc order broken: {starts}")
        for item in seen:
            ref = (job[0], job[1], item["id"])
            if ref in self.run_model:
                self._compare_run(result, ref, item, "intuned.listed-run-matches-model")

    def _check_run_count(self, job: JobRef, rule_name: str) -> None:
        result = self.client.call(LIST_RUNS, self._path(job[0], job[1]))
        self.expect(result, 200, rule_name)
        self.check_equal(result, rule_name, result.body["totalCount"],
                         len(self._runs_of(job)), "totalCount")

    # -- helpers: runs ---------------------------------------------------------------------------

    def _runs_of(self, job: JobRef) -> list[tuple[RunRef, dict[str, Any]]]:
        return [(ref, run) for ref, run in self.run_model.items() if ref[:2] == job]

    def _check_runs_of(self, job: JobRef, rule_name: str) -> None:
        for ref, _ in self._runs_of(job)[:3]:
            self._check_run(self.client.call(GET_RUN, self._run_path(ref)), ref, rule_name)

    def _observe(self, run: RunRef, rule_name: str, force: bool = False) -> str:
        """The run's status, read from the server when the model allows several."""
        known = self.run_model[run]
        if len(known["status"]) > 1 or force:
            self._check_run(self.client.call(GET_RUN, self._run_path(run)), run, rule_name)
        return str(next(iter(known["status"]))) if len(known["status"]) == 1 else ""

    def _check_run(self, result: Result, run: RunRef, rule_name: str) -> None:
        self.expect(result, 200, rule_name)
        self._compare_run(result, run, result.body["jobRun"], rule_name)
        self._check_snapshot(result, run, "intuned.snapshot-frozen-at-trigger"
                             if self.run_model[run]["job_changed"]
                             else "intuned.run-carries-config-snapshot")

    def _compare_run(self, result: Result, run: RunRef, got: dict[str, Any],
                     rule_name: str) -> None:
        known = self.run_model[run]
        for key, wanted in (("id", run[2]), ("job_id", run[1]), ("type", "MANUAL"),
                            ("payloads", known["payloads"])):
            self.check_equal(result, rule_name, got.get(key), wanted, key)
        self._same_tenant(result, run[0], got.get("workspace_id"), got.get("project_id"),
                          "intuned.no-tenant-sees-another")
        status = got.get("status")
        finished = status in FINISHED
        if finished == (got.get("end_time") is None):
            self.client.fail(result.operation.operation_id, "intuned.end-time-iff-finished",
                             f"status {status} with end_time {got.get('end_time')!r}")
        if finished and _when(got["end_time"]) < _when(got["start_time"]):
            self.client.fail(result.operation.operation_id, "intuned.end-time-iff-finished",
                             "end_time is before start_time")
        done, lost = got.get("successful_runs") or 0, got.get("failed_runs") or 0
        if done < 0 or lost < 0 or done + lost > (got.get("payloads") or 0):
            self.client.fail(result.operation.operation_id, "intuned.run-counters-consistent",
                             f"successful_runs {done} + failed_runs {lost} vs payloads "
                             f"{got.get('payloads')}")
        if not self.frozen:  # the vendor's backend moves runs on its own: observe only
            known["status"] = frozenset({status})
            return
        if status not in known["status"]:
            self.client.fail(result.operation.operation_id, rule_name,
                             f"status: server says {status!r}, the model expects one of "
                             f"{sorted(known['status'])}")
        known["status"] = frozenset({status})
        if known["successful"] is not None:
            self.check_equal(result, rule_name, (done, lost),
                             (known["successful"], known["failed"]),
                             "(successful_runs, failed_runs)")

    def _check_snapshot(self, result: Result, run: RunRef, rule_name: str) -> None:
        snapshot = result.body["jobRun"].get("job_configuration_snapshot") or {}
        expected = self.run_model[run]["snapshot"]
        for field in SNAPSHOT:
            found = _difference(expected[field], snapshot.get(field),
                                f"job_configuration_snapshot.{field}")
            if found:
                self.client.fail(GET_RUN, rule_name, found)
        proxy = snapshot.get("proxy")
        self.check_equal(result, rule_name,
                         proxy.get("url") if isinstance(proxy, dict) else proxy,
                         expected["proxy"], "job_configuration_snapshot.proxy.url")


StateMachine.TestCase.settings = suite_settings()

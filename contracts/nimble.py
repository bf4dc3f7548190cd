"""Nimble Jobs v1 and v2 contract: a model of jobs and runs, checked after every step.

Rules: a created job reads back as created; the seed PATCH changes exactly the fields sent
(an explicit null clears); a trigger makes a PENDING manual run and the job's last run
follows it; cancel obeys the run states; lists page without loss or overlap and count every
job; a job's runs list every run once; v1 and v2 show one store (a job created through
one version is listed by both); a deleted job and its runs are gone.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, precondition, rule

from contracts.stateful import ApiStateMachine, needs_clock, needs_control, suite_settings
from contracts.strategies import body_values
from mockserver.spec import load_spec

__all__ = ["StateMachine"]

SPEC = load_spec("nimble")
VERSIONS = ("v1", "v2")
OPS = {
    "v1": {"create": "create_job_v1_jobs_post", "get": "get_job_v1_jobs__job_id__get",
           "patch": "update_job_v1_jobs__job_id__patch",
           "delete": "delete_job_v1_jobs__job_id__delete", "list": "list_jobs_v1_jobs_get",
           "trigger": "trigger_job_run_v1_jobs__job_id__runs_post",
           "runs": "list_job_runs_v1_jobs__job_id__runs_get",
           "get_run": "get_run_v1_jobs_runs__run_id__get",
           "cancel": "cancel_run_v1_jobs_runs__run_id__cancel_post"},
    "v2": {"create": "create_job_public_v2_v2_jobs_post",
           "get": "get_job_public_v2_v2_jobs__job_id__get",
           "patch": "update_job_public_v2_v2_jobs__job_id__patch",
           "delete": "delete_job_public_v2_v2_jobs__job_id__delete",
           "list": "list_jobs_public_v2_v2_jobs_get",
           "trigger": "trigger_job_run_public_v2_v2_jobs__job_id__runs_post",
           "runs": "list_job_runs_public_v2_v2_jobs__job_id__runs_get",
           "get_run": "get_run_public_v2_v2_jobs_runs__run_id__get",
           "cancel": "cancel_run_public_v2_v2_jobs_runs__run_id__cancel_post"},
}
CREATE, GET, PATCH = OPS["v1"]["create"], OPS["v1"]["get"], OPS["v1"]["patch"]
GET_RUN = OPS["v1"]["get_run"]
DELETE, LIST_RUNS = OPS["v1"]["delete"], OPS["v1"]["runs"]
FIELDS = ("name", "agent_name", "display_name", "description", "schedule", "inputs",
          "destination")
UPDATABLE = FIELDS[2:]
V2_NAMES = {"agent_name": "extract_template_name"}  # v2's name of a v1 field
NEXT = {"PENDING": ["RUNNING", "CANCELLED"],
        "RUNNING": ["SUCCESS", "FAILED", "TIMEOUT", "WARNING", "CANCELLED"]}


def _in_v1_names(body: dict[str, Any], version: str) -> dict[str, Any]:
    if version == "v1":
        return body
    v1_names = {new: old for old, new in V2_NAMES.items()}
    return {v1_names.get(key, key): value for key, value in body.items()}


def _in_version_names(model: dict[str, Any], version: str) -> dict[str, Any]:
    if version == "v1":
        return model
    return {V2_NAMES.get(key, key): value for key, value in model.items()}


def _page_query(version: str, index: int, size: int) -> dict[str, int]:
    """Page `index` (from 0) of `size` items, as each version asks for it."""
    if version == "v1":
        return {"page": index + 1, "per_page": size}
    return {"offset": index * size, "limit": size}


class StateMachine(ApiStateMachine):
    """Model-based contract of the Nimble Jobs API, v1 and v2 (two views of one store)."""

    api = "nimble"
    jobs = Bundle("jobs")
    runs = Bundle("runs")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, dict[str, Any]] = {}
        self.version: dict[str, str] = {}  # the version a job was created through
        self.run_model: dict[str, dict[str, Any]] = {}

    @rule(target=jobs, body=body_values(SPEC, OPS["v1"]["create"]))
    def create_job(self, body: dict[str, Any]) -> str:
        return self._create("v1", body)

    @rule(target=jobs, body=body_values(SPEC, OPS["v2"]["create"]))
    def create_job_v2(self, body: dict[str, Any]) -> str:
        return self._create("v2", body)

    def _create(self, version: str, body: dict[str, Any]) -> str:
        body = {**body, "name": self.unique("job")}
        result = self.client.call(OPS[version]["create"], body=body)
        self.expect(result, 201, "nimble.create-job")
        expected = {k: _in_v1_names(body, version).get(k) for k in FIELDS}
        job_id: str = result.body["id"]
        self.version[job_id] = version
        self._same_job(result, job_id, expected, "nimble.created-reads-back")
        self.model[job_id] = {**expected, "last_run_status": None}
        self._same_job(self._get(job_id), job_id, self.model[job_id], "nimble.created-reads-back")
        for patch in ({"display_name": "probe"}, {"description": "probe"}):
            self._patch(job_id, patch)  # the second must leave the first's field alone
        return job_id

    def _op(self, job: str, name: str) -> str:
        return OPS[self.version.get(job, "v1")][name]

    def _get(self, job: str) -> Any:
        return self.client.call(self._op(job, "get"), {"job_id": job})

    @rule(job=jobs)
    def get_job(self, job: str) -> None:
        result = self._get(job)
        if job not in self.model:
            self.expect(result, 404, "nimble.deleted-is-gone")
            return
        self.expect(result, 200, "nimble.get-job")
        self._same_job(result, job, self.model[job], "nimble.get-job-matches-model")

    @rule(job=jobs, data=st.data())
    def patch_job(self, job: str, data: st.DataObject) -> None:
        self._patch(job, data.draw(body_values(SPEC, self._op(job, "patch")), label="patch"))

    def _patch(self, job: str, patch: dict[str, Any]) -> None:
        result = self.client.call(self._op(job, "patch"), {"job_id": job}, body=patch)
        if job not in self.model:
            self.expect(result, 404, "nimble.deleted-is-gone")
            return
        self.expect(result, 200, "nimble.patch-job")
        self.model[job].update({k: v for k, v in patch.items() if k in UPDATABLE})
        rule_name = "nimble.patch-changes-exactly-sent-fields"
        self._same_job(result, job, self.model[job], rule_name)
        self._same_job(self._get(job), job, self.model[job], rule_name)

    @rule(job=consumes(jobs))
    def delete_job(self, job: str) -> None:
        result = self.client.call(self._op(job, "delete"), {"job_id": job})
        if job not in self.model:
            self.expect(result, 404, "nimble.deleted-is-gone")
            return
        self.expect(result, 204, "nimble.delete-job")
        del self.model[job]
        self.expect(self._get(job), 404, "nimble.deleted-is-gone")

    @rule(target=runs, job=jobs)
    def trigger_run(self, job: str) -> str:
        result = self.client.call(self._op(job, "trigger"), {"job_id": job})
        if job not in self.model:
            self.expect(result, 404, "nimble.deleted-is-gone")
            return "run_0"
        self.expect(result, 201, "nimble.trigger-run")
        run = result.body
        for key, wanted in (("status", "PENDING"), ("triggered_by", "manual"), ("job_id", job)):
            self.check_equal(result, "nimble.trigger-makes-pending-manual-run", run[key], wanted,
                             key)
        self.run_model[run["id"]] = {"job_id": job, "status": "PENDING"}
        self.model[job]["last_run_status"] = "PENDING"
        after = self._get(job)
        self._same_job(after, job, self.model[job], "nimble.job-shows-last-run")
        if after.body.get("last_run_at") is None:
            self.client.fail(after.operation.operation_id, "nimble.job-shows-last-run",
                             "last_run_at is null after a run")
        return str(run["id"])

    def _run_op(self, run: str, name: str) -> str:
        known = self.run_model.get(run)
        return self._op(known["job_id"], name) if known else OPS["v1"][name]

    @rule(run=runs)
    def get_run(self, run: str) -> None:
        result = self.client.call(self._run_op(run, "get_run"), {"run_id": run})
        known = self.run_model.get(run)
        if known is None or known["job_id"] not in self.model:
            self.expect(result, 404, "nimble.deleted-is-gone")
            return
        self.expect(result, 200, "nimble.get-run")
        self.check_equal(result, "nimble.run-matches-model", result.body["status"],
                         known["status"], "status")
        self.check_equal(result, "nimble.run-matches-model", result.body["job"]["id"],
                         known["job_id"], "job.id")

    @rule(job=jobs, size=st.integers(min_value=1, max_value=3))
    def list_runs(self, job: str, size: int) -> None:
        """Every run of the job appears on exactly one page (no order is assumed)."""
        if job not in self.model:
            result = self.client.call(self._op(job, "runs"), {"job_id": job},
                                      query=_page_query(self.version[job], 0, size))
            self.expect(result, 404, "nimble.deleted-is-gone")
            return
        seen, result, total = self._pages(self._op(job, "runs"), self.version[job], size,
                                          {"job_id": job})
        mine = sorted(r for r, known in self.run_model.items() if known["job_id"] == job)
        self.check_equal(result, "nimble.list-runs-counts-every-run", total, len(mine), "total")
        self.check_equal(result, "nimble.run-pages-cover-every-run-once", sorted(seen), mine,
                         "run ids over all pages")

    @rule(job=jobs)
    def cancel_new_run(self, job: str) -> None:
        """Trigger, cancel (200 CANCELLED), cancel again (409: the run has finished)."""
        if job not in self.model:
            return
        run = self.trigger_run(job)
        self.cancel_run(run)

    @rule(run=runs)
    def cancel_run(self, run: str) -> None:
        cancel = self._run_op(run, "cancel")
        result = self.client.call(cancel, {"run_id": run})
        known = self.run_model.get(run)
        if known is None or known["job_id"] not in self.model:
            self.expect(result, 404, "nimble.deleted-is-gone")
            return
        if known["status"] not in NEXT:
            self.expect(result, 409, "nimble.cancel-obeys-run-states",
                        f"cancelling a {known['status']} run")
            return
        self.expect(result, 200, "nimble.cancel-obeys-run-states")
        self.check_equal(result, "nimble.cancel-obeys-run-states", result.body["status"],
                         "CANCELLED", "status")
        self._run_moved(run, "CANCELLED")
        again = self.client.call(cancel, {"run_id": run})
        self.expect(again, 409, "nimble.cancel-obeys-run-states", "cancelling a CANCELLED run")

    @needs_control
    @rule(run=runs, choice=st.integers(min_value=0, max_value=4))
    def advance_run(self, run: str, choice: int) -> None:
        known = self.run_model.get(run)
        if known is None or known["job_id"] not in self.model or known["status"] not in NEXT:
            return
        assert self.control is not None
        options = NEXT[known["status"]]
        status = options[choice % len(options)]
        self.control.action("nimble", "set-run-status", run_id=run, status=status)
        self._run_moved(run, status)
        result = self.client.call(self._run_op(run, "get_run"), {"run_id": run})
        self.check_equal(result, "nimble.run-lifecycle", result.body["status"], status, "status")
        if status not in NEXT and result.body.get("finished_at") is None:
            self.client.fail(result.operation.operation_id, "nimble.run-lifecycle",
                             "finished run has no finished_at")

    @needs_clock
    @precondition(lambda self: not any((job.get("schedule") or {}).get("enabled")
                                       for job in self.model.values()))
    @rule(hours=st.integers(min_value=1, max_value=3))
    def cron_schedule_starts_runs(self, hours: int) -> None:
        """An enabled cron schedule starts a run (PENDING, `triggered_by: schedule`) at each
        match as the clock passes, and the job's last run follows. Needs the control API to
        move the virtual clock (a real service would take hours of real time)."""
        assert self.control is not None
        rule_name = "nimble.cron-schedule-starts-runs"
        body = {"name": self.unique("cron"), "agent_name": "suite",
                "schedule": {"cron": "0 * * * *", "enabled": True}}
        created = self.client.call(CREATE, body=body)
        self.expect(created, 201, rule_name)
        job = str(created.body["id"])
        self.control.advance(hours * 3600)
        listed = self.client.call(LIST_RUNS, {"job_id": job}, query={"per_page": 200})
        self.expect(listed, 200, rule_name)
        runs = listed.body["items"]
        self.check_equal(listed, rule_name, [(r["status"], r["triggered_by"]) for r in runs],
                         [("PENDING", "schedule")] * hours, "runs started by the schedule")
        read = self.client.call(GET, {"job_id": job})
        self.check_equal(read, rule_name, read.body.get("last_run_status"), "PENDING",
                         "last_run_status")
        self.expect(self.client.call(DELETE, {"job_id": job}), 204, rule_name)
        self.list_jobs(1 + hours % 3, "v1")  # the lists still page every modelled job

    @rule(size=st.integers(min_value=1, max_value=4), version=st.sampled_from(VERSIONS))
    def list_jobs(self, size: int, version: str) -> None:
        """Jobs made through either version are listed by both."""
        if not self.isolated:
            return
        seen, result, total = self._pages(OPS[version]["list"], version, size, {})
        self.check_equal(result, "nimble.list-counts-every-job", total, len(self.model), "total")
        self.check_equal(result, "nimble.pages-cover-every-job-once", sorted(seen),
                         sorted(self.model), "ids over all pages")

    def _pages(self, operation: str, version: str, size: int,
               path: dict[str, Any]) -> tuple[list[str], Any, int]:
        """Ids over every page of a list, the last answer, and the total it gives."""
        seen: list[str] = []
        index = 0
        while True:
            result = self.client.call(operation, path, query=_page_query(version, index, size))
            self.expect(result, 200, "nimble.list-pages")
            total = result.body["total"]
            seen += [item["id"] for item in result.body["items"]]
            index += 1
            if index * size >= total or index > 50:
                return seen, result, total

    def _run_moved(self, run: str, status: str) -> None:
        self.run_model[run]["status"] = status
        job = self.run_model[run]["job_id"]
        newest = max(self.run_model, key=lambda r: int(r.split("_")[1])
                     if self.run_model[r]["job_id"] == job else 0)
        if newest == run:
            self.model[job]["last_run_status"] = status

    def _same_job(self, result: Any, job: str, expected: dict[str, Any],
                  rule_name: str) -> None:
        self.expect(result, {200, 201}, rule_name)
        for key, value in _in_version_names(expected, self.version[job]).items():
            self.check_equal(result, rule_name, result.body.get(key), value, key)


StateMachine.TestCase.settings = suite_settings()

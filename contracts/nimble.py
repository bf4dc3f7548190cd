"""Nimble Jobs v1 contract: a model of jobs and runs, checked after every step.

Rules: a created job reads back as created; the seed PATCH changes exactly the fields sent
(an explicit null clears); a trigger makes a PENDING manual run and the job's last run
follows it; cancel obeys the run states; lists page without loss or overlap and count every
job; a deleted job and its runs are gone.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, rule

from contracts.stateful import ApiStateMachine, needs_control, suite_settings
from contracts.strategies import body_values
from mockserver.spec import load_spec

__all__ = ["StateMachine"]

SPEC = load_spec("nimble")
CREATE = "create_job_v1_jobs_post"
GET = "get_job_v1_jobs__job_id__get"
PATCH = "update_job_v1_jobs__job_id__patch"
DELETE = "delete_job_v1_jobs__job_id__delete"
LIST = "list_jobs_v1_jobs_get"
TRIGGER = "trigger_job_run_v1_jobs__job_id__runs_post"
GET_RUN = "get_run_v1_jobs_runs__run_id__get"
CANCEL = "cancel_run_v1_jobs_runs__run_id__cancel_post"
FIELDS = ("name", "agent_name", "display_name", "description", "schedule", "inputs",
          "destination")
UPDATABLE = FIELDS[2:]
NEXT = {"PENDING": ["RUNNING", "CANCELLED"],
        "RUNNING": ["SUCCESS", "FAILED", "TIMEOUT", "WARNING", "CANCELLED"]}


class StateMachine(ApiStateMachine):
    """Model-based contract of the Nimble Jobs API v1."""

    api = "nimble"
    jobs = Bundle("jobs")
    runs = Bundle("runs")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, dict[str, Any]] = {}
        self.run_model: dict[str, dict[str, Any]] = {}

    @rule(target=jobs, body=body_values(SPEC, CREATE))
    def create_job(self, body: dict[str, Any]) -> str:
        body = {**body, "name": self.unique("job")}
        result = self.client.call(CREATE, body=body)
        self.expect(result, 201, "nimble.create-job")
        expected = {k: body.get(k) for k in FIELDS}
        self._same_job(result, expected, "nimble.created-reads-back")
        job_id: str = result.body["id"]
        self.model[job_id] = {**expected, "last_run_status": None}
        self._same_job(self.client.call(GET, {"job_id": job_id}), self.model[job_id],
                       "nimble.created-reads-back")
        for patch in ({"display_name": "probe"}, {"description": "probe"}):
            self.patch_job(job_id, patch)  # the second must leave the first's field alone
        return job_id

    @rule(job=jobs)
    def get_job(self, job: str) -> None:
        result = self.client.call(GET, {"job_id": job})
        if job not in self.model:
            self.expect(result, 404, "nimble.deleted-is-gone")
            return
        self.expect(result, 200, "nimble.get-job")
        self._same_job(result, self.model[job], "nimble.get-job-matches-model")

    @rule(job=jobs, patch=body_values(SPEC, PATCH))
    def patch_job(self, job: str, patch: dict[str, Any]) -> None:
        result = self.client.call(PATCH, {"job_id": job}, body=patch)
        if job not in self.model:
            self.expect(result, 404, "nimble.deleted-is-gone")
            return
        self.expect(result, 200, "nimble.patch-job")
        self.model[job].update({k: v for k, v in patch.items() if k in UPDATABLE})
        rule_name = "nimble.patch-changes-exactly-sent-fields"
        self._same_job(result, self.model[job], rule_name)
        self._same_job(self.client.call(GET, {"job_id": job}), self.model[job], rule_name)

    @rule(job=consumes(jobs))
    def delete_job(self, job: str) -> None:
        result = self.client.call(DELETE, {"job_id": job})
        if job not in self.model:
            self.expect(result, 404, "nimble.deleted-is-gone")
            return
        self.expect(result, 204, "nimble.delete-job")
        del self.model[job]
        self.expect(self.client.call(GET, {"job_id": job}), 404, "nimble.deleted-is-gone")

    @rule(target=runs, job=jobs)
    def trigger_run(self, job: str) -> str:
        result = self.client.call(TRIGGER, {"job_id": job})
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
        after = self.client.call(GET, {"job_id": job})
        self._same_job(after, self.model[job], "nimble.job-shows-last-run")
        if after.body.get("last_run_at") is None:
            self.client.fail(GET, "nimble.job-shows-last-run", "last_run_at is null after a run")
        return str(run["id"])

    @rule(run=runs)
    def get_run(self, run: str) -> None:
        result = self.client.call(GET_RUN, {"run_id": run})
        known = self.run_model.get(run)
        if known is None or known["job_id"] not in self.model:
            self.expect(result, 404, "nimble.deleted-is-gone")
            return
        self.expect(result, 200, "nimble.get-run")
        self.check_equal(result, "nimble.run-matches-model", result.body["status"],
                         known["status"], "status")
        self.check_equal(result, "nimble.run-matches-model", result.body["job"]["id"],
                         known["job_id"], "job.id")

    @rule(job=jobs)
    def cancel_new_run(self, job: str) -> None:
        """Trigger, cancel (200 CANCELLED), cancel again (409: the run has finished)."""
        if job not in self.model:
            return
        run = self.trigger_run(job)
        self.cancel_run(run)

    @rule(run=runs)
    def cancel_run(self, run: str) -> None:
        result = self.client.call(CANCEL, {"run_id": run})
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
        again = self.client.call(CANCEL, {"run_id": run})
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
        result = self.client.call(GET_RUN, {"run_id": run})
        self.check_equal(result, "nimble.run-lifecycle", result.body["status"], status, "status")
        if status not in NEXT and result.body.get("finished_at") is None:
            self.client.fail(GET_RUN, "nimble.run-lifecycle", "finished run has no finished_at")

    @rule(per_page=st.integers(min_value=1, max_value=4))
    def list_jobs(self, per_page: int) -> None:
        if not self.isolated:
            return
        seen: list[str] = []
        page, total = 1, -1
        while True:
            result = self.client.call(LIST, query={"page": page, "per_page": per_page})
            self.expect(result, 200, "nimble.list-jobs")
            total = result.body["total"]
            seen += [item["id"] for item in result.body["items"]]
            if page * per_page >= total or page > 50:
                break
            page += 1
        self.check_equal(result, "nimble.list-counts-every-job", total, len(self.model), "total")
        self.check_equal(result, "nimble.pages-cover-every-job-once", sorted(seen),
                         sorted(self.model), "ids over all pages")

    def _run_moved(self, run: str, status: str) -> None:
        self.run_model[run]["status"] = status
        job = self.run_model[run]["job_id"]
        newest = max(self.run_model, key=lambda r: int(r.split("_")[1])
                     if self.run_model[r]["job_id"] == job else 0)
        if newest == run:
            self.model[job]["last_run_status"] = status

    def _same_job(self, result: Any, expected: dict[str, Any], rule_name: str) -> None:
        self.expect(result, {200, 201}, rule_name)
        for key, value in expected.items():
            self.check_equal(result, rule_name, result.body.get(key), value, key)


StateMachine.TestCase.settings = suite_settings()

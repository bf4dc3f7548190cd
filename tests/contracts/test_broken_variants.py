"""The contract suites catch broken implementations: one deliberate bug per variant of the mock.

Each variant is the mock of one API (lax mode, so a response that breaks the spec is sent as
the broken implementation would send it) with ONE behaviour broken by wrapping or replacing a
handler, an auth hook or the error renderer of its vendor `Api` instance. The suites must
fail on it within the default example budget (`Options().max_examples`), with a failure that
names the broken rule and carries the requests that reproduce it. The unbroken mock must pass
the very same narrowed runs, so the failures come from the bugs, not from the suites.

Runs are narrowed to what each bug needs (`operations` picks the stateless suites,
`stateful` the state machine) and seeded: the stateless suites take `Options.seed`; the state
machine does not (the runner leaves it unseeded), so the tests pin it through Hypothesis's
global seed, which also keeps the example database out of the way. Shrinking is turned off
(a profile loaded for each test and restored after it): the failure is found by the
generation phase within the budget either way, and shrinking it costs minutes per variant;
the reproduction is then the whole failing example rather than a minimal one.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis.core
import pytest
from hypothesis import Phase, settings

from contracts.runner import Options, Report, run_suites
from contracts.targets import local_target
from mockserver.apis import bullmq as bullmq_api
from mockserver.apis import intuned as intuned_api
from mockserver.apis import nemo as nemo_api
from mockserver.apis import nimble as nimble_api
from mockserver.apis.base import Reply, VendorApi, json_reply, no_content
from mockserver.app import create_app, runtime_of
from mockserver.errors import ApiError
from mockserver.validation import ValidRequest

SEED = 20240611
BUDGET = Options().max_examples  # the default budget, never lowered here
NO_STATELESS = "<no stateless suite>"  # an `operations` glob no operationId matches

Handler = Callable[[ValidRequest], Reply]


# -- helpers ----------------------------------------------------------------------------------


def _replace(api: VendorApi, operation_id: str,
             make: Callable[[Handler], Handler]) -> None:
    """Swap the handler of `operation_id` for `make(original handler)`."""
    api.handlers[operation_id] = make(api.handlers[operation_id])


def _after(api: VendorApi, operation_id: str, change: Callable[[ValidRequest, Reply], Reply]
           ) -> None:
    """Let the handler answer, then `change` its reply."""

    def make(original: Handler) -> Handler:
        return lambda req: change(req, original(req))

    _replace(api, operation_id, make)


def _with_path(req: ValidRequest, **path: Any) -> ValidRequest:
    return dataclasses.replace(req, path={**req.path, **path})


def _with_query(req: ValidRequest, **query: Any) -> ValidRequest:
    return dataclasses.replace(req, query={**req.query, **query})


# -- nimble -----------------------------------------------------------------------------------

N_CREATE = "create_job_v1_jobs_post"
N_LIST = "list_jobs_v1_jobs_get"
N_PATCH = "update_job_v1_jobs__job_id__patch"
N_CANCEL = "cancel_run_v1_jobs_runs__run_id__cancel_post"


def nimble_create_answers_200(api: VendorApi) -> None:
    """Create Job answers 200 instead of the documented 201."""
    _after(api, N_CREATE, lambda req, reply: dataclasses.replace(reply, status=200))


def nimble_patch_clobbers_omitted_fields(api: VendorApi) -> None:
    """The PATCH acts as a PUT: every updatable field left out of the body is reset to null."""

    def make(original: Handler) -> Handler:
        def handler(req: ValidRequest) -> Reply:
            reply = original(req)
            cleared = {f: None for f in nimble_api.UPDATABLE if f not in req.body}
            api.store.update(nimble_api.JOBS, req.path["job_id"], lambda j: {**j, **cleared})
            return dataclasses.replace(reply, body={**reply.body, **cleared})

        return handler

    _replace(api, N_PATCH, make)


def nimble_list_page_off_by_one(api: VendorApi) -> None:
    """List Jobs starts a page at `page * per_page` (page numbers count from 1): page 1 shows
    the second page and the first page is never listed."""

    def make(original: Handler) -> Handler:
        def handler(req: ValidRequest) -> Reply:
            page = req.query.get("page", 1)
            reply = original(_with_query(req, page=page + 1))
            return dataclasses.replace(reply, body={**reply.body, "page": page})

        return handler

    _replace(api, N_LIST, make)


def nimble_cancel_finished_run(api: VendorApi) -> None:
    """Cancel forgets the run states: a finished run (even a cancelled one) is cancelled again
    with 200 instead of 409."""

    def make(original: Handler) -> Handler:
        def handler(req: ValidRequest) -> Reply:
            run = api.store.get(nimble_api.RUNS, req.path["run_id"])
            if run is None or run["status"] not in nimble_api.FINISHED:
                return original(req)
            api.store.update(nimble_api.RUNS, run["id"], lambda r: {**r, "status": "CANCELLED"})
            return json_reply(200, {"id": run["id"], "status": "CANCELLED"})

        return handler

    _replace(api, N_CANCEL, make)


# -- SAP --------------------------------------------------------------------------------------


def sap_error_body_shape(api: VendorApi) -> None:
    """Errors come as `{"error": "<message>"}` instead of SAP's `{code, message, type,
    detailedError}`."""
    api.render_error = lambda error, op: json_reply(  # type: ignore[method-assign]
        error.status, {"error": error.message})


def sap_duplicate_name_accepted(api: VendorApi) -> None:
    """Create Job skips the unique-name check: a second job with a taken name is created
    (201) and takes the name over."""

    def make(original: Handler) -> Handler:
        def handler(req: ValidRequest) -> Reply:
            api.store.delete("sap:names", req.body["name"])
            return original(req)

        return handler

    _replace(api, "createJob", make)


def sap_run_log_update_lost(api: VendorApi) -> None:
    """Update Job Run Log answers `{"success": true}` but never stores the completion."""

    def make(original: Handler) -> Handler:
        def handler(req: ValidRequest) -> Reply:
            path = req.path
            api._run(path["jobId"], path["scheduleId"], path["runId"],  # type: ignore[attr-defined]
                     "updating run log")
            return json_reply(200, {"success": True})

        return handler

    _replace(api, "updateJobRunLog", make)


def sap_any_basic_password(api: VendorApi) -> None:
    """HTTP Basic is not enforced: any `Authorization: Basic ...` header is let in."""
    original = api.check_scheme

    def check(name: str, op: Any, request: Any) -> bool:
        if name == "basicAuth" and request.headers.get("authorization", "").lower().startswith(
                "basic "):
            return True
        return original(name, op, request)

    api.check_scheme = check  # type: ignore[method-assign]


# -- NeMo -------------------------------------------------------------------------------------

M_CREATE = "create-job-apis-jobs-v-2-workspaces-workspace-jobs-post"
M_GET = "get-job-apis-jobs-v-2-workspaces-workspace-jobs-name-get"
M_PATCH = ("update-job-status-details-apis-jobs-v-2-workspaces-workspace-jobs-name-"
           "status-details-patch")
M_DELETE = "delete-job-apis-jobs-v-2-workspaces-workspace-jobs-name-delete"


def nemo_get_crosses_workspaces(api: VendorApi) -> None:
    """Get Job falls back to any workspace holding a job of that name: a job is readable
    through every workspace (a cross-tenant leak)."""
    homes: dict[str, str] = {}

    def remember(req: ValidRequest, reply: Reply) -> Reply:
        homes[reply.body["name"]] = req.path["workspace"]
        return reply

    _after(api, M_CREATE, remember)

    def make(original: Handler) -> Handler:
        def handler(req: ValidRequest) -> Reply:
            try:
                return original(req)
            except ApiError as error:
                home = homes.get(req.path["name"])
                if error.status != 404 or home is None:
                    raise
                return original(_with_path(req, workspace=home))

        return handler

    _replace(api, M_GET, make)


def nemo_status_details_replaced(api: VendorApi) -> None:
    """The status-details PATCH replaces `status_details` with the body instead of
    shallow-merging it: keys set by earlier patches are lost."""

    def make(original: Handler) -> Handler:
        def handler(req: ValidRequest) -> Reply:
            reply = original(req)
            api.store.update(nemo_api._jobs(req.path["workspace"]), req.path["name"],
                             lambda r: {**r, "job": {**r["job"],
                                                     "status_details": dict(req.body)}})
            return reply

        return handler

    _replace(api, M_PATCH, make)


def nemo_delete_unfinished_job(api: VendorApi) -> None:
    """Delete ignores the job's status: a job that is not terminal is deleted (204) instead
    of being refused with 409."""

    def make(original: Handler) -> Handler:
        def handler(req: ValidRequest) -> Reply:
            if not api.store.delete(nemo_api._jobs(req.path["workspace"]), req.path["name"]):
                return original(req)  # the vendor's 404
            return no_content()

        return handler

    _replace(api, M_DELETE, make)


# -- BullMQ -----------------------------------------------------------------------------------


def bullmq_job_lacks_timestamp(api: VendorApi) -> None:
    """Get Job returns the job without `timestamp`, a required field of a Job."""

    def drop(req: ValidRequest, reply: Reply) -> Reply:
        if reply.status != 200:
            return reply
        return dataclasses.replace(reply, body={k: v for k, v in reply.body.items()
                                                if k != "timestamp"})

    _after(api, "getJob", drop)


def bullmq_log_count_is_page_length(api: VendorApi) -> None:
    """Get Job Logs answers `count` = the number of lines on the page, not of all lines."""

    def count(req: ValidRequest, reply: Reply) -> Reply:
        return dataclasses.replace(reply, body={**reply.body,
                                                "count": len(reply.body["logs"])})

    _after(api, "getJobLogs", count)


def bullmq_logs_newest_first(api: VendorApi) -> None:
    """Get Job Logs pages the lines newest first instead of in append order."""

    def newest_first(req: ValidRequest, reply: Reply) -> Reply:
        name = bullmq_api._logs(req.path["queueName"], req.path["jobId"])
        lines = list(reversed(api.store.slice(name, 0, None)))
        start, length = req.query.get("start", 0), req.query.get("length", 10)
        end = start + length - 1
        if end < 0:
            end += len(lines)
        page = lines[start:end + 1] if end >= start else []
        return dataclasses.replace(reply, body={**reply.body, "logs": page})

    _after(api, "getJobLogs", newest_first)


def bullmq_lock_token_of_any_job(api: VendorApi) -> None:
    """A job-token route takes any live lock token: a worker's token works for every job."""
    issued: dict[str, tuple[str, str]] = {}
    take = api.actions["take-next"]

    def take_next(queue: Any) -> dict[str, Any]:
        taken = take(queue=queue)
        issued[taken["token"]] = (str(queue), taken["job"]["id"])
        return taken

    api.actions["take-next"] = take_next
    original = api._holds_lock  # type: ignore[attr-defined]

    def holds(request: Any, token: str) -> bool:
        if token in issued:
            queue, job_id = issued[token]
            return bool(api.store.get(bullmq_api._ns(queue, "locks"), job_id) == token)
        return bool(original(request, token))

    api._holds_lock = holds  # type: ignore[attr-defined]


# -- Intuned ----------------------------------------------------------------------------------


def intuned_api_key_not_checked(api: VendorApi) -> None:
    """Auth is not enforced: requests without an `x-api-key` are served."""
    api.authenticate = lambda op, request: None  # type: ignore[method-assign]


def intuned_list_ignores_project(api: VendorApi) -> None:
    """List Jobs filters by workspace only: the jobs of every project of the workspace are
    listed in each of them (a cross-tenant leak)."""
    projects: dict[str, set[str]] = defaultdict(set)

    def remember(req: ValidRequest, reply: Reply) -> Reply:
        ws, project = intuned_api._tenant(req)
        projects[ws].add(project)
        return reply

    _after(api, "createJob", remember)

    def make(original: Handler) -> Handler:
        def handler(req: ValidRequest) -> Reply:
            ws, project = intuned_api._tenant(req)
            jobs = [job for name in sorted(projects[ws] | {project})
                    for job in api.store.values(intuned_api._jobs_ns(ws, name))]
            return json_reply(200, [intuned_api._job_item(job) for job in jobs])

        return handler

    _replace(api, "listJobs", make)


def intuned_paused_job_triggers(api: VendorApi) -> None:
    """Trigger ignores the job's state: a paused job starts a run (200) instead of 400."""

    def make(original: Handler) -> Handler:
        def handler(req: ValidRequest) -> Reply:
            ws, project = intuned_api._tenant(req)
            job_id = req.path["jobId"]
            job = api._job(ws, project, job_id)  # type: ignore[attr-defined]
            if job["state"] != "PAUSED":
                return original(req)
            run = api._new_run(job)  # type: ignore[attr-defined]
            api.store.put(intuned_api._runs_ns(ws, project, job_id), run["id"], run)
            api._change_job(ws, project, job_id,  # type: ignore[attr-defined]
                            {"last_run_time": run["start_time"]})
            return json_reply(200, {"jobRunId": run["id"],
                                    "message": "Job triggered successfully"})

        return handler

    _replace(api, "triggerJob", make)


def intuned_put_not_saved(api: VendorApi) -> None:
    """PUT (update job) answers 200 but the new definition is never stored (a lost write)."""

    def make(original: Handler) -> Handler:
        def handler(req: ValidRequest) -> Reply:
            ws, project = intuned_api._tenant(req)
            job = api._job(ws, project, req.path["jobId"])  # type: ignore[attr-defined]
            return json_reply(200, {"id": job["id"], "message": "updated job successfully"})

        return handler

    _replace(api, "updateJob", make)


# -- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """A broken mock: the API, the bug, the rule that must catch it, and how to run."""

    api: str
    breaks: Callable[[VendorApi], None]
    rule: str
    operations: str = NO_STATELESS
    stateful: bool = True

    @property
    def name(self) -> str:
        return self.breaks.__name__

    @property
    def options(self) -> Options:
        return Options(BUDGET, seed=SEED, operations=self.operations, stateful=self.stateful)


VARIANTS = [
    Variant("nimble", nimble_create_answers_200, "status-code-documented",
            operations=N_CREATE, stateful=False),
    Variant("nimble", nimble_patch_clobbers_omitted_fields,
            "nimble.patch-changes-exactly-sent-fields"),
    Variant("nimble", nimble_list_page_off_by_one, "nimble.pages-cover-every-job-once"),
    Variant("nimble", nimble_cancel_finished_run, "nimble.cancel-obeys-run-states"),
    Variant("sap", sap_error_body_shape, "response-conforms", operations="getJob",
            stateful=False),
    Variant("sap", sap_duplicate_name_accepted, "sap.duplicate-name-refused"),
    Variant("sap", sap_run_log_update_lost, "sap.run-log-update-shows-on-run-log"),
    Variant("sap", sap_any_basic_password, "sap.wrong-password-refused"),
    Variant("nemo", nemo_get_crosses_workspaces, "nemo.no-cross-workspace-access"),
    Variant("nemo", nemo_status_details_replaced, "nemo.status-details-shallow-merge"),
    Variant("nemo", nemo_delete_unfinished_job, "nemo.delete-only-terminal"),
    Variant("bullmq", bullmq_job_lacks_timestamp, "response-conforms"),
    Variant("bullmq", bullmq_log_count_is_page_length, "bullmq.log-count-equals-appended"),
    Variant("bullmq", bullmq_logs_newest_first, "bullmq.log-page-is-append-order-slice"),
    Variant("bullmq", bullmq_lock_token_of_any_job, "bullmq.token-only-for-its-job"),
    Variant("intuned", intuned_api_key_not_checked, "missing-credentials-rejected",
            operations="getJob", stateful=False),
    Variant("intuned", intuned_list_ignores_project, "intuned.no-tenant-sees-another"),
    Variant("intuned", intuned_paused_job_triggers, "intuned.paused-job-refuses-trigger"),
    Variant("intuned", intuned_put_not_saved, "intuned.put-replaces-whole-definition"),
]
RUNS = sorted({(v.api, v.operations, v.stateful) for v in VARIANTS})


settings.register_profile("jobmock-broken-variants",
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.fixture(autouse=True)
def _seeded_and_unshrunk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pin the state machines' randomness (the runner seeds only the stateless suites), and
    report the first failing example as found: shrinking it changes neither the rule nor the
    budget, but costs minutes per variant."""
    monkeypatch.setattr(hypothesis.core, "global_force_seed", SEED)
    previous = settings.get_current_profile_name()
    settings.load_profile("jobmock-broken-variants")
    try:
        yield
    finally:
        settings.load_profile(previous)


def _run(api: str, options: Options, breaks: Callable[[VendorApi], None] | None = None
         ) -> Report:
    app = create_app({"apis": (api,), "random_seed": 0, "strict": False})
    if breaks is not None:
        breaks(runtime_of(app).apis[api])
    return run_suites(local_target(api, app=app), options)


def _described(report: Report) -> str:
    return "\n".join(f"{o.suite} {o.operation}: "
                     f"{o.failure.rule if o.failure else o.error}" for o in report.failures)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_suites_catch_broken_variant(variant: Variant) -> None:
    report = _run(variant.api, variant.options, variant.breaks)
    assert not report.ok, f"{variant.name}: the suites passed a broken mock"
    caught = [o.failure for o in report.failures
              if o.failure is not None and o.failure.rule.startswith(variant.rule)]
    assert caught, (f"{variant.name}: no failure named {variant.rule!r}; "
                    f"got:\n{_described(report)}")
    reproduction = caught[0].reproduction
    assert reproduction and all(line.startswith("curl ") for line in reproduction), caught[0]


@pytest.mark.parametrize(("api", "operations", "stateful"), RUNS,
                         ids=[f"{a}-{'stateful' if s else o}" for a, o, s in RUNS])
def test_unbroken_mock_passes_the_same_runs(api: str, operations: str, stateful: bool) -> None:
    report = _run(api, Options(BUDGET, seed=SEED, operations=operations, stateful=stateful))
    assert report.ok, _described(report)

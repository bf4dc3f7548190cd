"""Intuned's backend side: runs progress by an outcome policy; sinks and notifications.

Sources: docs.intunedhq.com client-apis/api-reference/sinks/webhook and sinks/body (the sink
body: `apiInfo {name, parameters, runId, result}` with `result` `{status: completed, result,
statusCode}` or `{status: failed, error, message, statusCode}`, plus workspace, project, job
and run ids; a 2xx counts as delivered), shared/vendors.md §4 [I2][I5] (pause and resume).

- Policy: with `auto_progress` (the `jobmock serve` default) a triggered run finishes after
  `run_seconds` with every payload successful; the control action `set-outcome` sets, per job,
  each payload's outcome (success/failure, cycling), their results and the duration, and
  applies even when automatic progress is off. A run whose payloads all succeed ends SUCCESS,
  one where some failed COMPLETED, one where all failed FAILURE (ours: the statuses are
  documented, their meaning is not), with `successful_runs`, `failed_runs` and `end_time`.
- Pause moves running runs to PAUSED and their finish waits; resume starts the duration again.
- A `webhook` sink gets one POST per payload (`apisToSend` filters by API name, `skipOnFail`
  drops failed ones). Each `notifications` webhook gets one POST when a run reaches a terminal
  status, however it got there (policy, terminate, control API); its body is ours
  (undocumented): workspace, project, job and run ids, status and counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from mockserver.dispatch import OutboundRequest, Timer
from mockserver.errors import ApiError

__all__ = ["OUTCOMES", "RunDispatch"]

OUTCOMES = "intuned:outcomes"
WEBHOOK_TIMEOUT_SECONDS = 10.0
Record = dict[str, Any]


class RunDispatch:
    """Mixed into the Intuned `Api`."""

    # Provided by the Api (mockserver/apis/intuned.py):
    store: Any
    timers: Any
    clock: Any
    config: Any
    call_out: Any
    may_call: Any
    _run: Any
    _job: Any
    _save_run: Any

    def _policy(self, ws: str, project: str, job_id: str) -> Record | None:
        """The job's outcome policy: set with `set-outcome`, or the default one under
        automatic progress; None when runs wait for the control API."""
        chosen = self.store.get(OUTCOMES, _job_key(ws, project, job_id))
        if chosen is None and self.config.auto_progress:
            chosen = {"outcomes": ["success"], "results": [], "seconds": self.config.run_seconds}
        return dict(chosen) if chosen is not None else None

    def _plan_finish(self, ws: str, project: str, run: Record, start: datetime) -> None:
        policy = self._policy(ws, project, run["job_id"])
        if policy is not None:
            self.timers.add(start + timedelta(seconds=float(policy["seconds"])), "finish",
                            ws=ws, project=project, job_id=run["job_id"], run_id=run["id"])

    def on_timer(self, timer: Timer) -> None:
        if timer.kind != "finish":
            return
        args = timer.args
        try:
            run = self._run(args["ws"], args["project"], args["job_id"], args["run_id"])
        except ApiError:
            return  # deleted since
        if run["status"] in ("PENDING", "RESUMING"):
            self._finish(args["ws"], args["project"], run)

    def _finish(self, ws: str, project: str, run: Record) -> None:
        policy = self._policy(ws, project, run["job_id"]) or {"outcomes": ["success"]}
        outcomes = [_outcome(policy, i) for i in range(run["payloads"] or 0)]
        done = sum(1 for ok, _ in outcomes if ok)
        lost = len(outcomes) - done
        status = "SUCCESS" if lost == 0 else ("FAILURE" if done == 0 else "COMPLETED")
        saved = self._save_run(ws, project, run, {"status": status, "successful_runs": done,
                                                  "failed_runs": lost})
        self._deliver_results(ws, project, saved, outcomes)

    # -- deliveries -------------------------------------------------------------------------------

    def _deliver_results(self, ws: str, project: str, run: Record,
                         outcomes: list[tuple[bool, Any]]) -> None:
        snapshot = run.get("job_configuration_snapshot") or {}
        sink = snapshot.get("sink") or {}
        if sink.get("type") != "webhook" or not sink.get("url"):
            return
        job = self.store.get(_jobs_ns(ws, project), run["job_id"]) or {}
        for index, (ok, result) in enumerate(outcomes):
            payload = (job.get("payload") or [{}] * len(outcomes))[index]
            wanted = sink.get("apisToSend")
            if (wanted and payload.get("apiName") not in wanted) or \
                    (not ok and sink.get("skipOnFail")):
                continue
            body = {**_ids(ws, project, run), "apiInfo": {
                "name": payload.get("apiName"), "parameters": payload.get("parameters"),
                "runId": f"{run['id']}-{index}", "result": _api_result(ok, result)}}
            self._post("sink", sink, body)

    def _notify(self, ws: str, project: str, run: Record) -> None:
        """Call each notification webhook of the run's job: the run reached a terminal state."""
        snapshot = run.get("job_configuration_snapshot") or {}
        body = {**_ids(ws, project, run), "status": run["status"],
                "payloads": run["payloads"], "successful_runs": run["successful_runs"],
                "failed_runs": run["failed_runs"], "end_time": run["end_time"]}
        for target in snapshot.get("notifications") or []:
            if target.get("type") == "webhook" and target.get("url"):
                self._post("notification", target, body)

    def _post(self, purpose: str, target: Record, body: Record) -> None:
        if not self.may_call(target["url"]):
            return
        headers = {"content-type": "application/json",
                   **{k.lower(): str(v) for k, v in (target.get("headers") or {}).items()}}
        self.call_out(OutboundRequest("intuned", purpose, "POST", target["url"],
                                      WEBHOOK_TIMEOUT_SECONDS, headers, body),
                      lambda result: None)


def _outcome(policy: Record, index: int) -> tuple[bool, Any]:
    outcomes = policy.get("outcomes") or ["success"]
    results = policy.get("results") or []
    ok = outcomes[index % len(outcomes)] == "success"
    result = results[index % len(results)] if results else {"payload": index}
    return ok, result


def _api_result(ok: bool, result: Any) -> Record:
    if ok:
        return {"status": "completed", "result": result, "statusCode": 200}
    return {"status": "failed", "error": "ApiRunFailed",
            "message": str(result) if result is not None else "The API run failed",
            "statusCode": 500}


def _ids(ws: str, project: str, run: Record) -> Record:
    return {"workspaceId": ws, "project": {"id": run["project_id"], "name": project},
            "projectJob": {"id": run["job_id"]}, "projectJobRun": {"id": run["id"]}}


def _job_key(ws: str, project: str, job_id: str) -> str:
    return f"{ws}/{quote(project, safe='')}/{quote(job_id, safe='')}"


def _jobs_ns(ws: str, project: str) -> str:
    return f"intuned:jobs:{ws}:{quote(project, safe='')}"


def outcome_key(ws: str, project: str, job_id: str) -> str:
    return _job_key(ws, project, job_id)

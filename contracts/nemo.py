"""NVIDIA NeMo Platform Jobs v2 contract: a model of jobs per workspace, checked every step.

Rules: a created job reads back as created in its workspace; a name is unique within a
workspace (409) but free in another; the status-details PATCH shallow-merges into the job's
status details (read back through the status tree and the job), whatever the status; status
moves driven through the control action `set-status` follow the vendor's transition table;
cancel follows the docs (created → cancelled, running → cancelling, terminal unchanged);
only terminal jobs can be deleted (then 404); nothing of one workspace is reachable or
listed through another; pages cover every job once with the right totals.

Create bodies are narrowed: the full `CreatePlatformJobRequest` schema (open objects nested in
steps, environment `oneOf`s) costs ~0.3 s a value through hypothesis-jsonschema, so steps
come from the spec's create examples and only the leaf fields are generated from the spec.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, MultipleResults, initialize, multiple, rule

from contracts.client import Result
from contracts.stateful import ApiStateMachine, needs_control, suite_settings
from contracts.strategies import body_values, values
from mockserver.spec import load_spec

__all__ = ["StateMachine"]

SPEC = load_spec("nemo")
CREATE = "create-job-apis-jobs-v-2-workspaces-workspace-jobs-post"
LIST = "list-jobs-apis-jobs-v-2-workspaces-workspace-jobs-get"
GET = "get-job-apis-jobs-v-2-workspaces-workspace-jobs-name-get"
STATUS = "get-job-status-apis-jobs-v-2-workspaces-workspace-jobs-name-status-get"
PATCH = ("update-job-status-details-apis-jobs-v-2-workspaces-workspace-jobs-name-"
         "status-details-patch")
CANCEL = "cancel-job-apis-jobs-v-2-workspaces-workspace-jobs-name-cancel-post"
DELETE = "delete-job-apis-jobs-v-2-workspaces-workspace-jobs-name-delete"

# The vendor's status table (vendors.md §2 [N2]); same → same is always allowed.
STATUSES = ("created", "pending", "active", "cancelled", "cancelling", "error", "completed",
            "paused", "pausing", "resuming")
TERMINAL = frozenset({"completed", "error", "cancelled"})
MOVES: dict[str, frozenset[str]] = {
    "created": frozenset({"pending", "active", "cancelling", "cancelled", "pausing", "paused",
                          "error"}),
    "pending": frozenset({"active", "cancelling", "cancelled", "error", "pausing", "paused",
                          "completed"}),
    "active": frozenset({"completed", "error", "cancelling", "cancelled", "pausing", "paused"}),
    "paused": frozenset({"resuming", "active", "cancelling"}),
    "cancelling": frozenset({"cancelled", "error"}),
    "pausing": frozenset({"paused", "error"}),
    "resuming": frozenset({"pending", "active", "error", "cancelling"}),
}
# Fields of a create body that the job must echo as sent.
ECHOED = ("description", "project", "spec", "source", "ownership", "custom_fields",
          "output_location")
WORKSPACES = 2

Key = tuple[str, str]  # (workspace, name)


def _example_bodies() -> list[dict[str, Any]]:
    content = SPEC.operation(CREATE).raw["requestBody"]["content"]["application/json"]
    return [example["value"] for example in content["examples"].values()]


def _create_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Valid create bodies: example steps, spec-generated leaves (see the module doc)."""
    examples = _example_bodies()
    steps = [step for body in examples for step in body["platform_spec"]["steps"]]
    prop = "/components/schemas/CreatePlatformJobRequest/properties/"
    free_object = st.dictionaries(st.text(max_size=6),
                                  st.one_of(st.integers(), st.text(max_size=6), st.booleans()),
                                  max_size=3)
    platform_spec = st.lists(st.sampled_from(steps), min_size=1, max_size=3,
                             unique_by=lambda step: step["name"]).map(lambda s: {"steps": s})
    return st.fixed_dictionaries(
        {"spec": st.one_of(st.sampled_from([body["spec"] for body in examples]),
                           values(SPEC, prop + "spec")),
         "platform_spec": platform_spec,
         "source": values(SPEC, prop + "source")},
        optional={"description": values(SPEC, prop + "description"),
                  "project": values(SPEC, prop + "project"),
                  "output_location": values(SPEC, prop + "output_location"),
                  "custom_fields": st.one_of(st.none(), free_object),
                  "ownership": st.one_of(st.none(), free_object)})


_JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
# Patches over a few shared keys, so later patches overwrite earlier ones (the merge rule).
_KEYED_PATCH = st.dictionaries(
    st.sampled_from(["status", "progress", "message", "lastUpdated"]),
    st.one_of(_JSON_LEAF, st.dictionaries(st.sampled_from(["a", "b"]), _JSON_LEAF, max_size=2)),
    max_size=3)
PATCHES = st.one_of(_KEYED_PATCH, body_values(SPEC, PATCH))


class StateMachine(ApiStateMachine):
    """Model-based contract of the NeMo Platform Jobs API v2."""

    api = "nemo"
    jobs = Bundle("jobs")

    def __init__(self) -> None:
        super().__init__()
        self.workspaces = [self.unique("ws") for _ in range(WORKSPACES)]
        self.model: dict[Key, dict[str, Any]] = {}

    # -- create -------------------------------------------------------------------------------

    @initialize(target=jobs, bodies=st.lists(_create_bodies(), max_size=3))
    def seed_first_workspace(self, bodies: list[dict[str, Any]]) -> MultipleResults[Key]:
        """A few jobs up front, so lists run over several pages."""
        keys = [(self.workspaces[0], self.unique("job")) for _ in bodies]
        for key, body in zip(keys, bodies, strict=True):
            self._create(key, body, "nemo.created-reads-back")
        return multiple(*keys)

    @rule(target=jobs, ws=st.integers(0, WORKSPACES - 1), body=_create_bodies())
    def create_job(self, ws: int, body: dict[str, Any]) -> Key:
        key = (self.workspaces[ws], self.unique("job"))
        self._create(key, body, "nemo.created-reads-back")
        self._merge_probe(key)
        foreign = self.workspaces[(ws + 1) % WORKSPACES]
        if (foreign, key[1]) not in self.model:  # every new job is probed from another tenant
            result = self.client.call(GET, {"workspace": foreign, "name": key[1]})
            self.expect(result, 404, "nemo.no-cross-workspace-access",
                        f"job {key[1]!r} of workspace {key[0]!r} read through {foreign!r}")
        return key

    @rule(target=jobs, job=jobs, other=st.integers(1, WORKSPACES - 1), body=_create_bodies())
    def create_same_name(self, job: Key, other: int, body: dict[str, Any]) -> Key:
        """The name again in its workspace (409 while it exists), then in another one."""
        ws, name = job
        if job in self.model:
            result = self.client.call(CREATE, {"workspace": ws}, body={**body, "name": name})
            self.expect(result, 409, "nemo.duplicate-name-conflicts",
                        f"job {name!r} already exists in workspace {ws!r}")
            self._same_job(self.client.call(GET, {"workspace": ws, "name": name}), job,
                           "nemo.duplicate-name-conflicts")
        else:
            self._create(job, body, "nemo.deleted-name-is-free")
        index = (self.workspaces.index(ws) + other) % WORKSPACES
        elsewhere = (self.workspaces[index], name)
        if elsewhere in self.model:
            result = self.client.call(CREATE, {"workspace": elsewhere[0]},
                                      body={**body, "name": name})
            self.expect(result, 409, "nemo.duplicate-name-conflicts")
            return elsewhere
        self._create(elsewhere, body, "nemo.same-name-in-other-workspace-allowed")
        return elsewhere

    def _create(self, key: Key, body: dict[str, Any], rule_name: str) -> None:
        ws, name = key
        body = {**body, "name": name}
        result = self.client.call(CREATE, {"workspace": ws}, body=body)
        self.expect(result, 201, rule_name)
        created = result.body
        expected: dict[str, Any] = {k: body.get(k) for k in ECHOED}
        expected.update(name=name, workspace=ws, status="created", status_details={})
        for field, value in expected.items():
            self.check_equal(result, rule_name, created.get(field), value, field)
        self._same_steps(result, body["platform_spec"]["steps"], rule_name)
        self.model[key] = {**expected, "id": created["id"], "attempt_id": created["attempt_id"],
                           "steps": [step["name"] for step in body["platform_spec"]["steps"]]}
        self._same_job(self.client.call(GET, {"workspace": ws, "name": name}), key,
                       "nemo.created-reads-back")
        self._same_status(key, "nemo.created-reads-back")

    # -- read ---------------------------------------------------------------------------------

    @rule(job=jobs)
    def get_job_matches_model(self, job: Key) -> None:
        result = self.client.call(GET, {"workspace": job[0], "name": job[1]})
        if job not in self.model:
            self.expect(result, 404, "nemo.deleted-is-gone")
            return
        self._same_job(result, job, "nemo.get-job-matches-model")

    @rule(job=jobs)
    def status_tree_matches_model(self, job: Key) -> None:
        if job not in self.model:
            result = self.client.call(STATUS, {"workspace": job[0], "name": job[1]})
            self.expect(result, 404, "nemo.deleted-is-gone")
            return
        self._same_status(job, "nemo.status-tree-matches-model")

    # -- status details -----------------------------------------------------------------------

    @rule(job=jobs, patch=PATCHES)
    def status_details_shallow_merge(self, job: Key, patch: dict[str, Any]) -> None:
        ws, name = job
        result = self.client.call(PATCH, {"workspace": ws, "name": name}, body=patch)
        if job not in self.model:
            self.expect(result, 404, "nemo.deleted-is-gone")
            return
        rule_name = "nemo.status-details-shallow-merge"
        self.expect(result, 200, rule_name,
                    f"patching a {self.model[job]['status']} job (any status is accepted)")
        self.model[job]["status_details"] = {**self.model[job]["status_details"], **patch}
        self._same_status(job, rule_name)
        self._same_job(self.client.call(GET, {"workspace": ws, "name": name}), job, rule_name)

    def _merge_probe(self, job: Key) -> None:
        """Two patches with different keys on a new job: both keys must remain."""
        ws, name = job
        for patch in ({"probe_first": 1}, {"probe_second": 2}):
            result = self.client.call(PATCH, {"workspace": ws, "name": name}, body=patch)
            self.expect(result, 200, "nemo.status-details-shallow-merge")
            self.model[job]["status_details"] = {**self.model[job]["status_details"], **patch}
        self._same_status(job, "nemo.status-details-shallow-merge")

    # -- lifecycle ----------------------------------------------------------------------------

    @needs_control
    @rule(job=jobs, status=st.sampled_from(STATUSES))
    def set_status_follows_table(self, job: Key, status: str) -> None:
        if job not in self.model:
            return
        assert self.control is not None
        ws, name = job
        current = self.model[job]["status"]
        _, received = self.control.transport.send(
            "POST", "/apis/nemo/actions/set-status", None, {"Content-Type": "application/json"},
            json.dumps({"workspace": ws, "name": name, "status": status}).encode())
        legal = status == current or status in MOVES.get(current, frozenset())
        rule_name = "nemo.status-transitions-follow-table"
        if legal and received.status != 200:
            self.client.fail(GET, rule_name, f"the legal move {current} → {status} was refused "
                             f"with {received.status}: {received.text[:200]!r}")
        if not legal and received.status != 409:
            self.client.fail(GET, rule_name, f"the illegal move {current} → {status} was "
                             f"answered {received.status} instead of 409")
        if legal:
            self.model[job]["status"] = status
        self._same_job(self.client.call(GET, {"workspace": ws, "name": name}), job, rule_name)

    @rule(job=jobs)
    def cancel_follows_docs(self, job: Key) -> None:
        ws, name = job
        result = self.client.call(CANCEL, {"workspace": ws, "name": name})
        if job not in self.model:
            self.expect(result, 404, "nemo.deleted-is-gone")
            return
        rule_name = "nemo.cancel-follows-docs"
        current = self.model[job]["status"]
        if current == "pausing":
            # The docs move running steps to `cancelling`, but the table has no
            # pausing → cancelling: the service answers 409 (or returns the job unchanged).
            self.expect(result, {200, 409}, rule_name, "cancelling a pausing job")
        else:
            self.expect(result, 200, rule_name, f"cancelling a {current} job")
            if current == "created":
                self.model[job]["status"] = "cancelled"
            elif current not in TERMINAL:
                self.model[job]["status"] = "cancelling"
            self.check_equal(result, rule_name, result.body.get("status"),
                             self.model[job]["status"], f"status after cancelling a {current} job")
        self._same_job(self.client.call(GET, {"workspace": ws, "name": name}), job, rule_name)

    @rule(job=jobs)
    def delete_only_terminal(self, job: Key) -> None:
        ws, name = job
        result = self.client.call(DELETE, {"workspace": ws, "name": name})
        if job not in self.model:
            self.expect(result, 404, "nemo.deleted-is-gone")
            return
        rule_name = "nemo.delete-only-terminal"
        status = self.model[job]["status"]
        if status not in TERMINAL:
            self.expect(result, 409, rule_name, f"deleting a {status} job")
            self._same_job(self.client.call(GET, {"workspace": ws, "name": name}), job,
                           rule_name)
            return
        self.expect(result, 204, rule_name, f"deleting a {status} job")
        del self.model[job]
        for op in (GET, STATUS):
            self.expect(self.client.call(op, {"workspace": ws, "name": name}), 404,
                        "nemo.deleted-is-gone")

    # -- tenancy ------------------------------------------------------------------------------

    @rule(job=jobs, other=st.integers(1, WORKSPACES - 1),
          op=st.sampled_from([GET, STATUS, PATCH, CANCEL, DELETE]))
    def no_cross_workspace_access(self, job: Key, other: int, op: str) -> None:
        ws, name = job
        foreign = self.workspaces[(self.workspaces.index(ws) + other) % WORKSPACES]
        if (foreign, name) in self.model:
            return  # the same name exists there: a different job, checked by other rules
        path = {"workspace": foreign, "name": name}
        result = (self.client.call(op, path, body={"leak": self.unique("probe")}) if op == PATCH
                  else self.client.call(op, path))
        self.expect(result, 404, "nemo.no-cross-workspace-access",
                    f"job {name!r} of workspace {ws!r} reached through workspace {foreign!r}")
        if job in self.model:
            self._same_job(self.client.call(GET, {"workspace": ws, "name": name}), job,
                           "nemo.no-cross-workspace-access")

    # -- list ---------------------------------------------------------------------------------

    @rule(ws=st.integers(0, WORKSPACES - 1), page_size=st.integers(1, 3),
          sort=st.sampled_from(["-created_at", "created_at", "updated_at", "-updated_at"]))
    def list_pages_cover_every_job(self, ws: int, page_size: int, sort: str) -> None:
        workspace = self.workspaces[ws]
        mine = {key[1]: job for key, job in self.model.items() if key[0] == workspace}
        foreign = {job["id"] for key, job in self.model.items() if key[0] != workspace}
        seen: list[str] = []
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            result = self.client.call(LIST, {"workspace": workspace},
                                      query={"page": page, "page_size": page_size,
                                             "sort": sort})
            self.expect(result, 200, "nemo.list-jobs")
            pagination, data = result.body["pagination"], result.body["data"]
            total = pagination["total_results"]
            self._same_pagination(result, page, page_size, len(data), total)
            for item in data:
                if item.get("workspace") != workspace or item.get("id") in foreign:
                    self.client.fail(LIST, "nemo.list-never-shows-other-workspaces",
                                     f"job {item.get('name')!r} ({item.get('id')}) of workspace "
                                     f"{item.get('workspace')!r} listed in {workspace!r}")
            seen += [item["name"] for item in data]
            items += data
            if page * page_size >= total or not data or page > 60:
                break
            page += 1
        rule_name = "nemo.pages-cover-every-job-once"
        if len(seen) != len(set(seen)):
            self.client.fail(LIST, rule_name, f"a job was listed twice over the pages: {seen}")
        if self.isolated:
            self.check_equal(result, "nemo.list-counts-every-job", total, len(mine),
                             "total_results")
            self.check_equal(result, rule_name, sorted(seen), sorted(mine), "names over all pages")
        else:
            missing = sorted(set(mine) - set(seen))
            if missing:
                self.client.fail(LIST, rule_name, f"jobs never listed: {missing}")
        for item in items:
            known = mine.get(item["name"])
            if known is not None:
                for field in ("id", "status", "status_details"):
                    self.check_equal(result, "nemo.list-items-match-model", item.get(field),
                                     known[field], f"{item['name']}.{field}")
        field = sort.lstrip("-")
        moments = [datetime.fromisoformat(item[field].replace("Z", "+00:00")) for item in items]
        if moments != sorted(moments, reverse=sort.startswith("-")):
            self.client.fail(LIST, "nemo.list-sorted", f"pages are not sorted by {sort}")

    # -- helpers ------------------------------------------------------------------------------

    def _same_pagination(self, result: Result, page: int, page_size: int, count: int,
                         total: int) -> None:
        pagination = result.body["pagination"]
        rule_name = "nemo.pagination-is-consistent"
        expected = {"page": page, "page_size": page_size, "current_page_size": count,
                    "total_pages": max(1, math.ceil(total / page_size))}
        for field, value in expected.items():
            self.check_equal(result, rule_name, pagination.get(field), value, field)
        wanted = min(page_size, max(0, total - (page - 1) * page_size))
        self.check_equal(result, rule_name, count, wanted, "jobs on the page")

    def _same_job(self, result: Result, key: Key, rule_name: str) -> None:
        self.expect(result, 200, rule_name)
        job = self.model[key]
        for field in (*ECHOED, "id", "attempt_id", "name", "workspace", "status",
                      "status_details"):
            self.check_equal(result, rule_name, result.body.get(field), job[field], field)
        names = [step.get("name") for step in result.body["platform_spec"]["steps"]]
        self.check_equal(result, rule_name, names, job["steps"], "platform_spec step names")

    def _same_status(self, key: Key, rule_name: str) -> None:
        result = self.client.call(STATUS, {"workspace": key[0], "name": key[1]})
        self.expect(result, 200, rule_name)
        job = self.model[key]
        for field in ("id", "name", "status", "status_details"):
            self.check_equal(result, rule_name, result.body.get(field), job[field],
                             f"status.{field}")
        names = [step.get("name") for step in result.body["steps"]]
        self.check_equal(result, rule_name, sorted(names), sorted(job["steps"]),
                         "status.steps names")

    def _same_steps(self, result: Result, sent: list[dict[str, Any]], rule_name: str) -> None:
        """Each step reads back with every field it was sent (defaults may fill the rest)."""
        got = result.body["platform_spec"]["steps"]
        self.check_equal(result, rule_name, len(got), len(sent), "number of steps")
        for mine, theirs in zip(sent, got, strict=False):
            for field, value in mine.items():
                if field == "executor":
                    for part, setting in value.items():
                        self.check_equal(result, rule_name, theirs.get(field, {}).get(part),
                                         setting, f"step {mine['name']} executor.{part}")
                else:
                    self.check_equal(result, rule_name, theirs.get(field), value,
                                     f"step {mine['name']} {field}")


StateMachine.TestCase.settings = suite_settings()

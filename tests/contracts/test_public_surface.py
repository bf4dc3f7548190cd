"""The public names of both packages exist and are exported."""

from __future__ import annotations

import contracts
import mockserver


def test_contracts_exports_exist() -> None:
    assert all(hasattr(contracts, name) for name in contracts.__all__)
    assert issubclass(contracts.ContractFailure, AssertionError)


def test_mockserver_exports_exist() -> None:
    assert all(hasattr(mockserver, name) for name in mockserver.__all__)


def test_a_user_check_runs_on_every_response() -> None:
    seen: list[int] = []

    @contracts.check
    def record_status(ctx: contracts.CheckContext) -> None:
        seen.append(ctx.response.status)

    try:
        client = contracts.local_target("nimble").client()
        client.call("list_jobs_v1_jobs_get")
    finally:
        del contracts.CHECKS["record_status"]
    assert seen == [200]


def test_a_user_check_failure_names_its_rule() -> None:
    @contracts.check
    def demand_request_id(ctx: contracts.CheckContext) -> None:
        if "x-request-id" not in ctx.response.headers:
            ctx.fail("has-request-id", "no x-request-id header")

    try:
        client = contracts.local_target("nimble").client()
        try:
            client.call("list_jobs_v1_jobs_get")
        except contracts.ContractFailure as failure:
            assert failure.rule == "has-request-id"
            assert failure.reproduction[0].startswith("curl -sS -X GET")
        else:
            raise AssertionError("the check did not fail")
    finally:
        del contracts.CHECKS["demand_request_id"]

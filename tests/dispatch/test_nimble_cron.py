"""Nimble: an enabled cron schedule starts runs as the virtual clock passes its matches."""

from __future__ import annotations

from typing import Any

import requests

AUTH = {"Authorization": "Bearer jobmock"}


def _runs(base: str, job_id: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{base}/v1/jobs/{job_id}/runs", headers=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    runs: list[dict[str, Any]] = answer.json()["items"]
    return runs


def test_cron_schedule_fires_under_the_virtual_clock(jobmock: Any) -> None:
    base = jobmock.base_url("nimble")
    job = requests.post(f"{base}/v1/jobs", headers=AUTH, timeout=10, json={
        "name": "hourly", "agent_name": "a", "schedule": {"cron": "0 * * * *",
                                                          "enabled": True}}).json()
    jobmock.advance(3599)
    assert _runs(base, job["id"]) == []
    jobmock.advance(1)
    (run,) = _runs(base, job["id"])
    assert (run["status"], run["triggered_by"]) == ("PENDING", "schedule")  # frozen: it waits
    assert run["created_at"].startswith("2026-01-01T01:00:00")
    jobmock.advance(2 * 3600)
    assert [r["created_at"][:19] for r in _runs(base, job["id"])] == [
        "2026-01-01T03:00:00", "2026-01-01T02:00:00", "2026-01-01T01:00:00"]
    read = requests.get(f"{base}/v1/jobs/{job['id']}", headers=AUTH, timeout=10).json()
    assert read["last_run_at"].startswith("2026-01-01T03:00:00")


def test_disabling_or_changing_the_schedule_takes_effect(jobmock: Any) -> None:
    base = jobmock.base_url("nimble")
    job = requests.post(f"{base}/v1/jobs", headers=AUTH, timeout=10, json={
        "name": "n", "agent_name": "a", "schedule": {"cron": "*/10 * * * *",
                                                     "enabled": True}}).json()
    jobmock.advance(600)
    assert len(_runs(base, job["id"])) == 1
    patch = requests.patch(f"{base}/v1/jobs/{job['id']}", headers=AUTH, timeout=10,
                           json={"schedule": {"cron": "0 0 * * *", "enabled": True}})
    assert patch.status_code == 200
    jobmock.advance(3600)
    assert len(_runs(base, job["id"])) == 1     # the old every-10-minutes timer is gone
    requests.patch(f"{base}/v1/jobs/{job['id']}", headers=AUTH, timeout=10,
                   json={"schedule": {"cron": "0 0 * * *", "enabled": False}})
    jobmock.advance(2 * 86400)
    assert len(_runs(base, job["id"])) == 1


def test_same_seed_and_requests_give_the_same_firings(jobmock: Any) -> None:
    def scenario() -> list[tuple[str, str]]:
        jobmock.control("POST", "/reset")
        base = jobmock.base_url("nimble")
        for name, cron in (("a", "*/7 * * * *"), ("b", "*/5 * * * *")):
            requests.post(f"{base}/v1/jobs", headers=AUTH, timeout=10, json={
                "name": name, "agent_name": "x", "schedule": {"cron": cron, "enabled": True}})
        jobmock.advance(3600)
        runs = _runs(base, "job_1") + _runs(base, "job_2")
        return sorted((r["id"], r["created_at"]) for r in runs)

    first = scenario()
    assert len(first) == 9 + 12          # 00:07..00:56 and 00:05..00:55, both at 01:00
    assert scenario() == first

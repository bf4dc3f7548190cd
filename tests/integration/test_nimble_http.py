"""Nimble over real HTTP: create a job, call the seed PATCH, read the effect back; then trigger a
run, drive it through the control API and read it back as a client would."""

from __future__ import annotations

from collections.abc import Callable

import requests

from mockserver.server import ServerThread

AUTH = {"Authorization": "Bearer jobmock"}


def test_seed_patch_flow_over_http(live_server: Callable[..., ServerThread]) -> None:
    server = live_server(apis=("nimble",))
    jobs = f"{server.url}/nimble/v1/jobs"
    with requests.Session() as http:
        http.headers.update(AUTH)
        created = http.post(jobs, json={"name": "daily-product-prices",
                                        "agent_name": "amazon_product_page",
                                        "description": "old"}, timeout=10)
        assert created.status_code == 201
        job = created.json()
        assert job["id"] == "job_1"

        patch = {"display_name": "Daily product prices", "description": None,
                 "schedule": {"cron": "0 6 * * *", "enabled": True},
                 "destination": {"path": "s3://acme-results/prices/", "format": "parquet"}}
        updated = http.patch(f"{jobs}/job_1", json=patch, timeout=10)
        assert updated.status_code == 200
        assert updated.json() == {**job, **patch, "updated_at": updated.json()["updated_at"]}
        assert updated.json()["updated_at"] > job["updated_at"]
        assert http.get(f"{jobs}/job_1", timeout=10).json() == updated.json()

        run = http.post(f"{jobs}/job_1/runs", timeout=10).json()
        assert (run["id"], run["status"], run["triggered_by"]) == ("run_1", "PENDING", "manual")
        for status in ("RUNNING", "SUCCESS"):
            moved = http.post(f"{server.url}/__jobmock/apis/nimble/actions/set-run-status",
                              json={"run_id": "run_1", "status": status}, timeout=10)
            assert moved.status_code == 200
        detail = http.get(f"{jobs}/runs/run_1", timeout=10).json()
        assert detail["status"] == "SUCCESS"
        assert run["created_at"] < detail["started_at"] < detail["finished_at"]
        final = http.get(f"{jobs}/job_1", timeout=10).json()
        assert (final["last_run_at"], final["last_run_status"]) == (run["created_at"], "SUCCESS")
        listed = http.get(f"{jobs}/job_1/runs", params={"status": "SUCCESS"}, timeout=10).json()
        assert (listed["total"], listed["items"][0]["id"]) == (1, "run_1")

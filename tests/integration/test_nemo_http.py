"""NeMo Jobs v2 over real HTTP: create a job, merge status details (the seed), read them back."""

from __future__ import annotations

from collections.abc import Callable

import requests

from mockserver.server import ServerThread


def test_seed_flow_over_http(live_server: Callable[..., ServerThread]) -> None:
    server = live_server(apis=("nemo",))
    jobs = f"{server.url}/nemo/apis/jobs/v2/workspaces/default/jobs"
    body = {"name": "eval-llama", "spec": {"model": "m"}, "source": "nemo-evaluator",
            "platform_spec": {"steps": [{"name": "evaluate",
                                         "executor": {"provider": "gpu"}}]}}
    created = requests.post(jobs, json=body, timeout=5)
    assert created.status_code == 201 and created.json()["status"] == "created"

    seed = {"status": "running", "progress": 45,
            "message": "Job is currently processing data batch 3 of 10",
            "lastUpdated": "2024-06-10T15:22:30Z"}
    patched = requests.patch(f"{jobs}/eval-llama/status-details", json=seed, timeout=5)
    assert patched.status_code == 200 and patched.json() is None
    patched = requests.patch(f"{jobs}/eval-llama/status-details", json={"progress": 80},
                             timeout=5)
    assert patched.status_code == 200

    status = requests.get(f"{jobs}/eval-llama/status", timeout=5).json()
    assert status["status_details"] == {**seed, "progress": 80}
    job = requests.get(f"{jobs}/eval-llama", timeout=5).json()
    assert job["status_details"] == {**seed, "progress": 80}
    assert job["updated_at"] == job["created_at"]  # the real service updates only the attempt

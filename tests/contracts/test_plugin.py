"""The pytest plugin, as a user's project sees it (pytester runs a separate pytest)."""

from __future__ import annotations

import pytest

USER_TESTS = '''
import requests
from contracts.nimble import StateMachine
from hypothesis import settings

TestNimble = StateMachine.TestCase
TestNimble.settings = settings(TestNimble.settings, max_examples=3)


def test_fixture_gives_base_urls_and_control(jobmock):
    base = jobmock.base_url("nimble")
    auth = {"Authorization": "Bearer jobmock"}
    job = requests.post(f"{base}/v1/jobs", json={"name": "n", "agent_name": "a"},
                        headers=auth, timeout=10).json()
    run = requests.post(f"{base}/v1/jobs/{job['id']}/runs", headers=auth, timeout=10).json()
    moved = jobmock.action("nimble", "set-run-status", run_id=run["id"], status="RUNNING")
    assert moved["status"] == "RUNNING"
    assert [e["status"] for e in jobmock.journal("nimble")] == [201, 201]


def test_each_test_starts_from_a_reset_mock(jobmock):
    listed = requests.get(f"{jobmock.base_url('nimble')}/v1/jobs",
                          headers={"Authorization": "Bearer jobmock"}, timeout=10).json()
    assert listed["total"] == 0
'''

BROKEN_SERVER = '''
from mockserver.app import runtime_of


def test_server_side_errors_are_reraised(jobmock, jobmock_server):
    import requests

    def crash(request):
        raise ZeroDivisionError("inside the server thread")

    api = runtime_of(jobmock_server.app).apis["nimble"]
    original = api.handlers["list_jobs_v1_jobs_get"]
    api.handlers["list_jobs_v1_jobs_get"] = crash
    try:
        requests.get(f"{jobmock.base_url('nimble')}/v1/jobs",
                     headers={"Authorization": "Bearer jobmock"}, timeout=10)
    finally:
        api.handlers["list_jobs_v1_jobs_get"] = original
'''


def test_a_user_project_runs_a_suite_as_its_own_test_class(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_errors_in_the_server_thread_fail_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken=BROKEN_SERVER)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ZeroDivisionError: inside the server thread*"])


def test_options_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*jobmock contract suites*", "*--jobmock-base-url*"])

"""Auth cannot be bypassed: every protected operation of every API refuses missing, malformed,
expired-format and wrong credentials with the vendor's 401; BullMQ job tokens are scoped to
their own job while it is active; every credential is compared with `hmac.compare_digest`.

The server runs with non-default secrets, so the defaults (`jobmock`) are wrong credentials too.
"""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient

from mockserver.spec import API_NAMES, Operation, load_spec
from tests.security.conftest import WS

TOKEN, API_KEY, USER, PASSWORD = "t0ken-s3cret", "k3y-s3cret", "admin", "pa55-s3cret"
JWT_SECRET = "jwt-signing-secret-of-enough-length!"
SECRETS = {"token": TOKEN, "api_key": API_KEY, "basic_user": USER, "basic_password": PASSWORD,
           "jwt_secret": JWT_SECRET, "auth_tokens": (TOKEN,), "nemo_auth": True}
SAMPLES = {"jobId": "1", "workspaceId": WS, "queueName": "queue-a", "scheduleId": WS,
           "runId": WS, "jobRunId": "run-1", "projectName": "proj", "workspace": "default",
           "name": "job-1", "job_id": "job_1", "run_id": "run_1"}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _jwt(secret: str, expires_in: int, **extra: Any) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "x", "iat": now, "exp": now + expires_in, **extra}, secret,
                      algorithm="HS256")


def _unsigned_jwt() -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    claims = base64.urlsafe_b64encode(b'{"sub":"x","exp":9999999999}').rstrip(b"=").decode()
    return f"{header}.{claims}."


BEARER_WRONG = {
    "missing": {},
    "empty bearer": {"Authorization": "Bearer "},
    "scheme only": {"Authorization": "Bearer"},
    "wrong scheme": {"Authorization": f"Token {TOKEN}"},
    "basic instead of bearer": {"Authorization": _basic(USER, PASSWORD)},
    "default secret": {"Authorization": "Bearer jobmock"},
    "wrong token": {"Authorization": f"Bearer {TOKEN}x"},
    "prefix of the token": {"Authorization": f"Bearer {TOKEN[:-1]}"},
    "expired-format JWT": {"Authorization": f"Bearer {_jwt(TOKEN, -60)}"},
    "token in x-api-key": {"x-api-key": TOKEN},
}
WRONG: dict[str, dict[str, dict[str, str]]] = {
    "sap": {
        "missing": {},
        "malformed basic": {"Authorization": "Basic !!!not-base64"},
        "basic without colon": {"Authorization": "Basic " + base64.b64encode(b"admin").decode()},
        "wrong password": {"Authorization": _basic(USER, "wrong")},
        "wrong user": {"Authorization": _basic("jobmock", PASSWORD)},
        "default credentials": {"Authorization": _basic("jobmock", "jobmock")},
        "empty bearer": {"Authorization": "Bearer "},
        "not a JWT": {"Authorization": f"Bearer {TOKEN}"},
        "expired JWT": {"Authorization": f"Bearer {_jwt(JWT_SECRET, -60)}"},
        "JWT signed with another secret": {"Authorization": f"Bearer {_jwt('other' * 8, 600)}"},
        "JWT with alg none": {"Authorization": f"Bearer {_unsigned_jwt()}"},
        "JWT without exp": {"Authorization": "Bearer " + jwt.encode(
            {"sub": "x"}, JWT_SECRET, algorithm="HS256")},
        "unsupported scheme": {"Authorization": "Digest username=admin"},
    },
    "nemo": BEARER_WRONG,
    "bullmq": BEARER_WRONG,
    "nimble": BEARER_WRONG,
    "intuned": {
        "missing": {},
        "empty key": {"x-api-key": ""},
        "default key": {"x-api-key": "jobmock"},
        "wrong key": {"x-api-key": API_KEY + "x"},
        "prefix of the key": {"x-api-key": API_KEY[:-1]},
        "key as bearer": {"Authorization": f"Bearer {API_KEY}"},
        "key in another header": {"api-key": API_KEY},
    },
}
RIGHT = {"sap": [{"Authorization": _basic(USER, PASSWORD)},
                 {"Authorization": f"Bearer {_jwt(JWT_SECRET, 600)}"}],
         "nemo": [{"Authorization": f"Bearer {TOKEN}"}],
         "bullmq": [{"Authorization": f"Bearer {TOKEN}"}],
         "intuned": [{"x-api-key": API_KEY}],
         "nimble": [{"Authorization": f"Bearer {TOKEN}"}]}


def _protected() -> Iterator[Any]:
    for api in API_NAMES:
        for op in load_spec(api).operations:
            if op.security and "jobToken" not in {n for req in op.security for n in req}:
                yield pytest.param(api, op, id=f"{api}-{op.operation_id[:40]}")


def _path(api: str, op: Operation) -> str:
    path = op.path
    for param in op.parameters:
        if param.location == "path":
            path = path.replace("{" + param.name + "}", SAMPLES.get(param.name, "x1"))
    return f"/{api}{path}"


def _call(client: FlaskClient, api: str, op: Operation, headers: dict[str, str]) -> Any:
    body = {"data": b"{}", "content_type": "application/json"} if op.body else {}
    return client.open(_path(api, op), method=op.method, headers=headers, **body)


def _assert_vendor_401(api: str, case: str, response: Any, sent: dict[str, str]) -> None:
    assert response.status_code == 401, (api, case, response.status_code, response.data[:200])
    text = response.get_data(as_text=True)
    if api == "bullmq":
        assert text == "Unauthorized"
    elif api in ("nemo", "nimble"):
        assert isinstance(response.json["detail"], str)
    elif api == "sap":
        assert response.json["code"] == 401 and response.json["type"] == "Unauthorized"
    else:
        assert response.json["code"] == "unauthorized"
    for secret in (TOKEN, API_KEY, PASSWORD, JWT_SECRET, *sent.values()):
        if len(secret) > 8:  # no credential, right or wrong, is echoed
            assert secret not in text, (secret, text)


@pytest.fixture
def client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client(**SECRETS)


@pytest.mark.parametrize(("api", "op"), _protected())
def test_every_protected_operation_refuses_bad_credentials(
        client: FlaskClient, api: str, op: Operation) -> None:
    for case, headers in WRONG[api].items():
        _assert_vendor_401(api, case, _call(client, api, op, headers), headers)
    for headers in RIGHT[api]:  # the right credentials get past auth (any other answer)
        assert _call(client, api, op, headers).status_code != 401


def test_nemo_without_auth_accepts_anything_as_the_real_service(
        make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nemo")
    response = client.get("/nemo/apis/jobs/v2/workspaces/default/jobs",
                          headers={"Authorization": "Bearer whatever"})
    assert response.status_code == 200


# -- BullMQ job tokens ----------------------------------------------------------------------


def _bullmq(client: FlaskClient) -> Callable[..., Any]:
    def call(method: str, path: str, token: str = TOKEN, **kwargs: Any) -> Any:
        return client.open(f"/bullmq{path}", method=method,
                           headers={"Authorization": f"Bearer {token}"}, **kwargs)

    return call


def _take(client: FlaskClient, queue: str) -> dict[str, Any]:
    response = client.post("/__jobmock/apis/bullmq/actions/take-next", json={"queue": queue})
    assert response.status_code == 200, response.data
    taken: dict[str, Any] = response.json
    return taken


def test_bullmq_job_token_works_only_for_its_own_job_while_active(client: FlaskClient) -> None:
    call = _bullmq(client)
    for queue in ("queue-a", "queue-b"):
        added = call("POST", f"/queues/{queue}/jobs", json=[{"name": "a", "data": {}},
                                                             {"name": "b", "data": {}}])
        assert added.status_code == 200, added.data
    taken = _take(client, "queue-a")
    job_id, lock = taken["job"]["id"], taken["token"]
    other = "2" if job_id == "1" else "1"
    progress = {"json": 50}

    assert call("POST", f"/queues/queue-a/jobs/{job_id}/progress", lock, **progress
                ).status_code == 200
    assert call("POST", f"/queues/queue-a/jobs/{job_id}/logs", lock, json="line"
                ).status_code == 200
    refused = [
        call("POST", f"/queues/queue-a/jobs/{other}/progress", lock, **progress),  # other job
        call("POST", f"/queues/queue-b/jobs/{job_id}/progress", lock, **progress),  # same id,
        call("POST", f"/queues/queue-b/jobs/{job_id}/logs", lock, json="x"),        # other queue
        call("POST", f"/queues/queue-a/jobs/{job_id}/progress", TOKEN, **progress),  # static
        call("POST", f"/queues/queue-a/jobs/{job_id}/progress", lock[:-1], **progress),
        call("POST", f"/queues/queue-a/jobs/{job_id}/progress", "", **progress),
    ]
    assert [r.status_code for r in refused] == [401] * len(refused)
    assert all(r.get_data(as_text=True) == "Unauthorized" for r in refused)
    done = client.post("/__jobmock/apis/bullmq/actions/complete",
                       json={"queue": "queue-a", "job_id": job_id})
    assert done.status_code == 200
    after = call("POST", f"/queues/queue-a/jobs/{job_id}/progress", lock, **progress)
    assert after.status_code == 401  # the lock is released once the job finished
    job_b = call("GET", f"/queues/queue-b/jobs/{job_id}").json
    assert job_b["progress"] == 0  # nothing leaked into the other queue's job


def test_bullmq_with_no_auth_tokens_refuses_every_token(
        make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("bullmq", auth_tokens=())
    for token in ("jobmock", "", "x"):
        response = client.get("/bullmq/queues/queue-a/jobs",
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


# -- constant-time comparison ----------------------------------------------------------------


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """Every `hmac.compare_digest` call made while the test runs (the comparison still runs)."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


CONSTANT_TIME_CASES = {
    "sap basic": ("sap", "/sap/scheduler/jobs", {"Authorization": _basic(USER, "guess")},
                  (b"guess", PASSWORD.encode())),
    "sap jwt": ("sap", "/sap/scheduler/jobs",
                {"Authorization": f"Bearer {_jwt('wrong-secret-of-some-length!!!!!', 60)}"},
                None),
    "nemo": ("nemo", "/nemo/apis/jobs/v2/workspaces/default/jobs",
             {"Authorization": "Bearer guess"}, (b"guess", TOKEN.encode())),
    "bullmq": ("bullmq", "/bullmq/queues/queue-a/jobs", {"Authorization": "Bearer guess"},
               (b"guess", TOKEN.encode())),
    "intuned": ("intuned", f"/intuned/{WS}/projects/p/jobs", {"x-api-key": "guess"},
                (b"guess", API_KEY.encode())),
    "nimble": ("nimble", "/nimble/v1/jobs", {"Authorization": "Bearer guess"},
               (b"guess", TOKEN.encode())),
}


@pytest.mark.parametrize("case", list(CONSTANT_TIME_CASES))
def test_credentials_are_compared_in_constant_time(
        client: FlaskClient, compared: list[tuple[bytes, bytes]], case: str) -> None:
    _, path, headers, expected_call = CONSTANT_TIME_CASES[case]
    assert client.get(path, headers=headers).status_code == 401
    assert compared, f"{case}: no hmac.compare_digest call"
    if expected_call is not None:
        assert expected_call in compared, compared
    # (SAP's JWT: PyJWT checks the HS256 signature with hmac.compare_digest.)


def test_control_token_is_compared_in_constant_time(
        make_client: Callable[..., FlaskClient], compared: list[tuple[bytes, bytes]]) -> None:
    client = make_client(control_token="ctl-s3cret")
    response = client.get("/__jobmock/health", headers={"x-jobmock-control-token": "guess"})
    assert response.status_code == 401
    assert (b"guess", b"ctl-s3cret") in compared


def test_bullmq_job_token_is_compared_in_constant_time(
        client: FlaskClient, compared: list[tuple[bytes, bytes]]) -> None:
    _bullmq(client)("POST", "/queues/queue-a/jobs", json=[{"name": "a", "data": {}}])
    lock = _take(client, "queue-a")["token"]
    compared.clear()
    response = _bullmq(client)("POST", "/queues/queue-a/jobs/1/progress", "guess", json=1)
    assert response.status_code == 401
    assert (b"guess", lock.encode()) in compared

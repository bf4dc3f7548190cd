"""The `jobmock` command through click's CliRunner, and `serve` as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jwt
import requests
from click.testing import CliRunner

from mockserver.cli import main


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_specs_lists_every_api_and_operation() -> None:
    code, output = run("specs")
    assert code == 0
    for name in ("sap", "nemo", "bullmq", "intuned", "nimble"):
        assert f"\n{name}  " in f"\n{output}"
    assert "PATCH  /v1/jobs/{job_id}  update_job_v1_jobs__job_id__patch [seed]" in output
    assert "<- " in output


def test_specs_show_prints_the_document() -> None:
    code, output = run("specs", "show", "nimble")
    assert code == 0 and "\nopenapi: 3.1.0\n" in output
    assert "update_job_v1_jobs__job_id__patch" in output


def test_specs_show_unknown_name_is_a_usage_error() -> None:
    code, output = run("specs", "show", "acme")
    assert code == 2 and "'acme' is not one of" in output


def test_specs_check_accepts_a_good_file(tmp_path: Path) -> None:
    code, output = run("specs", "check", str(Path("specs/nimble.yaml").resolve()))
    assert code == 0 and "ok, OpenAPI 3.1, 18 operations" in output


def test_specs_check_reports_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.1.0\ninfo: {title: t}\npaths: {}\n", encoding="utf-8")
    code, output = run("specs", "check", str(broken))
    assert code == 1
    assert f"Invalid spec {broken}" in output and "version" in output


def test_token_sap_is_a_jwt_signed_with_the_secret() -> None:
    code, output = run("token", "sap", "--valid-for", "600", "--secret", "s3")
    assert code == 0
    claims = jwt.decode(output.strip(), "s3", algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 600


def test_serve_rejects_a_bad_mount() -> None:
    code, output = run("serve", "--mount", "nimble")
    assert code == 2 and "NAME=/prefix" in output


def test_serve_prints_one_line_per_api_and_answers() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--api", "nimble",
         "--api", "intuned"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("nimble   http://127.0.0.1:")
        assert "accepts bearer jobmock" in lines[0]
        assert "x-api-key: jobmock" in lines[1]
        base = lines[0].split()[1]
        response = requests.get(f"{base}/v1/jobs", headers={"Authorization": "Bearer jobmock"},
                                timeout=10)
        assert response.json()["total"] == 0
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()

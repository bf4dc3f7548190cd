"""Run inside a fresh network namespace (see test_control_api.py): bind `jobmock serve` to a
non-loopback address that exists only in that namespace, and report what happened as JSON.

    python netns_probe.py ADDRESS

1. `jobmock serve --host ADDRESS` without a control token: must refuse to start.
2. With `--control-token`: starts; the control API refuses requests without the token and
   answers those with it; the mocked APIs answer as usual.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import requests

TOKEN = "netns-control-token"


def _serve(address: str, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "JOBMOCK_CONTROL_TOKEN"}
    return subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--host", address,
                             "--port", "0", "--api", "nimble", *extra], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _base_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()  # "nimble   http://ADDRESS:PORT/nimble  accepts ..."
    return line.split()[1].rsplit("/", 1)[0]


def main(address: str) -> dict[str, object]:
    refused = _serve(address)
    output, _ = refused.communicate(timeout=60)
    report: dict[str, object] = {"without_token_exit": refused.returncode,
                                 "without_token_output": output.strip()[-400:]}
    served = _serve(address, "--control-token", TOKEN)
    try:
        base = _base_url(served)
        time.sleep(0.2)
        control = f"{base}/__jobmock"
        report.update(
            base_url=base,
            health_without_token=requests.get(f"{control}/health", timeout=5).status_code,
            reset_without_token=requests.post(f"{control}/reset", timeout=5).status_code,
            state_wrong_token=requests.get(f"{control}/state", timeout=5, headers={
                "Authorization": "Bearer wrong"}).status_code,
            health_with_bearer=requests.get(f"{control}/health", timeout=5, headers={
                "Authorization": f"Bearer {TOKEN}"}).status_code,
            state_with_header=requests.get(f"{control}/state", timeout=5, headers={
                "x-jobmock-control-token": TOKEN}).status_code,
            api_call=requests.get(f"{base}/nimble/v1/jobs", timeout=5, headers={
                "Authorization": "Bearer jobmock"}).status_code,
        )
    finally:
        served.terminate()
        served.wait(timeout=10)
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))

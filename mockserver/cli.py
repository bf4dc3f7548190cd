"""The `jobmock` command: `serve`, `specs`, `token`, `test`. A thin layer over the library."""

from __future__ import annotations

import sys
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import click
import yaml

from mockserver.config import Config
from mockserver.errors import JobmockError, SpecError
from mockserver.spec import API_NAMES, load_spec, spec_path

__all__ = ["main"]

_API_CHOICE = click.Choice(API_NAMES)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jobmock")
def main() -> None:
    """jobmock: a stateful mock and contract tests for five vendors' job APIs."""


# -- specs ------------------------------------------------------------------------------------


@main.group(invoke_without_command=True)
@click.pass_context
def specs(ctx: click.Context) -> None:
    """List the APIs and their operations (method, path, operationId, source)."""
    if ctx.invoked_subcommand is not None:
        return
    for name in API_NAMES:
        spec = load_spec(name)
        click.echo(f"{name}  {spec.title}  ({len(spec.operations)} operations)")
        for op in spec.operations:
            seed = " [seed]" if op.seed else ""
            click.echo(f"  {op.method:<6} {op.path}  {op.operation_id}{seed}  <- {op.source}")


@specs.command("show")
@click.argument("name", type=_API_CHOICE)
def specs_show(name: str) -> None:
    """Print the spec document of API NAME."""
    click.echo(spec_path(name).read_text(encoding="utf-8"), nl=False)


@specs.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def specs_check(path: Path) -> None:
    """Validate a spec file; print the problem and exit 1 if it is broken."""
    try:
        spec = load_spec(path)
    except SpecError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    click.echo(f"{path}: ok, OpenAPI 3.1, {len(spec.operations)} operations")


# -- token ------------------------------------------------------------------------------------


@main.command("token")
@click.argument("name", type=click.Choice(["sap"]))
@click.option("--valid-for", default=3600, show_default=True, type=click.IntRange(1),
              help="Seconds until the token expires.")
@click.option("--secret", envvar="JOBMOCK_JWT_SECRET", default="jobmock", show_default=True,
              help="HS256 signing secret; must match the server's.")
def token(name: str, valid_for: int, secret: str) -> None:
    """Print a bearer token the mock accepts for API NAME (SAP: an HS256 JWT)."""
    import jwt

    now = int(time.time())
    claims = {"iss": "jobmock", "sub": "jobmock", "iat": now, "exp": now + valid_for,
              "scope": ["jobscheduler.Jobs"]}
    with warnings.catch_warnings():
        # The default secret is short on purpose (it is a test double's shared secret).
        warnings.simplefilter("ignore")
        click.echo(jwt.encode(claims, secret, algorithm="HS256"))


# -- serve ------------------------------------------------------------------------------------


def _parse_mounts(values: tuple[str, ...]) -> dict[str, str]:
    mounts: dict[str, str] = {}
    for value in values:
        api, sep, prefix = value.partition("=")
        if not sep or api not in API_NAMES:
            raise click.BadParameter(f"{value!r}: use NAME=/prefix with NAME one of "
                                     f"{', '.join(API_NAMES)}", param_hint="--mount")
        mounts[api] = prefix
    return mounts


def _read_fixture(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise click.BadParameter(f"cannot read {path}: {error}", param_hint="--seed") from error


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port; 0 picks a free one.")
@click.option("--api", "apis", multiple=True, type=_API_CHOICE,
              help="Serve only this API (repeatable). Default: all five.")
@click.option("--mount", "mounts", multiple=True, metavar="NAME=/PATH",
              help="Serve API NAME under another prefix, e.g. nimble=/ (repeatable).")
@click.option("--strict/--lax", default=True, show_default=True,
              help="A response that violates the spec: 500 (strict) or logged and sent (lax).")
@click.option("--no-validate", "no_validate", is_flag=True,
              help="Benchmarking aid: check no request or response against its schema "
                   "(the ceiling of the stack). Invalid input may then reach the handlers.")
@click.option("--seed", "fixture", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="YAML/JSON state fixture to load at start.")
@click.option("--random-seed", type=int, envvar="JOBMOCK_RANDOM_SEED",
              help="Make ids and clocks deterministic (virtual clock).")
@click.option("--token", envvar="JOBMOCK_TOKEN", help="Bearer token accepted (default jobmock).")
@click.option("--api-key", envvar="JOBMOCK_API_KEY", help="x-api-key accepted (Intuned).")
@click.option("--basic", envvar="JOBMOCK_BASIC", metavar="USER:PASS",
              help="Basic credentials accepted (SAP).")
@click.option("--nemo-auth/--no-nemo-auth", default=None,
              help="Require a bearer token on NeMo (off by default, as the real service).")
@click.option("--max-body-bytes", type=click.IntRange(1), envvar="JOBMOCK_MAX_BODY_BYTES",
              help="Largest request body accepted (default 102400, SAP's 100 KB).")
@click.option("--store", "store", envvar="JOBMOCK_STORE", metavar="URL",
              help="Where the state lives: memory: (default; one process), sqlite:PATH "
                   "(durable; the workers of one host), redis://HOST:PORT/DB (durable as the "
                   "Redis server is; any number of hosts).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1),
              envvar="JOBMOCK_WORKERS", help="Processes (gunicorn) sharing the store; more "
              "than 1 needs --store sqlite: or redis://. Each process keeps its own journal, "
              "faults and virtual clock.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1),
              help="Threads per worker process (with --workers).")
@click.option("--freeze", is_flag=True, help="No automatic progress: runs and jobs stay where "
              "they are until the control API moves them (schedules and workers still fire). "
              "Implied by --random-seed.")
@click.option("--run-seconds", type=click.FloatRange(0), default=2.0, show_default=True,
              help="Automatic progress: a run or job finishes successfully after this long.")
@click.option("--call-host", "call_hosts", multiple=True, metavar="HOST",
              help="A host the mock may call (worker endpoints, action URLs, webhooks); "
                   "repeatable, '*' for any. Default: 127.0.0.1, localhost, ::1.")
@click.option("--sap-async-timeout", type=click.FloatRange(0), default=1800.0,
              show_default=True, help="SAP: seconds an acknowledged (202) run waits for the "
              "seed PUT before it ends COMPLETED/UNKNOWN.")
@click.option("--server", "server", type=click.Choice(["waitress", "werkzeug"]),
              default="waitress", show_default=True, envvar="JOBMOCK_SERVER",
              help="WSGI server of a single process: waitress (keep-alive, a thread pool) or "
                   "Werkzeug's development server (--workers uses gunicorn).")
@click.option("--control-token", envvar="JOBMOCK_CONTROL_TOKEN",
              help="Require this token on the control API (/__jobmock) as 'Authorization: "
                   "Bearer' or 'x-jobmock-control-token'. Needed to bind a non-loopback "
                   "--host.")
@click.option("--request-timeout", type=click.FloatRange(min=0.1),
              envvar="JOBMOCK_REQUEST_TIMEOUT",
              help="Seconds a client has to send its whole request (default 30).")
@click.option("--max-items", type=click.IntRange(1), envvar="JOBMOCK_MAX_ITEMS",
              help="Items one tenant (workspace, project, queue...) may store in one "
                   "collection (default 10000); past it, the vendor's 429.")
def serve(host: str, port: int, apis: tuple[str, ...], mounts: tuple[str, ...], strict: bool,
          no_validate: bool, fixture: Path | None, random_seed: int | None, token: str | None,
          api_key: str | None, basic: str | None, nemo_auth: bool | None,
          max_body_bytes: int | None, store: str | None, workers: int, threads: int,
          freeze: bool, run_seconds: float, call_hosts: tuple[str, ...],
          sap_async_timeout: float, server: str, control_token: str | None,
          request_timeout: float | None, max_items: int | None) -> None:
    """Serve the mocked APIs, each under its own prefix (/sap, /nemo, ...).

    The mock also calls your code: registered BullMQ workers get jobs, SAP schedules call
    their action URL, Intuned delivers to webhooks, Nimble cron schedules start runs; runs
    and jobs finish by themselves after --run-seconds unless --freeze.

    On a non-loopback --host (e.g. 0.0.0.0) the server refuses to start without
    --control-token: the control API can reset and rewrite all state.
    """
    settings = _serve_settings(apis, mounts, strict, fixture, random_seed, token, api_key, basic,
                               nemo_auth, max_body_bytes)
    if store is not None:
        settings["store"] = store
    # A virtual clock (--random-seed) is frozen too: it is for tests that drive it.
    settings.update(auto_progress=not freeze and random_seed is None, run_seconds=run_seconds,
                    sap_async_timeout=sap_async_timeout)
    if call_hosts:
        settings["call_hosts"] = call_hosts
    if no_validate:
        settings["validate"] = False
    limits = {"control_token": control_token, "request_timeout": request_timeout,
              "max_items": max_items}
    settings.update({k: v for k, v in limits.items() if v is not None})
    try:
        config = Config.load(settings)
        from mockserver.server import run_server, run_workers

        if workers > 1:
            run_workers(config, host, port, workers, threads, announce=click.echo)
        else:
            run_server(config, host, port, announce=click.echo, server=server)
    except JobmockError as error:
        raise click.ClickException(str(error)) from error


def _serve_settings(apis: tuple[str, ...], mounts: tuple[str, ...], strict: bool,
                    fixture: Path | None, random_seed: int | None, token: str | None,
                    api_key: str | None, basic: str | None, nemo_auth: bool | None,
                    max_body_bytes: int | None) -> dict[str, Any]:
    settings: dict[str, Any] = {"strict": strict, "mounts": _parse_mounts(mounts)}
    if apis:
        settings["apis"] = tuple(dict.fromkeys(apis))
    optional = {"fixture": _read_fixture(fixture), "random_seed": random_seed, "token": token,
                "api_key": api_key, "nemo_auth": nemo_auth, "max_body_bytes": max_body_bytes}
    settings.update({k: v for k, v in optional.items() if v is not None})
    if token is not None:
        settings["auth_tokens"] = (token,)
    if basic is not None:
        user, sep, password = basic.partition(":")
        if not sep:
            raise click.BadParameter("use USER:PASS", param_hint="--basic")
        settings.update(basic_user=user, basic_password=password)
    return settings


# -- test -------------------------------------------------------------------------------------


@main.command("test")
@click.option("--api", "apis", multiple=True, type=_API_CHOICE,
              help="API to test (repeatable; default: all five against the local mock).")
@click.option("--base-url", help="The API's own base URL as a client uses it, e.g. "
              "http://127.0.0.1:8080/nimble. Default: the mock, in process.")
@click.option("--control-url", help="The jobmock control API (default: probed at the server "
              "root's /__jobmock).")
@click.option("--token", envvar="JOBMOCK_TOKEN", default="jobmock", show_default=True,
              help="Bearer token to send.")
@click.option("--api-key", envvar="JOBMOCK_API_KEY", default="jobmock", show_default=True,
              help="x-api-key to send (Intuned).")
@click.option("--basic", envvar="JOBMOCK_BASIC", default="jobmock:jobmock", show_default=True,
              metavar="USER:PASS", help="Basic credentials to send (SAP).")
@click.option("--max-examples", default=25, show_default=True, type=click.IntRange(1),
              help="Hypothesis examples per suite.")
@click.option("--seed", type=int, help="Hypothesis seed, for a reproducible run.")
@click.option("--junit-xml", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a JUnit XML report here.")
@click.option("--readonly", is_flag=True, help="Send only safe methods (GET), e.g. against "
              "production; the stateful suite is skipped.")
@click.option("--operations", default="*", show_default=True, metavar="PATTERN",
              help="Only operations whose operationId matches this glob.")
@click.option("--no-stateful", is_flag=True, help="Skip the model-based (stateful) suite.")
@click.option("--shrink-seconds", default=30, show_default=True, type=click.IntRange(0),
              help="Time spent shrinking a failure to its shortest reproduction.")
@click.option("--control-token", envvar="JOBMOCK_CONTROL_TOKEN",
              help="Control token of the server's /__jobmock API, when it has one.")
def test_command(apis: tuple[str, ...], base_url: str | None, control_url: str | None,
                 token: str, api_key: str, basic: str, max_examples: int, seed: int | None,
                 junit_xml: Path | None, readonly: bool, operations: str,
                 no_stateful: bool, shrink_seconds: int, control_token: str | None) -> None:
    """Run the contract suites against the mock or a real implementation.

    Exit status: 0 when every contract holds, 1 when one fails, 2 for usage errors.
    """
    from contracts.client import Credentials
    from contracts.report import coverage_table, failure_text, summary, write_junit
    from contracts.runner import Options, run_suites

    if base_url and len(apis) != 1:
        raise click.UsageError("--base-url points at one API: give exactly one --api NAME")
    user, sep, password = basic.partition(":")
    if not sep:
        raise click.BadParameter("use USER:PASS", param_hint="--basic")
    credentials = Credentials(token, api_key, user, password)
    options = Options(max_examples, seed, readonly, operations, not no_stateful, shrink_seconds)
    reports = []
    for api in apis or API_NAMES:
        target = _test_target(api, base_url, control_url, credentials, readonly,
                              control_token)
        click.echo(f"{api}: testing {target.transport.base_url}"
                   f"{'' if target.control else ' (no control API found)'}")
        reports.append(run_suites(target, options, partial(_echo_progress, api)))
    for report in reports:
        for outcome in report.failures:
            click.echo("\n" + failure_text(report.api, outcome))
        click.echo("\n" + coverage_table(report))
    click.echo("\n" + summary(reports))
    if junit_xml is not None:
        write_junit(reports, junit_xml)
    sys.exit(0 if all(r.ok for r in reports) else 1)


def _echo_progress(api: str, outcome: Any) -> None:
    from contracts.report import progress_line

    click.echo(progress_line(api, outcome))


def _test_target(api: str, base_url: str | None, control_url: str | None,
                 credentials: Any, readonly: bool, control_token: str | None = None) -> Any:
    from contracts.targets import http_target, local_target

    if base_url is None:
        target = local_target(api, readonly=readonly)
        target.credentials = credentials
        return target
    return http_target(api, base_url, credentials, control_url, readonly,
                       control_token=control_token)

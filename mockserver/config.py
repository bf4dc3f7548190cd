"""Configuration: a mapping of settings, overlaid on `JOBMOCK_*` environment variables.

Every secret the mock accepts defaults to the string ``jobmock``. Precedence: explicit
mapping (or CLI flag) > environment variable > default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from mockserver.errors import ConfigError
from mockserver.spec import API_NAMES

__all__ = ["DEFAULT_SECRET", "Config", "Credentials"]

DEFAULT_SECRET = "jobmock"


@dataclass(frozen=True)
class Credentials:
    """What the mock accepts: one bearer token, API key, basic pair, and JWT secret."""

    token: str = DEFAULT_SECRET
    api_key: str = DEFAULT_SECRET
    basic_user: str = DEFAULT_SECRET
    basic_password: str = DEFAULT_SECRET
    jwt_secret: str = DEFAULT_SECRET
    auth_tokens: tuple[str, ...] = (DEFAULT_SECRET,)
    nemo_auth: bool = False


@dataclass(frozen=True)
class Config:
    """Everything `create_app` needs. Build with `Config.load(mapping)`."""

    apis: tuple[str, ...] = API_NAMES
    mounts: Mapping[str, str] = field(default_factory=dict)
    credentials: Credentials = field(default_factory=Credentials)
    strict: bool = True
    validate: bool = True
    max_body_bytes: int = 100 * 1024
    random_seed: int | None = None
    virtual_clock: bool = False
    journal_size: int = 1000
    fixture: Any = None
    store: str = "memory:"
    # Dispatch (mockserver/dispatch): automatic progress of runs and jobs, and its pace.
    auto_progress: bool = False
    run_seconds: float = 2.0
    settle_seconds: float = 5.0
    sap_async_timeout: float = 1800.0
    # Hosts the mock may call (worker endpoints, action URLs, webhooks); "*" allows any.
    call_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
    control_token: str | None = None
    request_timeout: float = 30.0
    max_items: int = 10_000

    def mount_of(self, api: str) -> str:
        """The URL prefix an API is served under (`/nimble` unless moved)."""
        return self.mounts.get(api, f"/{api}")

    @classmethod
    def load(cls, settings: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> Config:
        """Defaults, then `JOBMOCK_*` variables from `environ`, then `settings`."""
        merged = {**_from_environ(os.environ if environ is None else environ),
                  **dict(settings or {})}
        credentials = _credentials(merged)
        known = {f.name for f in fields(cls)} - {"credentials"}
        unknown = set(merged) - known - {f.name for f in fields(Credentials)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(sorted(known))}")
        values = {k: v for k, v in merged.items() if k in known}
        if "call_hosts" in values:
            values["call_hosts"] = tuple(values["call_hosts"])
        config = replace(cls(), credentials=credentials, **values)
        config.check()
        return config

    def check(self) -> None:
        for api in self.apis:
            if api not in API_NAMES:
                raise ConfigError(f"unknown API {api!r}; choose from {', '.join(API_NAMES)}")
        for api, prefix in self.mounts.items():
            if api not in API_NAMES:
                raise ConfigError(f"cannot mount unknown API {api!r}")
            if not prefix.startswith("/"):
                raise ConfigError(f"mount of {api} must start with '/', got {prefix!r}")
        prefixes = [self.mount_of(a) for a in self.apis]
        if len(set(prefixes)) != len(prefixes):
            raise ConfigError(f"two APIs share a mount prefix: {prefixes}")
        if self.max_body_bytes < 1:
            raise ConfigError("max_body_bytes must be positive")
        for name in ("run_seconds", "settle_seconds", "sap_async_timeout"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative")
        if self.request_timeout <= 0:
            raise ConfigError("request_timeout must be positive (seconds)")
        if self.max_items < 1:
            raise ConfigError("max_items must be positive")
        if self.control_token is not None and not self.control_token.strip():
            raise ConfigError("control_token must not be empty")


_ENV_SETTINGS = {
    "JOBMOCK_STRICT": ("strict", "bool"),
    "JOBMOCK_VALIDATE": ("validate", "bool"),
    "JOBMOCK_MAX_BODY_BYTES": ("max_body_bytes", "int"),
    "JOBMOCK_RANDOM_SEED": ("random_seed", "int"),
    "JOBMOCK_TOKEN": ("token", "str"),
    "JOBMOCK_API_KEY": ("api_key", "str"),
    "JOBMOCK_BASIC_USER": ("basic_user", "str"),
    "JOBMOCK_BASIC_PASSWORD": ("basic_password", "str"),
    "JOBMOCK_JWT_SECRET": ("jwt_secret", "str"),
    "JOBMOCK_AUTH_TOKENS": ("auth_tokens", "list"),
    "JOBMOCK_NEMO_AUTH": ("nemo_auth", "bool"),
    "JOBMOCK_STORE": ("store", "str"),
    "JOBMOCK_AUTO_PROGRESS": ("auto_progress", "bool"),
    "JOBMOCK_RUN_SECONDS": ("run_seconds", "float"),
    "JOBMOCK_SAP_ASYNC_TIMEOUT": ("sap_async_timeout", "float"),
    "JOBMOCK_CALL_HOSTS": ("call_hosts", "list"),
    "JOBMOCK_CONTROL_TOKEN": ("control_token", "str"),
    "JOBMOCK_REQUEST_TIMEOUT": ("request_timeout", "float"),
    "JOBMOCK_MAX_ITEMS": ("max_items", "int"),
    "JOBMOCK_JOURNAL_SIZE": ("journal_size", "int"),
}


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for variable, (name, kind) in _ENV_SETTINGS.items():
        if variable in environ:
            found[name] = _parse(variable, environ[variable], kind)
    return found


def _parse(variable: str, text: str, kind: str) -> Any:
    if kind == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{variable}={text!r}: use true or false")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{variable}={text!r}: expected a whole number") from None
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{variable}={text!r}: expected a number") from None
    if kind == "list":
        return tuple(t.strip() for t in text.split(",") if t.strip())
    return text


def _credentials(merged: dict[str, Any]) -> Credentials:
    given = merged.pop("credentials", None)
    base = given if isinstance(given, Credentials) else Credentials(**(given or {}))
    names = {f.name for f in fields(Credentials)}
    overrides = {k: merged.pop(k) for k in list(merged) if k in names}
    if "auth_tokens" in overrides:
        overrides["auth_tokens"] = tuple(overrides["auth_tokens"])
    return replace(base, **overrides)

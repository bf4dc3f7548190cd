"""jobmock's contract suites: stateless and stateful (model-based), for any implementation.

The library works without pytest: `run_suites(target, Options())` runs an API's suites
against a `Target` (`http_target(api, base_url)` or `local_target(api)`) and returns a
`Report`. The per-API state machines live in `contracts.<api>` as `StateMachine`, whose
`TestCase` attribute is a ready-made test class.

Names are imported on first use, so loading the pytest plugin stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CHECKS",
    "ApiClient",
    "CheckContext",
    "ContractFailure",
    "Credentials",
    "Options",
    "Report",
    "Target",
    "check",
    "http_target",
    "local_target",
    "run_suites",
    "use_target",
]

_HOMES = {
    "CHECKS": "checks", "CheckContext": "checks", "check": "checks",
    "ApiClient": "client", "Credentials": "client",
    "ContractFailure": "failures",
    "Options": "runner", "Report": "runner", "run_suites": "runner",
    "Target": "targets", "http_target": "targets", "local_target": "targets",
    "use_target": "targets",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'contracts' has no attribute {name!r}")
    return getattr(importlib.import_module(f"contracts.{_HOMES[name]}"), name)

"""jobmock's mock server: specs, validation, the stateful Flask app.

The framework-free parts (`load_spec`, `validate_request`, `validate_response`) import
neither Flask nor pytest; `create_app` builds the Flask application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.errors import ApiError, ConfigError, Issue, JobmockError, SpecError
from mockserver.spec import API_NAMES, Operation, Spec, load_spec
from mockserver.validation import HttpRequest, ValidRequest, validate_request, validate_response

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "API_NAMES",
    "ApiError",
    "ConfigError",
    "HttpRequest",
    "Issue",
    "JobmockError",
    "Operation",
    "Spec",
    "SpecError",
    "ValidRequest",
    "create_app",
    "load_spec",
    "validate_request",
    "validate_response",
]


def create_app(config: Any = None) -> Flask:
    """A fresh Flask app with its own state (imports Flask only when called)."""
    from mockserver.app import create_app as build

    return build(config)

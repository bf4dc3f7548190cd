"""The generators of the stateless suites: exact for the specs' schemas, and fast enough.

`strategy_for` composes objects and arrays itself and leaves the rest to
hypothesis-jsonschema; these tests draw from it *without* the validity filter the suites
add, so a composition rule that produced an invalid value would show here.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.strategies import body_pointer, schema_of, strategy_for
from mockserver.spec import API_NAMES, load_spec

BODIES = [pytest.param(api, op.operation_id, id=f"{api}-{op.operation_id[:40]}")
          for api in API_NAMES for op in load_spec(api).operations
          if "application/json" in op.body]


@pytest.mark.parametrize(("api", "operation_id"), BODIES)
def test_every_drawn_body_is_valid_without_filtering(api: str, operation_id: str) -> None:
    spec = load_spec(api)
    pointer = body_pointer(spec.operation(operation_id))
    validator = spec.validator_at(pointer)

    @settings(max_examples=20, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy_for(schema_of(spec, pointer)))
    def drawn(value: object) -> None:
        assert validator.is_valid(value), value

    drawn()


def test_properties_keep_their_schema_whatever_their_name() -> None:
    """A property called `description` (SAP's jobs) is a property, not an annotation."""
    spec = load_spec("sap")
    schema = schema_of(spec, body_pointer(spec.operation("createJob")))
    assert schema["properties"]["description"]["type"] == "string"


EXACTLY_ONE = {"type": "object", "required": ["active"],
               "properties": {"active": {"type": "boolean"}, "cron": {"type": "string"},
                              "time": {"type": "string"}},
               "anyOf": [{"required": ["cron"]}, {"required": ["time"]}],
               "not": {"anyOf": [{"required": ["cron", "time"]}]}}


@settings(max_examples=30, deadline=None, database=None)
@given(st.data())
def test_exactly_one_of_the_keys_is_drawn(data: st.DataObject) -> None:
    value = data.draw(strategy_for(EXACTLY_ONE))
    assert len({"cron", "time"} & set(value)) == 1


@settings(max_examples=30, deadline=None, database=None)
@given(st.data())
def test_a_forbidden_combination_is_never_drawn(data: st.DataObject) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"},
                                               "b": {"type": "integer"}},
              "not": {"required": ["a", "b"]}}
    value = data.draw(strategy_for(schema))
    assert not {"a", "b"} <= set(value)

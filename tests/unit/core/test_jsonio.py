"""Response bodies are encoded by orjson, with `json` for what orjson refuses or rewrites."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from mockserver.jsonio import dumps

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


def _same(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
        return math.isnan(right)
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return left == right and type(left) is type(right)


@given(JSON)
def test_decodes_to_what_json_dumps_decodes_to(value: object) -> None:
    assert _same(json.loads(dumps(value)), json.loads(json.dumps(value)))


def test_compact_utf8_and_the_fallbacks() -> None:
    assert dumps({"a": [1, None], "é": "ü"}) == '{"a":[1,null],"é":"ü"}'.encode()
    assert dumps({"n": 2**70}) == b'{"n":1180591620717411303424}'  # beyond 64 bits
    assert dumps({"x": float("nan")}) == b'{"x":NaN}'  # as json writes it, not null
    assert dumps({1: "a"}) == b'{"1":"a"}'  # a non-string key
    assert dumps({"when": object()}, default=lambda _: "obj") == b'{"when":"obj"}'

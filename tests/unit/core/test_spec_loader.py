"""The loader: bundled and user files, loud failures naming file, pointer and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.errors import SpecError
from mockserver.spec import load_spec, spec_path

MINIMAL = """
openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /things/{id}:
    get:
      operationId: getThing
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        200:
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
  /things/special:
    get:
      operationId: getSpecial
      responses:
        '200': {description: ok}
components:
  schemas:
    Thing:
      type: object
      required: [created]
      properties:
        created: {type: string, example: 2024-01-01T00:00:00Z}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_a_user_file_and_compiles_operations(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, MINIMAL))
    assert {op.operation_id for op in spec.operations} == {"getThing", "getSpecial"}
    op = spec.operation("getThing")
    assert op.response_for(200) is not None
    assert op.parameters[0].primitive == "integer"


def test_timestamps_stay_strings(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, MINIMAL))
    example = spec.document["components"]["schemas"]["Thing"]["properties"]["created"]
    assert example["example"] == "2024-01-01T00:00:00Z"


def test_literal_segments_win_over_parameters(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, MINIMAL))
    special = spec.match("GET", "/things/special")
    assert special.operation is not None and special.operation.operation_id == "getSpecial"
    thing = spec.match("GET", "/things/42")
    assert thing.operation is not None and thing.path_params == {"id": "42"}


def test_wrong_method_and_unknown_path_are_told_apart(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, MINIMAL))
    wrong = spec.match("DELETE", "/things/1")
    assert wrong.operation is None and wrong.path_known and wrong.allowed_methods == ("GET",)
    assert not spec.match("GET", "/nothing").path_known


def test_dangling_ref_names_file_pointer_and_problem(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("#/components/schemas/Thing", "#/components/x/Nope"))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    error = caught.value
    assert error.file == str(path)
    assert error.pointer == "/paths/~1things~1{id}/get/responses/200/content/application~1json" \
        "/schema/$ref"
    assert "points to nothing" in error.problem
    assert "Location:" in str(error)


def test_invalid_openapi_names_the_pointer(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("in: path", "in: nowhere"))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.pointer.startswith("/paths")


def test_openapi_30_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"needs OpenAPI 3\.1"):
        load_spec(write(tmp_path, MINIMAL.replace("3.1.0", "3.0.3")))


def test_broken_yaml_says_where(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="line"):
        load_spec(write(tmp_path, "openapi: [unclosed\n"))


def test_missing_operation_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="operationId"):
        load_spec(write(tmp_path, MINIMAL.replace("operationId: getSpecial", "summary: s")))


def test_unknown_api_name_lists_the_known_ones() -> None:
    with pytest.raises(SpecError, match="known APIs: sap, nemo"):
        spec_path("acme")


def test_unknown_operation_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known:"):
        load_spec("nimble").operation("nope")


def test_bundled_specs_are_loaded_once() -> None:
    assert load_spec("nimble") is load_spec("nimble")

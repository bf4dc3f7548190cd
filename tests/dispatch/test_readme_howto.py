"""How-to tests: the README's "Develop a worker against the mock" walkthroughs, run exactly as
printed (each code block is a test file a user saves and runs with pytest)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(marker: str) -> str:
    """The ```python block that follows `<!-- howto: marker -->` in the README."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"<!-- howto: {re.escape(marker)} -->\n```python\n(.*?)\n```", text,
                      re.DOTALL)
    assert found, f"README has no how-to block {marker!r}"
    return found.group(1)


@pytest.mark.parametrize(("marker", "tests"), [("bullmq-worker", 1), ("sap-async", 1)])
def test_readme_walkthrough_passes(pytester: pytest.Pytester, marker: str, tests: int) -> None:
    code = readme_block(marker)
    name = re.match(r"# (test_\w+)\.py", code)
    assert name, "the block starts with its file name"
    pytester.makepyfile(**{name.group(1): code})
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=tests)


def test_a_broken_worker_fails_the_walkthrough(pytester: pytest.Pytester) -> None:
    """The walkthrough's assertion really depends on the worker's answer."""
    code = readme_block("bullmq-worker").replace('job["data"]["width"] // 2',
                                                 'job["data"]["width"]')
    pytester.makepyfile(test_broken_worker=code)
    pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider").assert_outcomes(failed=1)

"""docs/reliability.md stays true: each row's test exists and asserts the quoted message."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def rows():
    table = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[4].startswith("`tests/"):
            yield cells[0], cells[3].strip("`"), cells[4].strip("`")


def function_source(path: Path, name: str) -> str:
    source = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])  # parametrize cases too
            return "\n".join(source.splitlines()[first - 1:node.end_lineno])
    raise AssertionError(f"{path.name} has no test {name}")


ROWS = list(rows())


def test_the_table_has_every_case_of_the_issue():
    assert len(ROWS) >= 30


@pytest.mark.parametrize("case, message, test", ROWS, ids=[r[0][:40] for r in ROWS])
def test_row_is_covered_by_a_test_asserting_its_message(case, message, test):
    file, name = test.split("::")
    body = function_source(ROOT / file, name)
    if message != "—":
        assert message in body or re.escape(message) in body, f"{name} does not assert {message!r}"

"""The CDX engine against hand-computed answers (tests/cases/cdx/*.json over index.cdx).

index.cdx is a small CDX file in the server's own line format; each case gives query
parameters as a client sends them and the exact body (or the 400 message) expected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.upstream.cdx import CdxIndex, CdxParamError, CdxQuery, evaluate, num_pages, render

CASES_DIR = Path(__file__).parents[1] / "cases" / "cdx"


@dataclass(frozen=True)
class Line:
    urlkey: str
    timestamp: str
    original: str
    mimetype: str
    statuscode: str
    digest: str
    length: str


def load_index(block_lines: int) -> CdxIndex[Line]:
    lines = [Line(*text.split(" ")) for text in (CASES_DIR / "index.cdx").read_text().splitlines()]
    return CdxIndex(lines, lambda line: line.digest, block_lines=block_lines)


def load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.json")):
        document = json.loads(path.read_text())
        for case in document["cases"]:
            case_id = f"{path.stem}: {case['name']}"
            params.append(pytest.param(document.get("block_lines", 3000), case, id=case_id))
    return params


def answer(index: CdxIndex[Line], params: list[tuple[str, str]]) -> str:
    query = CdxQuery.from_params(params)
    if query.show_num_pages:
        return f"{num_pages(index, query)}\n"
    return render(evaluate(index, query), query.output_json).decode()


def test_index_file_is_in_cdx_order() -> None:
    keys = load_index(3000).line_keys
    assert keys == sorted(keys)


@pytest.mark.parametrize(("block_lines", "case"), load_cases())
def test_cdx_case(block_lines: int, case: dict[str, Any]) -> None:
    index = load_index(block_lines)
    params = [(name, value) for name, value in case["params"]]
    if "error" in case:
        with pytest.raises(CdxParamError, match=case["error"]):
            answer(index, params)
        return
    body = answer(index, params)
    if "lines" in case:
        assert body == "".join(f"{line}\n" for line in case["lines"])
    elif "json" in case:
        assert json.loads(body) == case["json"]
    else:
        assert body == case["body"]

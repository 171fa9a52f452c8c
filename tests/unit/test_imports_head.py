"""``add_imports`` runs libcst's AddImportsVisitor on the module's first statements only, and
writes what the visitor writes over the whole module."""

from __future__ import annotations

import libcst as cst
import pytest

import analysis.edits.imports as imports
from analysis.edits.imports import add_imports

REST = "\n\ndef f():\n    from os import path\n    return path\n\n\nx = f()\n# the end\n"

SHAPES = {
    "docstring then imports": '"""Doc."""\n\nimport json\nfrom datetime import datetime\n' + REST,
    "imports only": "import json\nfrom datetime import datetime\n",
    "no import": "x = 1\n" + REST,
    "empty": "",
    "a comment above the first statement": "import json\n# why\nx = 1\n" + REST,
    "two imports on one line": "import json; import os\nfrom a import b\n" + REST,
    "__future__ first": "from __future__ import annotations\n\nimport json\n" + REST,
    "__strict__ flag": "__strict__ = True\nimport json\n" + REST,
    "an existing from-import to merge into": "from pathlib import PurePath\nimport json\n" + REST,
    "an import under an if": "import json\nif json:\n    from pathlib import Path\n" + REST,
    "a docstring only": '"""Doc."""\n',
    "CRLF": "import json\r\n\r\nx = 1\r\n",
}
NEEDED = [("pathlib", "Path"), ("dagster_airlift.in_airflow", "proxying_to_dagster"), ("__future__", "division"),
          ("dagster", "AssetSpec", "DagsterAssetSpec")]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_imports_are_those_the_visitor_writes_over_the_whole_module(shape: str, monkeypatch) -> None:
    module = cst.parse_module(SHAPES[shape])
    for needed in ([NEEDED[0]], NEEDED):
        head = add_imports(module, needed).code
        with monkeypatch.context() as patch:
            patch.setattr(imports, "_import_head", lambda body: len(body))
            whole = add_imports(module, needed).code
        assert head == whole
        assert "from pathlib import Path" in head or "from pathlib import Path, PurePath" in head


def test_the_head_is_the_docstring_the_import_lines_and_one_statement_more() -> None:
    body = cst.parse_module(SHAPES["docstring then imports"]).body
    assert imports._import_head(body) == 4  # docstring, 2 imports, `def f`
    assert imports._import_head(cst.parse_module("").body) == 0
    assert imports._import_head(cst.parse_module("import json; import os\nx = 1\n").body) == 2

"""``add_module_import``: a plain ``import x`` (or ``import x.y``) added among the Dagster module's
first block of plain imports, in sorted order, never into another section (a blank line starts
one), nor twice."""

from __future__ import annotations

import libcst as cst
import pytest

from analysis.edits.imports import add_module_import


@pytest.mark.parametrize("before, name, after", [
    ("import os\nimport sys\n\nimport google.auth\n", "json",
     "import json\nimport os\nimport sys\n\nimport google.auth\n"),  # not after the third-party section
    ("import contextlib\nimport os.path\nimport tempfile\n", "google.cloud.container_v1",
     "import contextlib\nimport google.cloud.container_v1\nimport os.path\nimport tempfile\n"),
    ("import os\nimport json\n", "sys", "import os\nimport json\nimport sys\n"),  # unsorted: at the end
    ("import json\n", "json", "import json\n"),
    ("import os\n", "os.path", "import os\nimport os.path\n"),
    ('"""Doc."""\n\nimport dagster as dg\n', "json", '"""Doc."""\n\nimport json\n\nimport dagster as dg\n'),
])
def test_a_module_import_goes_into_the_first_block_in_order(before, name, after):
    assert add_module_import(cst.parse_module(before), name).code == after

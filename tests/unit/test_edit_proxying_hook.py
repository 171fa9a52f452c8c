"""Adding (or switching on) the proxying hook of a DAG file: before/after codemod tests,
real files under tests/fixtures/edits/dags/, idempotency, minimality, and the static DAG
model (``analysis.dags.dagfile``) as the oracle of what Airflow would run."""

from __future__ import annotations

import ast
import difflib
from pathlib import Path
from textwrap import dedent

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.dags.dagfile import extract_file
from analysis.edits import EditResult, add_proxying_hook

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "edits" / "dags"

IMPORTS = """\
from dagster_airlift.in_airflow import proxying_to_dagster
from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml
from pathlib import Path
"""
HOOK = """\
proxying_to_dagster(
    global_vars=globals(),
    proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / "proxied_state"),
)
"""


def assert_codemod(before: str, after: str, hunks: int | None = None, **options) -> EditResult:
    """The edit of ``before`` gives ``after`` exactly, valid Python, in ``hunks`` changed
    blocks of lines; a second application changes nothing."""
    result = add_proxying_hook(before, **options)
    assert result.reason is None and result.changed, result.reason
    assert result.text == after, "\n" + "".join(difflib.unified_diff(
        after.splitlines(True), result.text.splitlines(True), "expected", "got"))
    ast.parse(result.text)
    if hunks is not None:
        assert changed_blocks(before, result.text) == hunks
    again = add_proxying_hook(result.text, **options)
    assert again == EditResult(result.text, False, again.reason) and again.reason
    return result


def changed_blocks(before: str, after: str) -> int:
    matcher = difflib.SequenceMatcher(None, before.splitlines(True), after.splitlines(True),
                                      autojunk=False)
    return sum(1 for op, *_ in matcher.get_opcodes() if op != "equal")


CALL = "    proxying_to_dagster(global_vars=globals(), proxied_state=None)\n"


def hook_of(text: str):
    facts = extract_file("dag.py", text)
    assert facts.error is None
    return facts.proxying


# -- adding the hook -------------------------------------------------------------------------------


def test_a_dag_file_gets_the_imports_and_the_hook_last():
    before = (FIXTURES / "plain_dag.py").read_text()
    result = add_proxying_hook(before)
    assert result == EditResult((FIXTURES / "plain_dag.expected.py").read_text(), True)
    assert changed_blocks(before, result.text) == 2  # the imports, the hook at the end
    hook = hook_of(result.text)
    assert hook.is_last and not hook.creates_after and not hook.guarded and hook.enabled
    assert hook.state_dir == "proxied_state"
    assert result.text.endswith("\n\n" + HOOK)  # after the `if __name__ == "__main__":` block


def test_imports_join_existing_ones_and_are_never_repeated():
    assert_codemod(
        dedent("""\
            from pathlib import PurePath
            from dagster_airlift.in_airflow import proxying_to_dagster

            x = 1
            """),
        dedent("""\
            from pathlib import Path, PurePath
            from dagster_airlift.in_airflow import proxying_to_dagster
            from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml

            x = 1

            """) + HOOK,
        hunks=3,
    )


def test_existing_spellings_are_used():
    result = assert_codemod(
        dedent("""\
            import pathlib
            from pathlib import Path as P
            import dagster_airlift.in_airflow as airlift

            x = 1
            """),
        dedent("""\
            import pathlib
            from pathlib import Path as P
            import dagster_airlift.in_airflow as airlift

            x = 1

            airlift.proxying_to_dagster(
                global_vars=globals(),
                proxied_state=airlift.load_proxied_state_from_yaml(P(__file__).parent / "proxied_state"),
            )
            """),
        hunks=1,
    )
    hook = hook_of(result.text)
    assert hook.is_last and not hook.guarded


def test_the_state_folder_and_the_quotes_follow_the_file():
    result = assert_codemod(
        "x = 'a'\ny = 'b'\n",
        IMPORTS + dedent("""
            x = 'a'
            y = 'b'

            proxying_to_dagster(
                global_vars=globals(),
                proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / '../state'),
            )
            """),
        state_dir="../state",
    )
    assert hook_of(result.text).state_dir == "../state"


def test_two_blank_lines_after_a_function_and_trailing_comments_stay_above_the_hook():
    assert_codemod(
        "def build():\n    pass\n# the end\n\n\n",
        IMPORTS + "\ndef build():\n    pass\n# the end\n\n\n" + HOOK,
    )


@pytest.mark.parametrize("before", ["", "x = 1", "# only a comment\n"])
def test_edge_files(before):
    result = add_proxying_hook(before)
    assert result.changed and result.text.endswith(HOOK)
    assert hook_of(result.text).is_last
    assert add_proxying_hook(result.text).changed is False


def test_crlf_line_endings_are_kept():
    result = add_proxying_hook("import os\r\n\r\nx = 1\r\n")
    assert result.changed and "\n" not in result.text.replace("\r\n", "")


# -- a hook that is already there ---------------------------------------------------------------


def test_an_unguarded_hook_means_nothing_to_do():
    text = dedent(IMPORTS + "\n" + HOOK)
    assert add_proxying_hook(text) == EditResult(text, False, "the DAG file already proxies to Dagster")
    in_try = ("try:\n    from dagster_airlift.in_airflow import proxying_to_dagster\n"
              + CALL + "except ImportError:\n    pass\n")
    assert add_proxying_hook(in_try).changed is False


def test_the_tutorials_switch_is_flipped_and_nothing_else():
    before = (FIXTURES / "tutorial_guarded.py").read_text()
    result = add_proxying_hook(before)
    assert result == EditResult((FIXTURES / "tutorial_guarded.expected.py").read_text(), True)
    diff = [line for line in difflib.ndiff(before.splitlines(), result.text.splitlines())
            if line.startswith(("+ ", "- "))]
    assert diff == ["- PROXYING = False", "+ PROXYING = True"]
    assert hook_of(before).enabled is False and hook_of(result.text).enabled is True
    assert add_proxying_hook(result.text) == EditResult(
        result.text, False, "the DAG file already proxies to Dagster (`PROXYING = True`)")


def test_a_one_line_guard_is_a_guard():
    assert_codemod("P = False\nif P: proxying_to_dagster(global_vars=globals(), proxied_state=None)\n",
                   "P = True\nif P: proxying_to_dagster(global_vars=globals(), proxied_state=None)\n")


def test_an_annotated_switch_with_a_comment_keeps_its_comment():
    assert_codemod(
        "PROXY: bool = False  # flip me\nif PROXY:\n" + CALL,
        "PROXY: bool = True  # flip me\nif PROXY:\n" + CALL,
        hunks=1,
    )



@pytest.mark.parametrize("text", [
    "import os\nif os.environ.get('PROXY'):\n" + CALL,
    "P = False\nif not P:\n" + CALL,
    "P = False\nif P:\n    pass\nelse:\n" + CALL,
    "P = False\nif P:\n    pass\nelif True:\n" + CALL,
    "P = False\nP = False\nif P:\n" + CALL,
    "P = 0\nif P:\n" + CALL,
    "P = (False)\nif P:\n" + CALL,
    "if P:\n" + CALL + "P = False\n",
    "def f():\n    global P\n    P = True\nP = False\nif P:\n" + CALL,
    "P = False\nif P:\n    try:\n    " + CALL + "    except ImportError:\n        pass\n",
])
def test_other_guards_are_left_to_the_user_with_a_reason(text):
    result = add_proxying_hook(text)
    assert result == EditResult(text, False, result.reason)
    assert "turn it on by hand" in result.reason


# -- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, state_dir, reason", [
    ("with DAG(\n", "proxied_state", "the DAG file has a syntax error on line 1"),
    ("x = 1\0\n", "proxied_state", "the DAG file "),
    ("x = 1\n", "", "the proxied-state folder must be a non-empty path"),
])
def test_refusals(text, state_dir, reason):
    result = add_proxying_hook(text, state_dir)
    assert result.refused and result.reason.startswith(reason), result.reason


# -- properties --------------------------------------------------------------------------------


@st.composite
def dag_files(draw):
    """DAG files of varied shapes: imports or not, a trailing `__main__` block or function,
    comments at the end, CRLF or LF."""
    parts = []
    if draw(st.booleans()):
        parts.append('"""A DAG."""\n')
    if draw(st.booleans()):
        parts.append("from __future__ import annotations\n")
    parts += draw(st.lists(st.sampled_from([
        "import os\n", "from pathlib import Path\n", "from pathlib import PurePath\n",
        "from dagster_airlift.in_airflow import proxying_to_dagster\n",
        "from airflow import DAG\n"]), unique=True))
    parts.append("\nwith DAG(dag_id='d') as dag:\n    pass\n")
    parts += draw(st.lists(st.sampled_from([
        "\ndef helper():\n    return 1\n", '\nif __name__ == "__main__":\n    dag.test()\n',
        "x = 1  # note\n", "# trailing comment\n", "\n\n"]), max_size=3))
    text = "".join(parts)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text


@settings(max_examples=100, deadline=None)
@given(dag_files())
def test_any_dag_file_ends_with_the_hook_and_keeps_everything_else(text):
    result = add_proxying_hook(text)
    assert result.changed, result.reason
    ast.parse(result.text)
    hook = hook_of(result.text)
    assert hook.is_last and hook.state_dir == "proxied_state" and hook.enabled
    assert changed_blocks(text, result.text) <= 3  # up to two import blocks, the hook
    assert result.text.count("from pathlib import") == max(1, text.count("from pathlib import"))
    assert add_proxying_hook(result.text) == EditResult(result.text, False, add_proxying_hook(
        result.text).reason)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_never_raises(text):
    result = add_proxying_hook(text)
    assert result.refused or result.text is not None

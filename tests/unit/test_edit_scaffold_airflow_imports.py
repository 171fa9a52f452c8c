"""Which imports of the copied code reach Airflow through the project's modules
(``airflow_imports``), read from module texts as the project's code gives them."""

from __future__ import annotations

import ast
import textwrap

import pytest

from analysis.edits.scaffold.airflow_imports import AirflowImport, airflow_reached, copied_imports


def source(modules: dict[str, str]):
    """A ModuleSource over ``{dotted: text}`` (a name ending in ``/`` is a package's __init__)."""
    def read(dotted: str):
        if dotted + "/" in modules:
            return f"/p/{dotted.replace('.', '/')}/__init__.py", textwrap.dedent(modules[dotted + "/"])
        if dotted in modules:
            return f"/p/{dotted.replace('.', '/')}.py", textwrap.dedent(modules[dotted])
        return None
    return read


TEAM = {
    "team/": "",
    "team.formats": "import json\n",
    "team.settings": "import os\nfrom airflow.models import Variable\n",
    "team.tied": "from .settings import REGION\n",
    "team.deep": "from team import tied\n",
    "team.guarded": """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from airflow.models import TaskInstance
        try:
            from airflow.models import Variable
        except (ImportError, AttributeError):
            Variable = None
        def later():
            import airflow
    """,
    "team.unguarded": """
        try:
            import airflow
        except KeyError:
            pass
    """,
    "team.classy": "class Settings:\n    from airflow.configuration import conf\n",
    "team.called": """
        def _conf():
            from airflow.configuration import conf
            return conf
        CONF = _conf()
    """,
    "team.decorated": """
        def registered(function):
            import airflow.plugins_manager
            return function
        @registered
        def run():
            pass
    """,
    "team.lazy": "def run():\n    from airflow.models import Variable\n    return Variable\n",
    "team.main": 'if __name__ == "__main__":\n    import airflow\n',
    "team.fallback": """
        try:
            import fancy_json as json
        except ImportError:
            from airflow.utils import json
    """,
    "team.reraised": """
        try:
            from airflow.models import Variable
        except ImportError:
            raise
    """,
    "team.matched": "match 1:\n    case 1:\n        import airflow\n",
    "heavy/": "from airflow.hooks.base import BaseHook\n",
    "heavy.light": "X = 1\n",
}


@pytest.mark.parametrize("imported, expected", [
    (["team.formats"], None),
    (["team.settings"], AirflowImport("team.settings", "team.settings", 2, "airflow.models")),
    (["team.tied"], AirflowImport("team.tied", "team.settings", 2, "airflow.models")),
    (["team.deep"], AirflowImport("team.deep", "team.settings", 2, "airflow.models")),
    (["team.guarded"], None),
    (["team.unguarded"], AirflowImport("team.unguarded", "team.unguarded", 3, "airflow")),
    (["team.classy"], AirflowImport("team.classy", "team.classy", 2, "airflow.configuration")),
    (["heavy.light"], AirflowImport("heavy.light", "heavy", 1, "airflow.hooks.base", True)),  # its package runs first
    (["json", "pandas"], None),  # not the project's
    (["airflow.models"], None),  # Airflow itself: refused where the copy names it
    (["team.called"], AirflowImport("team.called", "team.called", 3, "airflow.configuration")),
    (["team.decorated"], AirflowImport("team.decorated", "team.decorated", 3, "airflow.plugins_manager")),
    (["team.lazy"], None),  # only when the task calls it: the asset fails then, not on import
    (["team.main"], None),
    (["team.fallback"], AirflowImport("team.fallback", "team.fallback", 5, "airflow.utils")),
    (["team.reraised"], AirflowImport("team.reraised", "team.reraised", 3, "airflow.models")),
    (["team.matched"], AirflowImport("team.matched", "team.matched", 3, "airflow")),
], ids=["plain", "top", "relative", "chain", "guarded", "other-exception", "class-body", "package", "third-party",
        "airflow", "called-at-import", "decorator", "called-later", "main", "handler", "re-raised", "match"])
def test_what_importing_runs(imported, expected):
    assert airflow_reached(source(TEAM), imported) == expected


def test_the_reason_names_the_module_the_copy_needs_and_where_airflow_comes_in():
    reached = airflow_reached(source(TEAM), ["team.deep"])
    assert reached.reason("task `load`") == (
        "task `load` needs `team.deep`, which imports Airflow through `team.settings` (`airflow.models` on "
        "line 2 of `team/settings.py`): Dagster, without Airflow, cannot import it")


SHADOWED = {
    "jobs/": """
        def load(table):
            return table

        class Registry:
            def export(self):
                pass
    """,
    "jobs.load": "from airflow.hooks.base import BaseHook\n",
    "jobs.export": "from airflow.hooks.base import BaseHook\n",
}


@pytest.mark.parametrize("copied, refused", [
    ("from jobs import load", False),  # the package's function: jobs/load.py is never imported
    ("from jobs.load import BaseHook", True),  # the module itself
    ("import jobs.load", True),
    ("from jobs import export", True),  # a method of a class in the package binds no module name
])
def test_from_a_package_import_a_name_it_binds_imports_no_module(copied, refused):
    reached = airflow_reached(source(SHADOWED), _imports_of(copied))
    assert (reached is not None) is refused


def _imports_of(code: str):
    from analysis.edits.scaffold.airflow_imports import _imports

    return _imports([ast.parse(code)])


def test_the_reason_names_a_package_s_init_file():
    reached = airflow_reached(source(TEAM), ["heavy.light"])
    assert reached.reason("task `load`").endswith(
        "(`airflow.hooks.base` on line 1 of `heavy/__init__.py`): Dagster, without Airflow, cannot import it")


def test_without_project_code_nothing_is_asked():
    assert airflow_reached(None, ["team.settings"]) is None


def test_copied_imports_reads_the_whole_copy_and_from_imports_as_possible_modules():
    copy = ast.parse(textwrap.dedent("""
        import os, team.formats
        from team import tied
        from . import sibling
        def f():
            from team.deep import g
    """))
    assert copied_imports([copy]) == ["os", "team.formats", "team", "team.tied", "team.deep", "team.deep.g"]


def test_the_copys_own_guarded_imports_are_not_followed():
    copy = ast.parse(textwrap.dedent("""
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from team.settings import Settings
        try:
            from team.settings import REGION
        except ImportError:
            REGION = "eu"
        def f():
            from team.formats import line
    """))
    assert copied_imports([copy]) == ["typing", "typing.TYPE_CHECKING", "team.formats", "team.formats.line"]


def test_an_import_cycle_ends():
    cycle = {"a": "import b\n", "b": "import a\nimport c\n", "c": "X = 1\n"}
    assert airflow_reached(source(cycle), ["a"]) is None


def test_code_nested_as_deep_as_python_parses_it_is_read():
    """A long chain of `+` nests as deep as it is long: read without recursion."""
    chain = " + ".join(["'a'"] * 990)
    assert copied_imports([ast.parse(f"x = {chain}\nimport team.formats\n")]) == ["team.formats"]
    called = {"team.deep_call": f"def f():\n    import airflow\n    return {chain}\nX = f()\n"}
    assert airflow_reached(source(called), ["team.deep_call"]) == AirflowImport(
        "team.deep_call", "team.deep_call", 2, "airflow")

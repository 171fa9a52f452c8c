"""Reloading Dagster's code locations: the mutation's answers (shaped as Dagster 1.13's
``ReloadRepositoryLocationMutationResult``; the refusals a local webserver never gives, as
Dagster+ or a code server Dagster did not start would), which locations, and when a module
counts as changed. The real webserver's answers are in tests/integration/test_dagster_reload.py."""

from __future__ import annotations

import os

from server.peering.dagster_reload import (
    CodeReloader,
    LocationEntry,
    ModuleMap,
    pick_locations,
    python_error_line,
    reload_after_write,
    reload_outcome,
)
from server.settings import DagsterSettings

SYNTAX_ERROR = {
    "__typename": "PythonError",
    "message": "dagster._core.errors.DagsterUserCodeLoadError: Error occurred during the loading of Dagster "
               "definitions in\nexecutable_path=/venv/bin/python, python_file=/w/defs.py\n",
    "errorChain": [{"error": {"message": '  File "/w/defs.py", line 4\n    defs = Definitions((\n'
                                         "                       ^\nSyntaxError: '(' was never closed\n"}}],
}


def test_a_reloaded_location_is_fine_and_a_load_error_says_the_users_error():
    loaded = {"__typename": "WorkspaceLocationEntry", "name": "defs.py",
              "locationOrLoadError": {"__typename": "RepositoryLocation"}}
    assert reload_outcome("defs.py", loaded) is None
    failed = {**loaded, "locationOrLoadError": SYNTAX_ERROR}
    assert reload_outcome("defs.py", failed) == \
        "Dagster could not load `defs.py`: SyntaxError: '(' was never closed (defs.py, line 4)"


def test_refusals_say_what_to_do():
    # what `dagster-webserver --read-only` answers (checked by hand on 1.13.27)
    assert reload_outcome("prod", {"__typename": "UnauthorizedError", "message": "Authorization failed"}) == (
        "Dagster could not reload `prod`: Authorization failed (a read-only webserver, or a token without that "
        "permission: reload it where Dagster runs)")
    assert reload_outcome("grpc", {"__typename": "ReloadNotSupported",
                                   "message": "Location grpc does not support reloading."}) == (
        "Dagster could not reload `grpc`: Location grpc does not support reloading. (reload it where it runs, "
        "e.g. restart its code server)")
    assert reload_outcome("gone", {"__typename": "RepositoryLocationNotFound",
                                   "message": "Location gone does not exist."}) == \
        "Dagster could not reload `gone`: Location gone does not exist."
    assert reload_outcome("x", {"__typename": "PythonError", "message": "KeyError: 'x'\nmore"}) == \
        "Dagster could not reload `x`: KeyError: 'x'"
    assert reload_outcome("x", None) == "Dagster could not reload `x`: an answer without `reloadRepositoryLocation`"


def test_the_python_error_line_without_a_chain_is_the_first_line():
    assert python_error_line({"message": "ValueError: bad\n  at ..."}) == "ValueError: bad"
    assert python_error_line({"message": "something odd happened\nnext"}) == "something odd happened"
    assert python_error_line({"message": ""}) == "no detail"


def test_locations_without_a_definition_to_tell(tmp_path):
    module = tmp_path / "defs.py"
    module.write_text("")
    one = [LocationEntry("only", None, False)]
    assert pick_locations(str(module), one) == ("only",)
    several = [LocationEntry("a", str(tmp_path / "other.py"), False), LocationEntry("b", str(module), False),
               LocationEntry("c", None, True)]
    assert pick_locations(str(module), several) == ("b",)  # the one started on the file
    assert pick_locations(str(tmp_path / "new.py"), several) == ("c",)  # else those that failed to load
    assert pick_locations(str(tmp_path / "new.py"), several[:2]) == ()


def test_a_module_counts_as_changed_once_written_and_settled(tmp_path):
    module = tmp_path / "defs.py"
    module.write_text("a = 1\n")
    now = [os.stat(module).st_mtime_ns / 1e9]
    maps = {str(module): ModuleMap(frozenset({"k"}), frozenset({("d", "t")}))}
    reloader = CodeReloader(lambda: maps, settle=0.5, clock=lambda: now[0])
    assert reloader.changed() == {}  # first sight: remembered only
    assert reloader.changed() == {}
    module.write_text("a = 22\n")
    now[0] = os.stat(module).st_mtime_ns / 1e9 + 0.1
    assert reloader.changed() == {}  # still being written: the next poll
    now[0] += 1
    assert reloader.changed() == {str(module): maps[str(module)]}
    assert reloader.changed() == {}  # once

    maps[str(module)] = ModuleMap()  # a syntax error maps nothing: its last map stands for it
    module.write_text("a = (\n")
    now[0] = os.stat(module).st_mtime_ns / 1e9 + 1
    assert reloader.changed() == {str(module): ModuleMap(frozenset({"k"}), frozenset({("d", "t")}))}


def test_the_cli_says_in_one_line_that_dagster_could_not_be_reached(tmp_path):
    lines = reload_after_write(DagsterSettings(url="http://127.0.0.1:9"), [str(tmp_path / "defs.py")])
    assert len(lines) == 1 and lines[0].startswith(
        "warning: Dagster could not reload the code location: "), lines


def test_a_module_created_after_the_start_counts_as_changed(tmp_path):
    """The first "Map task to asset" creates the module: it has no earlier signature. A module
    the index finds later but that was not written since the start is only remembered."""
    start = 1_000_000.0
    old, new, found_late = tmp_path / "old.py", tmp_path / "new.py", tmp_path / "late.py"
    for path, mtime in ((old, start - 100), (found_late, start - 50)):
        path.write_text("a = 1\n")
        os.utime(path, (mtime, mtime))
    now = [start]
    maps: dict[str, ModuleMap] = {}
    reloader = CodeReloader(lambda: maps, settle=0.5, clock=lambda: now[0])
    assert reloader.changed() == {}  # no module yet: not the start
    maps[str(old)] = ModuleMap()
    assert reloader.changed() == {}  # the start: remembered only
    new.write_text("b = 1\n")
    os.utime(new, (start + 100, start + 100))
    maps[str(new)] = ModuleMap(frozenset({"k"}))
    maps[str(found_late)] = ModuleMap()
    now[0] = start + 100.1
    assert reloader.changed() == {}  # still being written
    now[0] = start + 101
    assert reloader.changed() == {str(new): ModuleMap(frozenset({"k"}))}
    assert reloader.changed() == {}

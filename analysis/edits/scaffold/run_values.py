"""The Airflow run's values in what a scaffold copies: ``{{ ds }}``, ``{{ ts_nodash }}``,
``{{ run_id }}``, ``{{ data_interval_start.strftime("%Y%m%d") }}``, ``{{ dag_run.data_interval_end
| ts }}``... in a task's templated arguments, the most common Jinja of real DAGs.

A proxied task launches its Dagster run with tags that name its Airflow DAG and DAG run
(dagster-airlift's ``DAG_ID_TAG_KEY``, ``DAG_RUN_ID_TAG_KEY``). The scaffolded asset reads that
run through the Dagster module's ``AirflowInstance`` (``get_dag_run``: Airflow's REST API) and
renders these expressions from its logical date, data interval and run id, as Airflow's task
context gives them: ``ds`` is the logical date's ``%Y-%m-%d``, ``ts`` its ``isoformat()``, in UTC;
so whatever the timetable, a scheduled, manual or cleared run, the asset gets the values the task
would have got. A Dagster run that no Airflow run launched fails the asset with why. (dagster-airlift
0.29's ``AirflowInstance`` reads the REST API v1, which Airflow 3 removed: there the asset fails with
the API's answer; Airflow 3's ``Z`` times and runs without a logical date are read for when it
reads ``/api/v2``.)

Carried (``RUN_PATTERN``, checked by ``_carried``): the strings ``ds``, ``ds_nodash``,
``ts``, ``ts_nodash``, ``run_id`` (``dag_run.run_id`` too); the moments ``logical_date``,
``data_interval_start``, ``data_interval_end`` formatted by ``.strftime("...")`` or Airflow's
filters ``| ds``, ``| ds_nodash``, ``| ts``, ``| ts_nodash``; pendulum's ``.to_date_string()`` and
``.to_datetime_string()`` on the context's moments (pendulum ``DateTime``s), not on
``dag_run``'s (a database row's plain ``datetime``, which has no such method: the task fails).
The task's params, ``{{ params.name }}`` and ``{{ params["name"] }}``, printed as Jinja prints
them (``str()``): the values the DAG file gives (``params``) updated with the run's conf. Airflow's
``macros.ds_add(ds, <days>)`` and ``macros.ds_format(ds, "<in>", "<out>")``, as Airflow 2 and 3
define them. A moment put in bare (its ``str()``, which differs between those two types) and
anything else (``next_ds``, ``yesterday_ds``, other ``macros``, ``params.items`` (the dict's
method), ``params.a.b``, ``ti``, conditions), and ``strftime`` codes whose text depends on the
process (``%s`` on its time zone, names on its locale) stay refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from analysis.edits.scaffold.params import MARKER as PARAMS

RUN = "{{ the Airflow run }}"
"""The key that stands, among a plan's Variables (``Plan.variables``), for the run's values: no
Variable can have it."""
HELPER = "_airflow_run"
RENDER = "_airflow_render_run"
MOVED = "{{ a moment moved by macros.timedelta }}"
"""The key that stands, among a plan's Variables (``Plan.variables``), for a moment its Jinja moves
by ``macros.timedelta(...)`` before formatting it."""
DS_MACROS = "{{ ds moved or formatted by macros.ds_add or macros.ds_format }}"
"""The key that stands, among a plan's Variables, for ``ds`` given to Airflow's ``macros.ds_add``
or ``macros.ds_format`` (a renderer of an earlier airlift-lsp does not read them)."""
VALUES = "_airflow_run_values"
"""The asset body's name for what ``_airflow_run`` read."""
_INTEGER = r"-?(?:0|[1-9][0-9]*)"
"""An integer as Jinja reads one (``01`` and other digits than ASCII's are errors there)."""
_MOMENT = r"(?:dag_run\.)?(?:logical_date|data_interval_start|data_interval_end)"
RUN_PATTERN = (
    r"(?<!\{)\{\{\s*(?:(?P<name>(?:dag_run\.)?run_id|ds_nodash|ds|ts_nodash|ts)"
    r"|(?P<open>\()?(?P<moment>" + _MOMENT + r")"
    r"(?:\s*(?P<sign>[-+])\s*macros\.timedelta\((?P<delta>\s*\w+\s*=\s*" + _INTEGER
    + r"\s*(?:,\s*\w+\s*=\s*" + _INTEGER + r"\s*)*)\))?"
    r"(?(open)(?(sign)\s*)\))"
    r"(?:\.strftime\(\s*(?P<quote>['\"])(?P<format>[^'\"\\{}]*)(?P=quote)\s*\)"
    r"|\.(?P<method>to_date_string|to_datetime_string)\(\s*\)"
    r"|\s*\|\s*(?P<filter>ds_nodash|ds|ts_nodash|ts)\b)?"
    r"|params\.(?P<param>[A-Za-z_]\w*)|params\[\s*(?P<pquote>['\"])(?P<key>[^'\"\\{}]*)(?P=pquote)\s*\]"
    r"|macros\.ds_add\(\s*ds\s*,\s*(?P<days>" + _INTEGER + r")\s*\)"
    r"|macros\.ds_format\(\s*ds\s*,\s*(?P<q1>['\"])(?P<informat>[^'\"\\{}]*)(?P=q1)\s*,"
    r"\s*(?P<q2>['\"])(?P<outformat>[^'\"\\{}]*)(?P=q2)\s*\))\s*\}\}(?!\})")
_RUN = re.compile(RUN_PATTERN)
_DICT_ATTRIBUTES = frozenset(dir(dict))
_DELTA_UNITS = ("weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds")
"""What ``macros.timedelta(...)`` (Python's ``timedelta``) is given, by keyword."""
_PROCESS_FORMATS = r"%[-_0^#]*[scxXaAbBhpPrEO+]"
"""strftime codes whose text depends on the process (``%s`` on its time zone, names and ``%c``
on its locale): refused, where the date's own fields are not."""


def _carried(match: re.Match) -> bool:
    """Whether a ``RUN_PATTERN`` match is carried: not a moment put in bare (its text differs
    between Airflow's date types), pendulum's methods on ``dag_run``'s plain datetimes (the task
    fails in Airflow), or a format whose text depends on the process. The generated renderer's
    ``carried`` makes the same choice when the asset runs."""
    if match["param"] is not None:  # Jinja reads `params.items` as the dict's method, not a param
        return match["param"] not in _DICT_ATTRIBUTES and not match["param"].startswith("_")
    if match["outformat"] is not None:
        return not any(re.search(_PROCESS_FORMATS, match[f]) for f in ("informat", "outformat"))
    moment = match["moment"]
    if moment is None:
        return True
    if match["format"] is None and match["method"] is None and match["filter"] is None:
        return False
    if match["delta"] is not None and (match["open"] is None or not _units_known(match["delta"])):
        return False  # `moment + macros.timedelta(...).strftime(...)` formats the timedelta: Airflow fails
    if match["format"] is not None and re.search(_PROCESS_FORMATS, match["format"]):
        return False
    return not (match["method"] is not None and moment.startswith("dag_run."))


def outdated(variables: tuple[str, ...], given_params: bool, definition: Callable[[str], str | None],
             where: str, label: str) -> str | None:
    """Why a run helper a Dagster module already defines (``definition(name)``: its code, None when
    it has none) cannot serve a plan whose templates read ``variables`` (``given_params``: its asset
    passes the task's params): an earlier airlift-lsp wrote it before it read the DAG's params or
    moved moments by ``macros.timedelta``. ``where``: "the Dagster module's"; ``label``: the task."""
    needs = [(HELPER, "params=None", "the DAG's params")] if given_params else []
    if PARAMS in variables:
        needs.append((RENDER, 'run["params"]', "the DAG's params"))
    if MOVED in variables:
        needs.append((RENDER, "_timedelta", "a moment moved by `macros.timedelta`"))
    if DS_MACROS in variables:
        needs.append((RENDER, 'match["days"]', "`macros.ds_add` or `macros.ds_format`"))
    for helper, text, what in needs:
        code = definition(helper)
        if code is not None and text not in code:
            return (f"{where} `{helper}` was written by an earlier airlift-lsp and does not read {what}, which "
                    f"{label} reads: delete it, and scaffold again to write the current one")
    return None


def _units_known(delta: str) -> bool:
    """Whether each keyword of a ``macros.timedelta(...)`` is one ``timedelta`` takes, once."""
    names = [part.split("=")[0].strip() for part in delta.split(",")]
    return all(n in _DELTA_UNITS for n in names) and len(set(names)) == len(names)


def run_expressions(text: str) -> tuple[str, list[re.Match]]:
    """``text`` with the run's expressions it carries taken out, and those expressions; an
    expression it does not carry (``_carried``) is left in."""
    found = [m for m in _RUN.finditer(text) if _carried(m)]
    kept = {m.span() for m in found}
    return _RUN.sub(lambda m: "" if m.span() in kept else m[0], text), found


HELPER_DEFINITION = ('''\
def _airflow_run(airflow, context, params=None):
    """What Airflow's templates read of the Airflow DAG run whose proxied task launched this
    Dagster run (its tags name it), read through dagster-airlift's AirflowInstance `airflow`:
    run_id, logical_date, data_interval_start, data_interval_end (UTC), and from the logical date
    ds, ds_nodash, ts, ts_nodash, as Airflow's task context gives them; with the task's `params`
    (as its DAG file gives them), the params updated with the run's conf, as Airflow does."""
    tags = context.run.tags
    dag_id = tags.get("dagster-airlift/airflow-dag-id")  # dagster_airlift.constants.DAG_ID_TAG_KEY
    run_id = tags.get("dagster-airlift/airflow-dag-run-id")  # DAG_RUN_ID_TAG_KEY
    if not dag_id or not run_id:
        raise dagster.Failure(
            "this asset renders the values of the Airflow run that launched it, and no Airflow run "
            "launched this one: materialize it through its proxied task")
    found = airflow.get_dag_run(dag_id, run_id).metadata
    from datetime import datetime as _datetime, timezone as _timezone  # whatever the module binds `datetime` to

    def moment(key):
        text = found.get(key)
        if text is None:
            return None
        return _datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(_timezone.utc)

    run = {"run_id": run_id, "logical_date": moment("logical_date"),
           "data_interval_start": moment("data_interval_start"), "data_interval_end": moment("data_interval_end")}
    logical = run["logical_date"]
    if logical is not None:  # Airflow 3 gives a run without a logical date none of these
        run.update(ds=logical.strftime("%Y-%m-%d"), ds_nodash=logical.strftime("%Y%m%d"),
                   ts=logical.isoformat(), ts_nodash=logical.strftime("%Y%m%dT%H%M%S"))
    if params is not None:  # Airflow's [core] dag_run_conf_overrides_params, on unless changed
        run["params"] = {**params, **(found.get("conf") or {})}
    return run
''', ("dagster",))
"""The helper's text and the modules it uses."""

RENDER_DEFINITION = (r'''
def _airflow_render_run(value, run):
    """`value` as Airflow renders a templated argument in the Airflow run `run` (`_airflow_run`):
    in each of its strings (in lists, tuples, sets and dict values too), `{{ ds }}`, `{{ ds_nodash }}`,
    `{{ ts }}`, `{{ ts_nodash }}`, `{{ run_id }}` and the run's logical date and data interval
    formatted (`.strftime(...)`, `.to_date_string()`, `.to_datetime_string()`, `| ds`, `| ts`...),
    moved first by `macros.timedelta(...)` when written so (`(data_interval_start - macros.timedelta(days=1))`),
    put in, `ds` given to `macros.ds_add` and `macros.ds_format`, the task's params (`{{ params.name }}`,
    `{{ params["name"] }}`), and Airflow Variables as `_airflow_render` puts them in. Line ends become newlines
    and one final newline is dropped, as in Jinja. Other Jinja is refused: only Airflow renders it."""
    if isinstance(value, tuple):  # a named tuple stays one, as Airflow renders it
        items = [_airflow_render_run(item, run) for item in value]
        return tuple(items) if type(value) is tuple else type(value)(*items)
    if isinstance(value, (list, set)):
        return (list if isinstance(value, list) else set)(_airflow_render_run(item, run) for item in value)
    if isinstance(value, dict):
        return {key: _airflow_render_run(item, run) for key, item in value.items()}
    if not isinstance(value, str):
        return value
    variable = r"(?<!\{)\{\{\s*var\.(?:value|json)\.[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\s*\}\}(?!\})"
    pattern = re.compile(RUN_PATTERN + f"|(?P<variable>{variable})")

    def carried(match):  # a moment put in bare, dag_run's plain datetime given pendulum's methods,
        if match["param"] is not None:  # a format of the process's, a dict's attribute: no
            return match["param"] not in dir(dict) and not match["param"].startswith("_")
        if match["outformat"] is not None:
            return not any(re.search(PROCESS_FORMATS, match[f]) for f in ("informat", "outformat"))
        if match["variable"] is not None or match["moment"] is None:
            return True
        if match["format"] is None and match["method"] is None and match["filter"] is None:
            return False
        if match["format"] is not None and re.search(PROCESS_FORMATS, match["format"]):
            return False
        if match["delta"] is not None:  # parenthesized, each keyword one timedelta takes, once
            names = [part.split("=")[0].strip() for part in match["delta"].split(",")]
            if match["open"] is None or len(set(names)) != len(names) or not set(names) <= {
                    "weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds"}:
                return False
        return not (match["method"] and match["moment"].startswith("dag_run."))

    def put(match):
        if match["variable"] is not None:
            return _airflow_render(match["variable"])
        if match["param"] is not None or match["key"] is not None:  # as Jinja prints it
            param = match["param"] if match["param"] is not None else match["key"]
            if param not in run.get("params", {}):
                raise dagster.Failure(f"the Airflow run {run['run_id']} gives no param {param!r}, which {value!r} reads")
            return str(run["params"][param])
        if match["days"] is not None or match["outformat"] is not None:  # Airflow's macros, given ds
            from datetime import datetime as _datetime, timedelta as _timedelta

            if run.get("ds") is None:
                raise dagster.Failure(f"the Airflow run {run['run_id']} has no ds, which {value!r} reads")
            if match["outformat"] is not None:
                return _datetime.strptime(run["ds"], match["informat"]).strftime(match["outformat"])
            days = int(match["days"])
            moved = _datetime.strptime(run["ds"], "%Y-%m-%d") + _timedelta(days=days)
            return moved.strftime("%Y-%m-%d") if days else run["ds"]
        key = (match["name"] or match["moment"]).removeprefix("dag_run.")
        found = run.get(key)
        if found is None:
            raise dagster.Failure(f"the Airflow run {run['run_id']} has no {key}, which {value!r} reads")
        if match["name"] is not None:
            return found
        if match["delta"] is not None:  # the moment moved by `macros.timedelta(...)`, in UTC as Airflow's
            from datetime import timedelta as _timedelta

            delta = _timedelta(**{k.strip(): int(v) for k, v in (p.split("=") for p in match["delta"].split(","))})
            found = found + delta if match["sign"] == "+" else found - delta
        if match["format"] is not None:
            return found.strftime(match["format"])
        how = match["method"] or match["filter"]
        if how == "ts":
            return found.isoformat()
        return found.strftime({"ds": "%Y-%m-%d", "to_date_string": "%Y-%m-%d", "ds_nodash": "%Y%m%d",
                               "ts_nodash": "%Y%m%dT%H%M%S", "to_datetime_string": "%Y-%m-%d %H:%M:%S"}[how])

    text = re.sub(r"\r\n|\r", "\n", value)
    text = text[:-1] if text.endswith("\n") else text
    if re.search(r"\{\{|\{%|\{#", pattern.sub(lambda m: "" if carried(m) else m[0], text)):
        raise ValueError(f"only Airflow renders this Jinja: {value!r}")
    return pattern.sub(put, text)
'''.replace("RUN_PATTERN", f'r"{RUN_PATTERN}"', 1).replace(
    "PROCESS_FORMATS", f'r"{_PROCESS_FORMATS}"', 2), ("dagster", "re"))
"""The renderer's text (the pattern written in) and the modules it uses; it calls
``variables.HELPER`` for the Variables."""

"""What the fuzz tests feed the analysis, and the properties every answer must have.

* Settings: Hypothesis profiles and ``fuzz_settings(n)``, the per-test example budget.
* Bounds: ``time_limit`` turns a hang into a test failure (SIGALRM, main thread only).
* Corpora: the real files mutations start from (fixtures, the tutorial, Airflow's examples).
* Mutations: byte flips, line deletions/duplications/swaps, truncation, random unicode,
  splices, deep nesting, line-ending changes.
* Grammars: Airflow DAG modules mixing every construct the static model understands,
  proxied-state YAML in every style airlift accepts (and many it refuses), Dagster modules
  with task mappings in every form ``analysis.dagster.module`` reads.
* Properties (``check_*``): no exception, bounded time, well-formed findings and ranges,
  edits that parse, are idempotent and leave other lines alone.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import keyword
import os
import re
import signal
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
REGRESSIONS = FIXTURES / "fuzz_regressions"
TUTORIAL = REPO / "examples" / "tutorial"
AIRFLOW_EXAMPLES = (REPO / ".cache" / "airflow3" / "lib" / "python3.11" / "site-packages" / "airflow"
                    / "example_dags")

# -- settings --------------------------------------------------------------------------------

_BASE = dict(
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture,
                           HealthCheck.large_base_example],
)
_NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target)
settings.register_profile("airlift-fuzz", **_BASE)
# CI: the same examples on every run, and a failure reported as found (shrinking a hang can
# take minutes); rerun with the default profile and the printed blob to get it shrunk.
settings.register_profile("airlift-fuzz-ci", derandomize=True, database=None, phases=_NO_SHRINK, **_BASE)
settings.register_profile("airlift-fuzz-long", **_BASE)
# A bug hunt: many examples, every distinct failure reported as found, nothing shrunk.
settings.register_profile("airlift-fuzz-hunt", phases=_NO_SHRINK, report_multiple_bugs=True, **_BASE)

PROFILE = os.environ.get("AIRLIFT_FUZZ_PROFILE") or (
    "airlift-fuzz-ci" if os.environ.get("CI") else "airlift-fuzz")
SCALE = float(os.environ.get("AIRLIFT_FUZZ_SCALE") or (
    "10" if PROFILE in ("airlift-fuzz-long", "airlift-fuzz-hunt") else "1"))


def fuzz_settings(examples: int, **overrides: Any) -> settings:
    """The profile's settings with this test's share of the example budget."""
    return settings(settings.get_profile(PROFILE), max_examples=max(1, int(examples * SCALE)),
                    **overrides)


# -- bounds ----------------------------------------------------------------------------------

ANALYSIS_SECONDS = 20.0
"""Per example, for the pure readers: a hang guard (real files read in ~20 ms; a file that
spends the whole work budget takes a few seconds on a loaded machine)."""
EDIT_SECONDS = 10.0
"""Per example, for libcst rewrites and plans on a workspace."""


class _Hang(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` of the code swallows it."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Fail (AssertionError) when the block runs longer than ``seconds``.

    The alarm repeats every 0.2 s until the block ends: Python ignores an exception raised in a
    garbage-collector callback or a ``__del__``, where the first alarm may land."""
    caught = False

    def alarm(signum, frame):  # noqa: ARG001
        if not caught:
            raise _Hang

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.2)
    try:
        yield
    except _Hang:
        caught = True
        raise AssertionError(f"hang: {what} did not finish within {seconds:g}s") from None
    finally:
        caught = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- corpora ---------------------------------------------------------------------------------


def _texts(paths: Sequence[Path]) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(paths) if p.is_file()]


DAG_SEED_PATHS = sorted([
    *(FIXTURES / "dags").glob("*.py"),
    *(FIXTURES / "airflow_dags").glob("*.py"),
    *(TUTORIAL / "airflow_dags").glob("*.py"),
    *AIRFLOW_EXAMPLES.glob("*.py"),
])
DAG_SEEDS = _texts(DAG_SEED_PATHS)
STATE_SEEDS = _texts([*(FIXTURES / "state").glob("*.y*ml"),
                      *(TUTORIAL / "airflow_dags" / "proxied_state").glob("*.y*ml")])
DAGSTER_SEEDS = _texts([*(FIXTURES / "dagster").glob("*.py"),
                        *(FIXTURES / "edits" / "dagster").glob("*.py"),
                        TUTORIAL / "tutorial_dagster" / "definitions.py"])

# -- characters ------------------------------------------------------------------------------

ODD = ["é", "ß", "😀", "中", "ﬁ", "İ", "Ω", "\u0301", "\u200b", "\u00a0", "\u2028", "\u2029", "\u0085",
       "\x0c", "\x0b", "\t", "\r", "\n", "\ufeff", "\x00", "\x1b", "\\", "'", '"', "#", ":",
       "\U0001F600", "\U00010348", "\ud800", "\udfff", "\udcff", "\x7f", "\u202e", "{", "}", "%"]
odd_char = st.one_of(st.sampled_from(ODD), st.characters(), st.characters(categories=["Cs"]))
odd_text = st.lists(st.one_of(odd_char, st.just("\r\n")), min_size=1, max_size=10).map("".join)
IDENT = st.from_regex(r"[a-z_][a-z0-9_]{0,9}", fullmatch=True).filter(lambda s: not keyword.iskeyword(s))
PLAIN_ID = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,11}", fullmatch=True)
UNICODE_ID = st.text(st.characters(categories=["L", "N", "Pc", "Pd", "Zs", "So", "Mn"]), min_size=1,
                     max_size=8)
ID_TEXT = st.one_of(IDENT, IDENT, IDENT, PLAIN_ID, UNICODE_ID, odd_text)


def py_string(value: str, quote: str = '"') -> str:
    """A Python literal for ``value``: raw characters where that is safe, escapes otherwise."""
    if all(c.isprintable() for c in value) and quote not in value and "\\" not in value \
            and not any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return quote + value + quote
    return repr(value)


# -- mutations -------------------------------------------------------------------------------

_SNIPPETS = ["(", ")", "[", "]", "{", "}", ":", ",", ">>", "<<", "\n", "\n    ", "\t", "\\", "\\\n",
             '"', "'", '"""', "'''", "#", "@", "=", " as ", "with DAG(", "task_id=", "dag_id=",
             "@task\n", "@dag()\n", "def f():\n", "lambda: ", "f'{", "}'", "\x00", "\x0c", "\ufeff",
             "\u2028", "\r", "\r\n", "async ", "await ", "yield ", "return ", "*", "**", "...",
             "if True:\n", "else:\n", "pass\n", "import airflow\n", "from airflow import DAG\n",
             ".override(task_id='o')", ".expand(x=[1])", ".partial(task_id='p')", "proxied: ",
             "tasks:\n", "- id: ", "&a ", "*a", "<<: ", "!!str ", "!!bool ", "---\n", "...\n", "%YAML 1.1\n", "%YAML 1.3\n---\n",
             "*assets_with_task_mappings(", "AssetSpec(", "task_mappings={", "defs=Definitions(",
             "\udc80", "\U0001F600"]
_TOKEN_SWAPS = [("task_id", "dag_id"), ("dag_id", "task_id"), (">>", "<<"), ("<<", ">>"),
                ("True", "False"), ("False", "True"), ("true", "false"), ("false", "true"),
                ("with ", "async with "), ("(", "(("), (")", "))"), ("[", "[["), ("\"", "'"),
                ("    ", "\t"), ("\n", "\r"), ("\n", "\r\n"), ("proxied", "proxie"), ("id:", "ids:"),
                ("task_mappings", "dag_mappings"), ("AssetSpec", "AssetKey"), ("def ", "async def "),
                ("@task", "@task.bash"), ("TaskGroup", "task_group"), ("import ", "import airflow, ")]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [""]


def _flip(draw, text: str) -> str:
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    if not data:
        return text
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(data) - 1))
        data[index] ^= 1 << draw(st.integers(0, 7))
    return data.decode("utf-8", errors=draw(st.sampled_from(["replace", "ignore", "surrogateescape"])))


def _delete_lines(draw, text: str) -> str:
    lines = _lines(text)
    start = draw(st.integers(0, len(lines) - 1))
    count = draw(st.integers(1, 3))
    return "".join(lines[:start] + lines[start + count:])


def _duplicate_lines(draw, text: str) -> str:
    lines = _lines(text)
    start = draw(st.integers(0, len(lines) - 1))
    count = draw(st.integers(1, 4))
    at = draw(st.integers(0, len(lines)))
    return "".join(lines[:at] + lines[start:start + count] + lines[at:])


def _swap_lines(draw, text: str) -> str:
    lines = _lines(text)
    a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
    lines[a], lines[b] = lines[b], lines[a]
    return "".join(lines)


def _truncate(draw, text: str) -> str:
    return text[:draw(st.integers(0, len(text)))]


def _insert(draw, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    piece = draw(st.one_of(st.sampled_from(_SNIPPETS), odd_text))
    return text[:at] + piece + text[at:]


def _delete_span(draw, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    return text[:at] + text[at + draw(st.integers(1, 40)):]


def _swap_token(draw, text: str) -> str:
    old, new = draw(st.sampled_from(_TOKEN_SWAPS))
    count = text.count(old)
    if not count:
        return text
    which = draw(st.integers(0, count - 1))
    index = -1
    for _ in range(which + 1):
        index = text.index(old, index + 1)
    return text[:index] + new + text[index + len(old):]


def _nest(draw, text: str) -> str:
    """Wrap a piece of a line in many brackets, or indent a line's block many levels."""
    depth = draw(st.sampled_from([2, 20, 99, 101, 199, 201, 400, 1200]))
    lines = _lines(text)
    index = draw(st.integers(0, len(lines) - 1))
    line = lines[index]
    kind = draw(st.sampled_from(["paren", "list", "indent", "chain", "not"]))
    body = line.rstrip("\r\n")
    ending = line[len(body):]
    stripped = body.lstrip()
    indent = body[:len(body) - len(stripped)]
    if kind == "paren" and "=" in stripped:
        name, _, value = stripped.partition("=")
        lines[index] = f"{indent}{name}={'(' * depth}{value}{')' * depth}{ending}"
    elif kind == "list":
        lines[index] = f"{indent}_nested = {'[' * depth}{']' * depth}{ending}{line}"
    elif kind == "indent":
        depth = min(depth, 120)
        nested = "".join(f"{indent}{' ' * level}if True:\n" for level in range(depth))
        lines[index] = nested + f"{indent}{' ' * depth}{stripped or 'pass'}{ending or chr(10)}"
    elif kind == "chain":
        names = re.findall(r"^\s*([A-Za-z_]\w*)\s*=", text, re.M) or ["a", "b"]
        chain = " >> ".join(names[i % len(names)] for i in range(depth))
        lines[index] = f"{line}{'' if ending else chr(10)}{indent}{chain}\n"
    else:
        lines[index] = f"{indent}_x = {'not ' * depth}True{ending}{line}"
    return "".join(lines)


def _splice(draw, text: str, seeds: Sequence[str]) -> str:
    other = draw(st.sampled_from(seeds))
    start = draw(st.integers(0, len(other)))
    piece = other[start:start + draw(st.integers(1, 400))]
    at = draw(st.integers(0, len(text)))
    return text[:at] + piece + text[at:]


def _line_endings(draw, text: str) -> str:
    eol = draw(st.sampled_from(["\r\n", "\r", "\n", "\u2028"]))
    return re.sub(r"\r\n|\r|\n", eol, text)


def _reindent(draw, text: str) -> str:
    unit = draw(st.sampled_from(["\t", "  ", " ", "        "]))
    return re.sub(r"(?m)^(    )+", lambda m: unit * (len(m.group()) // 4), text)


_MUTATIONS: list[Callable] = [_flip, _flip, _delete_lines, _duplicate_lines, _swap_lines, _truncate,
                              _insert, _insert, _delete_span, _swap_token, _swap_token, _nest,
                              _line_endings, _reindent]


@st.composite
def mutated(draw, seeds: Sequence[str], generated: st.SearchStrategy[str] | None = None,
            max_mutations: int = 4) -> str:
    """A real (or generated) file, mutated one to ``max_mutations`` times."""
    if generated is not None and draw(st.integers(0, 3)) == 0:
        text = draw(generated)
    else:
        text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, max_mutations))):
        mutation = draw(st.sampled_from([*_MUTATIONS, "splice"]))
        text = _splice(draw, text, seeds) if mutation == "splice" else mutation(draw, text)
    return text


# -- the DAG grammar -------------------------------------------------------------------------

_OPERATORS = [
    ("EmptyOperator", "airflow.providers.standard.operators.empty", ""),
    ("BashOperator", "airflow.providers.standard.operators.bash", 'bash_command="echo hi"'),
    ("PythonOperator", "airflow.providers.standard.operators.python", "python_callable=print"),
    ("BashOperator", "airflow.operators.bash", 'bash_command="echo {{ ds }}"'),
    ("EmptyOperator", "airflow.operators.empty", ""),
    ("SQLExecuteQueryOperator", "airflow.providers.common.sql.operators.sql", 'sql="SELECT 1"'),
]
_VOCABULARY = ["DAG", "dag", "task", "task_group", "TaskGroup", "chain", "chain_linear",
               "cross_downstream", "Label", "setup", "teardown", "TriggerRule", "asset"]


class _DagWriter:
    """Writes one Airflow DAG module. ``simple`` keeps to static, mostly valid files (the
    workspaces the migration plans run on); otherwise anything the grammar knows goes."""

    def __init__(self, draw, simple: bool) -> None:
        self.draw = draw
        self.simple = simple
        self.out: list[str] = []
        self.unit = "    " if simple else draw(st.sampled_from(["    ", "    ", "    ", "  ", "\t"]))
        self.counter = 0
        self.names: dict[str, str] = {}
        self.operators: list[tuple[str, str]] = []
        self.taskfns: list[str] = []
        self.groupfns: list[str] = []
        self.helpers: list[str] = []
        self.consts: dict[str, str] = {}
        self.dag_ids: list[str] = []

    # -- drawing helpers

    def pick(self, options: Sequence):
        return self.draw(st.sampled_from(options))

    def percent(self, p: int) -> bool:
        return self.draw(st.integers(0, 99)) < p

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, level: int, text: str) -> None:
        self.out.append(self.unit * level + text)

    def id_text(self) -> str:
        if self.simple:
            return f"{self.draw(IDENT).strip('_') or 'x'}_{self.fresh('')}"
        return self.draw(ID_TEXT)

    def literal(self, text: str | None = None) -> str:
        return py_string(self.id_text() if text is None else text, self.pick(['"', '"', "'"]))

    # -- module

    def module(self) -> str:
        if self.percent(40):
            self.emit(0, py_string(f"Generated DAG {self.draw(odd_text) if not self.simple else ''}", '"""'))
        self.imports()
        self.constants()
        if not self.simple or self.percent(30):
            for _ in range(self.draw(st.integers(0, 2))):
                self.helper()
        for _ in range(self.draw(st.integers(0, 3))):
            self.taskfn()
        for _ in range(self.draw(st.integers(0, 2))):
            self.groupfn()
        for _ in range(self.draw(st.integers(1, 3))):
            self.dag()
        self.trailer()
        eol = "\n" if self.simple else self.pick(["\n", "\n", "\n", "\r\n", "\r"])
        text = eol.join(line.replace("\n", eol) for line in self.out)
        return text + (eol if self.simple or self.percent(90) else "")

    def imports(self) -> None:
        style = "sdk" if self.simple and self.percent(50) else self.pick(
            ["sdk", "classic", "module", "alias", "fallback"])
        names = {name: name for name in _VOCABULARY}
        if style == "sdk":
            self.emit(0, f"from airflow.sdk import {', '.join(_VOCABULARY)}")
        elif style == "classic":
            self.emit(0, "from airflow import DAG")
            self.emit(0, "from airflow.decorators import dag, setup, task, task_group, teardown")
            self.emit(0, "from airflow.models.baseoperator import chain, chain_linear, cross_downstream")
            self.emit(0, "from airflow.utils.task_group import TaskGroup")
            self.emit(0, "from airflow.utils.edgemodifier import Label")
            self.emit(0, "from airflow.utils.trigger_rule import TriggerRule")
            self.emit(0, "from airflow.sdk import asset")
        elif style == "module":
            self.emit(0, "import airflow")
            self.emit(0, "from airflow import models")
            self.emit(0, "import airflow.sdk as sdk")
            names = {name: f"sdk.{name}" for name in _VOCABULARY}
            names["DAG"] = self.pick(["airflow.DAG", "models.DAG", "sdk.DAG"])
        elif style == "alias":
            names = {name: f"{name}_" + self.fresh("a") for name in _VOCABULARY}
            self.emit(0, "from airflow.sdk import (")
            for name in _VOCABULARY:
                self.emit(1, f"{name} as {names[name]},")
            self.emit(0, ")")
        else:
            self.emit(0, "try:  # Airflow 3")
            self.emit(1, f"from airflow.sdk import {', '.join(_VOCABULARY)}")
            self.emit(0, "except ImportError:  # Airflow 2")
            self.emit(1, "from airflow import DAG")
            self.emit(1, "from airflow.decorators import dag, task, task_group")
        if not self.simple and self.percent(10):
            self.out.pop(self.draw(st.integers(0, len(self.out) - 1)))  # a missing import
        self.names = names
        for name, module, extra in self.draw(st.lists(st.sampled_from(_OPERATORS), min_size=1, max_size=3,
                                                      unique=True)):
            local = name
            if self.percent(20):
                local = name.replace("Operator", "") or name
                self.emit(0, f"from {module} import {name} as {local}")
            elif self.percent(10) and not self.simple:
                short = module.rsplit(".", 1)[1]
                self.emit(0, f"from {module.rsplit('.', 1)[0]} import {short}")
                local = f"{short}.{name}"
            else:
                self.emit(0, f"from {module} import {name}")
            self.operators.append((local, extra))
        if self.percent(40):
            self.emit(0, "import os")
            self.emit(0, "from pathlib import Path")
            self.emit(0, "import pendulum")

    def constants(self) -> None:
        for _ in range(self.draw(st.integers(0, 4))):
            kind = self.pick(["str", "str", "list", "dict", "bool", "int"])
            name = self.fresh(kind.upper() + "_")
            if kind == "str":
                value = self.literal()
            elif kind == "list":
                size = self.pick([0, 1, 2, 3]) if self.simple else self.pick([0, 1, 2, 3, 1000, 1001])
                if size > 10:
                    value = f"list(range({size}))" if self.percent(50) else \
                        "[" + ", ".join(str(i) for i in range(size)) + "]"
                else:
                    value = "[" + ", ".join(self.literal() for _ in range(size)) + "]"
            elif kind == "dict":
                value = "{" + ", ".join(f"{self.literal()}: {self.literal()}"
                                        for _ in range(self.draw(st.integers(0, 3)))) + "}"
            elif kind == "bool":
                value = self.pick(["True", "False"])
            else:
                value = str(self.pick([0, 1, 3, 10, 1000]))
            self.consts[name] = kind
            self.emit(0, f"{name} = {value}")

    def const(self, kind: str) -> str | None:
        names = [n for n, k in self.consts.items() if k == kind]
        return self.pick(names) if names else None

    def helper(self) -> None:
        name = self.fresh("make_")
        form = self.pick(["one", "many"] if self.simple else ["one", "many", "fanout", "recursive"])
        self.emit(0, f"def {name}(x, y=1):")
        op, extra = self.pick(self.operators)
        if form == "one":
            self.emit(1, f"return {op}(task_id=f\"load_{{x}}\"{', ' + extra if extra else ''})")
        elif form == "many":
            self.emit(1, f"return [{op}(task_id=f\"m_{{x}}_{{i}}\") for i in range(y)]")
        elif form == "fanout":
            calls = self.pick([1, 2, 3, 6])
            self.emit(1, "; ".join([f"{name}(x, y)"] * calls))
            self.emit(1, f"return {op}(task_id=f\"fan_{{x}}\")")
        else:
            self.emit(1, f"return {name}(x + 1) if x else {op}(task_id=\"rec\")")
        self.helpers.append(name)

    def decorator(self, kind: str) -> str:
        name = self.names[kind]
        if kind == "task":
            form = self.pick(["@{t}", "@{t}()", "@{t}(task_id={id})", "@{t}.bash", "@{t}.python(multiple_outputs=True)",
                              "@{s}", "@{td}", "@{t}.run_if(lambda context: True)\n@{t}", "@{t}.virtualenv"])
            return form.format(t=name, s=self.names["setup"], td=self.names["teardown"], id=self.literal())
        if kind == "task_group":
            return self.pick([f"@{name}", f"@{name}()", f"@{name}(group_id={self.literal()})",
                              f"@{name}(prefix_group_id=False)"])
        return f"@{name}"

    def taskfn(self, level: int = 0) -> str:
        name = self.fresh("step_")
        for line in self.decorator("task").split("\n"):
            self.emit(level, line)
        self.emit(level, f"def {name}(*args, **kwargs):")
        self.emit(level + 1, self.pick(["return 1", "return [1, 2]", 'return "echo hi"', "pass", "print(args)"]))
        if level == 0:
            self.taskfns.append(name)
        return name

    def groupfn(self) -> None:
        name = self.fresh("section_")
        self.emit(0, self.decorator("task_group"))
        self.emit(0, f"def {name}(value=None):")
        context = {"vars": [], "loops": [], "dagvar": None, "depth": 1}
        self.block(1, context, limit=3)
        if context["vars"]:
            self.emit(1, f"return {self.pick(context['vars'])}")
        self.groupfns.append(name)

    # -- DAGs

    def dag_options(self) -> str:
        options = []
        if self.percent(50):
            options.append(self.pick(["schedule=None", 'schedule="@daily"', "schedule_interval=None"]))
        if self.percent(40):
            options.append(self.pick(["start_date=pendulum.datetime(2024, 1, 1)", "catchup=False",
                                      'tags=["fuzz"]', "default_args={'retries': 1}"]))
        return ", ".join(options)

    def dag_id_expr(self) -> str:
        if self.simple:
            dag_id = f"dag_{self.draw(IDENT).strip('_') or 'x'}_{self.fresh('')}"
            self.dag_ids.append(dag_id)
            return py_string(dag_id)
        return self.id_expr({"vars": [], "loops": []})

    def dag(self) -> None:
        form = self.pick(["with", "with", "assigned", "decorated", "decorated"] +
                         ([] if self.simple else ["asset", "with_positional", "nested_with"]))
        options = self.dag_options()
        joined = (", " + options) if options else ""
        context = {"vars": [], "loops": [], "dagvar": None, "depth": 0}
        if form in ("with", "with_positional", "nested_with"):
            id_part = self.dag_id_expr() if form == "with_positional" else f"dag_id={self.dag_id_expr()}"
            variable = self.fresh("dag_") if self.percent(60) else None
            suffix = f" as {variable}" if variable else ""
            level = 0
            if form == "nested_with":
                self.emit(0, "if True:")
                level = 1
            self.emit(level, f"with {self.names['DAG']}({id_part}{joined}){suffix}:")
            self.block(level + 1, context)
        elif form == "assigned":
            variable = self.fresh("dag_")
            self.emit(0, f"{variable} = {self.names['DAG']}(dag_id={self.dag_id_expr()}{joined})")
            context["dagvar"] = variable
            self.block(0, context, limit=5)
        elif form == "decorated":
            name = self.fresh("pipeline_")
            id_option = f"dag_id={self.dag_id_expr()}" if self.percent(60) or self.simple else ""
            if not id_option and self.simple:
                self.dag_ids.append(name)
            args = ", ".join(a for a in (id_option, options) if a)
            self.emit(0, f"@{self.names['dag']}({args})")
            self.emit(0, f"def {name}():")
            self.block(1, context)
            call = self.pick([f"{name}()", f"{self.fresh('dag_')} = {name}()", f"{name}()"]
                             + ([] if self.simple else ["", f"{name}()\n{name}()"]))
            if call:
                self.emit(0, call)
        else:
            name = self.fresh("asset_")
            self.emit(0, self.pick([f"@{self.names['asset']}(schedule=None)",
                                    f"@{self.names['asset']}(name={self.literal()}, schedule=None)",
                                    f"@{self.names['asset']}.multi(outlets=[], schedule=None)"]))
            self.emit(0, f"def {name}():")
            self.emit(1, "pass")

    # -- statements

    def block(self, level: int, context: dict, limit: int = 6) -> None:
        count = self.draw(st.integers(0 if not self.simple else 1, limit))
        if count == 0:
            self.emit(level, "pass")
            return
        kinds = ["op", "op", "op", "taskflow", "taskflow", "edge", "edge", "group", "loop"]
        if not self.simple:
            kinds += ["partial", "groupcall", "if", "while", "try", "helper", "append", "comprehension",
                      "setup_teardown", "nested_def", "deep", "comment", "edge", "dynamic_op"]
        elif self.groupfns:
            kinds.append("groupcall")
        for _ in range(count):
            kind = self.pick(kinds)
            if context["depth"] >= (2 if self.simple else 4) and kind in (
                    "group", "loop", "if", "while", "try", "setup_teardown"):
                kind = "op"
            getattr(self, f"stmt_{kind}")(level, context)

    def assign(self, context: dict) -> str:
        if self.percent(75 if self.simple else 60):
            name = self.fresh("t")
            context["vars"].append(name)
            return f"{name} = "
        return ""

    def kwargs(self, context: dict, extra: str) -> str:
        parts = [f"task_id={self.id_expr(context)}"]
        if extra:
            parts.append(extra)
        if context.get("dagvar"):
            parts.append(f"dag={context['dagvar']}")
        if not self.simple:
            if self.percent(15):
                parts.append(f"doc={py_string(self.draw(odd_text))}")
            if self.percent(10):
                parts.append(f"trigger_rule={self.names['TriggerRule']}.ALL_DONE")
            if self.percent(5):
                parts.append("**DEFAULTS")
            if self.percent(30):
                parts = list(self.draw(st.permutations(parts)))
        return ", ".join(parts)

    def stmt_op(self, level: int, context: dict) -> None:
        op, extra = self.pick(self.operators)
        self.emit(level, f"{self.assign(context)}{op}({self.kwargs(context, extra)})")

    def stmt_dynamic_op(self, level: int, context: dict) -> None:
        op, _ = self.pick(self.operators)
        self.emit(level, f"{self.assign(context)}{op}({self.pick(['', '**kwargs', 'task_id', 'get_id()'])})")

    def stmt_partial(self, level: int, context: dict) -> None:
        op, _ = self.pick(self.operators)
        self.emit(level, f"{self.assign(context)}{op}.partial(task_id={self.id_expr(context)})"
                         f".{self.pick(['expand', 'expand_kwargs'])}(bash_command=[\"a\", \"b\"])")

    def stmt_taskflow(self, level: int, context: dict) -> None:
        if not self.taskfns or (not self.simple and self.percent(10)):
            name = self.taskfn(level)
        else:
            name = self.pick(self.taskfns)
        args = ", ".join(self.draw(st.lists(st.sampled_from(context["vars"]), max_size=2))) \
            if context["vars"] else ""
        form = self.pick(["{n}({a})", "{n}({a})", "{n}.override(task_id={id})({a})"] +
                         ([] if self.simple else ["{n}.expand(x=[1, 2])", "{n}.partial(y=1).expand(x=[1])",
                                                   "{n}.override(task_id={id}).expand(x={a_list})",
                                                   "{n}()({a})", "{n}"]))
        self.emit(level, self.assign(context) + form.format(n=name, a=args, id=self.id_expr(context),
                                                            a_list=f"[{args}]"))

    def stmt_groupcall(self, level: int, context: dict) -> None:
        if not self.groupfns:
            return self.stmt_taskflow(level, context)
        name = self.pick(self.groupfns)
        form = self.pick(["{n}()", "{n}(1)", "{n}.override(group_id={id})()"] +
                         ([] if self.simple else ["{n}.expand(value=[1, 2])", "{n}.partial(value=1).expand()"]))
        self.emit(level, self.assign(context) + form.format(n=name, id=self.id_expr(context)))

    def stmt_group(self, level: int, context: dict) -> None:
        variable = self.fresh("g")
        options = [self.pick([self.id_expr(context), f"group_id={self.id_expr(context)}"])]
        if self.percent(25):
            options.append("prefix_group_id=False")
        if self.percent(15) and not self.simple:
            options.append(f"tooltip={py_string(self.draw(odd_text))}")
        if context.get("dagvar"):
            options.append(f"dag={context['dagvar']}")
        self.emit(level, f"with {self.names['TaskGroup']}({', '.join(options)}) as {variable}:")
        inner = {**context, "depth": context["depth"] + 1, "vars": list(context["vars"])}
        self.block(level + 1, inner, limit=4)
        context["vars"].extend(v for v in inner["vars"] if v not in context["vars"])
        context["vars"].append(variable)

    def stmt_loop(self, level: int, context: dict) -> None:
        variable = self.fresh("item")
        iterables = [f"[{', '.join(self.literal() for _ in range(self.draw(st.integers(0, 3))))}]",
                     f"range({self.pick([0, 1, 2, 3])})"]
        if self.const("list"):
            iterables.append(self.const("list"))
        target = variable
        if not self.simple:
            iterables += [f"range({self.pick([10, 1000, 1001, 10**9])})", "get_items()",
                          f"enumerate([{self.literal()}])", "zip([1, 2], [3, 4])"]
            if self.const("dict"):
                iterables.append(f"{self.const('dict')}.items()")
        iterable = self.pick(iterables)
        if iterable.endswith(".items()") or iterable.startswith(("enumerate", "zip")):
            target = f"{variable}, {variable}_v"
        self.emit(level, f"for {target} in {iterable}:")
        inner = {**context, "depth": context["depth"] + 1, "loops": [*context["loops"], variable],
                 "vars": list(context["vars"])}
        self.block(level + 1, inner, limit=3)
        if not self.simple and self.percent(10):
            self.emit(level + 1, self.pick(["break", "continue"]))
        context["vars"].extend(v for v in inner["vars"] if v not in context["vars"])

    def stmt_edge(self, level: int, context: dict) -> None:
        names = context["vars"] or ([] if self.simple else ["undefined_task"])
        if not names:
            return self.stmt_op(level, context)
        some = lambda n: self.draw(st.lists(st.sampled_from(names), min_size=1, max_size=n))  # noqa: E731
        a, b = self.pick(names), self.pick(names)
        label = self.names["Label"]
        forms = [f"{a} >> {b}", f"{a} << {b}", f"[{', '.join(some(3))}] >> {b}", f"{a} >> [{', '.join(some(3))}]",
                 f"{a}.set_downstream({b})", f"{a}.set_upstream([{', '.join(some(2))}])",
                 f"{self.names['chain']}({', '.join(some(4))})",
                 f"{self.names['cross_downstream']}([{', '.join(some(2))}], [{', '.join(some(2))}])",
                 " >> ".join(some(5))]
        if not self.simple:
            forms += [f"{a} >> {label}({self.literal()}) >> {b}",
                      f"{self.names['chain_linear']}([{', '.join(some(2))}], [{', '.join(some(2))}])",
                      f"{a}.as_teardown(setups={b})", f"{a} >> {b} << {a}", f"({a} >> {b}) >> {a}"]
        self.emit(level, self.pick(forms))

    def stmt_if(self, level: int, context: dict) -> None:
        condition = self.pick(["True", "False", "os.environ.get('X')", "1 == 1"] +
                              [n for n, k in self.consts.items() if k in ("bool", "int")])
        self.emit(level, f"if {condition}:")
        inner = {**context, "depth": context["depth"] + 1}
        self.block(level + 1, inner, limit=3)
        if self.percent(50):
            self.emit(level, "else:")
            self.block(level + 1, inner, limit=2)

    def stmt_while(self, level: int, context: dict) -> None:
        self.emit(level, f"while {self.pick(['True', 'False', 'running()', 'N'])}:")
        self.block(level + 1, {**context, "depth": context["depth"] + 1}, limit=2)
        self.emit(level + 1, "break")

    def stmt_try(self, level: int, context: dict) -> None:
        self.emit(level, "try:")
        self.block(level + 1, {**context, "depth": context["depth"] + 1}, limit=2)
        self.emit(level, self.pick(["except ImportError:", "except Exception as error:", "finally:"]))
        self.block(level + 1, {**context, "depth": context["depth"] + 1}, limit=2)

    def stmt_helper(self, level: int, context: dict) -> None:
        if not self.helpers:
            return self.stmt_op(level, context)
        self.emit(level, f"{self.assign(context)}{self.pick(self.helpers)}({self.literal()}, "
                         f"{self.pick([0, 2, 3, 30])})")

    def stmt_append(self, level: int, context: dict) -> None:
        name = self.fresh("tasks")
        op, extra = self.pick(self.operators)
        self.emit(level, f"{name} = []")
        self.emit(level, f"{name}.append({op}({self.kwargs(context, extra)}))")
        self.emit(level, f"{name}[0] >> {name}[-1]")
        context["vars"].append(name)

    def stmt_comprehension(self, level: int, context: dict) -> None:
        op, _ = self.pick(self.operators)
        # (not 1000: edges between two such lists are a million, a big input rather than a hang)
        size = self.pick([0, 2, 5, 30])
        self.emit(level, f"{self.assign(context)}[{op}(task_id=f\"c_{{i}}\") for i in range({size})]")

    def stmt_setup_teardown(self, level: int, context: dict) -> None:
        setup = self.fresh("create_")
        teardown = self.fresh("delete_")
        self.emit(level, f"@{self.names['setup']}")
        self.emit(level, f"def {setup}():")
        self.emit(level + 1, "return 1")
        self.emit(level, f"@{self.names['teardown']}")
        self.emit(level, f"def {teardown}(x):")
        self.emit(level + 1, "pass")
        self.emit(level, f"with {teardown}({setup}()):")
        self.block(level + 1, {**context, "depth": context["depth"] + 1}, limit=2)

    def stmt_nested_def(self, level: int, context: dict) -> None:
        name = self.taskfn(level)
        self.emit(level, f"{self.assign(context)}{name}()")

    def stmt_comment(self, level: int, context: dict) -> None:
        self.emit(level, "# " + self.draw(odd_text).replace("\n", " ").replace("\r", " "))

    def stmt_deep(self, level: int, context: dict) -> None:
        depth = self.pick([3, 50, 99, 150, 199, 201, 300, 600, 1500])
        names = context["vars"] or ["a", "b"]
        kind = self.pick(["parens", "lists", "chain", "concat", "calls", "attrs", "ifs", "not", "lambda"])
        if kind == "parens":
            self.emit(level, f"_deep = {'(' * depth}1{')' * depth}")
        elif kind == "lists":
            self.emit(level, f"_deep = {'[' * depth}{']' * depth}")
        elif kind == "chain":
            self.emit(level, " >> ".join(names[i % len(names)] for i in range(depth)))
        elif kind == "concat":
            self.emit(level, f"{self.assign(context)}{self.pick(self.operators)[0]}(task_id="
                             + " + ".join(['"a"'] * depth) + ")")
        elif kind == "calls":
            self.emit(level, "_deep = f" + "()" * depth)
        elif kind == "attrs":
            self.emit(level, "_deep = a" + ".b" * depth)
        elif kind == "not":
            self.emit(level, "_deep = " + "not " * depth + "True")
        elif kind == "lambda":
            self.emit(level, "_deep = " + "lambda: " * min(depth, 300) + "1")
        else:
            depth = min(depth, 101)
            for extra in range(depth):
                self.emit(level + extra, "if True:")
            self.emit(level + depth, "pass")

    # -- ids

    def id_expr(self, context: dict) -> str:
        if self.simple:
            forms = ["lit", "lit", "lit", "fconst", "concat", "format", "const"]
            if context["loops"]:
                forms += ["loop", "loop"]
        else:
            forms = ["lit", "lit", "lit", "lit", "fconst", "concat", "pct", "format", "const", "loop",
                     "dynamic", "trigger", "stem", "width", "mul", "fstring_expr"]
        form = self.pick(forms)
        prefix = self.const("str")
        if form == "lit" or (form in ("fconst", "concat", "format", "const") and prefix is None):
            return self.literal()
        if form == "fconst":
            return f'f"{{{prefix}}}_{self.fresh("f")}"'
        if form == "concat":
            return f'{prefix} + "_{self.fresh("c")}"'
        if form == "format":
            return f'"{{}}_{{}}".format({prefix}, {self.counter})'
        if form == "const":
            return prefix  # type: ignore[return-value]
        if form == "pct":
            return f'"step_%d" % {self.pick([1, 2, 10**6])}'
        if form == "loop":
            if not context["loops"]:
                return self.literal()
            return f'f"{self.id_text() if not self.simple else "t"}_{{{self.pick(context["loops"])}}}_{self.counter}"'
        if form == "dynamic":
            return self.pick(['os.environ["TASK"]', "get_id()", 'Variable.get("x")', "undefined_name",
                              "random.choice(['a', 'b'])", "f\"{get_id()}\""])
        if form == "trigger":
            return f"{self.names['TriggerRule']}.{self.pick(['ONE_SUCCESS', 'ALL_DONE', 'NOT_A_RULE'])}"
        if form == "stem":
            return self.pick(["Path(__file__).stem", "os.path.basename(__file__)",
                              "os.path.splitext(os.path.basename(__file__))[0]"])
        if form == "width":
            width = self.pick([0, 3, 40, 10**11])
            return f'f"{{1:>{width}}}"' if self.percent(50) else f'"{{:>{width}}}".format(1)'
        if form == "mul":
            return f'"ab" * {self.pick([0, 3, 5000, 10**12])}'
        return f'f"{{{self.pick(["1 + 1", "[1][0]", "x!r", "3.5:.2f", "None"])}}}"'

    # -- the end of the file

    def trailer(self) -> None:
        if self.simple:
            form = self.pick(["none", "none", "plain", "guarded"])
        else:
            form = self.pick(["none", "none", "plain", "plain", "guarded", "not_last", "module_attr", "twice"])
        if form != "none":
            self.hook(form)
        if not self.simple and self.percent(10):
            self.emit(0, 'if __name__ == "__main__":')
            self.emit(1, "pass")

    def state_dir_expr(self) -> str:
        forms = ['Path(__file__).parent / "proxied_state"']
        if not self.simple:
            forms += ['Path(__file__).parent / "state"', 'os.path.join(os.path.dirname(__file__), "proxied_state")',
                      'Path(__file__).resolve().parent.joinpath("proxied_state")', 'Path(__file__).parent',
                      'Path(__file__).parent.parent / ".." / "outside"', 'Path("/tmp/absolute")', "get_dir()",
                      "STATE_DIR", f"Path(__file__).parent / {self.literal()}"]
        return self.pick(forms)

    def hook(self, form: str) -> None:
        level = 0
        if form == "guarded":
            flag = self.fresh("PROXYING_")
            self.emit(0, f"{flag} = {self.pick(['True', 'False'])}")
            self.emit(0, f"if {flag}:")
            level = 1
        self.emit(level, "from pathlib import Path")
        if form == "module_attr":
            self.emit(level, "import dagster_airlift.in_airflow as dai")
            call = "dai.proxying_to_dagster"
        else:
            self.emit(level, "from dagster_airlift.in_airflow import proxying_to_dagster")
            call = "proxying_to_dagster"
        self.emit(level, "from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml")
        if "STATE_DIR" in self.state_dir_expr() or self.percent(10):
            self.emit(level, 'STATE_DIR = Path(__file__).parent / "proxied_state"')
        self.emit(level, f"{call}(")
        self.emit(level + 1, "global_vars=globals(),")
        self.emit(level + 1, f"proxied_state=load_proxied_state_from_yaml({self.state_dir_expr()}),")
        self.emit(level, ")")
        if form == "twice":
            self.emit(level, f"{call}(global_vars=globals(), proxied_state=load_proxied_state_from_yaml("
                             f"{self.state_dir_expr()}))")
        if form == "not_last":
            op, extra = self.pick(self.operators)
            self.emit(0, f"late = {op}(task_id={self.literal()}{', ' + extra if extra else ''})")
            if self.percent(50):
                self.dag()


@st.composite
def dag_sources(draw, simple: bool = False) -> str:
    """An Airflow DAG module from the grammar."""
    return _DagWriter(draw, simple).module()


@st.composite
def simple_dag_source(draw) -> tuple[str, list[str]]:
    """A mostly valid, static DAG module and the DAG ids it names."""
    writer = _DagWriter(draw, simple=True)
    return writer.module(), writer.dag_ids


def any_dag_source() -> st.SearchStrategy[str]:
    """Generated, or a real file mutated: what the DAG fuzz tests read."""
    return st.one_of(dag_sources(), mutated(DAG_SEEDS, dag_sources()))


# -- the state-file grammar ------------------------------------------------------------------

BOOL_WORDS = ["true", "false", "True", "False", "TRUE", "FALSE", "yes", "no", "Yes", "NO", "on", "off",
              "On", "OFF", "y", "n", "1", "0", "~", "null", "", '"true"', "!!bool true", "0x1", "1.0",
              "+1", "0o0", "!!str false"]
STATE_IDS = st.one_of(IDENT, IDENT, PLAIN_ID, UNICODE_ID,
                      st.sampled_from(["123", "1e3", "0o7", "2024-01-31", "y", "null", "~", "true",
                                       "a.b", "a-b", "a b", "#x", "a: b", "-a", "[a]", "{a}", "*a", "&a",
                                       "!a", "'q'", '"dq"', "é", "😀"]),
                      odd_text)


def yaml_id(draw, value: str) -> str:
    """``value`` written plain, single- or double-quoted (not always validly: on purpose)."""
    style = draw(st.sampled_from(["plain", "plain", "single", "double", "escaped"]))
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style == "escaped":
        return '"' + "".join(c if c.isalnum() else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c
                             for c in value) + '"'
    return value


@st.composite
def state_files(draw, task_ids: Sequence[str] = ()) -> str:
    """A proxied-state file in any layout airlift accepts, and some it refuses."""
    eol = draw(st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"]))
    indent = draw(st.sampled_from(["  ", "  ", "", "    ", "\t"]))
    lines: list[str] = []
    percent = lambda p: draw(st.integers(0, 99)) < p  # noqa: E731
    if percent(15):
        lines.append(draw(st.sampled_from(["%YAML 1.1\n---", "%YAML 1.2\n---", "%YAML 1.0\n---", "%YAML 1.3\n---",
                                           "%YAML 2.0\n---", "%TAG ! tag:e.com,2000:\n---", "---",
                                           "# comment " + draw(odd_text)])))
    if percent(20):
        lines.append("# " + draw(st.text(odd_char, max_size=20)).replace("\n", " ").replace("\r", " "))
    shape = draw(st.sampled_from(["tasks", "tasks", "tasks", "tasks", "flow", "dag", "both", "neither",
                                  "empty_tasks", "null_tasks", "anchors", "scalar"]))
    if shape == "dag":
        lines.append(f"proxied: {draw(st.sampled_from(BOOL_WORDS))}")
    elif shape == "scalar":
        lines.append(draw(st.sampled_from(["just text", "- a", "[]", "{}", "42", "", "~"])))
    elif shape == "neither":
        lines.append(f"task:{eol}{indent}- id: a{eol}{indent}  proxied: false")
    elif shape == "empty_tasks":
        lines.append(draw(st.sampled_from(["tasks: []", "tasks: [ ]", "tasks: {}", "tasks: ''"])))
    elif shape == "null_tasks":
        lines.append(draw(st.sampled_from(["tasks:", "tasks: ~", "tasks: null"])))
    else:
        ids = list(task_ids) if task_ids and percent(80) else []
        extra = draw(st.lists(STATE_IDS, max_size=4))
        ids = draw(st.permutations(ids + extra)) if ids or extra else []
        if shape == "anchors":
            lines.append(f"defaults: &defaults{eol}{indent}proxied: {draw(st.sampled_from(['true', 'false']))}")
        if shape == "flow":
            entries = []
            for task_id in ids:
                space = draw(st.sampled_from(["", " "]))
                entries.append(f"{{{space}id: {yaml_id(draw, task_id)}, proxied: "
                               f"{draw(st.sampled_from(BOOL_WORDS[:12]))}{space}}}")
            lines.append("tasks: [" + ", ".join(entries) + "]")
        else:
            lines.append("tasks:" + draw(st.sampled_from(["", "", "  # the tasks"])))
            dash_gap = draw(st.sampled_from([" ", " ", "   "]))
            key_indent = indent + " " * (1 + len(dash_gap))
            for task_id in ids:
                form = draw(st.sampled_from(["block", "block", "block", "reversed", "flow_item", "missing",
                                             "extra", "alias", "merge", "dup_key", "next_line"]))
                value = draw(st.sampled_from(BOOL_WORDS))
                comment = draw(st.sampled_from(["", "", "", "  # note", "  # é😀"]))
                written_id = yaml_id(draw, task_id)
                if form == "reversed":
                    lines.append(f"{indent}-{dash_gap}proxied: {value}{comment}")
                    lines.append(f"{key_indent}id: {written_id}")
                elif form == "flow_item":
                    lines.append(f"{indent}-{dash_gap}{{id: {written_id}, proxied: {value}}}{comment}")
                elif form == "missing":
                    lines.append(f"{indent}-{dash_gap}id: {written_id}")
                elif form == "extra":
                    lines.append(f"{indent}-{dash_gap}id: {written_id}")
                    lines.append(f"{key_indent}proxied: {value}")
                    lines.append(f"{key_indent}note: {draw(st.sampled_from(['x', '1', 'é']))}")
                elif form == "alias":
                    anchor = f"&f{len(lines)}"
                    lines.append(f"{indent}-{dash_gap}id: {written_id}")
                    lines.append(f"{key_indent}proxied: {anchor} {value or 'false'}")
                elif form == "merge":
                    lines.append(f"{indent}-{dash_gap}<<: *defaults")
                    lines.append(f"{key_indent}id: {written_id}")
                elif form == "dup_key":
                    lines.append(f"{indent}-{dash_gap}id: {written_id}")
                    lines.append(f"{key_indent}proxied: {value}")
                    lines.append(f"{key_indent}proxied: {draw(st.sampled_from(BOOL_WORDS[:4]))}")
                elif form == "next_line":
                    lines.append(f"{indent}-")
                    lines.append(f"{key_indent}id: {written_id}")
                    lines.append(f"{key_indent}proxied: {value}{comment}")
                else:
                    lines.append(f"{indent}-{dash_gap}id: {written_id}{draw(st.sampled_from(['', '  # id']))}")
                    lines.append(f"{key_indent}proxied: {value}{comment}")
                if percent(10):
                    lines.append(draw(st.sampled_from(["", "# between", f"{indent}# indented comment"])))
        if shape == "both":
            lines.append(f"proxied: {draw(st.sampled_from(BOOL_WORDS[:4]))}")
    if percent(15):
        lines.append(draw(st.sampled_from(["other: 1", "proxie: true", "# trailing", "...", "---",
                                           "---\nproxied: true", "tasks: []"])))
    text = eol.join(line.replace("\n", eol) for line in lines)
    if percent(85):
        text += eol
    if percent(5):
        text = "\ufeff" + text
    return text


def any_state_file() -> st.SearchStrategy[str]:
    return st.one_of(state_files(), state_files(), mutated(STATE_SEEDS, state_files()))


# -- the Dagster-module grammar --------------------------------------------------------------


class _DagsterWriter:
    def __init__(self, draw, dag_ids: Sequence[str], task_ids: Sequence[str]) -> None:
        self.draw = draw
        self.out: list[str] = []
        self.dag_ids = list(dag_ids)
        self.task_ids = list(task_ids)
        self.quote = draw(st.sampled_from(['"', '"', "'"]))
        self.unit = draw(st.sampled_from(["    ", "    ", "  ", "\t"]))
        self.counter = 0
        self.spec_vars: list[str] = []
        self.asset_fns: list[str] = []

    def pick(self, options: Sequence):
        return self.draw(st.sampled_from(options))

    def percent(self, p: int) -> bool:
        return self.draw(st.integers(0, 99)) < p

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def lit(self, value: str) -> str:
        return py_string(value, self.quote)

    def any_id(self, known: list[str]) -> str:
        if known and self.percent(70):
            return self.pick(known)
        return self.draw(ID_TEXT if self.percent(30) else IDENT)

    def module(self) -> str:
        style = self.pick(["plain", "plain", "dg", "alias"])
        if style == "dg":
            self.n = {"AssetSpec": "dg.AssetSpec", "AssetKey": "dg.AssetKey", "Definitions": "dg.Definitions",
                      "asset": "dg.asset"}
            self.out.append("import dagster as dg")
        elif style == "alias":
            self.n = {"AssetSpec": "Spec", "AssetKey": "Key", "Definitions": "Defs", "asset": "asset"}
            self.out.append("from dagster import AssetSpec as Spec, AssetKey as Key, Definitions as Defs, asset")
        else:
            self.n = {k: k for k in ("AssetSpec", "AssetKey", "Definitions", "asset")}
            self.out.append("from dagster import AssetKey, AssetSpec, Definitions, asset")
        airlift = ["AirflowBasicAuthBackend", "AirflowInstance", "assets_with_task_mappings",
                   "assets_with_dag_mappings", "assets_with_multiple_task_mappings",
                   "build_defs_from_airflow_instance"]
        if self.percent(20):
            self.out.append("import dagster_airlift.core as dac")
            self.a = {name: f"dac.{name}" for name in airlift}
        else:
            self.out.append("from dagster_airlift.core import (")
            self.out.extend(f"{self.unit}{name}," for name in airlift)
            self.out.append(")")
            self.a = {name: name for name in airlift}
        if self.percent(10):
            self.out.pop(self.draw(st.integers(0, len(self.out) - 1)))
        self.out.append("")
        if self.percent(70):
            self.out.append(f"airflow_instance = {self.a['AirflowInstance']}(")
            self.out.append(f"{self.unit}auth_backend={self.a['AirflowBasicAuthBackend']}(")
            self.out.append(f"{self.unit * 2}webserver_url={self.lit('http://localhost:8080')},")
            self.out.append(f"{self.unit * 2}username={self.lit('admin')}, password={self.lit('admin')},")
            self.out.append(f"{self.unit}),")
            self.out.append(f"{self.unit}name={self.lit(self.pick(['airflow', 'tutorial', 'bad name']))},")
            self.out.append(")")
        for _ in range(self.draw(st.integers(0, 2))):
            name = self.fresh("SPEC_")
            self.out.append(f"{name} = {self.spec()}")
            self.spec_vars.append(name)
        for _ in range(self.draw(st.integers(0, 2))):
            name = self.fresh("asset_fn_")
            self.out.append(f"@{self.n['asset']}" + self.pick(["", f"(key={self.key()})", "()"]))
            self.out.append(f"def {name}():")
            self.out.append(f"{self.unit}pass")
            self.asset_fns.append(name)
        elements = []
        for _ in range(self.draw(st.integers(0, 3))):
            call = self.mapping_call()
            if self.percent(40):
                name = self.fresh("mapped_")
                self.out.append(f"{name} = {call}")
                elements.append(self.pick([f"*{name}", name]))
            else:
                elements.append(call if call.startswith("*") else "*" + call)
        self.definitions(elements)
        eol = self.pick(["\n", "\n", "\n", "\r\n"])
        text = eol.join(line.replace("\n", eol) for line in self.out)
        return text + (eol if self.percent(90) else "")

    def key(self) -> str:
        parts = self.draw(st.lists(st.one_of(IDENT, IDENT, ID_TEXT), min_size=1, max_size=3))
        form = self.pick(["str", "list", "assetkey", "slashed"])
        if form == "str" or len(parts) == 1 and form != "assetkey":
            return self.lit(parts[0])
        if form == "slashed":
            return self.lit("/".join(parts))
        listed = "[" + ", ".join(self.lit(p) for p in parts) + "]"
        return f"{self.n['AssetKey']}({listed})" if form == "assetkey" else listed

    def spec(self) -> str:
        deps = ""
        if self.percent(30):
            deps = ", deps=[" + ", ".join(self.key() for _ in range(self.draw(st.integers(0, 2)))) + "]"
        return self.pick([f"{self.n['AssetSpec']}(key={self.key()}{deps})", f"{self.n['AssetSpec']}({self.key()})",
                          f"{self.n['AssetSpec']}(key={self.n['AssetKey']}({self.key()}){deps})"])

    def asset_list(self) -> str:
        items = []
        for _ in range(self.draw(st.integers(0 if self.percent(10) else 1, 3))):
            choice = self.pick(["spec", "spec", "spec", "var", "fn", "star", "dynamic"])
            if choice == "var" and self.spec_vars:
                items.append(self.pick(self.spec_vars))
            elif choice == "fn" and self.asset_fns:
                items.append(self.pick(self.asset_fns))
            elif choice == "star":
                items.append("*load_specs()")
            elif choice == "dynamic":
                items.append("make_spec()")
            else:
                items.append(self.spec())
        if self.percent(5):
            return "SPECS"
        return "[" + ", ".join(items) + "]"

    def mapping_call(self) -> str:
        kind = self.pick(["task", "task", "task", "task", "dag", "multiple"])
        if kind == "dag":
            body = ", ".join(f"{self.lit(self.any_id(self.dag_ids))}: {self.asset_list()}"
                             for _ in range(self.draw(st.integers(1, 2))))
            return f"{self.a['assets_with_dag_mappings']}(dag_mappings={{{body}}})"
        if kind == "multiple":
            handles = ", ".join(f"{{{self.lit('dag_id')}: {self.lit(self.any_id(self.dag_ids))}, "
                                f"{self.lit('task_id')}: {self.lit(self.any_id(self.task_ids))}}}"
                                for _ in range(self.draw(st.integers(1, 2))))
            return (f"{self.a['assets_with_multiple_task_mappings']}(assets={self.asset_list()}, "
                    f"task_handles=[{handles}])")
        dag_id = self.pick([self.lit(self.any_id(self.dag_ids))] * 5 + ["DAG_ID", "f'{x}'"])
        entries = []
        for _ in range(self.draw(st.integers(0, 4))):
            key = self.lit(self.any_id(self.task_ids)) if self.percent(95) else self.pick(["computed", "f'{t}'"])
            entries.append(f"{key}: {self.asset_list()}")
        if self.percent(5):
            entries.append("**OTHER")
        layout = self.pick(["one_line", "multi", "multi", "multi_comments", "dict_var", "not_a_dict"])
        inner = self.unit * 2
        if layout == "one_line" or not entries:
            mappings = "{" + ", ".join(entries) + "}"
        elif layout == "multi_comments":
            body = "".join(f"\n{inner}# entry {i}\n{inner}{e},  # trailing" for i, e in enumerate(entries))
            mappings = "{" + body + f"\n{self.unit}}}"
        elif layout == "dict_var":
            name = self.fresh("MAPPINGS_")
            self.out.append(f"{name} = {{" + ", ".join(entries) + "}")
            mappings = name
        elif layout == "not_a_dict":
            mappings = "dict(" + ", ".join(f"a{i}={e.split(': ', 1)[-1]}" for i, e in enumerate(entries)) + ")"
        else:
            comma = self.pick([",", ""])
            mappings = "{\n" + ",\n".join(f"{inner}{e}" for e in entries) + comma + f"\n{self.unit}}}"
        return f"{self.a['assets_with_task_mappings']}(dag_id={dag_id}, task_mappings={mappings})"

    def definitions(self, elements: list[str]) -> None:
        form = self.pick(["list", "list", "list", "no_assets", "no_defs", "not_list", "twice", "none",
                          "defs_var", "empty"])
        build = self.a["build_defs_from_airflow_instance"]
        instance = "airflow_instance=airflow_instance"
        u = self.unit
        if form == "none":
            return
        if form == "no_defs":
            self.out.append(f"defs = {build}({instance})")
            return
        if form == "no_assets":
            self.out.append(f"defs = {build}({instance}, defs={self.n['Definitions']}())")
            return
        if form == "not_list":
            self.out.append(f"defs = {build}({instance}, defs={self.n['Definitions']}(assets=load_assets()))")
            return
        if form == "empty":
            self.out.append(f"defs = {build}({instance}, defs={self.n['Definitions']}(assets=[]))")
            return
        body = "".join(f"{u * 3}{e},\n" for e in elements)
        definitions = f"{self.n['Definitions']}(\n{u * 2}assets=[\n{body}{u * 2}]\n{u})"
        if form == "defs_var":
            self.out.append(f"inner_defs = {definitions}")
            self.out.append(f"defs = {build}({instance}, defs=inner_defs)")
            return
        self.out.append(f"defs = {build}(\n{u}{instance},\n{u}defs={definitions},\n)")
        if form == "twice":
            self.out.append(f"more = {build}({instance})")


@st.composite
def dagster_modules(draw, dag_ids: Sequence[str] = (), task_ids: Sequence[str] = ()) -> str:
    return _DagsterWriter(draw, dag_ids, task_ids).module()


def any_dagster_module() -> st.SearchStrategy[str]:
    return st.one_of(dagster_modules(), dagster_modules(), mutated(DAGSTER_SEEDS, dagster_modules()))


ASSET_KEYS = st.lists(st.one_of(IDENT, IDENT, IDENT, PLAIN_ID, UNICODE_ID, odd_text,
                                st.sampled_from(["a/b", "a b", "'", '"', "\\"])),
                      min_size=1, max_size=3).map(tuple)


# -- properties ------------------------------------------------------------------------------

CODES = frozenset({"syntax-error", "duplicate-task-id", "dynamic-task-id", "invalid-proxied-state",
                   "unknown-task-in-state", "state-for-unknown-dag", "missing-proxying-call",
                   "proxying-not-last", "proxied-without-asset", "mapped-task-proxied",
                   "mapping-unknown-task", "unmapped-task", "duplicate-dag-id", "mapping-deps-drift",
                   "proxy-breaks-serialization", "unrecognized-dag-file", "unreadable-file", "no-scaffold"})
_LSP_BREAK = re.compile(r"\r\n|\r|\n")


def lsp_lines(text: str) -> list[str]:
    """Lines as LSP counts them: broken at ``\\n``, ``\\r\\n`` and ``\\r`` only."""
    return _LSP_BREAK.split(text)


def check_range(rng, lines: list[str], what: str) -> None:
    """A facts range (0-based lines, code-point columns) lies inside the text."""
    assert rng is not None, what
    start, end = rng.start, rng.end
    assert (start.line, start.character) <= (end.line, end.character), f"{what}: start after end: {rng}"
    for position in (start, end):
        assert 0 <= position.line < len(lines), f"{what}: line {position.line} outside the text " \
                                                 f"({len(lines)} lines): {rng}"
        assert 0 <= position.character <= len(lines[position.line]), \
            f"{what}: character {position.character} outside line {position.line} " \
            f"({len(lines[position.line])} characters): {rng}"


def text_at(lines: list[str], rng) -> str:
    if rng.start.line == rng.end.line:
        return lines[rng.start.line][rng.start.character:rng.end.character]
    parts = [lines[rng.start.line][rng.start.character:]]
    parts += lines[rng.start.line + 1:rng.end.line]
    parts.append(lines[rng.end.line][:rng.end.character])
    return "\n".join(parts)


def python_accepts(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError, UnicodeError):
        return False
    return True


def check_finding(finding, texts: dict[str, str], what: str) -> None:
    from analysis.facts import Severity

    assert finding.code in CODES, f"{what}: unknown code {finding.code!r}"
    assert "internal error of airlift-lsp" not in finding.message, f"{what}: {finding.message}"
    assert isinstance(finding.severity, Severity), what
    assert isinstance(finding.message, str) and finding.message.strip(), f"{what}: empty message"
    assert finding.path in texts, f"{what}: finding for an unknown file {finding.path!r}"
    check_range(finding.range, lsp_lines(texts[finding.path]), f"{what}: {finding.code} range")
    for related in finding.related:
        assert related.path in texts, f"{what}: related information in unknown file {related.path!r}"
        check_range(related.range, lsp_lines(texts[related.path]), f"{what}: {finding.code} related range")
        assert isinstance(related.message, str), what


def check_dag_facts(path: str, text: str, facts) -> None:
    """The properties of ``extract_file``'s answer."""
    from analysis.facts import FileFacts

    assert isinstance(facts, FileFacts) and facts.path == path
    lines = lsp_lines(text)
    accepted = python_accepts(text)
    if accepted:
        assert facts.error is None, f"Python parses this file but the model says: {facts.error}"
    else:
        assert facts.error, "Python rejects this file but the model reports no error"
        check_range(facts.error_range, lines, "error range")
    for finding in facts.findings:
        check_finding(finding, {path: text}, "extract_file")
    for dag in facts.dags:
        assert isinstance(dag.dag_id, str), f"DAG id of type {type(dag.dag_id)}: {dag}"
        check_range(dag.range, lines, f"DAG {dag.dag_id!r} range")
        for name in ("id_range", "extent"):
            if getattr(dag, name) is not None:
                check_range(getattr(dag, name), lines, f"DAG {dag.dag_id!r} {name}")
        if dag.id_range is not None:
            _check_expression(text_at(lines, dag.id_range), f"DAG {dag.dag_id!r} id_range")
        ids = dag.task_ids
        for task in dag.tasks:
            assert isinstance(task.task_id, str), f"task id of type {type(task.task_id)} in {dag.dag_id!r}"
            check_range(task.range, lines, f"task {task.task_id!r} range")
            for name in ("id_range", "definition_range"):
                if getattr(task, name) is not None:
                    check_range(getattr(task, name), lines, f"task {task.task_id!r} {name}")
            if task.id_range is not None:
                _check_expression(text_at(lines, task.id_range), f"task {task.task_id!r} id_range")
            assert list(task.upstream) == sorted(set(task.upstream)), f"upstream not sorted/unique: {task}"
            unknown = set(task.upstream) - ids
            assert not unknown, f"task {task.task_id!r} has upstream tasks its DAG lacks: {unknown}"
        for group in dag.groups:
            check_range(group.range, lines, f"group {group.group_id!r} range")
            if group.extent is not None:
                check_range(group.extent, lines, f"group {group.group_id!r} extent")
    hook = facts.proxying
    if hook is not None:
        check_range(hook.range, lines, "hook range")
        for name in ("trailing_range", "state_dir_range"):
            if getattr(hook, name) is not None:
                check_range(getattr(hook, name), lines, f"hook {name}")


def _check_expression(fragment: str, what: str) -> None:
    """An id range covers an expression (a literal, a name, an f-string...), not a random slice."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse("(" + fragment.replace("\r", " ") + "\n)", mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise AssertionError(f"{what} covers {fragment!r}, which is no expression ({error})") from None


def check_state(path: str, text: str, state) -> None:
    from analysis.state.proxied_state import StateFile

    assert isinstance(state, StateFile) and state.path == path
    lines = lsp_lines(text)
    if state.error:
        assert isinstance(state.error, str)
        check_range(state.error_range, lines, "state error range")
    if state.proxied_range is not None:
        check_range(state.proxied_range, lines, "state proxied range")
    for task in state.tasks:
        assert isinstance(task.task_id, str) and isinstance(task.proxied, bool)
        for name in ("range", "id_range", "proxied_range"):
            check_range(getattr(task, name), lines, f"state task {task.task_id!r} {name}")
    for warning in state.warnings:
        check_finding(warning, {path: text}, "state warning")


def check_dagster(path: str, text: str, module) -> None:
    from analysis.dagster.module import DagsterModule

    assert isinstance(module, DagsterModule) and module.path == path
    lines = lsp_lines(text)
    if module.error:
        check_range(module.error_range, lines, "dagster module error range")
    for mapping in module.mappings:
        assert isinstance(mapping.dag_id, str)
        assert mapping.task_id is None or isinstance(mapping.task_id, str)
        check_range(mapping.key_range, lines, "mapping key range")
        check_range(mapping.call_range, lines, "mapping call range")
        for asset in mapping.assets:
            assert isinstance(asset.key, str)
            check_range(asset.range, lines, f"asset {asset.key!r} range")
    for unresolved in module.unresolved:
        check_range(unresolved.range, lines, "unresolved mapping range")
        check_range(unresolved.call_range, lines, "unresolved mapping call range")


def state_structure(text: str) -> Any:
    """The document as PyYAML (what airlift uses) loads it; ``INVALID`` when it does not load."""
    import yaml

    try:
        return yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - any refusal
        return INVALID


INVALID = object()
_LINES_WITH_ENDS = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def lines_with_ends(text: str) -> list[str]:
    """LSP lines, each with its line break."""
    return _LINES_WITH_ENDS.findall(text)


def _only_grew(old: str, new: str) -> bool:
    """``new`` is ``old`` with text inserted (an appended entry, a line break), nothing lost."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return all(tag in ("equal", "insert") for tag, *_ in matcher.get_opcodes())


def changed_lines_only_grow_or_hold(old: str, new: str, allowed: set[int]) -> None:
    """``new`` is ``old`` with the ``allowed`` lines (0-based) changed in place, whole lines
    inserted at one point, and other lines left byte for byte, or only grown (an entry appended
    at the end of a flow list, a line break added to a last line)."""
    old_lines, new_lines = lines_with_ends(old), lines_with_ends(new)
    inserted = len(new_lines) - len(old_lines)
    assert inserted >= 0, f"lines were deleted: {len(old_lines)} -> {len(new_lines)}"
    first_bad = None
    for at in range(len(old_lines) + 1):
        bad = None
        for index, line in enumerate(old_lines):
            partner = new_lines[index if index < at else index + inserted]
            if line != partner and index not in allowed and not _only_grew(line, partner):
                bad = (index, line, partner)
                break
        if bad is None:
            return
        first_bad = first_bad or bad
    index, line, partner = first_bad  # type: ignore[misc]
    raise AssertionError(f"line {index} changed, and it holds no edited flag: {line!r} -> {partner!r}")


def python_lines_kept(old: str, new: str, allowance: int, *, reindent_ok: bool = False) -> int:
    """How many lines of ``old`` an edit rewrote (fails above ``allowance``); with
    ``reindent_ok``, a line only indented anew counts as kept (an expression moved into a list)."""
    def key(line: str) -> str:
        return line.strip() if reindent_ok else line

    old_lines = [key(line) for line in lines_with_ends(old)]
    new_lines = [key(line) for line in lines_with_ends(new)]
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    kept = sum(size for _, _, size in matcher.get_matching_blocks())
    rewritten = len(old_lines) - kept
    assert rewritten <= allowance, f"the edit rewrote {rewritten} lines (allowance {allowance})"
    return rewritten

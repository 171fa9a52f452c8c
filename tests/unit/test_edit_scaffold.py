"""Scaffolding the Dagster asset that runs an Airflow task: before/after on the tutorial's tasks
(real files under tests/fixtures/scaffold/), the body of each supported form of
tests/fixtures/scaffold/cases_dag.py, every refusal with its reason, idempotency, minimality,
and the read-only parser as the oracle of what the module maps."""

from __future__ import annotations

import ast
import difflib
import textwrap
from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.dagster.module import parse_dagster_module
from analysis.edits import EditResult, NewMapping, add_task_mappings
from analysis.edits.scaffold import ImportRoot, can_scaffold, project_modules, scaffold_task

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = REPO / "examples" / "tutorial"
DAGS = TUTORIAL / "airflow_dags"
MODULE = TUTORIAL / "tutorial_dagster" / "definitions.py"
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"
ROOTS = (ImportRoot(str(DAGS), frozenset({"tutorial_shared"})),)
CASES = FIXTURES / "cases_dag.py"
CASES_MODULE = FIXTURES / "cases_module.py"
CASES_ROOTS = (ImportRoot(str(FIXTURES), frozenset({"helpers"})),)


def scaffold(module_text: str | None, dag_id: str, task_id: str, **options) -> EditResult:
    """Scaffold a tutorial task, the Dagster module where the tutorial has it."""
    dag_path = DAGS / f"{dag_id}.py"
    options = {"module_path": str(MODULE), "import_roots": ROOTS, **options}
    return scaffold_task(dag_path.read_text(), str(dag_path), dag_id, task_id, module_text,
                         **options)


def scaffold_case(module_text: str, task_id: str, **options) -> EditResult:
    options = {"module_path": str(CASES_MODULE), "import_roots": CASES_ROOTS, **options}
    return scaffold_task(CASES.read_text(), str(CASES), "cases", task_id, module_text, **options)


def changed_blocks(before: str, after: str) -> int:
    """Contiguous runs of changed lines: every line outside them is byte-identical."""
    matcher = difflib.SequenceMatcher(None, before.splitlines(True), after.splitlines(True),
                                      autojunk=False)
    return sum(1 for op, *_ in matcher.get_opcodes() if op != "equal")


def mapped(text: str) -> list[tuple[str, str | None, list[str]]]:
    """What the module maps, read back by the read-only parser."""
    module = parse_dagster_module("definitions.py", text)
    assert module.error is None and module.unresolved == ()
    assert not any(m.dynamic for m in module.mappings)
    return [(m.dag_id, m.task_id, [a.key for a in m.assets]) for m in module.mappings]


def body(text: str, function: str, dedent: bool = True) -> str:
    """The lines of a function after its docstring, as written (dedented unless a string's
    lines are less indented than the code's)."""
    tree = ast.parse(text)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    code = "".join(text.splitlines(True)[node.body[0].end_lineno:node.end_lineno])
    return textwrap.dedent(code) if dedent else code


def task_facts(path: Path, dag_id: str, task_id: str):
    return extract_file(str(path), path.read_text()).dag(dag_id).task(task_id)


def assert_idempotent(result: EditResult, again: EditResult) -> None:
    assert again == EditResult(result.text, False, again.reason)
    assert "already has a Dagster definition" in again.reason


# -- the tutorial's tasks, before and after ----------------------------------------------------


@pytest.mark.parametrize("before, dag_id, task_id, blocks", [
    ("tutorial", "rebuild_customers_list", "load_raw_customers", 4),
    ("tutorial", "rebuild_customers_list", "build_dbt_models", 4),
    ("all_mapped", "rebuild_customers_list", "export_customers", 4),
    ("all_mapped", "daily_orders", "extract_orders", 4),
    ("all_mapped", "daily_orders", "notify_team", 3),
])
def test_a_tutorial_task_becomes_the_fixtures_asset(before, dag_id, task_id, blocks):
    text = (MODULE if before == "tutorial" else FIXTURES / "tutorial_all_mapped.py").read_text()
    expected = (FIXTURES / f"{before}+{task_id}.py").read_text()
    result = scaffold(text, dag_id, task_id)
    assert result == EditResult(expected, True), "\n" + "".join(difflib.unified_diff(
        expected.splitlines(True), (result.text or "").splitlines(True), "expected", "got"))
    # imports, the new definitions (one block), the mapping's line: nothing else moves
    assert changed_blocks(text, result.text) == blocks
    assert mapped(result.text) == mapped(text)  # the same keys, now from the @multi_asset
    assert_idempotent(result, scaffold(result.text, dag_id, task_id))


def test_every_tutorial_task_that_can_be_scaffolded_in_turn():
    text = (FIXTURES / "tutorial_all_mapped.py").read_text()
    for dag_id, task_id in [("rebuild_customers_list", "load_raw_customers"),
                            ("rebuild_customers_list", "build_dbt_models"),
                            ("rebuild_customers_list", "export_customers"),
                            ("daily_orders", "extract_orders"), ("daily_orders", "notify_team")]:
        result = scaffold(text, dag_id, task_id)
        assert result.changed, result.reason
        text = result.text
    assert text == (FIXTURES / "all_mapped+all.py").read_text()
    # each helper once, before the assets that call it
    assert text.count("def _airflow_import_roots(") == 1
    assert text.count("def _airflow_dag_file(") == 1
    assert text.index("def _airflow_dag_file(") < text.index("@multi_asset")


def test_the_python_operator_calls_its_callable_with_the_same_arguments():
    text = scaffold(MODULE.read_text(), "rebuild_customers_list", "load_raw_customers").text
    assert body(text, "rebuild_customers_list__load_raw_customers") == textwrap.dedent('''\
        _airflow_import_roots("../airflow_dags")

        from tutorial_shared import customers, data_dir, export

        DATA_DIR = data_dir()

        customers.load_raw_customers(
            source=str(customers.RAW_CUSTOMERS_CSV),
            target=str(DATA_DIR / "raw_customers.csv"),
        )
        ''')


def test_the_bash_operator_runs_its_command_where_the_dag_file_said():
    text = scaffold(MODULE.read_text(), "rebuild_customers_list", "build_dbt_models").text
    # DAGS_FOLDER is computed from the DAG file's __file__, which the helper gives back
    assert body(text, "rebuild_customers_list__build_dbt_models") == textwrap.dedent('''\
        _airflow_import_roots("../airflow_dags")
        dag_file = _airflow_dag_file("../airflow_dags/rebuild_customers_list.py")

        import os
        import shlex
        import sys

        from tutorial_shared import customers, data_dir, export

        DAGS_FOLDER = os.path.dirname(os.path.abspath(dag_file))
        DATA_DIR = data_dir()

        bash_command = (
            f"{shlex.quote(sys.executable)} -m tutorial_shared.build_models"
            f" --data-dir {shlex.quote(str(DATA_DIR))}"
        )
        subprocess.run(["bash", "-c", bash_command], check=True, cwd=DAGS_FOLDER)
        ''')


def test_a_taskflow_function_is_copied_without_its_decorator_and_called():
    text = scaffold((FIXTURES / "tutorial_all_mapped.py").read_text(), "daily_orders",
                    "notify_team").text
    # `notify.override(task_id="notify_team")(...)`: the function's own call, its arguments
    assert body(text, "daily_orders__notify_team") == textwrap.dedent('''\

        def notify(message: str) -> None:
            print(message)

        notify("The daily orders report is published.")
        ''')


# -- what each supported form becomes (tests/fixtures/scaffold/cases_dag.py) -------------------


CASE_BODIES = {
    # a module-level def, with what it reads (CONFIG, and `os` for CONFIG), in order
    "greet": '''\

        import os

        CONFIG = {"limit": int(os.environ.get("LIMIT", "10"))}

        def greet(name, punctuation="!"):
            """Say hello, at most CONFIG["limit"] times."""
            print(f"Hello {name}{punctuation}" * CONFIG["limit"])

        greet("world")
        ''',
    # a lambda; a multi-line string keeps its lines as they are (not dedented here)
    "show_report": (
        "\n"
        '    REPORT = """Report\n'
        "    indented line, kept as it is\n"
        '"""\n'
        "\n"
        "    (lambda: print(REPORT))()\n"),
    # op_args/op_kwargs given by name or with ** stay unpacked; __file__ is the DAG file's
    "load": '''\
        _airflow_import_roots(".")
        dag_file = _airflow_dag_file("cases_dag.py")

        from pathlib import Path

        from helpers import loaders

        HERE = Path(dag_file).parent

        ARGS = ["orders"]
        EXTRA = {"mode": "append"}

        loaders.load(*ARGS, path=str(HERE / "in.csv"), **EXTRA)
        ''',
    # `shadowed = PyOp(python_callable=shadowed)` reads the function, bound before the task
    "shadowed": '''\

        def shadowed():
            print("the task variable below has this function's name")

        shadowed()
        ''',
    # no cwd: a temporary folder, as in Airflow; append_env: the process's environment too
    "bash_env": '''\

        ENV = {"REGION": "eu"}

        bash_command = "echo $REGION > region.txt && cat region.txt"
        with tempfile.TemporaryDirectory(prefix="airflowtmp") as tmp_dir:
            subprocess.run(
                ["bash", "-c", bash_command],
                check=True,
                cwd=tmp_dir,
                env={**os.environ, **ENV},
            )
        ''',
    # env without append_env replaces the environment, as in Airflow
    "bash_replace_env": '''\

        ENV = {"REGION": "eu"}

        bash_command = "env"
        subprocess.run(["bash", "-c", bash_command], check=True, cwd="/", env=ENV)
        ''',
    "bash_script": (
        '    dag_file = _airflow_dag_file("cases_dag.py")\n'
        "\n"
        "    from pathlib import Path\n"
        "\n"
        "    HERE = Path(dag_file).parent\n"
        "\n"
        '    bash_command = """\n'
        '        echo "one"\n'
        '        echo "two"\n'
        '    """\n'
        '    subprocess.run(["bash", "-c", bash_command], check=True, cwd=str(HERE))\n'),
    # what changes a needed module (sys.path) is copied with it, comment included
    "python_version": '''\
        dag_file = _airflow_dag_file("cases_dag.py")

        import os
        import sys

        # Airflow only has the DAGs folder on sys.path; this file adds its own folder too.
        sys.path.insert(0, os.path.dirname(os.path.abspath(dag_file)))

        bash_command = f"{sys.executable} -V"
        with tempfile.TemporaryDirectory(prefix="airflowtmp") as tmp_dir:
            subprocess.run(["bash", "-c", bash_command], check=True, cwd=tmp_dir)
        ''',
    # @task(retries=2) goes, the module's own decorator stays
    "total": '''\

        import functools

        def log_calls(function):
            @functools.wraps(function)
            def wrapper(*args, **kwargs):
                print("calling", function.__name__)
                return function(*args, **kwargs)

            return wrapper

        @log_calls
        def total(values: list, scale=1) -> int:
            return sum(values) * scale

        total([1, 2, 3], scale=2)
        ''',
}


@pytest.mark.parametrize("task_id", list(CASE_BODIES))
def test_a_supported_form_becomes_this_body(task_id):
    before = CASES_MODULE.read_text()
    result = scaffold_case(before, task_id)
    assert result.changed, result.reason
    raw = task_id in ("show_report", "bash_script")  # strings over several lines, as written
    expected = CASE_BODIES[task_id] if raw else textwrap.dedent(CASE_BODIES[task_id])
    assert body(result.text, f"cases__{task_id}", dedent=not raw) == expected
    assert mapped(result.text) == mapped(before)
    assert_idempotent(result, scaffold_case(result.text, task_id))
    assert can_scaffold(CASES.read_text(), task_facts(CASES, "cases", task_id)) is None


def test_every_supported_form_in_turn_gives_the_fixture():
    text = CASES_MODULE.read_text()
    for task_id in CASE_BODIES:
        text = scaffold_case(text, task_id).text
    assert text == (FIXTURES / "cases_module+all.py").read_text()
    # `import dagster as dg` is how the module names Dagster; several specs move together
    assert '@dg.multi_asset(\n    specs=[dg.AssetSpec(key=["raw", "orders"]), ' \
           'dg.AssetSpec(key=["raw", "order_lines"])],\n    name="cases__load",\n)' in text
    assert "from dagster import" not in text
    assert text.splitlines()[2:7] == ["import os", "import subprocess", "import sys", "import tempfile", ""]


# -- refusals ------------------------------------------------------------------------------


REFUSALS = {
    "nothing": "task `nothing` uses `EmptyOperator`, which has no scaffold: port it by hand",
    "mapped": "task `mapped` is mapped (`.expand`): Airflow runs it once per input, which one "
              "Dagster asset cannot do as scaffolded",
    "context": "the callable of task `context` takes `ti` from the Airflow task context, which "
               "Dagster does not have",
    "kwargs": "the callable of task `kwargs` takes `**context`, through which Airflow passes the "
              "task context (ti, ds, ...): Dagster has none",
    "with_ti": "the function of task `with_ti` takes `ti` from the Airflow task context, which "
               "Dagster does not have",
    "jinja_kwargs": "the arguments of task `jinja_kwargs` use Jinja ('{{ next_ds }}'), which only "
                    "Airflow renders",
    "templated": "the arguments of task `templated` use Jinja ('{{ next_ds }}'), which only Airflow "
                 "renders",
    "jinja_constant": "task `jinja_constant` uses a module-level value with Jinja ('{{ ds }}'), "
                      "which only Airflow renders",
    "jinja_command": "the command, environment or folder of task `jinja_command` use Jinja "
                     "('echo {{ next_ds }} '), which only Airflow renders",
    "sh_script": "the bash command of task `sh_script` names a script ('scripts/run.sh') that "
                 "Airflow reads as a Jinja template",
    "templates": "task `templates` uses `templates_dict`, which only Airflow renders",
    "xcom": "task `xcom` gets `greet_world` from inside the DAG (another task or its output, an "
            "XCom value): only module-level values can be copied to Dagster",
    "inside": "`inner`, used by task `inside`, is defined inside the DAG: move it to module level "
              "to scaffold the task",
    "late": "`LATE`, used by task `late`, is defined after the DAG (line 139): move it above to "
            "scaffold the task",
    "undefined": "`nowhere`, used by task `undefined`, is not defined in the DAG file",
    "uses_global": "the code of task `uses_global` declares `global COUNTER` (line 82), which in "
                   "Dagster would be the Dagster module's",
}


@pytest.fixture(scope="module")
def cases_all_mapped() -> str:
    """The cases module with every refused task mapped too (so the DAG's reason is the one)."""
    result = add_task_mappings(CASES_MODULE.read_text(), "cases",
                               [NewMapping(task_id, (task_id,)) for task_id in REFUSALS])
    assert result.changed, result.reason
    return result.text


@pytest.mark.parametrize("task_id", list(REFUSALS))
def test_a_task_that_cannot_run_outside_airflow_is_refused_with_its_reason(task_id, cases_all_mapped):
    assert scaffold_case(cases_all_mapped, task_id) == EditResult.refuse(REFUSALS[task_id])
    # the cheap check for code actions says the same
    assert can_scaffold(CASES.read_text(), task_facts(CASES, "cases", task_id)) == REFUSALS[task_id]


def test_tasks_fed_by_other_tasks_are_refused_as_xcom_inputs():
    text = (DAGS / "daily_orders.py").read_text()
    facts = extract_file(str(DAGS / "daily_orders.py"), text).dag("daily_orders")
    reasons = {t.task_id: can_scaffold(text, t) for t in facts.tasks}
    assert reasons == {
        "extract_orders": None,
        "transform.clean_orders": "task `transform.clean_orders` gets `raw_path` from inside the "
                                  "DAG (another task or its output, an XCom value): only "
                                  "module-level values can be copied to Dagster",
        "transform.summarize_orders": "task `transform.summarize_orders` gets `clean_orders` from "
                                      "inside the DAG (another task or its output, an XCom value): "
                                      "only module-level values can be copied to Dagster",
        "publish_report": "task `publish_report` gets `extract_orders` from inside the DAG "
                          "(another task or its output, an XCom value): only module-level "
                          "values can be copied to Dagster",
        "notify_team": None,
    }


def test_a_task_not_mapped_yet_is_refused():
    result = scaffold(MODULE.read_text(), "rebuild_customers_list", "export_customers")
    assert result == EditResult.refuse(
        "task `export_customers` of DAG `rebuild_customers_list` is not mapped to an asset in the "
        "Dagster module: map it first")
    assert scaffold(None, "rebuild_customers_list", "load_raw_customers") == EditResult.refuse(
        "the Dagster module does not exist yet: map task `load_raw_customers` first")


def test_unknown_dags_and_tasks_and_broken_files_are_refused():
    text = MODULE.read_text()
    assert scaffold(text, "rebuild_customers_list", "nope").reason == \
        "DAG `rebuild_customers_list` has no task `nope`"
    dag_path = DAGS / "daily_orders.py"
    assert scaffold_task(dag_path.read_text(), str(dag_path), "rebuild_customers_list",
                         "load_raw_customers", text).reason == \
        "daily_orders.py defines no DAG `rebuild_customers_list`"
    broken = scaffold(text + "\ndef (:\n", "rebuild_customers_list", "load_raw_customers")
    assert broken.reason == "the Dagster module has a syntax error on line 43 (invalid syntax): fix it first"
    dag_result = scaffold_task("with DAG(:\n", "dags/x.py", "x", "t", text)
    assert dag_result.refused and dag_result.reason.startswith("the DAG file cannot be read")


def test_a_mapping_that_already_holds_a_definition_is_left_alone():
    text = MODULE.read_text().replace(
        'from dagster import AssetSpec, Definitions',
        'from dagster import AssetSpec, Definitions, asset\n\n\n@asset(key=["raw_data", "raw_customers"])\n'
        'def raw_customers() -> None:\n    ...').replace(
        '"load_raw_customers": [AssetSpec(key=["raw_data", "raw_customers"])]',
        '"load_raw_customers": [raw_customers]')
    assert scaffold(text, "rebuild_customers_list", "load_raw_customers") == EditResult(
        text, False, "task `load_raw_customers` of DAG `rebuild_customers_list` already has a "
                     "Dagster definition in its mapping (`raw_customers`)")


def test_a_name_already_taken_in_the_module_is_refused():
    text = MODULE.read_text() + "\n\ndef rebuild_customers_list__load_raw_customers():\n    pass\n"
    assert scaffold(text, "rebuild_customers_list", "load_raw_customers").reason == (
        "`rebuild_customers_list__load_raw_customers` is already defined in the Dagster module: "
        "rename it to scaffold task `load_raw_customers` of DAG `rebuild_customers_list`")


def test_a_mapping_the_edit_cannot_move_is_refused():
    text = MODULE.read_text()
    inside = text.replace("defs = build_defs_from_airflow_instance(",
                          "def build():\n    return build_defs_from_airflow_instance(")
    inside = inside.replace("\n)\n", "\n    )\n")  # keep it valid: the call is indented now
    assert "is inside `build`" in scaffold(inside, "rebuild_customers_list", "load_raw_customers").reason
    by_name = text.replace('"load_raw_customers": [AssetSpec(key=["raw_data", "raw_customers"])]',
                           '"load_raw_customers": SPECS').replace(
        "defs = build_defs", 'SPECS = [AssetSpec(key=["raw_data", "raw_customers"])]\n\ndefs = build_defs')
    assert scaffold(by_name, "rebuild_customers_list", "load_raw_customers").reason == (
        "the mapping of task `load_raw_customers` of DAG `rebuild_customers_list` is not a list of "
        "AssetSpecs written out: scaffold it by hand")


# -- where the DAG file's folder comes from ---------------------------------------------------------


def test_sys_path_is_only_touched_for_a_module_of_an_import_root():
    text = MODULE.read_text()
    # no import roots given: tutorial_shared is taken to be installed
    plain = scaffold(text, "rebuild_customers_list", "load_raw_customers", import_roots=())
    assert "_airflow_import_roots" not in plain.text and "import sys" not in plain.text
    # notify_team imports nothing: no helper, and the module's path is not needed
    all_mapped = (FIXTURES / "tutorial_all_mapped.py").read_text()
    notify = scaffold(all_mapped, "daily_orders", "notify_team", module_path=None)
    assert notify.changed and "_airflow_import_roots" not in notify.text
    assert "_airflow_dag_file" not in notify.text


def test_the_module_path_is_needed_to_find_the_dag_folder_from_it():
    result = scaffold(MODULE.read_text(), "rebuild_customers_list", "load_raw_customers",
                      module_path=None)
    assert result == EditResult.refuse(
        f"the Dagster module's path is needed to put {DAGS} on sys.path")
    result = scaffold_case(CASES_MODULE.read_text(), "bash_script", module_path=None)
    assert result == EditResult.refuse(
        "the Dagster module's path is needed to give the copied code the DAG file's `__file__`")


def test_import_roots_are_read_from_disk():
    root = ImportRoot.from_disk(str(DAGS))
    assert {"tutorial_shared", "daily_orders", "rebuild_customers_list"} <= root.modules
    assert "__pycache__" not in root.modules


# -- the module's own conventions ----------------------------------------------------------


def test_the_module_spelling_of_imports_is_kept():
    text = MODULE.read_text().replace("import os\n", "import os\nimport subprocess as sp\n")
    text = text.replace("from dagster import AssetSpec, Definitions",
                        "import dagster\nfrom dagster import AssetSpec, Definitions")
    result = scaffold(text, "rebuild_customers_list", "build_dbt_models")
    assert result.changed, result.reason
    assert "    sp.run([\"bash\", \"-c\", bash_command], check=True, cwd=DAGS_FOLDER)\n" in result.text
    assert "@dagster.multi_asset(" in result.text
    assert "import subprocess\n" not in result.text and "multi_asset\n" not in result.text


def test_windows_newlines_stay_windows_newlines():
    text = MODULE.read_text().replace("\n", "\r\n")
    result = scaffold(text, "rebuild_customers_list", "build_dbt_models")
    assert result.changed
    assert "\n" not in result.text.replace("\r\n", "")
    assert result.text.replace("\r\n", "\n") == (FIXTURES / "tutorial+build_dbt_models.py").read_text()


def test_a_dag_name_that_would_hide_a_module_the_body_needs_is_refused():
    dag = textwrap.dedent('''\
        from datetime import datetime

        from airflow import DAG
        from airflow.operators.bash import BashOperator

        from tools import subprocess

        with DAG(dag_id="clash", start_date=datetime(2024, 1, 1), schedule=None):
            BashOperator(task_id="run", bash_command=subprocess.COMMAND, cwd="/")
        ''')
    module = MODULE.read_text().replace('dag_id="rebuild_customers_list"', 'dag_id="clash"').replace(
        '"load_raw_customers": [', '"run": [')
    result = scaffold_task(dag, "dags/clash.py", "clash", "run", module)
    assert result == EditResult.refuse(
        "the DAG file binds `subprocess`, which the scaffolded body needs for the `subprocess` module")


def test_names_from_airflow_or_rebound_inside_the_dag_are_refused():
    dag = textwrap.dedent('''\
        from datetime import datetime

        from airflow import DAG
        from airflow.operators.python import PythonOperator

        LIMIT = 1


        def work(limit):
            print(limit)


        with DAG(dag_id="rebind", start_date=datetime(2024, 1, 1), schedule=None) as dag:
            LIMIT = 2
            rebound = PythonOperator(task_id="rebound", python_callable=work, op_args=[LIMIT])
            dag_arg = PythonOperator(task_id="dag_arg", python_callable=work, op_args=[dag.dag_id])
        ''')
    facts = extract_file("dags/rebind.py", dag).dag("rebind")
    assert can_scaffold(dag, facts.task("rebound")) == (
        "task `rebound` gets `LIMIT` from inside the DAG (another task or its output, an XCom "
        "value): only module-level values can be copied to Dagster")
    assert "gets `dag` from inside the DAG" in can_scaffold(dag, facts.task("dag_arg"))


def test_what_airflow_alone_does_with_a_command_is_refused():
    dag = textwrap.dedent('''\
        from datetime import datetime

        from airflow import DAG
        from airflow.operators.bash import BashOperator

        with DAG(dag_id="bash", start_date=datetime(2024, 1, 1), schedule=None):
            BashOperator(task_id="skips", bash_command="exit 99", skip_on_exit_code=99)
            BashOperator(task_id="counts", bash_command="a=(1 2); echo ${#a[@]}")
            BashOperator(task_id="appends", bash_command="env", env={"A": "1"}, append_env=APPEND)
        ''')
    facts = extract_file("dags/bash.py", dag).dag("bash")
    assert can_scaffold(dag, facts.task("skips")) == (
        "task `skips` uses `skip_on_exit_code`: a skipped run is Airflow's, scaffold it by hand")
    # `{#` opens a Jinja comment: Airflow would not run the command as written
    assert can_scaffold(dag, facts.task("counts")) == (
        "the command, environment or folder of task `counts` use Jinja ('a=(1 2); echo ${#a[@]}'), "
        "which only Airflow renders")
    assert can_scaffold(dag, facts.task("appends")) == (
        "the `append_env` of task `appends` is not a constant True or False")


def test_a_mapped_task_fed_by_xcom_is_refused_by_the_edit_too():
    text = (FIXTURES / "tutorial_all_mapped.py").read_text()
    result = scaffold(text, "daily_orders", "transform.clean_orders")
    assert result == EditResult.refuse(
        "task `transform.clean_orders` gets `raw_path` from inside the DAG (another task or its "
        "output, an XCom value): only module-level values can be copied to Dagster")
    assert scaffold(text, "daily_orders", "publish_report").reason.startswith(
        "task `publish_report` gets `extract_orders` from inside the DAG")


def test_a_dag_file_python_cannot_parse_gets_a_reason_not_an_exception():
    task = task_facts(DAGS / "daily_orders.py", "daily_orders", "extract_orders")
    assert can_scaffold("def broken(:\n", task).startswith("the DAG file cannot be parsed")


def test_tasks_and_dags_assigned_at_module_level_are_not_copied():
    dag = textwrap.dedent('''\
        from datetime import datetime

        from airflow import DAG
        from airflow.operators.python import PythonOperator


        def work(value=None):
            print(value)


        dag = DAG(dag_id="assigned", start_date=datetime(2024, 1, 1), schedule=None)
        first = PythonOperator(task_id="first", python_callable=work, dag=dag)
        second = PythonOperator(task_id="second", python_callable=work, op_args=[first.output], dag=dag)
        third = PythonOperator(task_id="third", python_callable=work, op_args=[dag.dag_id], dag=dag)
        ''')
    facts = extract_file("dags/assigned.py", dag).dag("assigned")
    assert can_scaffold(dag, facts.task("first")) is None
    assert can_scaffold(dag, facts.task("second")) == (
        "task `second` gets `first`, another task or its output (an XCom value): only module-level "
        "values can be copied to Dagster")
    assert can_scaffold(dag, facts.task("third")) == (
        "task `third` needs `DAG` (for `dag`), which comes from Airflow (the import on line 3): "
        "Dagster cannot run it")


def test_a_task_made_by_a_project_factory_is_refused_as_such(tmp_path: Path) -> None:
    """ethereum-etl's `DAG = build_amend_dag(...)`: the model follows the factory and finds its
    PythonOperator, whose call the scaffold cannot copy from the DAG file; the refusal names the
    helper instead of saying that PythonOperator has no scaffold."""
    from analysis.project import Layout, discover

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "factory.py").write_text(textwrap.dedent("""\
        from airflow import DAG
        from airflow.operators.python import PythonOperator

        def build(dag_id):
            dag = DAG(dag_id, schedule=None)
            PythonOperator(task_id="load", python_callable=print, dag=dag)
            return dag
        """))
    text = "# an airflow DAG (Airflow's safe mode reads files that say so)\nfrom factory import build\n\nDAG = build('built')\n"
    (tmp_path / "dags" / "built_dag.py").write_text(text)
    project = discover(Layout(str(tmp_path), ("dags",), None))
    task = project.entry("built").dag.task("load")
    assert task.operator == "PythonOperator" and task.certain
    assert can_scaffold(text, task) == (
        "task `load` is made inside `build(...)`, not by a `PythonOperator(...)` call in this file: "
        "the scaffold copies an operator call written in the DAG file; port it by hand")


_READS_KWARGS = ("the callable of task `t` takes `**kwargs`, through which Airflow passes the task "
                 "context (ti, ds, ...): Dagster has none")


@pytest.mark.parametrize("body, reason", [
    ("return 1", None),  # reads none of the context: called without one, it returns the same
    ("return kwargs['ds']", None),  # the run's `ds`, given from the Airflow run (test_edit_scaffold_context_values.py)
    ("return kwargs['ti']", "the callable of task `t` reads `ti` of the Airflow task context (through `**kwargs`), "
                            "which Dagster does not have"),
    ("return kwargs", _READS_KWARGS),
    ("return len(locals())", _READS_KWARGS),
    ("def inner():\n        return kwargs\n    return inner()", _READS_KWARGS),
])
def test_unread_context_kwargs_do_not_stop_a_scaffold(body: str, reason: str | None) -> None:
    text = textwrap.dedent("""\
        import pendulum
        from airflow import DAG
        from airflow.operators.python import PythonOperator


        def work(**kwargs):
            BODY


        with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
            PythonOperator(task_id="t", python_callable=work)
        """).replace("BODY", body)
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) == reason


def test_a_taskflow_function_imported_or_made_by_a_helper_is_refused_as_such(tmp_path: Path) -> None:
    """austin-atd's shared `get_env_vars_task` (a `@task` of `utils.onepassword`), called as is or
    through `.override(...)`, and a `@task` called inside a project factory: the refusal says where
    the function is instead of "the function of task `t` was not found"."""
    from analysis.project import Layout, discover

    (tmp_path / "dags" / "shared").mkdir(parents=True)
    (tmp_path / "dags" / "shared" / "__init__.py").write_text("")
    (tmp_path / "dags" / "shared" / "tasks.py").write_text(textwrap.dedent("""\
        from airflow import DAG
        from airflow.decorators import task

        @task
        def secrets(names):
            return {name: name.upper() for name in names}

        def build(dag_id):
            with DAG(dag_id, schedule=None) as dag:
                secrets.override(task_id="made")(["a"])
            return dag
        """))
    text = textwrap.dedent("""\
        import pendulum
        from airflow import DAG
        from shared.tasks import build, secrets

        with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
            secrets(["a"])
            secrets.override(task_id="overridden")(["b"])

        BUILT = build("built")
        """)
    (tmp_path / "dags" / "d.py").write_text(text)
    project = discover(Layout(str(tmp_path), ("dags",), None))
    imported = ("is `secrets` of `shared.tasks`, imported: the scaffold copies a function written in the "
                "DAG file; port it by hand")
    assert can_scaffold(text, project.entry("d").dag.task("secrets")) == f"the function of task `secrets` {imported}"
    assert can_scaffold(text, project.entry("d").dag.task("overridden")) == \
        f"the function of task `overridden` {imported}"
    assert can_scaffold(text, project.entry("built").dag.task("made")) == (
        "task `made` is made inside `build(...)`, not by a call of its function in this file: the scaffold "
        "copies a function written in the DAG file; port it by hand")
    # Given the project's modules (as the editor and the CLI give them), an imported function is
    # planned where it is defined, with the DAG file's literal arguments; a helper's task is not.
    modules = project_modules(project.code)
    assert can_scaffold(text, project.entry("d").dag.task("secrets"), modules) is None
    assert can_scaffold(text, project.entry("d").dag.task("overridden"), modules) is None
    assert can_scaffold(text, project.entry("built").dag.task("made"), modules).startswith("task `made` is made inside")


def test_an_imported_tasks_arguments_are_read_as_the_literals_they_are(tmp_path: Path) -> None:
    """austin-atd passes dicts of dicts with f-strings of constants: written out as values, one
    argument a line when long; a value read at run time (`os.getenv`) is refused."""
    from analysis.edits.scaffold.imported import virtual_task
    from analysis.project import Layout, discover

    (tmp_path / "dags" / "shared").mkdir(parents=True)
    (tmp_path / "dags" / "shared" / "__init__.py").write_text("")
    (tmp_path / "dags" / "shared" / "tasks.py").write_text(
        "from airflow.decorators import task\n\n@task\ndef secrets(names, where=None):\n    return names\n")
    text = textwrap.dedent("""\
        import os
        import pendulum
        from airflow import DAG
        from shared.tasks import secrets

        ENV = "production"
        NAMES = {"KEY": {"item": "Portal", "field": f"{ENV}.apiKey"}, "ORDER": ("b", "a"), "N": -1}

        with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
            secrets(NAMES, where=[NAMES["N"] if False else 1, "x" + ENV])
            secrets.override(task_id="runtime")(os.getenv("NAMES"))
        """)
    (tmp_path / "dags" / "d.py").write_text(text)
    project = discover(Layout(str(tmp_path), ("dags",), None))
    modules = project_modules(project.code)
    refused = virtual_task(text, project.entry("d").dag.task("secrets"), modules)
    assert isinstance(refused, str) and "passes `[NAMES['N'] if False else 1, 'x' + ENV]`" in refused
    text = text.replace('where=[NAMES["N"] if False else 1, "x" + ENV]', 'where=["x" + ENV]')
    (tmp_path / "dags" / "d.py").write_text(text)
    project = discover(Layout(str(tmp_path), ("dags",), None))
    path, virtual, task = virtual_task(text, project.entry("d").dag.task("secrets"), project_modules(project.code))
    assert path.endswith("shared/tasks.py") and task.task_id == "secrets"
    assert virtual.endswith(textwrap.dedent("""\
        with __airlift_DAG('__airlift_imported__', schedule=None):
            secrets(
                {'KEY': {'item': 'Portal', 'field': 'production.apiKey'},
                 'ORDER': ('b', 'a'),
                 'N': -1},
                where=['xproduction'],
            )
        """))
    runtime = virtual_task(text, project.entry("d").dag.task("runtime"), project_modules(project.code))
    assert "passes `os.getenv('NAMES')`, which is not a literal or a constant of the DAG file" in runtime

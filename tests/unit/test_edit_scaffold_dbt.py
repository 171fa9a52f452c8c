"""Scaffolding dbt run through Bash as dagster-dbt ``@dbt_assets``: the plan read from the
command (project, profiles, target, selection limited to what the command builds, the
arguments passed on), the dbt family winning over the shell's for dbt commands, the module the
fixture DAG gives, and each refusal with its reason."""

from __future__ import annotations

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.families import BY_COMMAND
from analysis.edits.scaffold.plan import plan_task
from tests.support.scaffold_fixture import FIXTURES, mapped

HEAD = '''\
import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.operators.bash import BashOperator

P = "/srv/dbt/shop"
with DAG("d", start_date=pendulum.datetime(2024, 1, 1)):
'''
FILES = {"/srv/dbt/shop/profiles.yml": "shop: {}"}


def plan_of(line: str, task_id: str = "t"):
    text = HEAD + line
    facts = extract_file("dag.py", text)
    assert facts.error is None, facts.error
    return plan_task(text, facts.dag("d").task(task_id), "dag.py", FILES.get)


def bash(command: str, **options: str) -> str:
    extra = "".join(f", {k}={v}" for k, v in options.items())
    return f"    BashOperator(task_id='t', bash_command={command}{extra})\n"


PLANS = {
    # command -> (command, project, profiles (flag, folder), target, select, exclude, arguments)
    'f"dbt run --project-dir {P} --profiles-dir /etc/dbt --select a b+ --exclude c"':
        ("run", "/srv/dbt/shop", ("/etc/dbt", None), None, "resource_type:model,a resource_type:model,b+", "c", ()),
    'f"cd {P} && dbt build -s tag:daily --target prod --vars \'{{x: 1}}\' --full-refresh"':
        ("build", "/srv/dbt/shop", (None, "/srv/dbt/shop"), "prod", "tag:daily", None,
         ("--vars", "{x: 1}", "--full-refresh")),
    '"dbt seed --project-dir=shop"':  # relative to cwd; no profiles.yml in /srv/dbt
        ("seed", "/srv/dbt/shop", (None, None), None, "resource_type:seed", None, ()),
    'f"dbt snapshot --project-dir {P} -t=dev --threads 4 -x"':
        ("snapshot", "/srv/dbt/shop", (None, None), "dev", "resource_type:snapshot", None, ("--threads", "4", "--fail-fast")),
    '"dbt run -m orders"':
        ("run", "/srv/dbt/shop", (None, "/srv/dbt/shop"), None, "resource_type:model,orders", None, ()),
}


@pytest.mark.parametrize("command", list(PLANS))
def test_the_plan_reads_project_profiles_target_and_selection(command):
    cwd = {"cwd": "'/srv/dbt'"} if "shop\"" in command else {"cwd": "P"} if "-m orders" in command else {}
    plan = plan_of(bash(command, **cwd))
    assert not isinstance(plan, str), plan
    dbt = plan.dbt
    assert plan.kind == "dbt" and plan.label == "BashOperator"
    assert (dbt.command, dbt.project_dir, (dbt.profiles_dir, dbt.folder_profiles), dbt.target, dbt.select, dbt.exclude,
            dbt.arguments) == PLANS[command]


def test_a_bash_task_returning_a_dbt_command_is_planned_as_dbt():
    plan = plan_of("    @task.bash(cwd=P)\n    def t():\n        '''Build.'''\n"
                   "        return 'dbt build --selector nightly'\n    t()\n")
    assert not isinstance(plan, str), plan
    assert (plan.label, plan.dbt.command, plan.dbt.selector, plan.dbt.select) == \
        ("@task.bash", "build", "nightly", None)


def test_other_bash_commands_stay_with_the_shell_family():
    assert plan_of(bash("'echo dbt run'")).kind == "BashOperator"
    assert plan_of("    @task.bash\n    def t():\n        return 'ls'\n    t()\n").kind == "@task.bash"
    assert BY_COMMAND["dbt"] == ("BashOperator", "@task.bash")


REFUSALS = {
    bash("'dbt run --select {{ params.model }}'", cwd="P"):
        "the dbt command of task `t` uses Jinja ('dbt run --select {{ params.model }}'), which only Airflow renders",
    bash("'dbt run --project-dir $DBT_DIR'"):
        "the dbt command of task `t` uses `$DBT_DIR`, which only the shell expands when it runs: write the value out",
    bash("f'cd {P} && dbt deps && dbt run'"):
        "the dbt command of task `t` chains other shell syntax (`&&`) than a leading `cd ... &&`: one "
        "`@dbt_assets` runs one dbt command; split the task or port it by hand",
    bash("f'dbt run --project-dir {P} | tee log'"):
        "the dbt command of task `t` chains other shell syntax (`|`) than a leading `cd ... &&`: one "
        "`@dbt_assets` runs one dbt command; split the task or port it by hand",
    bash("f'dbt test --project-dir {P}'"):
        "task `t` runs `dbt test`, which only runs tests: in Dagster they are the asset checks of the "
        "dbt assets that build the models (scaffold that task with `dbt build`, which runs them)",
    bash("f'dbt deps --project-dir {P}'"):
        "task `t` runs `dbt deps`, which installs packages: dagster-dbt's DbtProject runs it when it "
        "prepares the project",
    bash("f'dbt run-operation grant --project-dir {P}'"):
        "task `t` runs `dbt run-operation`, which builds no Dagster asset: port it by hand",
    bash("'dbt run --select a'"):
        "task `t` runs dbt in the folder Airflow gives it (a new temporary one): give `--project-dir` "
        "an absolute path, or `cwd`, to scaffold it",
    bash("f'dbt run --project-dir {P} --state prod'"):
        "task `t` gives dbt `--state`, which the dbt scaffold does not carry: port it by hand",
    bash("f'dbt run --project-dir {P} --selector s --select a'"):
        "task `t` gives dbt both `--selector` and `--select`/`--exclude`, which dbt refuses",
    bash("f'dbt run --project-dir {P} --target'"):
        "task `t` gives dbt `--target` without a value",
    bash("f'dbt run --project-dir {P}'", env="{'X': '1'}"):
        "task `t` gives dbt an `env`, which dbt reads through `env_var`: set it in Dagster's "
        "environment and scaffold the command without it",
    bash("'dbt '", cwd="P"): "the dbt command of task `t` names no dbt command (`run`, `build`...)",
    bash("f'dbt --debug run --project-dir {P}'"):
        "the dbt command of task `t` gives `--debug` before its command: port it by hand",
    bash("'cd /a /b && dbt run'"):
        "the dbt command of task `t` starts with `cd /a /b`, which is not a `cd` to one folder",
    bash("'dbt run \"a'", cwd="P"):
        "the dbt command of task `t` cannot be split into words (No closing quotation)",
    bash("'dbt run ' + P.upper()"):
        "the dbt command of task `t` is not a literal or built of module-level constants "
        "(`'dbt run ' + P.upper()`): it cannot be read statically",
    bash("f'dbt run --project-dir {P}'", skip_on_exit_code="99"):
        "task `t` uses `skip_on_exit_code`: a skipped run is Airflow's, scaffold it by hand",
    "    @task.bash\n    def t(model):\n        return f'dbt run --project-dir /p --select {model}'\n    t('a')\n":
        "the dbt command that task `t` returns is built from its argument `model`: it cannot be read statically",
}


@pytest.mark.parametrize("line", list(REFUSALS))
def test_what_one_dbt_assets_cannot_be_is_refused_in_one_line(line):
    text = HEAD + line
    task = extract_file("dag.py", text).dag("d").task("t")
    assert can_scaffold(text, task) == REFUSALS[line]


def test_the_fixture_dag_gives_dbt_assets_on_the_same_project():
    dag_text = (FIXTURES / "dbt_dag.py").read_text().replace("__DBT_PROJECT__", "/srv/jaffle")
    text = (FIXTURES / "dbt_module.py").read_text()
    for task_id in ("build_orders", "big_orders"):
        result = scaffold_task(dag_text, str(FIXTURES / "dbt_dag.py"), "dbt", task_id, text,
                               module_path=str(FIXTURES / "dbt_module.py"))
        assert result.changed, result.reason
        text = result.text
    assert text.count("DBT_PROJECT_JAFFLE = _airflow_dbt_project(") == 1  # one per project and target
    assert 'DBT_PROJECT_JAFFLE = _airflow_dbt_project("/srv/jaffle", profiles_dir="/srv/jaffle")\n' in text
    assert text.count("DBT_CLI_JAFFLE = dagster_dbt.DbtCliResource(project_dir=DBT_PROJECT_JAFFLE)") == 1
    assert '    select="big_orders",\n    name="dbt__big_orders",\n    required_resource_keys={"dbt_jaffle"},\n' in text
    assert 'yield from context.resources.dbt_jaffle.cli(["run"], context=context).stream()' in text
    # dbt's keys are known when Dagster loads the manifest: the mapping describes its selection
    assert mapped(text) == [("dbt", "build_orders", ["dbt resources selected by \"resource_type:model,+customer_totals\" "
                                                     "in /srv/jaffle"]),
                            ("dbt", "big_orders", ["dbt resources selected by \"big_orders\" in /srv/jaffle"])]
    again = scaffold_task(dag_text, str(FIXTURES / "dbt_dag.py"), "dbt", "big_orders", text)
    assert not again.changed and "already has a Dagster definition" in again.reason


def test_a_project_set_up_otherwise_for_an_earlier_task_is_refused():
    dag_text = HEAD + bash('f"dbt run --project-dir {P} --profiles-dir /etc/dbt"') + \
        "    BashOperator(task_id='u', bash_command=f'dbt seed --project-dir {P} --profiles-dir /etc/other')\n"
    text = (FIXTURES / "dbt_module.py").read_text().replace('"build_orders"', '"t"').replace('"big_orders"', '"u"')
    text = text.replace('dag_id="dbt"', 'dag_id="d"')
    first = scaffold_task(dag_text, "dag.py", "d", "t", text)
    assert first.changed, first.reason
    second = scaffold_task(dag_text, "dag.py", "d", "u", first.text)
    assert not second.changed
    assert second.reason == ("the Dagster module's `DBT_PROJECT_SHOP` is written for another run of the dbt "
                             "project (other profiles, target or folder): scaffold this task by hand")


"""A project class the team chooses to run as the Airflow class it derives from
(``AIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator"}``, ``analysis.dagster.ports.read_bases``):
its tasks scaffold as that class with the arguments it hands on, what the class changes stays in
Airflow and is named, and what would make the base run with other values is refused.

The class is modelled on mozilla-telemetry's ``GKEPodOperator`` (308 corpus tasks): defaults
handed on, a callbacks class, ``template_fields`` without ``on_finish_action``, and two
methods of the pod's life in Airflow overridden."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from analysis.dagster.module import parse_dagster_module
from analysis.dagster.ports import read_bases, read_ports
from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.families import no_scaffold_note, runs_as, task_family

HEAD = textwrap.dedent("""\
    from airflow import DAG
    from airflow.operators.bash import BashOperator
    from airflow.providers.cncf.kubernetes.callbacks import KubernetesPodOperatorCallback
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    """)
TEAM_POD = (Path(__file__).resolve().parents[1] / "fixtures" / "scaffold" / "port_bases" / "team_ops"
            / "pods.py").read_text()
"""The team's pod class, as tests/integration/test_scaffold_port_bases.py runs it."""
CALLS = textwrap.dedent("""
    with DAG("d", schedule=None):
        TeamPod(task_id="pod", image="busybox", cmds=["echo", "hi"], env_vars={"STAGE": "test"})
        TeamPod(task_id="dated", image="busybox", arguments=["--date", "{{ ds }}"])
        TeamPod(task_id="own_callbacks", image="busybox", callbacks=EvictableCallbacks)
    """)
DAG_TEXT = HEAD + TEAM_POD + CALLS
MAPPING = textwrap.dedent('''\
    import dagster as dg
    from dagster_airlift.core import assets_with_task_mappings

    d_assets = assets_with_task_mappings(
        dag_id="d",
        task_mappings={
            "pod": [dg.AssetSpec(key="pod_out")],
            "dated": [dg.AssetSpec(key="dated_out")],
            "own_callbacks": [dg.AssetSpec(key="own_out")],
        },
    )
    ''')
CHOSEN = MAPPING + '\nAIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator"}\n'


def dag_tasks(text: str = DAG_TEXT, path: str = "/dags/dag.py") -> dict:
    facts = extract_file(path, text)
    assert facts.error is None, facts.error
    return {t.task_id: t for d in facts.dags for t in d.tasks}


def test_a_string_value_is_a_base_and_a_name_a_port():
    text = ('def copy(context, **kw):\n    pass\n\n'
            'AIRFLOW_OPERATOR_PORTS = {"Copy": copy, "TeamPod": "KubernetesPodOperator", "Odd": "not a class",\n'
            '                          "Other": ports.other, "Gke": "airflow.providers.google.GKEStartPodOperator"}\n')
    assert read_ports(text) == (("Copy", "copy"), ("Other", "ports.other"))
    assert read_bases(text) == (("TeamPod", "KubernetesPodOperator"), ("Gke", "GKEStartPodOperator"))
    module = parse_dagster_module("/defs.py", text)
    assert (module.ports, module.bases) == (read_ports(text), read_bases(text))


def test_without_the_choice_the_class_is_its_own_and_with_it_runs_as_its_base():
    pod = dag_tasks()["pod"]
    assert pod.derived_changes == (
        "`TeamPod` defines `get_or_create_pod`", "`TeamPod` defines `process_pod_deletion`",
        "`TeamPod` sets `template_fields` to its base's without `on_finish_action`")
    assert task_family(pod) is None and runs_as(pod) == "TeamPod"
    bases = {"TeamPod": "KubernetesPodOperator"}
    assert runs_as(pod, bases) == "KubernetesPodOperator" and task_family(pod, (), bases) == "pipes-k8s"
    # a base the class does not derive from is no choice, and the note says why
    wrong = {"TeamPod": "BashOperator"}
    assert task_family(pod, (), wrong) is None
    assert no_scaffold_note(pod, "AIRFLOW_OPERATOR_PORTS", wrong) == (
        "no scaffold for `TeamPod` (`AIRFLOW_OPERATOR_PORTS` runs it as `BashOperator`, but it derives from "
        "`KubernetesPodOperator`): port by hand (or port the class once, or run it as `KubernetesPodOperator`: "
        "`AIRFLOW_OPERATOR_PORTS`)")


def test_the_pod_runs_as_its_base_with_what_the_class_hands_on(tmp_path: Path):
    dag = tmp_path / "dag.py"
    dag.write_text(DAG_TEXT)
    refused = scaffold_task(DAG_TEXT, str(dag), "d", "pod", MAPPING)
    assert refused.reason.startswith("task `pod` uses `TeamPod`, which has no scaffold (derived from "
                                     "`KubernetesPodOperator`, but `TeamPod` defines `get_or_create_pod`")
    result = scaffold_task(DAG_TEXT, str(dag), "d", "pod", CHOSEN, module_path=str(tmp_path / "definitions.py"))
    assert result.changed, result.reason
    run = result.text.split("yield from pipes_k8s_client.run(\n")[1].split(").get_results()")[0]
    assert "".join(line.strip() for line in run.splitlines()) == "".join([
        "context=context,", 'image="busybox",', 'command=["echo", "hi"],', 'namespace="data",',
        'env={"STAGE": "test"},',
        'base_pod_spec={"containers": [{"image_pull_policy": "Always",',
        '"termination_message_policy": "FallbackToLogsOnError",},],},'])
    about = " ".join(result.text.split())
    assert ("`TeamPod` derives from `KubernetesPodOperator` and runs here as it, as "
            "AIRFLOW_OPERATOR_PORTS chooses: these are the arguments its class hands on to it. What the class "
            "changes stays in Airflow and is not carried: `TeamPod` defines `get_or_create_pod`; `TeamPod` "
            "defines `process_pod_deletion`; `TeamPod` sets `template_fields` to its base's without `on_finish_action`; "
            "`TeamPod` hands `callbacks` on.") in about
    assert "EvictableCallbacks" not in result.text


RETEMPLATED = textwrap.dedent("""
    class Retemplated(KubernetesPodOperator):
        template_fields = ("image", "cmds")

    with DAG("r", schedule=None):
        Retemplated(task_id="r", image="busybox", arguments=["--date", "{{ ds }}"])
        Retemplated(task_id="plain", image="busybox", arguments=["--all"])
        TeamPod(task_id="finish", image="busybox", on_finish_action="{{ var.value.finish }}")
    """)


@pytest.mark.parametrize(("task_id", "why"), [
    ("r", "`Retemplated` sets `template_fields` and its arguments use Jinja ('{{ ds }}')"),
    # only the fields taken out of the base's differ: Jinja there is refused, elsewhere rendered
    ("finish", "`TeamPod` sets `template_fields` to its base's without `on_finish_action` and its arguments "
               "use Jinja ('{{ var.value.finish }}')"),
])
def test_jinja_the_class_renders_otherwise_is_refused(tmp_path: Path, task_id: str, why: str):
    text = DAG_TEXT + RETEMPLATED
    dag = tmp_path / "dag.py"
    dag.write_text(text)
    bases = {"TeamPod": "KubernetesPodOperator", "Retemplated": "KubernetesPodOperator"}
    task = dag_tasks(text, str(dag))[task_id]
    base = "KubernetesPodOperator"
    assert can_scaffold(text, task, dag_path=str(dag), bases=bases) == (
        f"`{task.operator}` runs as `{base}` (AIRFLOW_OPERATOR_PORTS), but {why}: Airflow renders them as the "
        "class chooses; port the class as a function instead")
    assert can_scaffold(text, dag_tasks(text, str(dag))["plain"], dag_path=str(dag), bases=bases) is None


def test_jinja_in_the_fields_the_class_keeps_is_rendered_from_the_run(tmp_path: Path):
    dag = tmp_path / "dag.py"
    dag.write_text(DAG_TEXT)
    module = CHOSEN + textwrap.dedent("""
        from dagster_airlift.core import AirflowBasicAuthBackend, AirflowInstance

        airflow_instance = AirflowInstance(
            auth_backend=AirflowBasicAuthBackend(webserver_url="http://localhost:8080", username="a", password="b"),
            name="airflow",
        )
        """)
    result = scaffold_task(DAG_TEXT, str(dag), "d", "dated", module, module_path=str(tmp_path / "definitions.py"))
    assert result.changed, result.reason
    assert "_airflow_render_run" in result.text and '"{{ ds }}"' in result.text


def test_callbacks_the_tasks_own_call_gives_are_not_left_behind(tmp_path: Path):
    dag = tmp_path / "dag.py"
    dag.write_text(DAG_TEXT)
    result = scaffold_task(DAG_TEXT, str(dag), "d", "own_callbacks", CHOSEN)
    assert result.reason == "the `callbacks` argument of task `own_callbacks` is not a literal: the scaffold needs its value"


@pytest.mark.parametrize(("body", "why", "static"), [
    ("    def __init__(self, **kwargs):\n        super().__init__(**kwargs)\n        self.env = {'A': '1'}\n",
     "`Metered.__init__` sets `self.env`, a parameter of `BashOperator`", False),
    ("    def __init__(self, cwd='/srv', **kwargs):\n        super().__init__(cwd=cwd, **kwargs)\n"
     "        self.metric = 'runs'\n        self.cwd = '/tmp'\n",
     "`Metered.__init__` sets `self.cwd`, an argument it hands on", False),
    ("    def pre_execute(self, context):\n        self.bash_command = 'echo other'\n",
     "`Metered` defines `pre_execute`, which sets `self.bash_command`, a parameter of `BashOperator`", False),
    ("    def __init__(self, **kwargs):\n        super().__init__(**kwargs)\n        self.metric = 'a'\n"
     "        self.metric += 'b'\n", "`Metered.__init__` uses `self` (`self.metric`)", True),
    ("    def __call__(self):\n        return 1\n", "`Metered` defines `__call__`", True),
    ("    template_ext = ('.sh', '.cmd')\n", "`Metered` sets `template_ext`", True),
    ("    @property\n    def cwd(self):\n        return '/forced'\n",
     "`Metered` defines `cwd`, a parameter of `BashOperator`", True),
    ("    def execute(self, context):\n        setattr(self, 'cwd', '/x')\n        return super().execute(context)\n",
     "`Metered` defines `execute`, which sets attributes by name", True),
    # a method whose answer is what runs, and one changing what it is given (the review's k_build)
    ("    def get_env(self, context):\n        return {'A': '1'}\n",
     "`Metered` defines `get_env`, which makes what `BashOperator` runs", True),
    ("    def execute(self, context):\n        context['params'].update({'a': 1})\n        return super().execute(context)\n",
     "`Metered` defines `execute`, which changes its argument `context`", True),
])
def test_what_would_change_the_values_the_base_runs_with_is_refused(tmp_path: Path, body: str, why: str,
                                                                     static: bool):
    text = HEAD + f"class Metered(BashOperator):\n{body}\n" + textwrap.dedent("""
        with DAG("d", schedule=None):
            Metered(task_id="m", bash_command="echo hi")
        """)
    dag = tmp_path / "dag.py"
    dag.write_text(text)
    module = MAPPING.replace('"pod": [dg.AssetSpec(key="pod_out")]', '"m": [dg.AssetSpec(key="m_out")]') + \
        '\nAIRFLOW_OPERATOR_PORTS = {"Metered": "BashOperator"}\n'
    result = scaffold_task(text, str(dag), "d", "m", module)
    if static:  # known from the class alone: no family, and the no-scaffold note says why
        assert result.reason == (f"task `m` uses `Metered`, which has no scaffold (`AIRFLOW_OPERATOR_PORTS` runs it "
                                 f"as `BashOperator`, but {why}): port it by hand")
    else:  # known from the values its task is given
        assert result.reason == (f"`Metered` runs as `BashOperator` (AIRFLOW_OPERATOR_PORTS), but {why}: "
                                 "`BashOperator` would not run with the values Airflow gives it; port the class as "
                                 "a function instead")


def test_a_metered_execute_runs_as_its_base(tmp_path: Path):
    """The everyday wrapper: its own parameter kept on the instance, `execute` counts the run, then
    runs Airflow's."""
    text = HEAD + textwrap.dedent("""
        import statsd

        class Metered(BashOperator):
            def __init__(self, metric="runs", **kwargs):
                super().__init__(**kwargs)
                self.metric = metric

            def execute(self, context):
                statsd.incr(self.metric)
                return super().execute(context)

        with DAG("d", schedule=None):
            Metered(task_id="m", bash_command="echo hi", env={"A": "1"})
        """)
    dag = tmp_path / "dag.py"
    dag.write_text(text)
    module = MAPPING.replace('"pod": [dg.AssetSpec(key="pod_out")]', '"m": [dg.AssetSpec(key="m_out")]') + \
        '\nAIRFLOW_OPERATOR_PORTS = {"Metered": "BashOperator"}\n'
    result = scaffold_task(text, str(dag), "d", "m", module, module_path=str(tmp_path / "definitions.py"))
    assert result.changed, result.reason
    assert "bash_command = 'echo hi'" in result.text and "statsd" not in result.text
    assert ("What the class changes stays in Airflow and is not carried: `Metered` defines `execute`; "
            "`Metered.__init__` sets `self.metric`.") in " ".join(result.text.split())


def test_an_attribute_of_a_base_whose_parameters_are_not_listed_is_refused(tmp_path: Path):
    text = HEAD + textwrap.dedent("""
        from airflow.sensors.external_task import ExternalTaskSensor

        class Waits(ExternalTaskSensor):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.label = "x"

        with DAG("d", schedule=None):
            Waits(task_id="w", external_dag_id="up", external_task_id="t")
        """)
    dag = tmp_path / "dag.py"
    dag.write_text(text)
    [task] = [t for t in dag_tasks(text, str(dag)).values()]
    assert can_scaffold(text, task, dag_path=str(dag), bases={"Waits": "ExternalTaskSensor"}) == (
        "`Waits` runs as `ExternalTaskSensor` (AIRFLOW_OPERATOR_PORTS), but `Waits.__init__` sets `self.label` and "
        "which of its attributes `ExternalTaskSensor` reads is not known here: `ExternalTaskSensor` would not run "
        "with the values Airflow gives it; port the class as a function instead")


def test_hover_check_and_the_acceptance_test_say_what_the_choice_does(tmp_path: Path):
    from analysis.checks import check_project
    from analysis.describe import task_markdown
    from analysis.edits.acceptance_test import acceptance_test
    from analysis.project import Layout, discover

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "dag.py").write_text(DAG_TEXT)
    (tmp_path / "definitions.py").write_text(MAPPING)
    project = discover(Layout(str(tmp_path), ("dags",), "definitions.py"))
    [entry] = project.entries
    assert "no scaffold: port by hand" in task_markdown(project, entry, entry.dag.task("pod"))
    assert len([f for f in check_project(project) if f.code == "no-scaffold"]) == 3
    (tmp_path / "definitions.py").write_text(CHOSEN)
    project = discover(Layout(str(tmp_path), ("dags",), "definitions.py"))
    [entry] = project.entries
    hover = task_markdown(project, entry, entry.dag.task("pod"))
    assert ("run as `KubernetesPodOperator` (`AIRFLOW_OPERATOR_PORTS`): what its class changes stays in Airflow "
            "(`TeamPod` defines `get_or_create_pod`; `TeamPod` defines `process_pod_deletion`; `TeamPod` sets "
            "`template_fields` to its base's without `on_finish_action`)") in hover
    assert "no scaffold" not in hover
    assert [f for f in check_project(project) if f.code == "no-scaffold"] == []
    assert project.port_bases == {"TeamPod": "KubernetesPodOperator"}
    scaffolded = scaffold_task(DAG_TEXT, str(tmp_path / "dags" / "dag.py"), "d", "pod", CHOSEN,
                               module_path=str(tmp_path / "definitions.py"))
    assert scaffolded.changed, scaffolded.reason
    (tmp_path / "definitions.py").write_text(scaffolded.text)
    refused = acceptance_test(DAG_TEXT, str(tmp_path / "dags" / "dag.py"), "d", "pod", scaffolded.text,
                              str(tmp_path / "definitions.py"), str(tmp_path / "test_pod.py"))
    assert refused.reason.startswith("task `pod` runs `TeamPod`, which the Dagster module runs as "
                                     "`KubernetesPodOperator` (AIRFLOW_OPERATOR_PORTS): its Airflow side is the class")


def test_a_port_function_comes_before_a_base_of_another_module():
    from analysis.dagster.mapping_index import MappingIndex

    first = parse_dagster_module("/a.py", 'def team(c, **k):\n    pass\n\nAIRFLOW_OPERATOR_PORTS = {"TeamPod": team}\n')
    second = parse_dagster_module("/b.py", 'AIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator", '
                                  '"Other": "BashOperator"}\n')
    index = MappingIndex.of((first, second))
    assert (index.ports, index.bases) == ({"TeamPod": "team"}, {"Other": "BashOperator"})


def test_a_choice_written_in_another_dagster_module_is_the_projects(tmp_path: Path):
    """The lens, `check` and "Generate Dagster implementation" agree (the review's M4): the choice
    is the project's, whichever of its Dagster modules writes it."""
    from analysis.checks import check_project
    from analysis.files import read_disk
    from analysis.plans.mapping import plan_scaffold
    from analysis.project import Layout, discover

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "dag.py").write_text(DAG_TEXT)
    (tmp_path / "definitions.py").write_text(MAPPING)
    (tmp_path / "team_ports.py").write_text(
        "import dagster as dg\nfrom dagster_airlift.core import assets_with_task_mappings\n\n"
        'AIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator"}\n\n'
        'other = assets_with_task_mappings(dag_id="other", task_mappings={"x": [dg.AssetSpec(key="x")]})\n')
    project = discover(Layout(str(tmp_path), ("dags",)))  # every Dagster module of the workspace
    assert project.primary_dagster_module.path.endswith("definitions.py")
    assert project.port_bases == {"TeamPod": "KubernetesPodOperator"}
    assert [f for f in check_project(project) if f.code == "no-scaffold"] == []
    plan = plan_scaffold(project, lambda path: read_disk(path).text, "d", "pod")
    [change] = plan.changes
    assert change.path == str(tmp_path / "definitions.py") and "pipes_k8s_client.run(" in change.new_text

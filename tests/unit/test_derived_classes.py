"""A project operator class derived from one of Airflow's (``analysis.dags.derived``): which class
it runs, what the project's classes change of it, and the arguments its constructor hands on. A
class that only hands arguments on runs Airflow's class: its tasks scaffold as that class
(``families.runs_as``); one that changes how it runs is named in the no-scaffold note with what it
changes. Tasks of a class of the DAG file itself are where the file calls the class."""

from __future__ import annotations

import textwrap
from pathlib import Path

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.families import no_scaffold_note, runs_as, task_family

HEAD = ("from airflow import DAG\nfrom airflow.models import BaseOperator\n"
        "from airflow.operators.bash import BashOperator\nfrom airflow.operators.empty import EmptyOperator\n"
        "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\n")
POD = "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator"


def tasks(body: str, arguments: bool = False) -> dict:
    facts = extract_file("/dags/f.py", HEAD + textwrap.dedent(body), arguments=arguments)
    assert facts.error is None, facts.error
    return {t.task_id: t for d in facts.dags for t in d.tasks}


TEAM_POD = """
class TeamPod(KubernetesPodOperator):
    ui_color = "#fff"
    template_fields_renderers = {"env_vars": "json"}

    def __init__(self, *, image_pull_policy="Always", namespace="team", **kwargs):
        super().__init__(image_pull_policy=image_pull_policy, namespace=namespace,
                         labels={"team": "data"}, **kwargs)
"""


def test_a_class_that_only_hands_arguments_on_runs_airflows_class():
    found = tasks(TEAM_POD + "with DAG('d'):\n    TeamPod(task_id='p', image='busybox', cmds=['echo'])\n", True)["p"]
    assert (found.operator, found.derived_from, found.derived_changes) == ("TeamPod", POD, ())
    assert runs_as(found) == "KubernetesPodOperator" and task_family(found) == "pipes-k8s"
    # the class's own arguments (a port's), and those Airflow's constructor is given, with its defaults
    assert found.arguments == (("task_id", True, "p"), ("image", True, "busybox"), ("cmds", True, ["echo"]))
    assert dict((n, v) for n, _, v in found.base_arguments) == {
        "image_pull_policy": "Always", "namespace": "team", "labels": {"team": "data"}, "task_id": "p",
        "image": "busybox", "cmds": ["echo"]}
    # a class deriving from another that only hands arguments on, and one with no body
    more = tasks(TEAM_POD + "class GpuPod(TeamPod):\n    def __init__(self, **kwargs):\n"
                 "        super().__init__(namespace='gpu', **kwargs)\n"
                 "class Plain(BashOperator):\n    pass\n"
                 "with DAG('d'):\n    GpuPod(task_id='g', image='x')\n    Plain(task_id='b', bash_command='x')\n", True)
    assert runs_as(more["g"]) == "KubernetesPodOperator"
    assert dict((n, v) for n, _, v in more["g"].base_arguments)["namespace"] == "gpu"
    assert (runs_as(more["b"]), more["b"].base_arguments) == ("BashOperator", None)  # Airflow's constructor itself


def test_what_a_class_changes_is_named_methods_first():
    found = tasks("""
        class Noisy(BashOperator):
            template_fields = ("bash_command",)
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.env = {"A": "1"}
            def execute(self, context):
                return super().execute(context)
        class Reads(BashOperator):
            def __init__(self, **kwargs):
                super(Reads, self).__init__(**kwargs)
                self.log.info("made")
        class Mixed(BashOperator, SomeMixin):
            pass
        class Own(BaseOperator):
            def execute(self, context):
                return 1
        with DAG('d'):
            Noisy(task_id='n', bash_command='x')
            Reads(task_id='r', bash_command='x')
            Mixed(task_id='m', bash_command='x')
            Own(task_id='o')
        """)
    assert found["n"].derived_changes == ("`Noisy` defines `execute`", "`Noisy.__init__` sets `self.env`",
                                          "`Noisy` sets `template_fields`")
    assert found["r"].derived_changes == ("`Reads.__init__` calls `self.log.info(...)`",)
    assert found["m"].derived_changes == ("derives from `SomeMixin`, which is not read",)
    assert all(runs_as(found[t]) == found[t].operator and task_family(found[t]) is None for t in "nrmo")
    assert no_scaffold_note(found["n"], "PORTS") == (
        "no scaffold for `Noisy` (derived from `BashOperator`, but `Noisy` defines `execute`; `Noisy.__init__` "
        "sets `self.env`; `Noisy` sets `template_fields`): port by hand (or port the class once, or run it as `BashOperator`: `PORTS`)")
    # a BaseOperator of the project's: nothing of Airflow's to run, the note as before
    assert found["o"].derived_from == "airflow.models.BaseOperator"
    assert no_scaffold_note(found["o"], "PORTS") == "no scaffold for `Own`: port by hand (or port the class once: `PORTS`)"


def test_a_class_of_the_dag_file_makes_its_task_where_the_file_calls_it():
    body = TEAM_POD + "with DAG('d'):\n    TeamPod(task_id='a', image='x')\n    TeamPod(task_id='b', image='y')\n"
    found = tasks(body)
    lines = (HEAD + body).splitlines()
    assert [lines[found[t].range.start.line].strip() for t in "ab"] == [
        "TeamPod(task_id='a', image='x')", "TeamPod(task_id='b', image='y')"]


def test_an_empty_operator_of_the_project_has_nothing_to_migrate():
    from analysis.edits.scaffold.families import task_nothing_to_migrate

    found = tasks("class Marker(EmptyOperator):\n    ui_color = '#000'\nwith DAG('d'):\n    Marker(task_id='m')\n")
    assert task_nothing_to_migrate(found["m"]) is not None and task_family(found["m"]) is None


DAG_TEXT = HEAD + TEAM_POD + textwrap.dedent("""
    class Audited(TeamPod):
        def execute(self, context):
            return super().execute(context)

    with DAG("d", schedule=None):
        TeamPod(task_id="pod", image="busybox", cmds=["echo", "hi"], env_vars={"STAGE": "test"})
        Audited(task_id="audited", image="busybox")
    """)
MODULE = textwrap.dedent('''\
    import dagster as dg
    from dagster_airlift.core import assets_with_task_mappings

    d_assets = assets_with_task_mappings(
        dag_id="d",
        task_mappings={
            "pod": [dg.AssetSpec(key="pod_out")],
            "audited": [dg.AssetSpec(key="audited_out")],
        },
    )
    ''')


def test_the_pod_is_scaffolded_with_the_values_the_class_hands_on(tmp_path: Path):
    dag = tmp_path / "dag.py"
    dag.write_text(DAG_TEXT)
    result = scaffold_task(DAG_TEXT, str(dag), "d", "pod", MODULE, module_path=str(tmp_path / "definitions.py"))
    assert result.changed, result.reason
    run = result.text.split("yield from pipes_k8s_client.run(\n")[1].split(").get_results()")[0]
    assert [line.strip() for line in run.splitlines() if line.strip()] == [
        "context=context,", 'image="busybox",', 'command=["echo", "hi"],', 'namespace="team",',
        'env={"STAGE": "test"},', 'base_pod_meta={"labels": {"team": "data"}},',
        'base_pod_spec={"containers": [{"image_pull_policy": "Always"}]},']
    assert "`TeamPod` is the project's `KubernetesPodOperator` with values of its own" in " ".join(result.text.split())
    refused = scaffold_task(DAG_TEXT, str(dag), "d", "audited", MODULE)
    assert refused.reason == ("task `audited` uses `Audited`, which has no scaffold (derived from "
                              "`KubernetesPodOperator`, but `Audited` defines `execute`): port it by hand")


def test_a_port_of_the_class_comes_before_airflows_class(tmp_path: Path):
    dag = tmp_path / "dag.py"
    dag.write_text(DAG_TEXT)
    [task] = [t for d in extract_file(str(dag), DAG_TEXT).dags for t in d.tasks if t.task_id == "pod"]
    assert can_scaffold(DAG_TEXT, task, dag_path=str(dag)) is None
    assert task_family(task, {"TeamPod": "team_pod"}) == "port"
    ported = MODULE + "\n\ndef team_pod(context, **kwargs):\n    pass\n\n\nAIRFLOW_OPERATOR_PORTS = {\"TeamPod\": team_pod}\n"
    result = scaffold_task(DAG_TEXT, str(dag), "d", "pod", ported)
    assert result.changed, result.reason
    assert 'team_pod(context, image="busybox", cmds=["echo", "hi"], env_vars={"STAGE": "test"})' in result.text
    assert "pipes_k8s_client" not in result.text  # the class's own arguments, given to the team's port


def test_hover_and_check_say_which_class_a_task_runs(tmp_path: Path):
    from analysis.checks import check_project
    from analysis.describe import task_markdown
    from analysis.project import Layout, discover

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "dag.py").write_text(DAG_TEXT)
    (tmp_path / "definitions.py").write_text(MODULE)
    project = discover(Layout(str(tmp_path), ("dags",), "definitions.py"))
    [entry] = project.entries
    pod = task_markdown(project, entry, entry.dag.task("pod"))
    assert "the project's `KubernetesPodOperator`: its class only hands arguments on to it" in pod
    assert "no scaffold" not in pod
    audited = task_markdown(project, entry, entry.dag.task("audited"))
    assert ("no scaffold: port by hand (`Audited` has no generated Dagster implementation: derived from "
            "`KubernetesPodOperator`, but `Audited` defines `execute`;") in audited
    notes = [f.message for f in check_project(project) if f.code == "no-scaffold"]
    assert notes == ["no scaffold for `Audited` (derived from `KubernetesPodOperator`, but `Audited` defines "
                     "`execute`): port by hand (or port the class once, or run it as `KubernetesPodOperator`: "
                     "`AIRFLOW_OPERATOR_PORTS`)"]


def test_what_else_changes_how_a_class_runs():
    """Each a way the review found a class could run otherwise than the arguments it hands on."""
    found = tasks("""
        import os

        def audited(cls):
            return cls

        class Meta(type):
            pass

        class Decorated(BashOperator):
            pass
        Decorated = audited(Decorated)

        @audited
        class Wrapped(BashOperator):
            pass

        class WithMeta(BashOperator, metaclass=Meta):
            pass

        class Late(BashOperator):
            pass

        class Sneaky(BashOperator):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                super().__setattr__("cwd", "/srv/sneaky")

        class Configurer:
            def __init__(self):
                pass

        class Other(BashOperator):
            def __init__(self, **kwargs):
                Configurer.__init__(self)
                super().__init__(**kwargs)

        class Side(BashOperator):
            def __init__(self, **kwargs):
                os.environ["TEAM"] = "data"
                super().__init__(**kwargs)

        class Links(BashOperator):
            operator_extra_links = ()

        class Fine(BashOperator):
            def __init__(self, *args, stage="test", **kwargs):
                kwargs.setdefault("env", {})["STAGE"] = stage
                super().__init__(*args, **kwargs)

        with DAG('d'):
            Wrapped(task_id='w', bash_command='x')
            WithMeta(task_id='m', bash_command='x')
            Late(task_id='late', bash_command='x')
            Sneaky(task_id='s', bash_command='x')
            Other(task_id='o', bash_command='x')
            Side(task_id='side', bash_command='x')
            Links(task_id='links', bash_command='x')
            Fine(task_id='fine', bash_command='x')

        class Set(BashOperator):
            pass

        with DAG('e'):
            Set(task_id='set', bash_command='x')

        def _execute(self, context):
            return "patched"
        Late.execute = _execute
        setattr(Set, "execute", _execute)
        """, True)
    assert found["w"].derived_changes == ("`Wrapped` is made by `@audited`",)
    assert found["m"].derived_changes == ("`WithMeta` is made with `metaclass=Meta`",)
    assert found["late"].derived_changes == ("`Late` defines `execute`",)  # set on the class after the task
    assert found["set"].derived_changes == ("`Set` defines `execute`",)  # and by setattr
    assert found["s"].derived_changes == ("`Sneaky.__init__` uses `super().__setattr__`",)
    assert found["o"].derived_changes == ("`Other.__init__` calls `Configurer.__init__(...)`",)
    assert found["side"].derived_changes == ("`Side.__init__` stores into `os.environ['TEAM']`",)
    assert found["links"].derived_changes == ("`Links` sets `operator_extra_links`",)  # Airflow 3 runs them
    # a method of its own arguments and `*args` of nothing: handed on, as evaluated
    assert found["fine"].derived_changes == () and runs_as(found["fine"]) == "BashOperator"
    assert dict((n, v) for n, _, v in found["fine"].base_arguments)["env"] == {"STAGE": "test"}
    assert not any(n == "*" for n, _, _ in found["fine"].base_arguments)


def test_default_args_fill_the_classs_own_parameters_as_airflow_does():
    found = tasks("""
        class TeamBash(BashOperator):
            def __init__(self, *, cwd="/tmp/team", stage="dev", **kwargs):
                super().__init__(cwd=cwd, env={"STAGE": stage}, **kwargs)

        with DAG('d', default_args={"cwd": "/srv/prod"}):
            TeamBash(task_id='dag', bash_command='pwd')
            TeamBash(task_id='own', bash_command='pwd', default_args={"stage": "prod"})
            TeamBash(task_id='given', bash_command='pwd', cwd="/given")
        with DAG('unread', default_args=make_defaults()):
            TeamBash(task_id='unread', bash_command='pwd')
        """, True)
    handed = {t: dict((n, v) for n, _, v in found[t].base_arguments) for t in ("dag", "own", "given")}
    assert (handed["dag"]["cwd"], handed["dag"]["env"]) == ("/srv/prod", {"STAGE": "dev"})
    assert (handed["own"]["cwd"], handed["own"]["env"]) == ("/srv/prod", {"STAGE": "prod"})
    assert handed["given"]["cwd"] == "/given"
    assert found["unread"].derived_changes == (
        "`default_args` that cannot be read may give `cwd`, `stage` of `TeamBash.__init__` (Airflow fills them "
        "from there)",)


def test_a_class_choosing_its_arguments_at_run_time_is_refused(tmp_path: Path):
    text = HEAD + textwrap.dedent("""
        import os

        class EnvDep(BashOperator):
            def __init__(self, **kwargs):
                if os.environ.get("STAGE") == "prod":
                    super().__init__(cwd="/prod", **kwargs)
                else:
                    super().__init__(cwd="/dev", **kwargs)

        with DAG("d", schedule=None):
            EnvDep(task_id="pod", bash_command="pwd")
        """)
    dag = tmp_path / "dag.py"
    dag.write_text(text)
    result = scaffold_task(text, str(dag), "d", "pod", MODULE)
    assert result.reason.startswith("task `pod` is made under a condition only known when Airflow runs the file")
    assert "the values it is given may differ on the other branch" in result.reason


def test_a_class_of_an_operator_scaffolded_from_its_call_only_keeps_its_note():
    from analysis.edits.scaffold.families import derived_note

    found = tasks("""
        from airflow.operators.python import BranchPythonOperator
        class TeamBranch(BranchPythonOperator):
            pass
        with DAG('d'):
            TeamBranch(task_id='b', python_callable=len)
        """)
    assert runs_as(found["b"]) == "TeamBranch" and task_family(found["b"]) is None
    assert derived_note(found["b"]) == ("derived from `BranchPythonOperator`, whose scaffold copies a call written "
                                        "in the DAG file")


def test_a_class_making_another_task_keeps_that_tasks_place():
    body = ("class WithPre(BashOperator):\n    def __init__(self, *, task_id, **kwargs):\n"
            "        BashOperator(task_id=f'{task_id}_pre', bash_command='echo pre')\n"
            "        super().__init__(task_id=task_id, **kwargs)\n"
            "with DAG('d'):\n    WithPre(task_id='main', bash_command='echo main')\n")
    found = tasks(body)
    lines = (HEAD + body).splitlines()
    assert lines[found["main"].range.start.line].strip() == "WithPre(task_id='main', bash_command='echo main')"
    assert lines[found["main_pre"].range.start.line].strip().startswith("BashOperator(task_id=f'{task_id}_pre'")
    assert found["main"].derived_changes == ("`WithPre.__init__` calls `BashOperator(...)`",)


def test_a_default_is_the_value_it_had_when_the_def_ran():
    """Python evaluates a parameter's default once, when the `def` runs: a name rebound later does
    not change it (the model did, evaluating it at each call)."""
    found = tasks("""
        CWD = "/a"
        class Team(BashOperator):
            def __init__(self, *, cwd=CWD, **kwargs):
                super().__init__(cwd=cwd, **kwargs)
        CWD = "/b"
        with DAG('d'):
            Team(task_id='t', bash_command='pwd')
        """, True)
    assert dict((n, v) for n, _, v in found["t"].base_arguments)["cwd"] == "/a"


def test_a_side_effect_through_an_alias_or_a_discarded_result_is_a_change():
    """The review of stop 39 (H3): `env = os.environ; env["A"] = ...` changes the process's
    environment as `os.environ["A"] = ...` does, and `_ = os.makedirs(...)` is a call made for its
    effect; an alias of the constructor's own argument is still its own."""
    found = tasks("""
        import os

        class Aliased(BashOperator):
            def __init__(self, **kwargs):
                env = os.environ
                env["REGION"] = "eu"
                super().__init__(**kwargs)

        class Discarded(BashOperator):
            def __init__(self, **kwargs):
                _ = os.makedirs("/tmp/x", exist_ok=True)
                super().__init__(**kwargs)

        class Own(BashOperator):
            def __init__(self, env=None, **kwargs):
                merged = env or {}
                merged["A"] = "1"
                super().__init__(env=merged, **kwargs)

        with DAG('d'):
            Aliased(task_id='a', bash_command='x')
            Discarded(task_id='b', bash_command='x')
            Own(task_id='c', bash_command='x')
        """)
    assert found["a"].derived_changes == ("`Aliased.__init__` stores into `env['REGION']`",)
    assert found["b"].derived_changes == ("`Discarded.__init__` calls `os.makedirs(...)`",)
    assert found["c"].derived_changes == () and runs_as(found["c"]) == "BashOperator"

"""The provider's ``Secret`` given to a pod operator: read as its constructor reads it (the model's
values and the scaffold's static reading agree), written into the pod as ``Secret.attach_to_pod``
attaches it, and refused with why where the provider raises or the scaffold cannot say it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from analysis.dags.k8s_secrets import K8sSecret, make_secret
from analysis.edits.scaffold import scaffold_task
from analysis.project import Layout, discover


@pytest.mark.parametrize(("args", "kwargs", "made"), [
    (["env", "db_host", "db", "host"], {}, K8sSecret("env", "DB_HOST", "db", "host")),  # upper-cased, as the provider
    (["env", None, "db"], {}, K8sSecret("env", None, "db", None)),
    (["volume", "/etc/creds"], {"secret": "creds"}, K8sSecret("volume", "/etc/creds", "creds", None)),
    (["file", "x", "s"], {}, "a `Secret` whose deploy_type is 'file': the provider raises (env or volume)"),
    (["env", None, "s", "k"], {}, "a `Secret` with a `key` and no `deploy_target`: the provider raises"),
    (["volume", None, "s"], {}, "a volume `Secret` with no path to mount it at"),
    (["volume", "/p", "s"], {"items": [{"key": "a", "path": "b"}]}, "a `Secret` with `items` (keys projected to paths)"),
    (["env", "X", "s"], {"deploy_type": "env"}, "a `Secret` with arguments its constructor does not take"),
])
def test_a_secret_is_read_as_its_constructor_reads_it(args, kwargs, made):
    assert make_secret(args, kwargs) == made


MODULE = textwrap.dedent('''\
    import dagster as dg
    from dagster_airlift.core import assets_with_task_mappings

    d_assets = assets_with_task_mappings(dag_id="d", task_mappings={"t": [dg.AssetSpec(key="out")]})
    ''')


def test_a_factorys_pod_keeps_its_secrets(tmp_path: Path):
    """dea's pattern: the secrets are a list of a module the factory reads (the model's values)."""
    (tmp_path / "dags" / "team").mkdir(parents=True)
    (tmp_path / "dags" / "team" / "__init__.py").write_text("")
    (tmp_path / "dags" / "team" / "pods.py").write_text(textwrap.dedent('''\
        from airflow.kubernetes.secret import Secret
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        DB = [Secret("env", "DB_HOST", "reporting-db", "DB_HOST"), Secret("volume", "/creds", "creds")]

        def pod(task_id, command):
            return KubernetesPodOperator(task_id=task_id, name=task_id, image="busybox", cmds=command, secrets=DB)
        '''))
    dag = textwrap.dedent('''\
        import pendulum
        from airflow import DAG
        from team.pods import pod

        with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
            pod("t", ["env"])
        ''')
    (tmp_path / "dags" / "d.py").write_text(dag)
    project = discover(Layout(str(tmp_path), ("dags",), None))
    result = scaffold_task(dag, str(tmp_path / "dags" / "d.py"), "d", "t", MODULE, code=project.code)
    assert result.changed, result.reason
    text = " ".join(result.text.split())
    assert ('"env": [ { "name": "DB_HOST", "value_from": { "secret_key_ref": {"name": "reporting-db", '
            '"key": "DB_HOST"}, }, }, ],') in text
    assert '"volumes": [{"name": "secretvol1", "secret": {"secret_name": "creds"}}]' in text
    assert '"volume_mounts": [ {"mount_path": "/creds", "name": "secretvol1", "read_only": True}, ],' in text


@pytest.mark.parametrize(("secrets", "reason"), [
    ('[Secret("volume", "/p", "s", items=[{"key": "a", "path": "b"}])]',
     "the `secrets` of task `t` is not a literal or a module-level constant"),
    ("[Secret('env', 'A', NAME, 'k')]", "the `secrets` of task `t` is not a literal or a module-level constant"),
    ('["not-a-secret"]', "the `secrets` of task `t` are not a list of the provider's `Secret`s written out"),
])
def test_secrets_the_scaffold_cannot_write_are_refused(secrets, reason, tmp_path: Path):
    dag = textwrap.dedent(f'''\
        import os
        import pendulum
        from airflow import DAG
        from airflow.providers.cncf.kubernetes.secret import Secret
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        NAME = os.environ["SECRET"]
        with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
            KubernetesPodOperator(task_id="t", name="t", image="busybox", secrets={secrets})
        ''')
    result = scaffold_task(dag, str(tmp_path / "d.py"), "d", "t", MODULE)
    assert not result.changed and result.reason.startswith(reason), result.reason

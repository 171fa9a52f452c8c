"""The team's choice to run a class as its base, written into the Dagster module's
``AIRFLOW_OPERATOR_PORTS`` (``analysis.edits.port_bases``, ``analysis.plans.port_bases``): the dict
gains one element in its own layout, or is written after the imports; a second time changes
nothing; what the module declares otherwise for the class is refused, in one line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from analysis.dagster.ports import read_bases, read_ports
from analysis.edits.port_bases import choose_base
from analysis.plans import Refused
from analysis.plans.port_bases import plan_port_base

CHOICE = ("TeamPod", "KubernetesPodOperator")


@pytest.mark.parametrize(("before", "after"), [
    ("import dagster as dg\n\ndefs = dg.Definitions()\n",
     'import dagster as dg\n\nAIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator"}\n\ndefs = dg.Definitions()\n'),
    ('"""Doc."""\n\nimport dagster as dg\nfrom x import y\n\n\ndef f():\n    pass\n',
     '"""Doc."""\n\nimport dagster as dg\nfrom x import y\n\nAIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator"}\n'
     '\n\ndef f():\n    pass\n'),
    ("", 'AIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator"}\n'),
    ('AIRFLOW_OPERATOR_PORTS = {"A": a}\n', 'AIRFLOW_OPERATOR_PORTS = {"A": a, "TeamPod": "KubernetesPodOperator"}\n'),
    ("AIRFLOW_OPERATOR_PORTS = {\n    'A': a,\n    'B': 'BashOperator',\n}\n",
     "AIRFLOW_OPERATOR_PORTS = {\n    'A': a,\n    'B': 'BashOperator',\n    'TeamPod': 'KubernetesPodOperator',\n}\n"),
    ('AIRFLOW_OPERATOR_PORTS = {\n    "A": a\n}\n',
     'AIRFLOW_OPERATOR_PORTS = {\n    "A": a,\n    "TeamPod": "KubernetesPodOperator"\n}\n'),
    ("AIRFLOW_OPERATOR_PORTS = {}\n", 'AIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator"}\n'),
    ('AIRFLOW_OPERATOR_PORTS: dict = {"A": a,}\n',
     'AIRFLOW_OPERATOR_PORTS: dict = {"A": a, "TeamPod": "KubernetesPodOperator",}\n'),
    # each comment stays on its element's line (the review's H4)
    ('AIRFLOW_OPERATOR_PORTS = {\n    "A": a,  # port of A\n    "B": b,  # port of B\n}\n',
     'AIRFLOW_OPERATOR_PORTS = {\n    "A": a,  # port of A\n    "B": b,  # port of B\n'
     '    "TeamPod": "KubernetesPodOperator",\n}\n'),
    ('AIRFLOW_OPERATOR_PORTS = {\n    "A": a,  # port of A\n    "B": b  # port of B\n}\n',
     'AIRFLOW_OPERATOR_PORTS = {\n    "A": a,  # port of A\n    "B": b,  # port of B\n'
     '    "TeamPod": "KubernetesPodOperator"\n}\n'),
    ('AIRFLOW_OPERATOR_PORTS = {\n    "A": a,  # port of A\n}\n',
     'AIRFLOW_OPERATOR_PORTS = {\n    "A": a,  # port of A\n    "TeamPod": "KubernetesPodOperator",\n}\n'),
    ('AIRFLOW_OPERATOR_PORTS = {"A": a,\n                          "B": b}\n',
     'AIRFLOW_OPERATOR_PORTS = {"A": a,\n                          "B": b,\n'
     '                          "TeamPod": "KubernetesPodOperator"}\n'),
    ("AIRFLOW_OPERATOR_PORTS = {\n}\n", 'AIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator"}\n'),
    # a declaration sharing its line with another statement is the one edited (H5)
    ('AIRFLOW_OPERATOR_PORTS = {"A": "BashOperator"}; X = 1\n',
     'AIRFLOW_OPERATOR_PORTS = {"A": "BashOperator", "TeamPod": "KubernetesPodOperator"}; X = 1\n'),
    # the last declaration is the one read: the one that gains the entry
    ('AIRFLOW_OPERATOR_PORTS = {}\nAIRFLOW_OPERATOR_PORTS = {"A": a}\n',
     'AIRFLOW_OPERATOR_PORTS = {}\nAIRFLOW_OPERATOR_PORTS = {"A": a, "TeamPod": "KubernetesPodOperator"}\n'),
])
def test_the_entry_joins_the_dict_in_its_layout_once(before: str, after: str):
    result = choose_base(before, *CHOICE)
    assert (result.changed, result.text) == (True, after)
    assert CHOICE in read_bases(after) and read_ports(after) == read_ports(before)
    again = choose_base(after, *CHOICE)
    assert (again.changed, again.text, again.reason) == (
        False, after, "AIRFLOW_OPERATOR_PORTS already runs `TeamPod` as `KubernetesPodOperator`")


@pytest.mark.parametrize(("text", "reason"), [
    ('AIRFLOW_OPERATOR_PORTS = {"TeamPod": team_pod}\n',
     "AIRFLOW_OPERATOR_PORTS already ports `TeamPod` to `team_pod`, which comes first"),
    ('AIRFLOW_OPERATOR_PORTS = {"TeamPod": "GKEStartPodOperator"}\n',
     "AIRFLOW_OPERATOR_PORTS already runs `TeamPod` as `GKEStartPodOperator`: change it there by hand"),
    ("AIRFLOW_OPERATOR_PORTS = dict(A=a)\n",
     '`AIRFLOW_OPERATOR_PORTS` is not a dict literal: add `"TeamPod": "KubernetesPodOperator"` to it by hand'),
    ("AIRFLOW_OPERATOR_PORTS = {\n", "the Dagster module has a syntax error on line 1 ('{' was never closed): fix it first"),
    ("AIRFLOW_OPERATOR_PORTS = {\n    # none yet\n}\n",
     '`AIRFLOW_OPERATOR_PORTS` holds only comments: add `"TeamPod": "KubernetesPodOperator"` to it by hand'),
])
def test_what_the_module_declares_otherwise_is_refused(text: str, reason: str):
    result = choose_base(text, *CHOICE)
    assert (result.text, result.changed, result.reason) == (None, False, reason)


PORT_BASES = Path(__file__).resolve().parents[1] / "fixtures" / "scaffold" / "port_bases"


def test_the_plan_writes_the_primary_module_and_names_what_stays_in_airflow(tmp_path: Path):
    from analysis.files import read_disk
    from analysis.project import Layout, discover

    (tmp_path / "dags").mkdir()
    for name in ("pods_dag.py", "metered_dag.py"):
        (tmp_path / "dags" / name).write_text((PORT_BASES / name).read_text())
    (tmp_path / "dags" / "team_ops").mkdir()
    for name in ("__init__.py", "pods.py", "metered.py"):
        (tmp_path / "dags" / "team_ops" / name).write_text((PORT_BASES / "team_ops" / name).read_text())
    module = (PORT_BASES / "port_bases_module.py").read_text().replace(
        'AIRFLOW_OPERATOR_PORTS = {"MeteredBashOperator": "BashOperator", "TeamPod": "KubernetesPodOperator"}\n\n', "")
    (tmp_path / "definitions.py").write_text(module)
    project = discover(Layout(str(tmp_path), ("dags",), "definitions.py"))
    def read(path: str) -> str | None:
        return read_disk(path).text

    plan = plan_port_base(project, read, "team_pods", "transform")
    [change] = plan.changes
    assert change.path == str(tmp_path / "definitions.py")
    assert '\nAIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator"}\n' in change.new_text
    assert plan.notes == ("every task of `TeamPod` now scaffolds as `KubernetesPodOperator`; what the class changes "
                          "stays in Airflow (`TeamPod` defines `get_or_create_pod`; `TeamPod` defines "
                          "`process_pod_deletion`; `TeamPod` sets `template_fields` to its base's without "
                          "`on_finish_action`)",)
    with pytest.raises(Refused, match="DAG `team_pods` has no task `nope`"):
        plan_port_base(project, read, "team_pods", "nope")

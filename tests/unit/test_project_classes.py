"""Classes of the project's own: DAG and operator subclasses, wrappers that make DAGs in their
constructor, task wrappers with ``>>`` of their own, dataclass configs, operators made outside
any DAG and adopted later. Each case is what Airflow's DagBag builds from the same code."""

from analysis.dags.dagfile import extract_file

HEAD = ("from dataclasses import dataclass\nfrom datetime import datetime\nfrom airflow import DAG\n"
        "from airflow.models import BaseOperator\nfrom airflow.operators.empty import EmptyOperator\n"
        "from airflow.operators.bash import BashOperator\n")


def model(body: str) -> dict[str, dict[str, tuple[str, list[str]]]]:
    facts = extract_file("/dags/f.py", HEAD + body)
    return {d.dag_id: {t.task_id: (t.operator, list(t.upstream)) for t in d.tasks} for d in facts.dags}


def test_a_dag_subclass_with_its_own_constructor() -> None:
    assert model(
        "class TeamDag(DAG):\n"
        "    def __init__(self, team, name, **kwargs):\n"
        "        self.team = team\n"
        "        super().__init__(dag_id=f'{team}__{name}', start_date=datetime(2024, 1, 1), **kwargs)\n"
        "with TeamDag('growth', 'daily') as dag:\n"
        "    EmptyOperator(task_id='a') >> EmptyOperator(task_id='b')\n") == {
        "growth__daily": {"a": ("EmptyOperator", []), "b": ("EmptyOperator", ["a"])}}


def test_an_operator_subclass_names_its_task_as_its_constructor_does() -> None:
    assert model(
        "class LoadOperator(BaseOperator):\n"
        "    def __init__(self, table, **kwargs):\n"
        "        super().__init__(task_id=f'load_{table}', **kwargs)\n"
        "        self.table = table\n"
        "class PlainOperator(BashOperator):\n"
        "    pass\n"
        "with DAG('d') as dag:\n"
        "    LoadOperator(table='orders') >> PlainOperator(task_id='report', bash_command='x')\n") == {
        "d": {"load_orders": ("LoadOperator", []), "report": ("PlainOperator", ["load_orders"])}}


def test_a_wrapper_that_makes_the_dag_in_its_constructor_and_exposes_it_as_a_property() -> None:
    assert model(
        "class CompanyDag:\n"
        "    def __init__(self, dag_id, schedule=None):\n"
        "        self._dag = DAG(dag_id=dag_id, schedule=schedule, start_date=datetime(2024, 1, 1))\n"
        "    @property\n"
        "    def airflow_dag(self):\n"
        "        return self._dag\n"
        "    def add(self, task_id):\n"
        "        return EmptyOperator(task_id=task_id, dag=self._dag)\n"
        "company = CompanyDag('sales')\n"
        "dag = company.airflow_dag\n"
        "first = company.add('extract')\n"
        "first >> company.add('load')\n"
        "BashOperator(task_id='report', bash_command='x', dag=company.airflow_dag)\n") == {
        "sales": {"extract": ("EmptyOperator", []), "load": ("EmptyOperator", ["extract"]),
                  "report": ("BashOperator", [])}}


def test_task_wrappers_with_their_own_rshift() -> None:
    assert model(
        "class OpTask:\n"
        "    def __init__(self, op):\n"
        "        self.op = op\n"
        "        self.downstream = []\n"
        "    def __rshift__(self, other):\n"
        "        self.op >> other.op\n"
        "        return other\n"
        "with DAG('d') as dag:\n"
        "    a = OpTask(EmptyOperator(task_id='a'))\n"
        "    b = OpTask(op=EmptyOperator(task_id='b'))\n"
        "    c = OpTask(EmptyOperator(task_id='c'))\n"
        "    a >> b >> c\n") == {"d": {"a": ("EmptyOperator", []), "b": ("EmptyOperator", ["a"]),
                                      "c": ("EmptyOperator", ["b"])}}


def test_operators_made_outside_any_dag_join_the_one_they_are_given_or_linked_to() -> None:
    assert model(
        "dag = DAG('d', start_date=datetime(2024, 1, 1))\n"
        "inside = EmptyOperator(task_id='inside', dag=dag)\n"
        "later = EmptyOperator(task_id='later')\n"
        "later.dag = dag\n"
        "linked = EmptyOperator(task_id='linked')\n"
        "inside >> linked\n"
        "orphan = EmptyOperator(task_id='orphan')\n") == {
        "d": {"inside": ("EmptyOperator", []), "later": ("EmptyOperator", []),
              "linked": ("EmptyOperator", ["inside"])}}


def test_a_dataclass_config_drives_the_factory() -> None:
    assert model(
        "@dataclass\n"
        "class Source:\n"
        "    name: str\n"
        "    schedule: str = '@daily'\n"
        "    tables: tuple = ('a', 'b')\n"
        "SOURCES = [Source('crm'), Source('erp', tables=('x',))]\n"
        "for source in SOURCES:\n"
        "    with DAG(f'ingest_{source.name}', schedule=source.schedule, start_date=datetime(2024, 1, 1)) as dag:\n"
        "        for table in source.tables:\n"
        "            EmptyOperator(task_id=f'load_{table}')\n"
        "    globals()[dag.dag_id] = dag\n") == {
        "ingest_crm": {"load_a": ("EmptyOperator", []), "load_b": ("EmptyOperator", [])},
        "ingest_erp": {"load_x": ("EmptyOperator", [])}}


def test_class_methods_static_methods_and_isinstance() -> None:
    assert model(
        "class Naming:\n"
        "    PREFIX = 'etl'\n"
        "    @classmethod\n"
        "    def task_id(cls, name):\n"
        "        return f'{cls.PREFIX}_{name}'\n"
        "    @staticmethod\n"
        "    def dag_id(name):\n"
        "        return name.upper()\n"
        "def as_list(x):\n"
        "    if not isinstance(x, list):\n"
        "        x = [x]\n"
        "    return x\n"
        "with DAG(Naming.dag_id('daily')) as dag:\n"
        "    for name in as_list('one'):\n"
        "        EmptyOperator(task_id=Naming.task_id(name))\n") == {"DAILY": {"etl_one": ("EmptyOperator", [])}}

"""Deterministic corpus of realistic Airflow DAG files for bench/speed.py.

    python bench/gen_corpus.py [--files 1000] [--seed 7] [--out bench/out/corpus]
                               [--big bench/out/big_dag.py]

Writes N files of 90-200 lines (``dag_0000.py``, ...) and one ~2,000-line DAG file for the
edit benchmark. Styles mix ``with DAG(...)`` and operators, ``dag = DAG(...)`` with ``dag=dag``
and ``set_upstream``, TaskFlow ``@dag``/``@task`` with XCom data flow, TaskGroups (context
manager and ``@task_group``), loops over literal lists with f-string ids, ``chain(...)``,
``>>`` with lists, helper functions with docstrings, module-level constants, Airflow 2 and
Airflow 3 import paths, and a few non-ASCII comments and strings. Every file loads in Airflow.
``ensure`` (what bench/speed.py calls, for 1,000 and 10,000 files) writes a corpus only when the
folder does not already hold it: same size and seed, same generator.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

BENCH_OUT = Path(__file__).resolve().parent / "out"

IMPORTS = {
    "airflow2": {
        "DAG": "from airflow import DAG",
        "BashOperator": "from airflow.operators.bash import BashOperator",
        "PythonOperator": "from airflow.operators.python import PythonOperator",
        "EmptyOperator": "from airflow.operators.empty import EmptyOperator",
        "TaskGroup": "from airflow.utils.task_group import TaskGroup",
        "chain": "from airflow.models.baseoperator import chain",
        "taskflow": "from airflow.decorators import dag, task, task_group",
    },
    "airflow3": {
        "DAG": "from airflow.sdk import DAG",
        "BashOperator": "from airflow.providers.standard.operators.bash import BashOperator",
        "PythonOperator": "from airflow.providers.standard.operators.python import PythonOperator",
        "EmptyOperator": "from airflow.providers.standard.operators.empty import EmptyOperator",
        "TaskGroup": "from airflow.sdk import TaskGroup",
        "chain": "from airflow.sdk import chain",
        "taskflow": "from airflow.sdk import dag, task, task_group",
    },
}

DOMAINS = [
    "orders", "customers", "payments", "inventory", "marketing", "billing",
    "shipments", "sessions", "reviews", "ledger", "refunds", "suppliers",
]
VERBS = ["extract", "clean", "validate", "enrich", "aggregate", "publish", "archive", "score", "dedupe"]
REGIONS = ["eu", "us", "apac", "latam", "mena"]
CHECKS = ["row_count", "null_keys", "freshness", "duplicates", "schema", "ranges"]
NON_ASCII_COMMENTS = [
    "# Données clients : vérifiées à l'étape suivante.",
    "# Überprüfung der Zeilenanzahl (grobe Schätzung).",
    "# 数据质量检查：行数不能为零。",
    "# Señal de control — ¿llegó el fichero? ✓",
    "# Заметка: таблица обновляется ночью.",
]
PLAIN_COMMENTS = [
    "# Keep the payload small: XCom lives in the metadata database.",
    "# The upstream export lands around 02:00 UTC.",
    "# TODO: move the thresholds to an Airflow Variable.",
    "# Retries cover the flaky vendor API, not data errors.",
]


class DagFileWriter:
    def __init__(self, rng: random.Random, index: int):
        self.rng = rng
        self.index = index
        self.era = rng.choice(["airflow2", "airflow3"])
        self.helpers: list[str] = []

    # --- pieces ---------------------------------------------------------------------------

    def comment(self) -> str:
        pool = NON_ASCII_COMMENTS if self.rng.random() < 0.15 else PLAIN_COMMENTS
        return self.rng.choice(pool)

    def header(self, title: str, names: list[str]) -> list[str]:
        imports = IMPORTS[self.era]
        return [
            f'"""{title}.',
            "",
            f"Owned by the {self.rng.choice(DOMAINS)} team. Runbook: docs/runbooks/dag_{self.index:04d}.md",
            '"""',
            "",
            "from __future__ import annotations",
            "",
            "import logging",
            "from datetime import datetime, timedelta",
            "",
            *sorted({imports[name] for name in names}),
            "",
            "log = logging.getLogger(__name__)",
            "",
        ]

    def constants(self, domains: list[str]) -> list[str]:
        regions = self.rng.sample(REGIONS, self.rng.randint(2, 4))
        return [
            f'OWNER = "{self.rng.choice(DOMAINS)}-team"',
            f'SCHEDULE = "{self.rng.choice(["@daily", "@hourly", "0 3 * * *", "30 5 * * 1-5"])}"',
            f"REGIONS = {regions!r}",
            f"TABLES = {tuple(domains)!r}",
            f"ROW_LIMIT = {self.rng.randint(1, 90) * 1000}",
            "DEFAULT_ARGS = {",
            '    "owner": OWNER,',
            f'    "retries": {self.rng.randint(0, 3)},',
            f'    "retry_delay": timedelta(minutes={self.rng.choice([1, 5, 10, 15])}),',
            "}",
            "",
            "",
        ]

    def helper(self) -> list[str]:
        """A module-level helper: a task callable (usable as ``python_callable``), a SQL
        builder or a small settings class."""
        kinds = [self.callable_helper, self.callable_helper, self.sql_helper, self.class_helper]
        return self.rng.choice(kinds)(self.rng.choice(DOMAINS), len(self.helpers) + self.rng.randint(0, 999))

    def callable_helper(self, domain: str, number: int) -> list[str]:
        verb = self.rng.choice(VERBS)
        name = f"_{verb}_{domain}_{number}"
        self.helpers.append(name)
        factor, size = self.rng.randint(2, 9), self.rng.randint(5, 50)
        return [
            f"def {name}(**context) -> int:",
            f'    """{verb.capitalize()} the {domain} rows of the logical date.',
            "",
            f"    Reads at most ROW_LIMIT rows; returns the {domain} total for the next task.",
            '    """',
            f"    {self.comment()}",
            f'    batch = [{{"id": i, "{domain}": i * {factor}}} for i in range({size})]',
            f'    total = sum(row["{domain}"] for row in batch)',
            f'    log.info("{verb} %s: %d rows, total %d", context.get("ds"), len(batch), total)',
            "    if total > ROW_LIMIT:",
            f'        log.warning("{domain} total above the limit — résumé sent")',
            "    return total",
            "",
            "",
        ]

    def sql_helper(self, domain: str, number: int) -> list[str]:
        return [
            f'def _sql_for_{domain}_{number}(table: str = "{domain}") -> str:',
            '    """Build the incremental SELECT for one table of the data interval."""',
            f"    {self.comment()}",
            f'    columns = ", ".join(["id", "updated_at", "{domain}_amount"])',
            "    return (",
            '        f"SELECT {columns} FROM raw.{table} "',
            "        \"WHERE updated_at >= '{{ data_interval_start }}' \"",
            "        \"AND updated_at < '{{ data_interval_end }}'\"",
            "    )",
            "",
            "",
        ]

    def class_helper(self, domain: str, number: int) -> list[str]:
        warn = self.rng.randint(50, 80)
        return [
            f"class _{domain.capitalize()}Thresholds{number}:",
            f'    """Alert thresholds for {domain}, tuned by the on-call."""',
            "",
            f"    warn = {warn / 100}",
            f"    fail = {(warn + 15) / 100}",
            "",
            "    def exceeded(self, ratio: float) -> bool:",
            f"        {self.comment()}",
            "        return ratio >= self.fail",
            "",
            "",
        ]

    # --- DAG bodies -----------------------------------------------------------------------

    def python_operator(self, task_id: str, extra: str = "") -> str:
        return f'PythonOperator(task_id="{task_id}", python_callable={self.rng.choice(self.helpers)}{extra})'

    def dag_args(self, dag_id: str, indent: str) -> list[str]:
        return [
            f'{indent}dag_id="{dag_id}",',
            f"{indent}default_args=DEFAULT_ARGS,",
            f"{indent}schedule=SCHEDULE,",
            f"{indent}start_date=datetime(2024, {self.rng.randint(1, 12)}, {self.rng.randint(1, 28)}),",
            f"{indent}catchup=False,",
            f'{indent}tags=["bench", "{self.rng.choice(DOMAINS)}"],',
        ]

    def check_group(self, group_id: str, upstream: str, downstream: str) -> list[str]:
        checks = self.rng.sample(CHECKS, self.rng.randint(2, 4))
        lines = [f'    with TaskGroup(group_id="{group_id}") as {group_id}:']
        for check in checks:
            lines.append(f'        {check} = {self.python_operator(check)}')
        lines += [f"        {' >> '.join(checks[:2])}", f"    {upstream} >> {group_id} >> {downstream}", ""]
        return lines

    def classic(self, dag_id: str, domains: list[str], groups: int = 1) -> list[str]:
        extracts, tables = [f"extract_{d}" for d in domains], " ".join(domains)
        lines = ["with DAG(", *self.dag_args(dag_id, "    "), ") as dag:"]
        lines += ['    start = EmptyOperator(task_id="start")', '    end = EmptyOperator(task_id="end")', ""]
        for name in extracts:
            lines.append(f"    {name} = {self.python_operator(name)}")
        lines += [
            "",
            "    transform = BashOperator(",
            '        task_id="transform",',
            '        bash_command="python -m jobs.transform --date {{ ds }} --tables ' + tables + '",',
            "    )",
            f"    start >> [{', '.join(extracts)}] >> transform",
            "",
        ]
        if self.rng.random() < 0.6:
            lines += [
                f"    {self.comment()}",
                "    for region in REGIONS:",
                '        load = BashOperator(',
                '            task_id=f"load_{region}", bash_command=f"echo loading {region}"',
                '        )',
                "        transform >> load >> end",
                "",
            ]
        for number in range(groups):
            if groups > 1 or self.rng.random() < 0.5:
                lines += self.check_group(f"quality_{number}", "transform", "end")
        if self.rng.random() < 0.5:
            lines += [
                '    publish = EmptyOperator(task_id="publish")',
                '    notify_a = BashOperator(task_id="notify_slack", bash_command="echo slack")',
                '    notify_b = BashOperator(task_id="notify_email", bash_command="echo e-mail — envoyé")',
                "    chain(transform, publish, [notify_a, notify_b], end)",
            ]
        else:
            lines.append("    transform >> end")
        return lines

    def assigned(self, dag_id: str, domains: list[str]) -> list[str]:
        lines = ["dag = DAG(", *self.dag_args(dag_id, "    "), ")", ""]
        previous = None
        for domain in domains:
            lines.append(f"{domain} = {self.python_operator(f'sync_{domain}', ', dag=dag')}")
            if previous:
                lines.append(f"{domain}.set_upstream({previous})")
            previous = domain
        lines += [
            'report = BashOperator(task_id="report", bash_command="echo report {{ ds }}", dag=dag)',
            f"{previous}.set_downstream(report)",
        ]
        return lines

    def taskflow(self, dag_id: str, domains: list[str]) -> list[str]:
        function = dag_id.replace("-", "_")
        lines = ["@dag(", *self.dag_args(dag_id, "    "), ")", f"def {function}():"]
        for domain in domains:
            factor, size = self.rng.randint(2, 9), self.rng.randint(3, 30)
            lines += [
                "    @task",
                f"    def extract_{domain}() -> list[dict]:",
                f'        """Pull the {domain} export."""',
                f'        return [{{"id": i, "amount": i * {factor}}} for i in range({size})]',
                "",
            ]
        lines += [
            '    @task(task_id="combine")',
            "    def combine(*batches: list[dict]) -> dict:",
            '        """Sum every batch; the result goes through XCom."""',
            f"        {self.comment()}",
            '        rows = sum(len(batch) for batch in batches)',
            '        return {"rows": rows, "amount": sum(r["amount"] for batch in batches for r in batch)}',
            "",
            "    @task",
            "    def publish(summary: dict, table: str) -> None:",
            '        log.info("publish %s to %s", summary, table)',
            "",
            "    @task_group(group_id=\"reports\")",
            "    def reports(summary: dict):",
            "        @task",
            "        def daily(summary: dict) -> str:",
            '            return f"daily: {summary[\'rows\']} rows"',
            "",
            "        @task",
            "        def weekly(summary: dict) -> str:",
            '            return f"weekly: {summary[\'amount\']}"',
            "",
            "        daily(summary) >> weekly(summary)",
            "",
            f"    summary = combine({', '.join(f'extract_{d}()' for d in domains)})",
            "    for table in TABLES:",
            '        publish.override(task_id=f"publish_{table}")(summary, table)',
            "    reports(summary)",
            "",
            "",
            f"{function}()",
        ]
        return lines

    # --- whole files ----------------------------------------------------------------------

    def file(self, min_lines: int, max_lines: int) -> str:
        style = self.rng.choices(["classic", "taskflow", "assigned"], weights=[5, 3, 2])[0]
        domains = self.rng.sample(DOMAINS, self.rng.randint(2, 4))
        dag_id = f"{style}_{domains[0]}_{self.index:04d}"
        names = {
            "classic": ["DAG", "BashOperator", "PythonOperator", "EmptyOperator", "TaskGroup", "chain"],
            "taskflow": ["taskflow"],
            "assigned": ["DAG", "BashOperator", "PythonOperator"],
        }[style]
        title = f"{domains[0].capitalize()} pipeline ({style} style)"
        return self.assemble(title, names, domains, lambda: getattr(self, style)(dag_id, domains),
                             self.rng.randint(min_lines, max_lines))

    def big_file(self, target_lines: int) -> str:
        self.era = "airflow3"
        domains = DOMAINS[:6]
        names = ["DAG", "BashOperator", "PythonOperator", "EmptyOperator", "TaskGroup", "chain"]
        return self.assemble("Warehouse rebuild (large file)", names, domains,
                             lambda: self.classic("warehouse_rebuild", domains, groups=40), target_lines)

    def assemble(self, title, names, domains, body, target_lines: int) -> str:
        head = self.header(title, names) + self.constants(domains)
        helpers = self.callable_helper("orders", 0) + self.callable_helper("payments", 1)
        dag_lines = body()
        while len(head) + len(helpers) + len(dag_lines) < target_lines:
            helper = self.helper()
            if len(head) + len(helpers) + len(helper) + len(dag_lines) > target_lines:
                break
            helpers += helper
        return "\n".join(head + helpers + dag_lines) + "\n"


def generate(out: Path, files: int, seed: int, big: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("dag_*.py"):
        stale.unlink()
    rng = random.Random(seed)
    for index in range(files):
        (out / f"dag_{index:04d}.py").write_text(DagFileWriter(rng, index).file(110, 200), encoding="utf-8")
    big.parent.mkdir(parents=True, exist_ok=True)
    big_rng = random.Random(f"big-{seed}")  # the same big file whatever the number of files
    big.write_text(DagFileWriter(big_rng, 0).big_file(2000), encoding="utf-8")


def ensure(out: Path, files: int, seed: int, big: Path) -> bool:
    """``generate``, unless ``out`` already holds this very corpus (same size and seed, written by
    this version of the generator): 10,000 files are not rewritten on every run. True when it
    wrote the files."""
    stamp = {"files": files, "seed": seed, "generator": hashlib.sha1(Path(__file__).read_bytes()).hexdigest()}
    marker = out / ".generated.json"
    try:
        if json.loads(marker.read_text()) == stamp and big.is_file() \
                and sum(1 for _ in out.glob("dag_*.py")) == files:
            return False
    except (OSError, ValueError):
        pass
    generate(out, files, seed, big)
    marker.write_text(json.dumps(stamp) + "\n")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=BENCH_OUT / "corpus")
    parser.add_argument("--big", type=Path, default=BENCH_OUT / "big_dag.py")
    args = parser.parse_args()
    generate(args.out, args.files, args.seed, args.big)
    (args.out / ".generated.json").unlink(missing_ok=True)  # written by hand: ensure() regenerates
    print(f"wrote {args.files} DAG files to {args.out} and {args.big}")


if __name__ == "__main__":
    main()

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { declaresAirlift, importsAirflow, isDagFile } from '../../src/activation';

test('a pyproject.toml is an Airlift project only with a [tool.airlift-lsp] table', () => {
    assert.equal(declaresAirlift('[project]\nname = "x"\n\n[tool.airlift-lsp]\ndagFolders = ["dags"]\n'), true);
    assert.equal(declaresAirlift('[tool.airlift-lsp.airflow]\nurl = "http://localhost:8080"\n'), true);
    assert.equal(declaresAirlift('[tool."airlift-lsp"]\n'), true);
    assert.equal(declaresAirlift('[tool]\nairlift-lsp.dagFolders = ["dags"]\n'), true);
    assert.equal(declaresAirlift('[project]\nname = "airlift-lsp"\ndependencies = ["dagster-airlift"]\n[tool.ruff]\n'), false);
    assert.equal(declaresAirlift('# [tool.airlift-lsp] would go here\n'), false);
});

test('a Python file matters when it imports Airflow, however spelled', () => {
    for (const text of ['from airflow import DAG', 'import airflow', 'from airflow.sdk import dag as d', '    from airflow.operators.python import PythonOperator',
        'import airflow.models as models']) {
        assert.equal(importsAirflow(`"""doc"""\n${text}\n`), true, text);
    }
    for (const text of ['import airflowctl', 'from airflow_utils import x', '# from airflow import DAG', 'print("import airflow")', 'from dagster import asset']) {
        assert.equal(importsAirflow(text), false, text);
    }
});

test('the DAG and task commands apply to the report\'s DAG files', () => {
    const report = { dags: [{ dag_id: 'd', file: '/ws/dags/d.py', tasks: 1, mapped: 0, proxied: 0, dagProxied: false, hook: 'none', last_run: null, task_rows: [] }], indexing: false };
    assert.equal(isDagFile(report, '/ws/dags/../dags/d.py'), true);
    assert.equal(isDagFile(report, '/ws/dags/other.py'), false);
    assert.equal(isDagFile(report, undefined), false);
    assert.equal(isDagFile({ dags: [], indexing: true }, '/ws/dags/d.py'), false);
});

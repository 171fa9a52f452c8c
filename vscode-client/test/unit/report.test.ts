import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dagStage, dagSummary, parseReport, tasksByDag, tasksFromSymbols } from '../../src/report';
import { REPORT, SYMBOLS } from './fakes';

test('parseReport keeps well-formed rows and tolerates missing fields', () => {
    const report = parseReport({ dags: [...REPORT.dags, { file: 'x.py' }, { dag_id: 'bare' }], indexing: false });
    assert.deepEqual(report.dags.map((d) => d.dag_id), ['rebuild_customers_list', 'daily_orders', 'bare']);
    assert.deepEqual(report.dags[2], { dag_id: 'bare', file: '', tasks: 0, mapped: 0, proxied: 0, dagProxied: false, hook: 'unknown', last_run: null });
    assert.deepEqual(parseReport(undefined), { dags: [], indexing: false });
    assert.equal(parseReport({ dags: [], indexing: true }).indexing, true);
});

test('tasks come from workspace symbols: functions inside a DAG', () => {
    const tasks = tasksFromSymbols(SYMBOLS);
    assert.deepEqual(tasks.map((t) => `${t.dag_id}/${t.task_id}`), [
        'daily_orders/extract', 'daily_orders/transform.clean',
        'rebuild_customers_list/load_raw_customers', 'rebuild_customers_list/build_dbt_models', 'rebuild_customers_list/export_customers',
    ]);
    assert.equal(tasks[2].file, '/ws/airflow_dags/rebuild_customers_list.py');
    assert.equal(tasks[2].line, 31);
    assert.deepEqual(tasksFromSymbols(null), []);
});

test('summaries and stages', () => {
    const [rebuild, daily] = parseReport(REPORT).dags;
    assert.equal(dagSummary(rebuild), '2/3 mapped · 1/3 proxied');
    assert.equal(dagStage(rebuild), 'migrating');
    assert.equal(dagStage(daily), 'peered');
    assert.equal(dagSummary({ ...daily, dagProxied: true }), '0/4 mapped · DAG proxied');
    assert.equal(dagStage({ ...daily, dagProxied: true }), 'migrated');
});

test('tasks group under their DAG', () => {
    const grouped = tasksByDag(parseReport(REPORT), tasksFromSymbols(SYMBOLS));
    assert.deepEqual(grouped.get('rebuild_customers_list')?.map((t) => t.task_id), ['load_raw_customers', 'build_dbt_models', 'export_customers']);
    assert.equal(grouped.get('daily_orders')?.length, 2);
});

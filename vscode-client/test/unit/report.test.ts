import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    dagStage, dagSummary, escapeMarkdown, parseReport, safeLink, taskDescription, taskEntries, tasksByDag, tasksFromSymbols,
    taskTooltip, type ReportTask,
} from '../../src/report';
import { REPORT, SYMBOLS } from './fakes';

test('parseReport keeps well-formed rows and tolerates missing fields', () => {
    const report = parseReport({ dags: [...REPORT.dags, { file: 'x.py' }, { dag_id: 'bare' }], indexing: false });
    assert.deepEqual(report.dags.map((d) => d.dag_id), ['rebuild_customers_list', 'daily_orders', 'bare']);
    assert.deepEqual(report.dags[2], { dag_id: 'bare', file: '', tasks: 0, mapped: 0, proxied: 0, dagProxied: false, hook: 'unknown', last_run: null, task_rows: [] });
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

test('a task row with a Dagster run: its status, short id and a link to its Dagster UI page beside the Airflow run', () => {
    const [rebuild] = parseReport(REPORT).dags;
    const [load, build, exported] = rebuild.task_rows;
    assert.equal(taskDescription(load), 'proxied · Airflow ✓ success → Dagster ✓ SUCCESS ab12cd34');
    assert.equal(taskTooltip('rebuild_customers_list', load), [
        '**load\\_raw\\_customers** in rebuild\\_customers\\_list (proxied)',
        'assets: raw\\_data/raw\\_customers',
        'Airflow run: success since 2026\\-12\\-01T06:01:00Z',
        '[Dagster run ✓ SUCCESS ab12cd34](http://localhost:3000/runs/ab12cd34-5678-90ef)',
    ].join('\n\n'));
    assert.equal(taskDescription(build), 'observed');
    assert.ok(!taskTooltip('rebuild_customers_list', build).includes('Dagster run'));
    assert.equal(taskDescription(exported), 'unmapped');

    const failed: ReportTask = { ...load, last_run: null, dagster_run: { run_id: 'ff00ee11-9', status: 'FAILURE', start_time: null, end_time: null },
        dagster_run_url: null };
    assert.equal(taskDescription(failed), 'proxied · Dagster ✗ FAILURE ff00ee11');
    assert.ok(taskTooltip('d', failed).endsWith('\n\nDagster run ✗ FAILURE ff00ee11'));  // no dagster.url: no link
    const running: ReportTask = { ...failed, dagster_run: { ...failed.dagster_run!, status: 'STARTED' } };
    assert.equal(taskDescription(running), 'proxied · Dagster ⏳ STARTED ff00ee11');
});

test('the rows are read tolerantly and merged with the symbols: every task once, in file order', () => {
    const report = parseReport({ dags: [{ dag_id: 'd', task_rows: [
        { task_id: 'b', stage: 'proxied', assets: ['x', 3], dagster_run: { run_id: '', status: 'SUCCESS' } },
        { task_id: 'from_airflow' }, { stage: 'observed' }, 'junk',
        { task_id: 'a', dagster_run: { run_id: 'r1' }, dagster_run_url: 7 }] }], indexing: false });
    const [dag] = report.dags;
    assert.deepEqual(dag.task_rows.map((t) => t.task_id), ['b', 'from_airflow', 'a']);
    assert.deepEqual(dag.task_rows[0].assets, ['x']);
    assert.equal(dag.task_rows[0].dagster_run, null);  // no run id: no run
    assert.deepEqual(dag.task_rows[2].dagster_run, { run_id: 'r1', status: 'UNKNOWN', start_time: null, end_time: null });
    assert.equal(dag.task_rows[2].dagster_run_url, null);
    const entries = taskEntries(dag, [{ dag_id: 'd', task_id: 'a', file: '/ws/d.py', line: 3 }, { dag_id: 'd', task_id: 'b' }]);
    assert.deepEqual(entries.map((e) => [e.task.task_id, e.row?.stage, e.task.file]),
        [['a', 'unmapped', '/ws/d.py'], ['b', 'proxied', undefined], ['from_airflow', 'unmapped', undefined]]);
    assert.deepEqual(taskEntries({ ...dag, task_rows: [] }, [{ dag_id: 'd', task_id: 'a' }]), [{ task: { dag_id: 'd', task_id: 'a' }, row: undefined }]);
});

test('the tooltip shows server text, never interprets it: Markdown escaped, only http(s) links', () => {
    const hostile: ReportTask = {
        task_id: '[click](command:workbench.action.terminal.new) <img src=x onerror=alert(1)>', stage: 'proxied',
        assets: ['a*b_c`d'], proxied: true, last_run: null,
        dagster_run: { run_id: 'run](javascript:alert(1))', status: 'SUCCESS', start_time: null, end_time: null },
        dagster_run_url: 'javascript:alert(1)',
    };
    const tooltip = taskTooltip('d\nnext', hostile);
    assert.ok(!tooltip.includes('](command:') && !/[^\\]<img/.test(tooltip) && !tooltip.includes('](javascript'), tooltip);
    assert.ok(tooltip.includes('\\<img src=x onerror=alert\\(1\\)\\>'), tooltip);
    assert.ok(tooltip.includes('\\[click\\]\\(command:workbench\\.action\\.terminal\\.new\\)'), tooltip);
    assert.ok(tooltip.includes('in d next'), tooltip);
    assert.ok(tooltip.endsWith('\n\nDagster run ✓ SUCCESS run\\]\\(jav'), tooltip);  // javascript: never a link
    assert.equal(escapeMarkdown('a&lt;b'), 'a\\&lt;b');
    assert.equal(safeLink('javascript:alert(1)'), undefined);
    assert.equal(safeLink('not a url'), undefined);
    assert.equal(safeLink(null), undefined);
    assert.equal(safeLink('https://acme.dagster.cloud/prod/runs/a(b)'), 'https://acme.dagster.cloud/prod/runs/a%28b%29');
    const linked = taskTooltip('d', { ...hostile, dagster_run_url: 'http://dagster:3000/runs/x) [evil](command:x' });
    assert.ok(linked.endsWith('](http://dagster:3000/runs/x%29%20[evil]%28command:x)'), linked);
});

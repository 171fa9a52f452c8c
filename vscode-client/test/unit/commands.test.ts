import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerCommands, RESTRICTED_MESSAGE, VERIFY_RESTRICTED_MESSAGE, type CommandDeps } from '../../src/commands';
import { AIRFLOW_TOKEN_SECRET, ClientCommand, DAGSTER_TOKEN_SECRET, EDIT_COMMANDS, PASSWORD_SECRET, ServerCommand } from '../../src/constants';
import type { TaskItem } from '../../src/targets';
import { FakeHost, FakePort } from './fakes';

function setup() {
    const host = new FakeHost();
    const port = new FakePort();
    const events: string[] = [];
    const deps: CommandDeps = {
        host,
        port,
        refreshReport: () => events.push('refresh'),
        revealReport: async () => void events.push('reveal'),
        restartServer: async () => void events.push('restart'),
        showOutput: () => events.push('output'),
        log: () => undefined,
    };
    registerCommands(deps);
    const run = (id: string, ...args: unknown[]) => host.commands.get(id)!(...args);
    return { host, port, events, run };
}

test('every documented command (docs/language-server.md) is registered once, with the client\'s own', () => {
    const { host } = setup();
    for (const id of [...Object.values(ServerCommand), ...Object.values(ClientCommand)]) {
        assert.ok(host.commands.has(id), id);
    }
    assert.equal(host.commands.size, Object.values(ServerCommand).length + Object.values(ClientCommand).length);
});

test('a lens\'s arguments go to the server as they are', async () => {
    const { port, run, host } = setup();
    const result = await run(ServerCommand.proxyTask, { dag_id: 'rebuild_customers_list', task_id: 'build_dbt_models' });
    assert.deepEqual(result, { applied: true, files: [] });
    assert.deepEqual(port.edits(), [{ method: ServerCommand.proxyTask, args: [{ dag_id: 'rebuild_customers_list', task_id: 'build_dbt_models' }] }]);
    assert.deepEqual(host.callsOf('showQuickPick'), []);
});

test('from the palette, a task command asks for the task; the active file\'s tasks come first', async () => {
    const { host, port, run } = setup();
    host.active = '/ws/airflow_dags/rebuild_customers_list.py';
    let shown: string[] = [];
    host.pick = (items) => {
        shown = items.map((i) => i.label);
        return items.find((i) => i.label === 'load_raw_customers');
    };
    await run(ServerCommand.rollbackTask);
    assert.deepEqual(shown.slice(0, 3), ['load_raw_customers', 'build_dbt_models', 'export_customers']);
    assert.equal(shown.length, 5);
    assert.deepEqual(port.edits(), [{ method: ServerCommand.rollbackTask, args: [{ dag_id: 'rebuild_customers_list', task_id: 'load_raw_customers' }] }]);
});

test('a DAG node (report view) narrows the task pick to that DAG', async () => {
    const { host, port, run } = setup();
    host.pick = (items) => {
        assert.deepEqual(items.map((i) => (i as TaskItem).task.dag_id), ['daily_orders', 'daily_orders']);
        return items[1];
    };
    await run(ServerCommand.mapTask, { kind: 'dag', dag_id: 'daily_orders' });
    assert.deepEqual(port.edits()[0].args, [{ dag_id: 'daily_orders', task_id: 'transform.clean' }]);
});

test('DAG commands pick among the report\'s DAGs; cancelling does nothing', async () => {
    const { host, port, run } = setup();
    let labels: string[] = [];
    host.pick = (items) => {
        labels = items.map((i) => `${i.label}: ${i.description}`);
        return undefined;
    };
    assert.equal(await run(ServerCommand.proxyDag), undefined);
    assert.deepEqual(labels, ['daily_orders: 0/4 mapped · 0/4 proxied', 'rebuild_customers_list: 2/3 mapped · 1/3 proxied']);
    assert.deepEqual(port.edits(), []);
    host.pick = (items) => items[1];
    await run(ServerCommand.enableProxying);
    assert.deepEqual(port.edits(), [{ method: ServerCommand.enableProxying, args: [{ dag_id: 'rebuild_customers_list' }] }]);
});

test('decommission: a lens sends its DAG as is; from the palette it asks the DAG, then remove or pause', async () => {
    const { host, port, run } = setup();
    await run(ServerCommand.decommissionDag, { dag_id: 'daily_orders', pause: false });
    assert.deepEqual(port.edits(), [{ method: ServerCommand.decommissionDag, args: [{ dag_id: 'daily_orders', pause: false }] }]);
    assert.deepEqual(host.callsOf('showQuickPick'), []);

    const titles: string[] = [];
    host.pick = (items, options) => {
        titles.push(options.title ?? '');
        return items.find((i) => i.label === 'rebuild_customers_list' || i.label === 'Keep the DAG file, paused');
    };
    await run(ServerCommand.decommissionDag);
    assert.equal(titles.length, 2);
    assert.deepEqual(port.edits()[1], { method: ServerCommand.decommissionDag, args: [{ dag_id: 'rebuild_customers_list', pause: true }] });

    host.pick = (items) => items.find((i) => i.label === 'daily_orders');  // the mode pick cancelled
    await run(ServerCommand.decommissionDag);
    assert.equal(port.edits().length, 2);
});

test('positional arguments work too', async () => {
    const { port, run } = setup();
    await run(ServerCommand.mapTask, 'daily_orders', 'extract');
    assert.deepEqual(port.edits()[0].args, [{ dag_id: 'daily_orders', task_id: 'extract' }]);
});

test('rollbackAll asks first from the palette', async () => {
    const { host, port, run } = setup();
    await run(ServerCommand.rollbackAll);
    assert.deepEqual(port.edits(), []);
    host.confirmed = true;
    await run(ServerCommand.rollbackAll);
    assert.deepEqual(port.edits(), [{ method: ServerCommand.rollbackAll, args: [{}] }]);
});

test('peer asks which auth backend to write and sends it; cancelling sends nothing', async () => {
    const { host, port, run } = setup();
    let labels: string[] = [];
    host.pick = (items) => {
        labels = items.map((i) => i.label);
        return undefined;
    };
    assert.equal(await run(ServerCommand.peer), undefined);
    assert.deepEqual(labels, ['basic', 'mwaa']);
    assert.deepEqual(port.edits(), []);
    host.pick = (items) => items[1];
    await run(ServerCommand.peer);
    await run(ServerCommand.peer, { auth: 'basic' });
    assert.deepEqual(port.edits(), [
        { method: ServerCommand.peer, args: [{ auth: 'mwaa' }] },
        { method: ServerCommand.peer, args: [{ auth: 'basic' }] },
    ]);
});

test('Restricted Mode: every edit command refuses and sends nothing', async () => {
    const { host, port, run } = setup();
    host.trusted = false;
    for (const id of EDIT_COMMANDS) {
        await run(id, { dag_id: 'rebuild_customers_list', task_id: 'load_raw_customers' });
    }
    assert.deepEqual(port.requests, []);
    assert.equal(host.callsOf('showWarningMessage').length, EDIT_COMMANDS.length);
    assert.equal(host.callsOf('showWarningMessage')[0][0], RESTRICTED_MESSAGE);
});

test('a server that is not running is reported, not called', async () => {
    const { host, port, run } = setup();
    port.isRunning = false;
    await run(ServerCommand.mapTask, { dag_id: 'd', task_id: 't' });
    assert.deepEqual(port.requests, []);
    assert.match(String(host.callsOf('showErrorMessage')[0][0]), /not running/);
});

test('a failing request becomes an error message and the report refreshes anyway', async () => {
    const { host, port, run, events } = setup();
    port.failWith = new Error('boom');
    await run(ServerCommand.rollbackDag, { dag_id: 'd' });
    assert.match(String(host.callsOf('showErrorMessage')[0][0]), /airlift\.rollbackDag failed: boom/);
    assert.ok(events.includes('refresh'));
});

test('the password goes to secret storage, then the server restarts; empty removes it', async () => {
    const { host, run, events } = setup();
    host.input = 'hunter2';
    await run(ClientCommand.setPassword);
    assert.equal(host.secrets.get(PASSWORD_SECRET), 'hunter2');
    assert.deepEqual(events, ['restart']);
    assert.equal((host.callsOf('showInputBox')[0][0] as { password: boolean }).password, true);
    host.input = '';
    await run(ClientCommand.setPassword);
    assert.equal(host.secrets.has(PASSWORD_SECRET), false);
    host.input = undefined;
    await run(ClientCommand.setPassword);
    assert.deepEqual(events, ['restart', 'restart']);
});

for (const [name, set, clear, key] of [
    ['Airflow token', ClientCommand.setAirflowToken, ClientCommand.clearAirflowToken, AIRFLOW_TOKEN_SECRET],
    ['Dagster+ token', ClientCommand.setDagsterToken, ClientCommand.clearDagsterToken, DAGSTER_TOKEN_SECRET],
] as const) {
    test(`the ${name} goes to secret storage, then the server restarts; empty removes it; clear removes it`, async () => {
        const { host, run, events } = setup();
        host.input = ' tok-123\n';
        await run(set);
        assert.equal(host.secrets.get(key), 'tok-123', 'a pasted newline is dropped');
        assert.deepEqual(events, ['restart']);
        const box = host.callsOf('showInputBox')[0][0] as { password: boolean; title: string };
        assert.equal(box.password, true);
        assert.equal(box.title, `Airlift: ${name}`);
        assert.equal(host.secrets.has(PASSWORD_SECRET), false, 'the password is another secret');
        host.input = '';
        await run(set);
        assert.equal(host.secrets.has(key), false);
        host.input = undefined;
        await run(set);
        assert.deepEqual(events, ['restart', 'restart']);
        host.secrets.set(key, 'tok-456');
        await run(clear);
        assert.equal(host.secrets.has(key), false);
        assert.deepEqual(events, ['restart', 'restart', 'restart']);
    });
}

test('a token set in Restricted Mode is kept and said to be used once the workspace is trusted', async () => {
    const { host, run } = setup();
    host.trusted = false;
    host.input = 'tok';
    await run(ClientCommand.setAirflowToken);
    assert.equal(host.secrets.get(AIRFLOW_TOKEN_SECRET), 'tok');
    assert.match(String(host.callsOf('showInformationMessage')[0][0]), /Airflow token saved; it is used once you trust/);
});

test('migrationReport reveals the view and returns the server\'s answer', async () => {
    const { run, events } = setup();
    const report = (await run(ServerCommand.migrationReport)) as { dags: unknown[] };
    assert.equal(report.dags.length, 2);
    assert.deepEqual(events, ['refresh', 'reveal']);
});

test('the status menu offers refresh and output', async () => {
    const { host, run, port, events } = setup();
    host.pick = (items) => items.find((i) => i.label.includes('Refresh'));
    await run(ClientCommand.statusMenu);
    assert.deepEqual(port.requests.map((r) => r.method), [ServerCommand.refreshStatus]);
    host.pick = (items) => items.find((i) => i.label.includes('output'));
    await run(ClientCommand.statusMenu);
    assert.ok(events.includes('output'));
});

test('Verify with Airflow: refused in Restricted Mode without asking the server', async () => {
    const { host, port, run } = setup();
    host.trusted = false;
    assert.equal(await run(ServerCommand.verify), undefined);
    assert.deepEqual(port.requests, []);
    assert.equal(host.callsOf('showWarningMessage')[0][0], VERIFY_RESTRICTED_MESSAGE);
});

test('Verify with Airflow: the server runs it quietly and the client shows the summary', async () => {
    const { host, port, run } = setup();
    port.results[ServerCommand.verify] = { ok: true, message: '1 disagreement with Airflow 2.11.2 (see Problems)', findings: 1,
        notes: ['dagster-airlift does not import'] };
    await run(ServerCommand.verify);
    assert.deepEqual(port.requests, [{ method: ServerCommand.verify, args: [{ quiet: true }] }]);
    assert.deepEqual(host.callsOf('showWarningMessage'), [
        ['Airlift: 1 disagreement with Airflow 2.11.2 (see Problems); dagster-airlift does not import']]);
    port.results[ServerCommand.verify] = { ok: true, message: 'Airflow 2.11.2 loads the project as airlift-lsp reads it', findings: 0 };
    await run(ServerCommand.verify);
    assert.equal(host.callsOf('showInformationMessage').length, 1);
});

test('Verify with Airflow: without an interpreter, the error offers the setting', async () => {
    const { host, port, run } = setup();
    port.results[ServerCommand.verify] = { ok: false, error: 'no Airflow interpreter to verify with: pass --airflow-python PY' };
    host.answer = 'Open Setting';
    await run(ServerCommand.verify);
    assert.deepEqual(host.callsOf('showErrorMessage'), [
        ['Airlift: no Airflow interpreter to verify with: pass --airflow-python PY', 'Open Setting']]);
    assert.deepEqual(host.callsOf('executeCommand'), [['workbench.action.openSettings', 'airlift.airflow.python']]);
});

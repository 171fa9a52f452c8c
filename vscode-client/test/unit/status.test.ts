import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientCommand } from '../../src/constants';
import { describeStatus, parseStatus, StatusBar } from '../../src/status';
import { FakeHost } from './fakes';

test('the item shows (once shown) disabled until the server says otherwise, and opens the actions on click', () => {
    const host = new FakeHost();
    const bar = new StatusBar(host);
    const [item] = host.statusItems;
    assert.match(item.text, /Airflow: off/);
    assert.equal(item.command, ClientCommand.statusMenu);
    assert.deepEqual(host.callsOf('statusShow'), [], 'hidden until the workspace is an Airlift project');
    bar.show();
    assert.deepEqual(host.callsOf('statusShow'), [[]]);
    bar.update(parseStatus({ state: 'connected', url: 'http://af', apiVersion: 'v2', lastPoll: '2025-01-01T10:00:00Z', error: null }));
    assert.equal(item.text, '$(pass) Airflow');
    assert.match(item.tooltip, /connected to http:\/\/af \(API v2\)/);
    assert.equal(item.background, undefined);
});

test('the no-password hint in the tooltip names the editor command', () => {
    const view = describeStatus({ state: 'unauthorized', url: 'http://af',
        error: "authentication failed: no password for user 'admin' at http://af (HTTP 401); set AIRFLOW_PASSWORD" }, { trusted: true });
    assert.match(view.tooltip, /HTTP 401\); set the password with "Airlift: Set Airflow password" \(or AIRFLOW_PASSWORD\)/);
});

test('unreachable and unauthorized stand out and say why', () => {
    const unreachable = describeStatus({ state: 'unreachable', url: 'http://af', error: 'connection refused' }, { trusted: true });
    assert.match(unreachable.text, /unreachable/);
    assert.match(unreachable.tooltip, /connection refused/);
    assert.equal(unreachable.background, 'statusBarItem.warningBackground');
    const unauthorized = describeStatus({ state: 'unauthorized', url: 'http://af', error: 'HTTP 401' }, { trusted: true });
    assert.equal(unauthorized.background, 'statusBarItem.errorBackground');
    assert.match(unauthorized.tooltip, /Set Airflow password/);
});

test('disabled explains Restricted Mode', () => {
    assert.match(describeStatus({ state: 'disabled' }, { trusted: false }).tooltip, /Restricted Mode/);
    assert.match(describeStatus({ state: 'disabled' }, { trusted: true }).tooltip, /airlift\.airflow\.url/);
});

test('malformed notifications read as disabled', () => {
    assert.equal(parseStatus(null).state, 'disabled');
    assert.equal(parseStatus({ state: 3 }).state, 'disabled');
    assert.equal(parseStatus({ state: 'connecting' }).state, 'connecting');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editorHint, ServerLogReader } from '../../src/serverLog';

test('each server line at the level it was logged with, not all as errors', () => {
    const reader = new ServerLogReader();
    assert.deepEqual(reader.read('2026-12-04 17:20:01,123 INFO airlift-lsp: indexed 4 DAG files in 0.2 s'),
        { level: 'info', text: 'airlift-lsp: indexed 4 DAG files in 0.2 s' });
    assert.deepEqual(reader.read('2026-12-04 17:20:02,001 WARNING airlift-lsp: pyproject.toml: [tool.airlift-lsp] is not a table; ignored'),
        { level: 'warn', text: 'airlift-lsp: pyproject.toml: [tool.airlift-lsp] is not a table; ignored' });
    assert.equal(reader.read('2026-12-04 17:20:03,5 DEBUG pygls.protocol: sending')?.level, 'debug');
    assert.equal(reader.read('2026-12-04 17:20:03,5 CRITICAL airlift-lsp: gone')?.level, 'error');
});

test('a traceback keeps the level of its record; a line before any record is an error', () => {
    const reader = new ServerLogReader();
    assert.equal(reader.read('Traceback (most recent call last):')?.level, 'error');
    reader.read('2026-12-04 17:20:01,123 ERROR airlift-lsp: hover failed');
    assert.deepEqual(reader.read('  File "server/features/hover.py", line 3'), { level: 'error', text: '  File "server/features/hover.py", line 3' });
    reader.read('2026-12-04 17:20:01,123 INFO airlift-lsp: ok');
    assert.equal(reader.read('  continued')?.level, 'info');
    assert.equal(reader.read('   '), undefined);
});

test('pygls "Cancel notification for unknown message" is dropped, with its continuation lines', () => {
    const reader = new ServerLogReader();
    assert.equal(reader.read('2026-12-04 17:20:01,123 WARNING pygls.protocol.json_rpc: Cancel notification for unknown message id "12"'), undefined);
    assert.equal(reader.read('  more of it'), undefined);
    assert.equal(reader.read('2026-12-04 17:20:01,124 WARNING pygls.protocol.json_rpc: something else')?.level, 'warn');
});

test('the no-password hint names the editor command', () => {
    assert.equal(editorHint("authentication failed: no password for user 'admin' at http://x (HTTP 401); set AIRFLOW_PASSWORD"),
        "authentication failed: no password for user 'admin' at http://x (HTTP 401); " +
        'set the password with "Airlift: Set Airflow password" (or AIRFLOW_PASSWORD)');
    assert.match(editorHint('needs credentials (HTTP 401); set airflow.username and AIRFLOW_PASSWORD'),
        /set airlift\.airflow\.username and set the password with "Airlift: Set Airflow password"/);
    assert.equal(editorHint("pyproject.toml: a password never goes in pyproject.toml; ignored (use AIRFLOW_PASSWORD or the editor's secret storage)"),
        'pyproject.toml: a password never goes in pyproject.toml; ignored (use "Airlift: Set Airflow password" or AIRFLOW_PASSWORD)');
    assert.equal(editorHint('all fine'), 'all fine');
});

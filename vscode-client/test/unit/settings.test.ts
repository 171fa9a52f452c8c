import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSettings, redacted, serverEnvironment, serverSettings } from '../../src/settings';

const reader = (values: Record<string, unknown>) => ({ get: (key: string) => values[key] });

test('unset settings stay unset, so pyproject.toml and the environment apply on the server', () => {
    const { settings, warnings } = readSettings(reader({}));
    assert.deepEqual(warnings, []);
    assert.deepEqual(serverSettings(settings, { trusted: true }), { airflow: {} });
    assert.equal(settings.server.installSource, undefined, 'unset: the wheel bundled in the .vsix');
    assert.equal(settings.server.command, undefined);
});

test('set values reach the server with the password from secret storage', () => {
    const { settings } = readSettings(reader({
        'airflow.url': ' http://localhost:8080 ',
        'airflow.username': 'admin',
        'airflow.apiVersion': 'v2',
        'airflow.pollInterval': 5,
        'airflow.verifyTls': false,
        dagFolders: ['airflow_dags'],
        dagsterModule: 'tutorial_dagster/definitions.py',
        'server.command': '/opt/airlift-lsp',
    }));
    assert.deepEqual(serverSettings(settings, { trusted: true, password: 's3cret' }), {
        airflow: { url: 'http://localhost:8080', username: 'admin', password: 's3cret', apiVersion: 'v2', pollInterval: 5, verifyTls: false },
        dagFolders: ['airflow_dags'],
        dagsterModule: 'tutorial_dagster/definitions.py',
    });
    assert.equal(settings.server.command, '/opt/airlift-lsp');
});

test('Restricted Mode: no password, and an empty URL that masks pyproject.toml', () => {
    const { settings } = readSettings(reader({ 'airflow.url': 'http://airflow', 'airflow.username': 'admin', dagFolders: ['dags'] }));
    assert.deepEqual(serverSettings(settings, { trusted: false, password: 's3cret' }),
        { airflow: { url: '', python: '' }, dagster: { python: '', url: '' }, dagFolders: ['dags'] });
});

test('the Airflow and Dagster+ tokens from secret storage reach the server as airflow.token and dagster.token', () => {
    const { settings } = readSettings(reader({ 'airflow.url': 'http://airflow', 'dagster.url': 'http://dagster' }));
    assert.deepEqual(serverSettings(settings, { trusted: true, airflowToken: 'af-tok', dagsterToken: 'dg-tok' }), {
        airflow: { url: 'http://airflow', token: 'af-tok' },
        dagster: { url: 'http://dagster', token: 'dg-tok' },
    });
    assert.deepEqual(serverSettings(readSettings(reader({})).settings, { trusted: true, dagsterToken: 'dg-tok' }),
        { airflow: {}, dagster: { token: 'dg-tok' } });
    assert.deepEqual(serverSettings(settings, { trusted: true, airflowToken: '', dagsterToken: '' }),
        { airflow: { url: 'http://airflow' }, dagster: { url: 'http://dagster' } }, 'empty: unset');
});

test('airlift.airflow.auth picks the sign-in; empty is unset; an unknown one is a warning', () => {
    const { settings, warnings } = readSettings(reader({ 'airflow.url': 'http://airflow', 'airflow.auth': 'token' }));
    assert.deepEqual(warnings, []);
    assert.deepEqual(serverSettings(settings, { trusted: true, airflowToken: 'af-tok' }),
        { airflow: { url: 'http://airflow', auth: 'token', token: 'af-tok' } });
    assert.deepEqual(serverSettings(readSettings(reader({ 'airflow.auth': '' })).settings, { trusted: true }), { airflow: {} });
    const bad = readSettings(reader({ 'airflow.auth': 'kerberos' }));
    assert.match(bad.warnings.join('\n'), /airlift\.airflow\.auth: expected one of basic, token, .*"kerberos"; ignored/);
    assert.deepEqual(serverSettings(bad.settings, { trusted: true }), { airflow: {} });
    assert.deepEqual(serverSettings(settings, { trusted: false, airflowToken: 'af-tok' }),
        { airflow: { url: '', python: '' }, dagster: { python: '', url: '' } }, 'Restricted Mode: no sign-in at all');
});

test('Restricted Mode: no token either', () => {
    const { settings } = readSettings(reader({ 'airflow.url': 'http://airflow', 'dagster.url': 'http://dagster' }));
    assert.deepEqual(serverSettings(settings, { trusted: false, password: 'p', airflowToken: 'af-tok', dagsterToken: 'dg-tok' }),
        { airflow: { url: '', python: '' }, dagster: { python: '', url: '' } });
});

test('Restricted Mode: the server process gets no AIRFLOW_* or Dagster variables', () => {
    const environment = { PATH: '/bin', AIRFLOW_URL: 'u', AIRFLOW_USERNAME: 'n', AIRFLOW_PASSWORD: 'p',
        AIRFLOW_TOKEN: 'a', AIRFLOW_TOKEN_COMMAND: 'gcloud auth print-identity-token', DAGSTER_URL: 'd', DAGSTER_CLOUD_API_TOKEN: 't' };
    assert.deepEqual(serverEnvironment(environment, false), { PATH: '/bin' });
    assert.deepEqual(serverEnvironment(environment, true), environment);
});

test('bad values become warnings and are ignored', () => {
    const { settings, warnings } = readSettings(reader({
        'airflow.url': 42,
        'airflow.apiVersion': 'v3',
        'airflow.pollInterval': 0,
        'airflow.verifyTls': 'yes',
        dagFolders: 'airflow_dags',
    }));
    assert.equal(warnings.length, 5);
    assert.match(warnings.join('\n'), /apiVersion.*v3/);
    assert.deepEqual(serverSettings(settings, { trusted: true }), { airflow: {} });
});

test('an empty dagFolders list is the default and is not sent', () => {
    const { settings } = readSettings(reader({ dagFolders: [] }));
    assert.equal(settings.dagFolders, undefined);
});

test('redacted hides the password only', () => {
    const settings = { airflow: { url: 'u', password: 'p' } };
    assert.deepEqual(redacted(settings), { airflow: { url: 'u', password: '***' } });
    assert.equal(settings.airflow.password, 'p');
});

test('the interpreters for verify reach the server only in a trusted workspace', () => {
    const { settings } = readSettings(reader({ 'airflow.python': ' /ws/.venv/bin/python ', 'dagster.python': '/ws/.dg/bin/python' }));
    assert.deepEqual(serverSettings(settings, { trusted: true }), {
        airflow: { python: '/ws/.venv/bin/python' }, dagster: { python: '/ws/.dg/bin/python' } });
    // Empty strings mask `[tool.airlift-lsp] airflow.python` of an untrusted workspace's pyproject.toml.
    assert.deepEqual(serverSettings(settings, { trusted: false }),
        { airflow: { url: '', python: '' }, dagster: { python: '', url: '' } });
});

test('the Dagster URL reaches the server in a trusted workspace only', () => {
    const { settings } = readSettings(reader({ 'dagster.url': ' http://localhost:3000 ' }));
    assert.deepEqual(serverSettings(settings, { trusted: true }), { airflow: {}, dagster: { url: 'http://localhost:3000' } });
    assert.deepEqual(serverSettings(settings, { trusted: false }).dagster, { python: '', url: '' });
});

test('redacted hides the tokens too, and only them', () => {
    const settings = { airflow: { url: 'u', token: 'a' }, dagster: { url: 'd', token: 't' } };
    assert.deepEqual(redacted(settings), { airflow: { url: 'u', token: '***' }, dagster: { url: 'd', token: '***' } });
    assert.deepEqual(settings, { airflow: { url: 'u', token: 'a' }, dagster: { url: 'd', token: 't' } });
    assert.deepEqual(redacted({ airflow: { url: 'u' }, dagster: { url: 'd' } }), { airflow: { url: 'u' }, dagster: { url: 'd' } });
});

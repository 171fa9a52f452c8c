import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandPath, findServer, installServer, type LaunchEnvironment } from '../../src/serverCommand';
import { readSettings } from '../../src/settings';

function environment(files: Record<string, string>, interpreter?: string) {
    const runs: string[][] = [];
    const env: LaunchEnvironment = {
        platform: 'linux',
        storageDir: '/storage',
        workspaceFolder: '/ws',
        interpreter: async () => interpreter,
        exists: async (file) => file in files,
        readFile: async (file) => files[file],
        writeFile: async (file, text) => {
            files[file] = text;
        },
        run: async (command, args) => {
            runs.push([command, ...args]);
        },
        log: () => undefined,
    };
    return { env, runs, files };
}

const settingsWith = (values: Record<string, unknown>) => readSettings({ get: (key) => values[key] }).settings;

test('the setting wins, with ${workspaceFolder} expanded', async () => {
    const { env } = environment({ '/env/bin/airlift-lsp': '' }, '/env/bin/python');
    const launch = await findServer(settingsWith({ 'server.command': '${workspaceFolder}/.venv/bin/airlift-lsp' }), env, true);
    assert.deepEqual(launch, { command: '/ws/.venv/bin/airlift-lsp', args: ['serve'], source: 'setting' });
});

test('then the airlift-lsp beside the selected interpreter', async () => {
    const { env } = environment({ '/env/bin/airlift-lsp': '' }, '/env/bin/python');
    const launch = await findServer(settingsWith({}), env, true);
    assert.deepEqual(launch, { command: '/env/bin/airlift-lsp', args: ['serve'], source: 'python environment' });
});

test('Restricted Mode never runs the selected (possibly workspace) environment', async () => {
    const { env } = environment({ '/env/bin/airlift-lsp': '' }, '/env/bin/python');
    assert.equal(await findServer(settingsWith({}), env, false), undefined);
});

test('then the extension\'s own environment, when it was installed from the configured source', async () => {
    const files = { '/storage/venv/bin/airlift-lsp': '', '/storage/venv/airlift-install-source.txt': 'airlift-lsp\n' };
    const { env } = environment(files, '/usr/bin/python3');
    assert.deepEqual(await findServer(settingsWith({}), env, true),
        { command: '/storage/venv/bin/airlift-lsp', args: ['serve'], source: 'extension environment' });
    // Another source configured: install again.
    assert.equal(await findServer(settingsWith({ 'server.installSource': '/wheels/airlift_lsp-0.2.0-py3-none-any.whl' }), env, true),
        undefined);
});

test('install: venv with the selected interpreter, pip install the source, remember it', async () => {
    const { env, runs, files } = environment({}, '/env/bin/python');
    const launch = await installServer(settingsWith({ 'server.installSource': '${workspaceFolder}/dist/airlift.whl' }), env, true);
    assert.deepEqual(runs, [
        ['/env/bin/python', '-m', 'venv', '/storage/venv'],
        ['/storage/venv/bin/python', '-m', 'pip', 'install', '--upgrade', '--disable-pip-version-check', '/ws/dist/airlift.whl'],
    ]);
    assert.equal(files['/storage/venv/airlift-install-source.txt'], '${workspaceFolder}/dist/airlift.whl');
    assert.equal(launch.command, '/storage/venv/bin/airlift-lsp');
});

test('install in Restricted Mode uses python3 from PATH, not the workspace interpreter', async () => {
    const { env, runs } = environment({}, '/ws/.venv/bin/python');
    await installServer(settingsWith({}), env, false);
    assert.equal(runs[0][0], 'python3');
});

test('expandPath', () => {
    assert.equal(expandPath('~/bin/airlift-lsp', '/ws', '/home/me'), '/home/me/bin/airlift-lsp');
    assert.equal(expandPath('airlift-lsp', undefined, '/home/me'), 'airlift-lsp');
});

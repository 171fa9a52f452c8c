/**
 * Which `airlift-lsp` to run: the `airlift.server.command` setting, else the one in the Python
 * environment selected in the Python extension, else the one this extension installs into its
 * own virtual environment (global storage) with `python -m venv` and `pip install`.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ExtensionSettings } from './settings';

export type ServerSource = 'setting' | 'python environment' | 'extension environment';

export interface ServerLaunch {
    command: string;
    /** Without `--stdio`: the language client appends it. */
    args: string[];
    source: ServerSource;
}

export interface LaunchEnvironment {
    platform: NodeJS.Platform;
    /** The extension's global storage folder. */
    storageDir: string;
    workspaceFolder: string | undefined;
    /** The Python extension's selected interpreter, if that extension is there. */
    interpreter(): Promise<string | undefined>;
    exists(file: string): Promise<boolean>;
    readFile(file: string): Promise<string | undefined>;
    writeFile(file: string, text: string): Promise<void>;
    /** Run to completion; rejects with the command's output when it fails. */
    run(command: string, args: string[]): Promise<void>;
    log(message: string): void;
}

const SERVE_ARGS = ['serve'];
const STAMP = 'airlift-install-source.txt';

export function venvDir(environment: LaunchEnvironment): string {
    return path.join(environment.storageDir, 'venv');
}

function scriptIn(binDir: string, platform: NodeJS.Platform, name: string): string {
    return platform === 'win32' ? path.join(binDir, `${name}.exe`) : path.join(binDir, name);
}

function venvBin(environment: LaunchEnvironment): string {
    return path.join(venvDir(environment), environment.platform === 'win32' ? 'Scripts' : 'bin');
}

/** `${workspaceFolder}` and a leading `~` in a setting that names a file. */
export function expandPath(value: string, workspaceFolder: string | undefined, home = os.homedir()): string {
    let expanded = value;
    if (workspaceFolder !== undefined) {
        expanded = expanded.split('${workspaceFolder}').join(workspaceFolder);
    }
    if (expanded === '~' || expanded.startsWith('~/')) {
        expanded = path.join(home, expanded.slice(1));
    }
    return expanded;
}

/**
 * The server to run without installing anything, or undefined when only an install would give
 * one. Restricted Mode skips the Python environment: a workspace's own `.venv` is its code.
 */
export async function findServer(
    settings: ExtensionSettings,
    environment: LaunchEnvironment,
    trusted: boolean,
): Promise<ServerLaunch | undefined> {
    if (settings.server.command) {
        return {
            command: expandPath(settings.server.command, environment.workspaceFolder),
            args: SERVE_ARGS,
            source: 'setting',
        };
    }
    if (trusted) {
        const interpreter = await environment.interpreter();
        if (interpreter) {
            const script = scriptIn(path.dirname(interpreter), environment.platform, 'airlift-lsp');
            if (await environment.exists(script)) {
                return { command: script, args: SERVE_ARGS, source: 'python environment' };
            }
            environment.log(`no airlift-lsp beside the selected interpreter ${interpreter}`);
        }
    }
    const own = scriptIn(venvBin(environment), environment.platform, 'airlift-lsp');
    const installed = await environment.readFile(path.join(venvDir(environment), STAMP));
    if ((await environment.exists(own)) && installed?.trim() === settings.server.installSource) {
        return { command: own, args: SERVE_ARGS, source: 'extension environment' };
    }
    return undefined;
}

/** `python -m venv` in global storage, then `pip install` the configured source. */
export async function installServer(
    settings: ExtensionSettings,
    environment: LaunchEnvironment,
    trusted: boolean,
): Promise<ServerLaunch> {
    const interpreter = (trusted ? await environment.interpreter() : undefined) ??
        (environment.platform === 'win32' ? 'python' : 'python3');
    const dir = venvDir(environment);
    const source = expandPath(settings.server.installSource, environment.workspaceFolder);
    environment.log(`creating ${dir} with ${interpreter}`);
    await environment.run(interpreter, ['-m', 'venv', dir]);
    const python = scriptIn(venvBin(environment), environment.platform, 'python');
    environment.log(`pip install ${source}`);
    await environment.run(python, ['-m', 'pip', 'install', '--upgrade', '--disable-pip-version-check', source]);
    await environment.writeFile(path.join(dir, STAMP), settings.server.installSource);
    return {
        command: scriptIn(venvBin(environment), environment.platform, 'airlift-lsp'),
        args: SERVE_ARGS,
        source: 'extension environment',
    };
}

const INSTALL_TIMEOUT_MS = 10 * 60 * 1000;

export function nodeLaunchEnvironment(
    storageDir: string,
    workspaceFolder: string | undefined,
    interpreter: () => Promise<string | undefined>,
    log: (message: string) => void,
): LaunchEnvironment {
    return {
        platform: process.platform,
        storageDir,
        workspaceFolder,
        interpreter,
        log,
        exists: async (file) =>
            fs.access(file).then(
                () => true,
                () => false,
            ),
        readFile: async (file) => fs.readFile(file, 'utf8').catch(() => undefined),
        writeFile: async (file, text) => {
            await fs.mkdir(path.dirname(file), { recursive: true });
            await fs.writeFile(file, text, 'utf8');
        },
        run: (command, args) =>
            new Promise((resolve, reject) => {
                execFile(command, args, { timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
                    const output = `${stdout}${stderr}`.trim();
                    if (output) {
                        log(output);
                    }
                    if (error) {
                        reject(new Error(`${command} ${args.join(' ')} failed: ${output.split('\n').pop() || error.message}`));
                    } else {
                        resolve();
                    }
                });
            }),
    };
}

/**
 * Which `airlift-lsp` to run: the `airlift.server.command` setting, else the Python environment
 * selected in the Python extension when `airlift-lsp` is importable there, else the extension's
 * own virtual environment (global storage), created on first use from the wheel bundled in the
 * .vsix (`python3 -m venv`, then `pip install` of the wheel; its dependencies come from the
 * package index).
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
    /** Where the .vsix keeps the server wheel (`server/` of the extension). */
    wheelDir: string;
    workspaceFolder: string | undefined;
    /** The Python extension's selected interpreter, if that extension is there. */
    interpreter(): Promise<string | undefined>;
    exists(file: string): Promise<boolean>;
    /** A folder's file names; empty when it does not exist. */
    list(dir: string): Promise<string[]>;
    /** The size in bytes, or undefined when the file does not exist. */
    size(file: string): Promise<number | undefined>;
    readFile(file: string): Promise<string | undefined>;
    writeFile(file: string, text: string): Promise<void>;
    removeDir(dir: string): Promise<void>;
    /** Create `file` exclusively (false when it exists and is younger than `staleMs`: someone holds it). */
    lock(file: string, staleMs: number): Promise<boolean>;
    unlock(file: string): Promise<void>;
    sleep(ms: number): Promise<void>;
    /** Run to completion and give stdout; rejects with a `RunError` when it fails. */
    run(command: string, args: string[]): Promise<string>;
    log(message: string): void;
}

/** A command that failed: its output, for the one line the user reads. */
export class RunError extends Error {
    constructor(readonly command: string, readonly output: string, readonly reason: string) {
        super(`${command} failed: ${reason}`);
    }
}

export type SetupStep = 'no wheel' | 'no python' | 'venv' | 'pip';

/** Setting up the extension's own environment failed: `message` says why, in the user's words. */
export class SetupError extends Error {
    constructor(readonly step: SetupStep, message: string) {
        super(message);
    }
}

const SERVE_ARGS = ['serve'];
const STAMP = 'airlift-install-source.txt';
const LOCK = 'venv.lock';
const LOCK_POLL_MS = 1000;
const MIN_PYTHON: [number, number] = [3, 10];
/** `-I`: the workspace folder (which may hold a `server/` package of its own) is not on sys.path. */
const PROBE_SERVER = "import importlib.metadata as m, server.cli; print(m.version('airlift-lsp'))";
const PROBE_VERSION = "import sys; print('%d.%d' % sys.version_info[:2])";
const RUN_MODULE = 'import sys; from server.cli import main; sys.exit(main())';
const WHEEL = /^airlift_lsp-[^-]+-py3-none-any\.whl$/;
/** The base interpreter has no pip, or one older than 22.3 (no `--python`). */
const BASE_PIP_UNUSABLE = /No module named pip|no such option: --python/;

async function ensurePip(environment: LaunchEnvironment, venvPython: string): Promise<void> {
    try {
        await environment.run(venvPython, ['-m', 'ensurepip', '--default-pip']);
    } catch (error) {
        const why = error instanceof RunError ? reasonOf(error.output) : String(error);
        const debian = /ensurepip|python3-venv/.test(why) ? ' (on Debian or Ubuntu: apt install python3-venv)' : '';
        throw new SetupError('venv', `the server's environment has no pip and ensurepip failed: ${why}${debian}`);
    }
}

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

/** The bundled wheel (the newest if several), or undefined. */
export async function bundledWheel(environment: LaunchEnvironment): Promise<string | undefined> {
    const wheels = (await environment.list(environment.wheelDir)).filter((name) => WHEEL.test(name)).sort();
    return wheels.length ? path.join(environment.wheelDir, wheels[wheels.length - 1]) : undefined;
}

/**
 * What the own environment is installed from, as remembered in its stamp: the setting's value,
 * or the bundled wheel's name and size (a rebuilt wheel of the same version installs again).
 */
async function installSource(settings: ExtensionSettings, environment: LaunchEnvironment): Promise<{ target: string; stamp: string } | undefined> {
    if (settings.server.installSource) {
        return { target: expandPath(settings.server.installSource, environment.workspaceFolder), stamp: settings.server.installSource };
    }
    const wheel = await bundledWheel(environment);
    return wheel ? { target: wheel, stamp: `${path.basename(wheel)} ${await environment.size(wheel)}` } : undefined;
}

/** The selected interpreter as a server, when `airlift-lsp` is importable there. */
async function fromInterpreter(interpreter: string, environment: LaunchEnvironment): Promise<ServerLaunch | undefined> {
    try {
        const version = (await environment.run(interpreter, ['-I', '-c', PROBE_SERVER])).trim();
        environment.log(`airlift-lsp ${version} is installed in the selected Python environment (${interpreter})`);
    } catch {
        environment.log(`airlift-lsp is not importable in the selected interpreter ${interpreter}`);
        return undefined;
    }
    const script = scriptIn(path.dirname(interpreter), environment.platform, 'airlift-lsp');
    if (await environment.exists(script)) {
        return { command: script, args: SERVE_ARGS, source: 'python environment' };
    }
    return { command: interpreter, args: ['-I', '-c', RUN_MODULE, ...SERVE_ARGS], source: 'python environment' };
}

/**
 * The server to run without installing anything, or undefined when only setting up the own
 * environment would give one. Restricted Mode skips the Python environment: a workspace's own
 * `.venv` is its code.
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
        const launch = interpreter ? await fromInterpreter(interpreter, environment) : undefined;
        if (launch) {
            return launch;
        }
    }
    return ownServer(settings, environment);
}

/** The own environment's server, when it was set up from the current source. */
async function ownServer(settings: ExtensionSettings, environment: LaunchEnvironment): Promise<ServerLaunch | undefined> {
    const own = scriptIn(venvBin(environment), environment.platform, 'airlift-lsp');
    const source = await installSource(settings, environment);
    const installed = await environment.readFile(path.join(venvDir(environment), STAMP));
    if (source && (await environment.exists(own)) && installed?.trim() === source.stamp) {
        return { command: own, args: SERVE_ARGS, source: 'extension environment' };
    }
    return undefined;
}

function atLeast(version: string): boolean {
    const [major, minor] = version.trim().split('.').map(Number);
    return major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
}

/** The first Python >= 3.10 of: the selected interpreter (trusted only), python3, python. */
async function basePython(environment: LaunchEnvironment, trusted: boolean): Promise<string> {
    const selected = trusted ? await environment.interpreter() : undefined;
    const candidates = [...(selected ? [selected] : []), ...(environment.platform === 'win32' ? ['python', 'py'] : ['python3', 'python'])];
    const seen: string[] = [];
    for (const candidate of candidates) {
        try {
            const version = await environment.run(candidate, ['-I', '-c', PROBE_VERSION]);
            if (atLeast(version)) {
                return candidate;
            }
            seen.push(`${candidate} is ${version.trim()}`);
        } catch {
            seen.push(`no ${candidate}`);
        }
    }
    throw new SetupError('no python', `no Python ${MIN_PYTHON.join('.')} or later to create the server's environment ` +
        `(${seen.join(', ')}). Install Python ${MIN_PYTHON.join('.')}+, or set airlift.server.command to an airlift-lsp executable.`);
}

/** The line of a failed pip or venv run that says why: its last `ERROR:` line, else its last line. */
export function reasonOf(output: string): string {
    const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
    const errors = lines.filter((line) => line.startsWith('ERROR:'));
    return (errors.length ? errors[errors.length - 1].replace(/^ERROR:\s*/, '') : lines[lines.length - 1]) ?? 'no output';
}

/**
 * Create the own environment from scratch: `python -m venv` in global storage, then `pip
 * install` of the bundled wheel (or `airlift.server.installSource`). A failed step leaves no
 * half-made environment behind, and says which step failed and why.
 */
export async function installServer(
    settings: ExtensionSettings,
    environment: LaunchEnvironment,
    trusted: boolean,
    progress: (message: string) => void = () => undefined,
): Promise<ServerLaunch> {
    // Two windows opened at once share the global storage: one sets up, the other waits for it.
    const lock = path.join(environment.storageDir, LOCK);
    while (!(await environment.lock(lock, INSTALL_TIMEOUT_MS))) {
        progress('waiting for another window setting up the server');
        await environment.sleep(LOCK_POLL_MS);
        const ready = await ownServer(settings, environment);
        if (ready) {
            return ready;
        }
    }
    try {
        return await setUp(settings, environment, trusted, progress);
    } finally {
        await environment.unlock(lock);
    }
}

async function setUp(
    settings: ExtensionSettings,
    environment: LaunchEnvironment,
    trusted: boolean,
    progress: (message: string) => void,
): Promise<ServerLaunch> {
    const source = await installSource(settings, environment);
    if (!source) {
        throw new SetupError('no wheel', `this copy of the extension carries no server wheel (none in ${environment.wheelDir}). ` +
            'Set airlift.server.command to an airlift-lsp executable, or build the extension with `make vsix`.');
    }
    const python = await basePython(environment, trusted);
    const dir = venvDir(environment);
    await environment.removeDir(dir);
    progress('creating a Python environment');
    environment.log(`creating ${dir} with ${python}`);
    // Without pip: the base interpreter's pip installs into it (`pip --python`, pip 22.3+), which
    // saves ensurepip's ~10 s; a base without a recent pip gets one in the venv instead.
    try {
        await environment.run(python, ['-m', 'venv', '--without-pip', dir]);
    } catch (error) {
        await environment.removeDir(dir);
        const why = error instanceof RunError ? reasonOf(error.output) : String(error);
        throw new SetupError('venv', `${python} -m venv could not create the server's environment: ${why}`);
    }
    const venvPython = scriptIn(venvBin(environment), environment.platform, 'python');
    const install = ['install', '--disable-pip-version-check', '--no-input', source.target];
    progress(`installing ${path.basename(source.target)} and its dependencies`);
    environment.log(`pip install ${source.target}`);
    try {
        try {
            await environment.run(python, ['-m', 'pip', '--python', venvPython, ...install]);
        } catch (error) {
            if (!(error instanceof RunError && BASE_PIP_UNUSABLE.test(error.output))) {
                throw error;
            }
            environment.log(`${python} has no pip that installs into another environment: ensurepip in ${dir}`);
            await ensurePip(environment, venvPython);
            await environment.run(venvPython, ['-m', 'pip', ...install]);
        }
    } catch (error) {
        await environment.removeDir(dir);
        if (error instanceof SetupError) {
            throw error;
        }
        const why = error instanceof RunError ? reasonOf(error.output) : String(error);
        const index = error instanceof RunError ? /^Looking in indexes: (.+)$/m.exec(error.output)?.[1].trim() : undefined;
        throw new SetupError('pip', `pip could not install the language server ${path.basename(source.target)} ` +
            `with its dependencies (pygls, libcst, requests, ruamel.yaml) from the package index${index ? ` (${index})` : ''}: ${why}. ` +
            'Check the network or pip\'s index settings (PIP_INDEX_URL, pip.conf), then Retry; or set airlift.server.command.');
    }
    await environment.writeFile(path.join(dir, STAMP), source.stamp);
    return {
        command: scriptIn(venvBin(environment), environment.platform, 'airlift-lsp'),
        args: SERVE_ARGS,
        source: 'extension environment',
    };
}

const INSTALL_TIMEOUT_MS = 10 * 60 * 1000;

export function nodeLaunchEnvironment(
    options: { storageDir: string; wheelDir: string; workspaceFolder: string | undefined },
    interpreter: () => Promise<string | undefined>,
    log: (message: string) => void,
): LaunchEnvironment {
    return {
        platform: process.platform,
        ...options,
        interpreter,
        log,
        exists: async (file) =>
            fs.access(file).then(
                () => true,
                () => false,
            ),
        list: async (dir) => fs.readdir(dir).catch(() => []),
        size: async (file) => fs.stat(file).then((stat) => stat.size, () => undefined),
        readFile: async (file) => fs.readFile(file, 'utf8').catch(() => undefined),
        writeFile: async (file, text) => {
            await fs.mkdir(path.dirname(file), { recursive: true });
            await fs.writeFile(file, text, 'utf8');
        },
        removeDir: async (dir) => fs.rm(dir, { recursive: true, force: true }),
        lock: async (file, staleMs) => {
            await fs.mkdir(path.dirname(file), { recursive: true });
            const take = () => fs.writeFile(file, String(process.pid), { flag: 'wx' }).then(() => true, () => false);
            if (await take()) {
                return true;
            }
            const stat = await fs.stat(file).catch(() => undefined);
            if (stat && Date.now() - stat.mtimeMs > staleMs) {
                log(`${file} is older than ${staleMs / 60000} min: a setup that died; taking it over`);
                await fs.rm(file, { force: true });
                return take();
            }
            return false;
        },
        unlock: async (file) => fs.rm(file, { force: true }),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        run: (command, args) =>
            new Promise((resolve, reject) => {
                // A neutral cwd: never the workspace, whose files are not ours to run.
                execFile(command, args, { timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, cwd: os.tmpdir() },
                    (error, stdout, stderr) => {
                        const output = `${stdout}${stderr}`.trim();
                        if (output && !args.includes('-c')) {
                            log(output);
                        }
                        if (error) {
                            const reason = error.killed ? `no answer in ${INSTALL_TIMEOUT_MS / 60000} min` : reasonOf(output || error.message);
                            reject(new RunError(`${command} ${args.join(' ')}`, output || error.message, reason));
                        } else {
                            resolve(stdout);
                        }
                    });
            }),
    };
}

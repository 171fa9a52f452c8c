import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandPath, findServer, installServer, reasonOf, RunError, SetupError, type LaunchEnvironment } from '../../src/serverCommand';
import { readSettings } from '../../src/settings';

const WHEEL = '/ext/server/airlift_lsp-0.1.0-py3-none-any.whl';
const STAMP = '/storage/venv/airlift-install-source.txt';
const OWN = '/storage/venv/bin/airlift-lsp';

/** What each command answers: its stdout, or a RunError with the output a failing pip gives. */
type Answer = string | RunError;

interface Options {
    interpreter?: string;
    answers?: Record<string, Answer>;
    /** What another window does while this one waits for the lock. */
    whileWaiting?: (files: Record<string, string>) => void;
}

function environment(files: Record<string, string>, options: Options = {}) {
    const runs: string[][] = [];
    const sleeps: number[] = [];
    const removed: string[] = [];
    const answers: Record<string, Answer> = { python3: '3.11\n', ...options.answers };
    const env: LaunchEnvironment = {
        platform: 'linux',
        storageDir: '/storage',
        wheelDir: '/ext/server',
        workspaceFolder: '/ws',
        interpreter: async () => options.interpreter,
        exists: async (file) => file in files,
        list: async (dir) => Object.keys(files).filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1)),
        size: async (file) => (file in files ? files[file].length : undefined),
        readFile: async (file) => files[file],
        writeFile: async (file, text) => {
            files[file] = text;
        },
        removeDir: async (dir) => {
            removed.push(dir);
            for (const file of Object.keys(files).filter((f) => f.startsWith(`${dir}/`))) {
                delete files[file];
            }
        },
        lock: async (file) => {
            if (file in files) {
                return false;
            }
            files[file] = 'pid';
            return true;
        },
        unlock: async (file) => {
            delete files[file];
        },
        sleep: async () => {
            sleeps.push(1);
            options.whileWaiting?.(files);
        },
        run: async (command, args) => {
            runs.push([command, ...args]);
            // The answer of the longest key that starts the command line.
            const line = [command, ...args].join(' ');
            const key = Object.keys(answers).filter((k) => line === k || line.startsWith(`${k} `)).sort((a, b) => b.length - a.length)[0];
            const answer = key === undefined ? '' : answers[key];
            if (answer instanceof RunError) {
                throw answer;
            }
            return answer;
        },
        log: () => undefined,
    };
    return { env, runs, files, removed, sleeps };
}

const settingsWith = (values: Record<string, unknown>) => readSettings({ get: (key) => values[key] }).settings;
const failing = (output: string) => new RunError('cmd', output, reasonOf(output));

test('the setting wins, with ${workspaceFolder} expanded', async () => {
    const { env, runs } = environment({ '/env/bin/airlift-lsp': '' }, { interpreter: '/env/bin/python' });
    const launch = await findServer(settingsWith({ 'server.command': '${workspaceFolder}/.venv/bin/airlift-lsp' }), env, true);
    assert.deepEqual(launch, { command: '/ws/.venv/bin/airlift-lsp', args: ['serve'], source: 'setting' });
    assert.deepEqual(runs, [], 'nothing probed');
});

test('then the selected interpreter when airlift-lsp is importable there', async () => {
    const { env, runs } = environment({ '/env/bin/airlift-lsp': '' }, { interpreter: '/env/bin/python', answers: { '/env/bin/python': '0.1.0\n' } });
    const launch = await findServer(settingsWith({}), env, true);
    assert.deepEqual(launch, { command: '/env/bin/airlift-lsp', args: ['serve'], source: 'python environment' });
    assert.equal(runs[0][1], '-I', 'probed in isolated mode: the workspace folder is not on sys.path');
});

test('an importable server without its script runs as a module of the interpreter', async () => {
    const { env } = environment({}, { interpreter: '/conda/python', answers: { '/conda/python': '0.1.0\n' } });
    const launch = await findServer(settingsWith({}), env, true);
    assert.equal(launch?.command, '/conda/python');
    assert.deepEqual(launch?.args.slice(-1), ['serve']);
    assert.match(launch?.args.join(' ') ?? '', /from server\.cli import main/);
});

test('a script named airlift-lsp beside the interpreter is not enough: the package must import', async () => {
    const { env } = environment({ '/env/bin/airlift-lsp': '' }, {
        interpreter: '/env/bin/python',
        answers: { '/env/bin/python': failing("ModuleNotFoundError: No module named 'server'") },
    });
    assert.equal(await findServer(settingsWith({}), env, true), undefined);
});

test('Restricted Mode never runs the selected (possibly workspace) environment', async () => {
    const { env, runs } = environment({ '/env/bin/airlift-lsp': '' }, { interpreter: '/env/bin/python', answers: { '/env/bin/python': '0.1.0' } });
    assert.equal(await findServer(settingsWith({}), env, false), undefined);
    assert.deepEqual(runs, []);
});

test('then the own environment, when it was made from this very wheel', async () => {
    const files: Record<string, string> = { [WHEEL]: 'wheel bytes', [OWN]: '', [STAMP]: 'airlift_lsp-0.1.0-py3-none-any.whl 11\n' };
    const { env } = environment(files);
    assert.deepEqual(await findServer(settingsWith({}), env, true), { command: OWN, args: ['serve'], source: 'extension environment' });
    // A rebuilt wheel (another size) or another source configured: set up again.
    files[WHEEL] = 'other wheel bytes';
    assert.equal(await findServer(settingsWith({}), env, true), undefined);
    files[STAMP] = 'airlift_lsp-0.1.0-py3-none-any.whl 17';
    assert.ok(await findServer(settingsWith({}), env, true));
    assert.equal(await findServer(settingsWith({ 'server.installSource': '/wheels/airlift_lsp-0.2.0-py3-none-any.whl' }), env, true), undefined);
});

test('first use: venv with python3, pip install of the bundled wheel, stamp; progress reported', async () => {
    const { env, runs, files, removed } = environment({ [WHEEL]: 'wheel bytes' });
    const progress: string[] = [];
    const launch = await installServer(settingsWith({}), env, true, (m) => progress.push(m));
    assert.deepEqual(runs.slice(1), [
        ['python3', '-m', 'venv', '--without-pip', '/storage/venv'],
        ['python3', '-m', 'pip', '--python', '/storage/venv/bin/python', 'install', '--disable-pip-version-check', '--no-input', WHEEL],
    ]);
    assert.deepEqual(removed, ['/storage/venv'], 'a leftover environment is removed first');
    assert.equal(files[STAMP], 'airlift_lsp-0.1.0-py3-none-any.whl 11');
    assert.deepEqual(launch, { command: OWN, args: ['serve'], source: 'extension environment' });
    assert.deepEqual(progress, ['creating a Python environment', 'installing airlift_lsp-0.1.0-py3-none-any.whl and its dependencies']);
});

test('installSource overrides the bundled wheel, ${workspaceFolder} expanded', async () => {
    const { env, runs, files } = environment({ [WHEEL]: '' }, { interpreter: '/env/bin/python', answers: { '/env/bin/python': '3.12' } });
    await installServer(settingsWith({ 'server.installSource': '${workspaceFolder}/dist/airlift.whl' }), env, true);
    assert.deepEqual(runs[1], ['/env/bin/python', '-m', 'venv', '--without-pip', '/storage/venv']);
    assert.equal(runs[2][runs[2].length - 1], '/ws/dist/airlift.whl');
    assert.equal(files[STAMP], '${workspaceFolder}/dist/airlift.whl');
});

test('Restricted Mode makes the venv with python3 from PATH, not the workspace interpreter', async () => {
    const { env, runs } = environment({ [WHEEL]: '' }, { interpreter: '/ws/.venv/bin/python' });
    await installServer(settingsWith({}), env, false);
    assert.equal(runs[0][0], 'python3');
    assert.ok(runs.every((r) => r[0] !== '/ws/.venv/bin/python'));
});

test('a Python older than 3.10 is skipped; none at all says which were tried', async () => {
    const old = environment({ [WHEEL]: '' }, { answers: { python3: '3.8\n', python: '3.12\n' } });
    await installServer(settingsWith({}), old.env, true);
    assert.deepEqual(old.runs[2], ['python', '-m', 'venv', '--without-pip', '/storage/venv']);
    const none = environment({ [WHEEL]: '' }, { answers: { python3: '3.9', python: failing('spawn python ENOENT') } });
    await assert.rejects(installServer(settingsWith({}), none.env, true), (error: SetupError) => {
        assert.equal(error.step, 'no python');
        assert.match(error.message, /no Python 3\.10 or later .*python3 is 3\.9, no python.*airlift\.server\.command/);
        return true;
    });
});

test('pip failing (no index reachable) says why, and leaves no half-made environment', async () => {
    const pipOutput = 'Looking in indexes: http://127.0.0.1:9/simple\nProcessing /ext/server/airlift_lsp-0.1.0-py3-none-any.whl\n' +
        "WARNING: Retrying (Retry(total=0...)) after connection broken by 'NewConnectionError'\n" +
        'ERROR: Could not find a version that satisfies the requirement pygls<3,>=2.1 (from airlift-lsp) (from versions: none)\n' +
        'ERROR: No matching distribution found for pygls<3,>=2.1\n';
    const { env, files, removed } = environment({ [WHEEL]: '' }, { answers: { 'python3 -m pip': failing(pipOutput) } });
    await assert.rejects(installServer(settingsWith({}), env, true), (error: SetupError) => {
        assert.equal(error.step, 'pip');
        assert.match(error.message, /pip could not install the language server airlift_lsp-0\.1\.0-py3-none-any\.whl .* from the package index \(http:\/\/127\.0\.0\.1:9\/simple\): No matching distribution found for pygls<3,>=2\.1\. Check the network/);
        return true;
    });
    assert.deepEqual(removed, ['/storage/venv', '/storage/venv']);
    assert.equal(files[STAMP], undefined);
});

test('a base Python without a usable pip: ensurepip in the environment, then its own pip', async () => {
    const { env, runs } = environment({ [WHEEL]: '' }, { answers: { 'python3 -m pip': failing('/usr/bin/python3: No module named pip') } });
    await installServer(settingsWith({}), env, true);
    assert.deepEqual(runs.slice(3), [
        ['/storage/venv/bin/python', '-m', 'ensurepip', '--default-pip'],
        ['/storage/venv/bin/python', '-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', WHEEL],
    ]);
});

test('no pip and no ensurepip (Debian without python3-venv) names the package, leaves nothing behind', async () => {
    const output = 'The virtual environment was not created successfully because ensurepip is not\navailable.  On Debian/Ubuntu systems, you need to install the python3-venv package';
    const { env, files } = environment({ [WHEEL]: '' }, {
        answers: { 'python3 -m pip': failing('No module named pip'), '/storage/venv/bin/python -m ensurepip': failing(output) },
    });
    await assert.rejects(installServer(settingsWith({}), env, true), (error: SetupError) => {
        assert.equal(error.step, 'venv');
        assert.match(error.message, /no pip and ensurepip failed: .*apt install python3-venv/);
        return true;
    });
    assert.equal(files[STAMP], undefined);
});

test('venv itself failing says so', async () => {
    const { env } = environment({ [WHEEL]: '' }, { answers: { 'python3 -m venv': failing('Error: [Errno 13] Permission denied: \'/storage/venv\'') } });
    await assert.rejects(installServer(settingsWith({}), env, true), /python3 -m venv could not create the server's environment: Error: \[Errno 13\] Permission denied/);
});

test('an extension without a wheel says so instead of running pip', async () => {
    const { env, runs } = environment({});
    await assert.rejects(installServer(settingsWith({}), env, true), (error: SetupError) => error.step === 'no wheel' && /airlift\.server\.command/.test(error.message));
    assert.deepEqual(runs, []);
});

test('another window setting up: wait for it, then use its environment; the lock is released after a failure too', async () => {
    const LOCK = '/storage/venv.lock';
    const files: Record<string, string> = { [WHEEL]: 'wheel bytes', [LOCK]: 'pid' };
    let waits = 0;
    const { env, runs, sleeps } = environment(files, {
        whileWaiting: (f) => {
            if (++waits === 2) { // the other window finishes
                f[OWN] = '';
                f[STAMP] = 'airlift_lsp-0.1.0-py3-none-any.whl 11';
                delete f[LOCK];
            }
        },
    });
    const launch = await installServer(settingsWith({}), env, true);
    assert.deepEqual(launch, { command: OWN, args: ['serve'], source: 'extension environment' });
    assert.equal(sleeps.length, 2);
    assert.deepEqual(runs, [], 'nothing installed twice');

    const broken = environment({ [WHEEL]: '' }, { answers: { 'python3 -m pip': failing('ERROR: boom') } });
    await assert.rejects(installServer(settingsWith({}), broken.env, true));
    assert.equal(broken.files[LOCK], undefined);
});

test('expandPath', () => {
    assert.equal(expandPath('~/bin/airlift-lsp', '/ws', '/home/me'), '/home/me/bin/airlift-lsp');
    assert.equal(expandPath('airlift-lsp', undefined, '/home/me'), 'airlift-lsp');
});

// Drive VS Code for real: code-server on 127.0.0.1 (its own process group), Debian's Chromium
// through playwright-core, and the few workbench gestures the scenarios need. Every wait is bounded.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHROMIUM, CODE_SERVER, NODE24, ROOT } from './paths.mjs';

export const STEP_TIMEOUT_MS = 30_000;
/** code-server's first page load, the language server's first index. */
export const SERVER_TIMEOUT_MS = 90_000;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function log(message) {
    console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** Poll `check` until it returns a truthy value, at most `timeout` ms. */
export async function until(what, check, timeout = STEP_TIMEOUT_MS, interval = 250) {
    const deadline = Date.now() + timeout;
    let last;
    while (Date.now() < deadline) {
        try {
            const value = await check();
            if (value) {
                return value;
            }
        } catch (error) {
            last = error;
        }
        await sleep(interval);
    }
    throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
}

export function run(command, args, options = {}) {
    const result = spawnSync(command, args, { encoding: 'utf8', timeout: 5 * 60 * 1000, ...options });
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr || result.stdout}`);
    }
    return result.stdout;
}

export function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

/** 1-based number of the first line of `file` that contains `text`. */
export function lineOf(file, text) {
    const index = readFileSync(file, 'utf8').split('\n').findIndex((line) => line.includes(text));
    if (index < 0) {
        throw new Error(`${text} is not in ${file}`);
    }
    return index + 1;
}

/** Settings that keep the workbench quiet, offline and predictable for screenshots. */
export const QUIET_SETTINGS = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'telemetry.telemetryLevel': 'off',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'update.mode': 'none',
    'git.enabled': false,
    'chat.disableAIFeatures': true,
    'editor.codeLens': true,
    'editor.hover.delay': 200,
    'editor.hover.above': false, // below the line: the lenses above stay visible in screenshots
    'editor.stickyScroll.enabled': false,
    'editor.minimap.enabled': false,
    'files.autoSave': 'off',
    'window.restoreWindows': 'none',
};

let shots = 0; // one numbering for every workbench of the run

export class Workbench {
    /**
     * @param {string} dir  this instance's user data, extensions and logs
     * @param {string} artifacts  where screenshots go
     */
    constructor(dir, artifacts) {
        this.dir = dir;
        this.artifacts = artifacts;
        this.process = undefined;
        this.browser = undefined;
        this.page = undefined;
    }

    codeServerArgs() {
        return [CODE_SERVER, '--config', path.join(this.dir, 'config.yaml'), '--user-data-dir', path.join(this.dir, 'data'),
            '--extensions-dir', path.join(this.dir, 'extensions')];
    }

    /** `userSettings` null: a clean profile, no settings.json at all (not even the quiet ones). */
    installExtension(vsix, userSettings) {
        const userDir = path.join(this.dir, 'data', 'User');
        mkdirSync(userDir, { recursive: true });
        if (userSettings !== null) {
            writeFileSync(path.join(userDir, 'settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...userSettings }, null, 2));
        }
        const out = run(NODE24, [...this.codeServerArgs(), '--install-extension', vsix]);
        if (!/successfully installed/.test(out)) {
            throw new Error(`--install-extension said: ${out}`);
        }
    }

    /** Start code-server on a free loopback port (auth none) and open `folder` in Chromium. */
    /** `env`: variables for code-server (so for the extension and what it runs); undefined removes one. */
    async open(folder, { trust, env = {} }) {
        const port = await freePort();
        const url = `http://127.0.0.1:${port}`;
        const logFile = openSync(path.join(this.artifacts, `${path.basename(this.dir)}-code-server.log`), 'w');
        const environment = { ...process.env };
        for (const name of ['AIRFLOW_URL', 'AIRFLOW_USERNAME', 'AIRFLOW_PASSWORD']) {
            delete environment[name];
        }
        for (const [name, value] of Object.entries(env)) {
            if (value === undefined) {
                delete environment[name];
            } else {
                environment[name] = value;
            }
        }
        environment.EXTENSIONS_GALLERY = '{}'; // no extension gallery: nothing but 127.0.0.1 is reached
        this.process = spawn(NODE24, [...this.codeServerArgs(), '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
            '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override',
            ...(trust ? ['--disable-workspace-trust'] : []), folder], {
            detached: true, // its own process group, killed whole at the end
            stdio: ['ignore', logFile, logFile],
            env: environment,
        });
        await until('code-server to answer /healthz', async () => (await fetch(`${url}/healthz`)).ok, SERVER_TIMEOUT_MS, 500);
        const { chromium } = await import('playwright-core');
        this.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: STEP_TIMEOUT_MS });
        const context = await this.browser.newContext({ viewport: { width: 1440, height: 1000 } });
        this.page = await context.newPage();
        this.page.setDefaultTimeout(STEP_TIMEOUT_MS);
        await this.page.goto(`${url}/?folder=${encodeURIComponent(folder)}`, { timeout: SERVER_TIMEOUT_MS });
        await this.page.locator('.monaco-workbench').waitFor({ timeout: SERVER_TIMEOUT_MS });
        await this.page.locator('.statusbar').waitFor({ timeout: SERVER_TIMEOUT_MS });
    }

    async screenshot(name, file) {
        if (!this.page) {
            return;
        }
        const target = file ?? path.join(this.artifacts, `${String(++shots).padStart(2, '0')}-${path.basename(this.dir)}-${name}.png`);
        try {
            await this.page.screenshot({ path: target, timeout: 10_000 });
            log(`screenshot ${path.relative(ROOT, target)}`);
        } catch (error) {
            log(`screenshot ${name} failed: ${error.message}`);
        }
    }

    quickInput() {
        return this.page.locator('.quick-input-widget .quick-input-box input');
    }

    quickInputRow(text) {
        return this.page.locator('.quick-input-widget .monaco-list-row', { hasText: text }).first();
    }

    /** Type into the open quick input and click the row that shows `label`. */
    async pick(label, typed = label) {
        await this.quickInput().waitFor({ state: 'visible' });
        await this.quickInput().fill(typed);
        const row = this.quickInputRow(label);
        await row.waitFor({ state: 'visible' });
        await row.click(); // not Enter: the best fuzzy match may be another row
    }

    async runCommand(title) {
        await this.page.keyboard.press('F1');
        await this.pick(title, `>${title}`);
    }

    /** The palette's rows for `typed`, then close it. */
    async paletteRows(typed) {
        await this.page.keyboard.press('F1');
        await this.quickInput().waitFor({ state: 'visible' });
        await this.quickInput().fill(`>${typed}`);
        await sleep(500);
        const rows = await this.page.locator('.quick-input-widget .monaco-list-row').allInnerTexts();
        await this.page.keyboard.press('Escape');
        return rows.map((row) => row.replace(/\s+/g, ' ').trim());
    }

    async openFile(name) {
        await this.page.keyboard.press('Control+P');
        await this.pick(name);
        await this.page.locator('.tab', { hasText: name }).waitFor();
    }

    async goToLine(line) {
        await this.page.keyboard.press('Control+G');
        await this.quickInput().waitFor({ state: 'visible' });
        await this.quickInput().fill(`:${line}`);
        await this.page.keyboard.press('Enter');
        await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    }

    async saveAll() {
        await this.runCommand('File: Save All');
        await until('no unsaved editor', async () => (await this.dirtyTabs()) === 0);
    }

    async dirtyTabs() {
        return this.page.locator('.tab.dirty').count();
    }

    /** A token in the visible lines of the editor. */
    token(text) {
        return this.page.locator('.monaco-editor .view-lines span span', { hasText: text }).first();
    }

    /** The extension's output channel ("Airlift"), as code-server logs it. */
    outputLog() {
        const logs = path.join(this.dir, 'data', 'logs');
        if (!existsSync(logs)) {
            return '';
        }
        return readdirSync(logs, { recursive: true })
            .filter((file) => String(file).endsWith(path.join('airlift-lsp.airlift-lsp', 'Airlift.log')))
            .map((file) => readFileSync(path.join(logs, String(file)), 'utf8'))
            .join('\n');
    }

    async lensTexts() {
        return (await this.page.locator('.codelens-decoration').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    }

    async hover(text, expect) {
        const token = this.token(text);
        await token.scrollIntoViewIfNeeded();
        await token.hover();
        const hover = this.page.locator('.monaco-hover:visible', { hasText: expect }).first();
        await until(`the hover of ${text}`, async () => {
            if (await hover.isVisible()) {
                return true;
            }
            await this.page.mouse.move(0, 0);
            await token.hover();
            return false;
        }, STEP_TIMEOUT_MS, 1500);
        return hover.innerText();
    }

    /** The titles in the code action menu (Ctrl+.) at `text`; empty when no menu opens. */
    async codeActions(text) {
        await this.token(text).click();
        await this.page.keyboard.press('Control+.');
        const rows = this.page.locator('.action-widget .monaco-list-row');
        try {
            await rows.first().waitFor({ state: 'visible', timeout: 3000 });
        } catch {
            await this.page.keyboard.press('Escape');
            return [];
        }
        return (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    }

    async close() {
        if (this.browser) {
            await Promise.race([this.browser.close().catch(() => undefined), sleep(10_000)]);
            this.browser = undefined;
            this.page = undefined;
        }
        const child = this.process;
        this.process = undefined;
        if (!child || child.exitCode !== null || child.signalCode !== null) {
            return;
        }
        const exited = new Promise((resolve) => child.once('exit', resolve));
        // The whole process group: code-server, its extension host, the language server.
        for (const [signal, wait] of [['SIGTERM', 10_000], ['SIGKILL', 5_000]]) {
            try {
                process.kill(-child.pid, signal);
            } catch {
                return;
            }
            if (await Promise.race([exited.then(() => true), sleep(wait).then(() => false)])) {
                break;
            }
        }
        // Whatever of the group outlived code-server (an extension host, a language server).
        try {
            process.kill(-child.pid, 'SIGKILL');
        } catch {
            // the group is gone
        }
    }
}

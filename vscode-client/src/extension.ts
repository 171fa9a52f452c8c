/**
 * Activation: wire the status bar, the report view, the commands and the language client, but
 * start the server and show the status bar item only in an Airlift project (activation.ts);
 * elsewhere the extension stays dormant until a DAG file opens or an Airlift command runs.
 */
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { declaresAirlift, HEAD_BYTES, importsAirflow, isDagFile, SCAN_EXCLUDE, SCAN_LIMIT } from './activation';
import { registerCommands } from './commands';
import { ACTIVE_CONTEXT, CLIENT_NAME, CONFIG_SECTION, DAG_FILE_CONTEXT } from './constants';
import { onDidChangeInterpreter } from './python';
import type { MigrationReport } from './report';
import { ReportView } from './reportView';
import { ClientManager } from './server';
import { StatusBar } from './status';
import { fetchReport } from './targets';
import { createHost, type Host } from './vscodeapi';

const RESTART_DELAY_MS = 500;
const INDEXING_RETRY_MS = 1000;
const INDEXING_RETRIES = 60;
let manager: ClientManager | undefined;

async function head(uri: vscode.Uri, bytes: number): Promise<string> {
    let handle: fs.FileHandle | undefined;
    try {
        handle = await fs.open(uri.fsPath, 'r');
        const buffer = Buffer.alloc(bytes);
        const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
        return buffer.toString('utf8', 0, bytesRead);
    } catch {
        return '';
    } finally {
        await handle?.close();
    }
}

/** Cheap: one glob for state files, the pyproject.toml files, then the heads of a bounded number of Python files. */
async function isAirliftProject(): Promise<boolean> {
    if ((await vscode.workspace.findFiles('**/proxied_state/*.{yaml,yml}', SCAN_EXCLUDE, 1)).length > 0) {
        return true;
    }
    for (const pyproject of await vscode.workspace.findFiles('**/pyproject.toml', SCAN_EXCLUDE, 20)) {
        if (declaresAirlift(await head(pyproject, 256 * 1024))) {
            return true;
        }
    }
    if (vscode.workspace.textDocuments.some((d) => d.languageId === 'python' && importsAirflow(d.getText()))) {
        return true;
    }
    for (const file of await vscode.workspace.findFiles('**/*.py', SCAN_EXCLUDE, SCAN_LIMIT)) {
        if (importsAirflow(await head(file, HEAD_BYTES))) {
            return true;
        }
    }
    return false;
}

/** Every command wakes a dormant extension first: the user asked for Airlift. */
function wakingHost(host: Host, wake: () => Promise<void>): Host {
    return {
        ...host,
        registerCommand: (id, run) => host.registerCommand(id, async (...args: unknown[]) => {
            await wake();
            return run(...args);
        }),
    };
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    const host = createHost(context);
    const output = vscode.window.createOutputChannel(CLIENT_NAME, { log: true });
    const statusBar = new StatusBar(host);
    let report: ReportView | undefined;
    let activeDag: ActiveDagContext | undefined;
    manager = new ClientManager({
        context, host, output, statusBar, onChange: () => {
            report?.refresh();
            activeDag?.refresh();
        },
    });
    const clients = manager;
    report = new ReportView(clients, (message) => output.warn(message));
    activeDag = new ActiveDagContext(clients);
    context.subscriptions.push(output, statusBar, report, activeDag, { dispose: () => void clients.dispose() });

    let awake: Promise<void> | undefined;
    const dormant: vscode.Disposable[] = [];
    const wake = (why: string): Promise<void> => {
        if (!awake) {
            output.info(`Airlift project: ${why}`);
            dormant.forEach((d) => d.dispose());
            statusBar.show();
            void vscode.commands.executeCommand('setContext', ACTIVE_CONTEXT, true);
            awake = clients.restart();
        }
        return awake;
    };
    context.subscriptions.push(
        ...registerCommands({
            host: wakingHost(host, () => wake('an Airlift command ran')),
            port: clients,
            refreshReport: () => report?.refresh(),
            revealReport: () => report?.reveal() ?? Promise.resolve(),
            restartServer: () => clients.restart(),
            showOutput: () => output.show(true),
            log: (message) => output.info(message),
        }),
    );

    // Settings, trust and the Python environment all decide how the server starts: restart it
    // (once per burst of changes) rather than patch a running one.
    let pending: NodeJS.Timeout | undefined;
    const restartSoon = (why: string) => {
        if (!awake) {
            return;
        }
        output.info(`restarting the language server: ${why}`);
        if (pending) {
            clearTimeout(pending);
        }
        pending = setTimeout(() => void clients.restart(), RESTART_DELAY_MS);
    };
    context.subscriptions.push(
        { dispose: () => pending && clearTimeout(pending) },
        vscode.workspace.onDidChangeConfiguration((event) => {
            if (event.affectsConfiguration(CONFIG_SECTION)) {
                restartSoon('settings changed');
            }
        }),
        vscode.workspace.onDidGrantWorkspaceTrust(() => restartSoon('workspace trusted')),
        vscode.workspace.onDidSaveTextDocument((document) => {
            if (document.languageId === 'python' || /proxied_state[\\/][^\\/]+\.ya?ml$/.test(document.fileName)) {
                report?.refresh();
            }
        }),
    );
    const interpreterWatch = await onDidChangeInterpreter(() => {
        if (!vscode.workspace.getConfiguration(CONFIG_SECTION).get<string>('server.command')) {
            restartSoon('Python interpreter changed');
        }
    });
    if (interpreterWatch) {
        context.subscriptions.push(interpreterWatch);
    }

    // Dormant until the workspace shows it is an Airlift project, now or later.
    const recheck = async (why: string) => {
        if (!awake && (await isAirliftProject())) {
            void wake(why);
        }
    };
    const stateFiles = vscode.workspace.createFileSystemWatcher('**/{proxied_state/*.{yaml,yml},pyproject.toml}');
    dormant.push(
        stateFiles,
        stateFiles.onDidCreate(() => void recheck('a state file or pyproject.toml appeared')),
        stateFiles.onDidChange(() => void recheck('pyproject.toml changed')),
        vscode.workspace.onDidOpenTextDocument((document) => {
            if (document.languageId === 'python' && document.uri.scheme === 'file' && importsAirflow(document.getText())) {
                void wake(`${vscode.workspace.asRelativePath(document.uri)} imports Airflow`);
            }
        }),
        vscode.workspace.onDidChangeWorkspaceFolders(() => void recheck('workspace folders changed')),
        report.onDidBecomeVisible(() => void wake('the Migration report view opened')),
    );
    context.subscriptions.push({ dispose: () => dormant.forEach((d) => d.dispose()) });
    // Not awaited: activation must not wait for the scan, a first-use setup or a slow server start.
    void isAirliftProject().then((yes) => {
        if (yes) {
            void wake('it has DAG files, proxied_state or [tool.airlift-lsp]');
        } else if (!awake) {
            output.info('not an Airlift project (no proxied_state/*.yaml, no [tool.airlift-lsp], no Python file importing airflow): dormant');
        }
    });
}

/**
 * The `airlift.dagFileActive` context key: the DAG and task commands show in the palette only
 * while one of the server's DAG files is the active editor.
 */
class ActiveDagContext implements vscode.Disposable {
    private readonly subscription: vscode.Disposable;
    private files: Promise<MigrationReport> | undefined;
    private retries = 0;

    constructor(private readonly clients: ClientManager) {
        this.subscription = vscode.window.onDidChangeActiveTextEditor(() => void this.update());
    }

    /** The server's DAGs may have changed: ask again. */
    refresh(): void {
        this.files = undefined;
        void this.update();
    }

    private async update(): Promise<void> {
        const uri = vscode.window.activeTextEditor?.document.uri;
        let active = false;
        if (uri?.scheme === 'file' && this.clients.running()) {
            this.files ??= fetchReport(this.clients).catch(() => ({ dags: [], indexing: false }));
            const report = await this.files;
            if (report.indexing && this.retries++ < INDEXING_RETRIES) {
                this.files = undefined; // incomplete: ask again soon
                setTimeout(() => void this.update(), INDEXING_RETRY_MS);
            } else if (!report.indexing) {
                this.retries = 0;
            }
            active = isDagFile(report, uri.fsPath);
        }
        await vscode.commands.executeCommand('setContext', DAG_FILE_CONTEXT, active);
    }

    dispose(): void {
        this.subscription.dispose();
    }
}

export async function deactivate(): Promise<void> {
    await manager?.dispose();
    manager = undefined;
}

/** Activation: wire the status bar, the report view, the commands and the language client. */
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { CLIENT_NAME, CONFIG_SECTION } from './constants';
import { onDidChangeInterpreter } from './python';
import { ReportView } from './reportView';
import { ClientManager } from './server';
import { StatusBar } from './status';
import { createHost } from './vscodeapi';

const RESTART_DELAY_MS = 500;
let manager: ClientManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    const host = createHost(context);
    const output = vscode.window.createOutputChannel(CLIENT_NAME, { log: true });
    const statusBar = new StatusBar(host);
    let report: ReportView | undefined;
    manager = new ClientManager({ context, host, output, statusBar, onChange: () => report?.refresh() });
    const clients = manager;
    report = new ReportView(clients, (message) => output.warn(message));
    context.subscriptions.push(output, statusBar, report, { dispose: () => void clients.dispose() });
    context.subscriptions.push(
        ...registerCommands({
            host,
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
    // Not awaited: activation must not wait for an install prompt or a slow server start.
    void clients.restart();
}

export async function deactivate(): Promise<void> {
    await manager?.dispose();
    manager = undefined;
}

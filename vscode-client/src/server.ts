/** Create, start and restart the language client: one at a time, never two servers at once. */
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import * as vscode from 'vscode';
import {
    ExecuteCommandRequest,
    LanguageClient,
    ResponseError,
    RevealOutputChannelOn,
    TransportKind,
    WorkspaceSymbolRequest,
    type DynamicFeature,
    type LanguageClientOptions,
    type ServerOptions,
    type StaticFeature,
} from 'vscode-languageclient/node';
import {
    AIRFLOW_TOKEN_SECRET,
    CLIENT_ID,
    CLIENT_NAME,
    CONFIG_SECTION,
    DAGSTER_TOKEN_SECRET,
    PASSWORD_SECRET,
    STATUS_NOTIFICATION,
} from './constants';
import { selectedInterpreter } from './python';
import { findServer, installServer, nodeLaunchEnvironment, type LaunchEnvironment, type ServerLaunch } from './serverCommand';
import { readSettings, redacted, serverEnvironment, serverSettings, type ServerSettings } from './settings';
import { editorHint, ServerLogReader } from './serverLog';
import { DISABLED, parseStatus, type StatusBar } from './status';
import type { ServerPort } from './targets';
import type { Host } from './vscodeapi';

/**
 * The extension registers the server's `airlift.*` commands itself (they ask for a DAG or task
 * and respect Workspace Trust) and forwards them; the client's own command feature would
 * register the same ids and clash.
 */
class AirliftLanguageClient extends LanguageClient {
    public override registerFeature(feature: StaticFeature | DynamicFeature<unknown>): void {
        if ((feature as Partial<DynamicFeature<unknown>>).registrationType?.method === ExecuteCommandRequest.method) {
            return;
        }
        super.registerFeature(feature);
    }
}

function pipeLines(input: Readable, onLine: (line: string) => void): void {
    readline.createInterface({ input, crlfDelay: Infinity, terminal: false, historySize: 0 }).on('line', onLine);
}

/** The server's stderr at the level each line was logged with (the client's default tags all `error`). */
function pipeServerLog(input: Readable, channel: vscode.LogOutputChannel): void {
    const reader = new ServerLogReader();
    pipeLines(input, (line) => {
        const shown = reader.read(line);
        if (shown) {
            channel[shown.level](shown.text);
        }
    });
}

function withEditorHints(hover: vscode.Hover | null | undefined): vscode.Hover | null | undefined {
    if (!hover) {
        return hover;
    }
    const contents = hover.contents.map((content) => {
        if (!(content instanceof vscode.MarkdownString) || editorHint(content.value) === content.value) {
            return content;
        }
        const rewritten = new vscode.MarkdownString(editorHint(content.value), content.supportThemeIcons);
        rewritten.isTrusted = content.isTrusted;
        rewritten.supportHtml = content.supportHtml;
        rewritten.baseUri = content.baseUri;
        return rewritten;
    });
    return new vscode.Hover(contents, hover.range);
}

export interface ClientManagerDeps {
    context: vscode.ExtensionContext;
    host: Host;
    output: vscode.LogOutputChannel;
    statusBar: StatusBar;
    /** The server answered or changed something the report view shows. */
    onChange(): void;
}

const STOP_TIMEOUT_MS = 3000;
const OPEN_SETTINGS = 'Open Settings';
const SHOW_OUTPUT = 'Show Output';
const RETRY = 'Retry';

export class ClientManager implements ServerPort, vscode.Disposable {
    private client: LanguageClient | undefined;
    private queue: Promise<void> = Promise.resolve();
    private warned = new Set<string>();

    constructor(private readonly deps: ClientManagerDeps) {}

    running(): boolean {
        return this.client?.isRunning() ?? false;
    }

    async executeCommand(command: string, args: unknown[]): Promise<unknown> {
        if (!this.client) {
            throw new Error('the language server is not running');
        }
        return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
    }

    async workspaceSymbols(query: string): Promise<unknown> {
        if (!this.client) {
            return [];
        }
        return this.client.sendRequest(WorkspaceSymbolRequest.type, { query });
    }

    /** Stop the current server (if any) and start one with the current settings. */
    restart(): Promise<void> {
        this.queue = this.queue.then(() => this.replaceClient()).catch((error) => this.deps.output.error(String(error)));
        return this.queue;
    }

    async dispose(): Promise<void> {
        await this.queue;
        await this.stopClient();
    }

    private async stopClient(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        this.deps.statusBar.update(DISABLED);
        if (client) {
            try {
                await client.dispose(STOP_TIMEOUT_MS);
            } catch (error) {
                this.deps.output.warn(`stopping the server: ${String(error)}`);
            }
        }
    }

    private warnOnce(message: string): void {
        this.deps.output.warn(message);
        if (!this.warned.has(message)) {
            this.warned.add(message);
            void this.deps.host.showWarningMessage(`Airlift: ${message}`);
        }
    }

    /** The settings object the server gets, read now (initializationOptions and workspace/configuration). */
    private async currentSettings(): Promise<ServerSettings> {
        const { host } = this.deps;
        const { settings } = readSettings(host.settings(CONFIG_SECTION));
        const trusted = host.isTrusted();
        if (!trusted) {
            return serverSettings(settings, { trusted });
        }
        const [password, airflowToken, dagsterToken] = await Promise.all(
            [PASSWORD_SECRET, AIRFLOW_TOKEN_SECRET, DAGSTER_TOKEN_SECRET].map((key) => host.getSecret(key)));
        return serverSettings(settings, { trusted, password, airflowToken, dagsterToken });
    }

    private launchEnvironment(): LaunchEnvironment {
        const folder = this.deps.host.workspaceFolders()[0];
        const { context, output } = this.deps;
        return nodeLaunchEnvironment(
            { storageDir: context.globalStorageUri.fsPath, wheelDir: path.join(context.extensionPath, 'server'), workspaceFolder: folder },
            () => selectedInterpreter(folder ? vscode.Uri.file(folder) : undefined, (m) => output.info(m)),
            (message) => output.info(message),
        );
    }

    /** The server to run, setting up the extension's own environment on first use; undefined when that failed. */
    private async findOrInstall(): Promise<ServerLaunch | undefined> {
        const { host, output } = this.deps;
        const { settings } = readSettings(host.settings(CONFIG_SECTION));
        const trusted = host.isTrusted();
        const environment = this.launchEnvironment();
        const found = await findServer(settings, environment, trusted);
        if (found) {
            return found;
        }
        output.info('no airlift-lsp found (airlift.server.command, the Python extension\'s interpreter): ' +
            'setting up the extension\'s own environment');
        try {
            return await host.withProgress('Airlift: setting up the language server (first use)',
                (report) => installServer(settings, environment, trusted, report));
        } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            output.error(`setting up the language server failed: ${message}`);
            this.offerFix(`Airlift: setting up the language server failed: ${message}`);
            return undefined;
        }
    }

    /** An error with the ways forward; not awaited, so a restart never waits for the user. */
    private offerFix(message: string): void {
        const { host, output } = this.deps;
        void host.showErrorMessage(message, OPEN_SETTINGS, SHOW_OUTPUT, RETRY).then(async (choice) => {
            if (choice === OPEN_SETTINGS) {
                await host.executeCommand('workbench.action.openSettings', 'airlift.server');
            } else if (choice === SHOW_OUTPUT) {
                output.show(true);
            } else if (choice === RETRY) {
                await this.restart();
            }
        });
    }

    private async replaceClient(): Promise<void> {
        const { host, output, statusBar } = this.deps;
        await this.stopClient();
        const { warnings } = readSettings(host.settings(CONFIG_SECTION));
        warnings.forEach((warning) => this.warnOnce(warning));
        const launch = await this.findOrInstall();
        if (!launch) {
            return;
        }
        const trusted = host.isTrusted();
        const folder = host.workspaceFolders()[0];
        const initial = await this.currentSettings();
        output.info(`starting ${launch.command} ${launch.args.join(' ')} --stdio (${launch.source}` +
            `${trusted ? '' : ', Restricted Mode: no peering, no edits'}) with ${JSON.stringify(redacted(initial))}`);
        const serverOptions: ServerOptions = {
            command: launch.command,
            args: launch.args,
            transport: TransportKind.stdio, // appends --stdio, which `airlift-lsp serve` accepts
            options: { cwd: folder, env: serverEnvironment(process.env, trusted) },
        };
        const clientOptions: LanguageClientOptions = {
            documentSelector: [
                { scheme: 'file', language: 'python' },
                { scheme: 'file', pattern: '**/proxied_state/*.{yaml,yml}' },
            ],
            outputChannel: output,
            stdioOptions: { stdout: (input, channel) => pipeLines(input, (line) => channel.info(line)), stderr: pipeServerLog },
            revealOutputChannelOn: RevealOutputChannelOn.Never,
            // statusNotifications: this client handles the server's custom airlift/status notification.
            initializationOptions: { [CONFIG_SECTION]: initial, statusNotifications: true },
            middleware: {
                workspace: {
                    // Answer the `airlift` section with the same object as initializationOptions:
                    // typed, only what was set, the password and tokens from secret storage.
                    configuration: async (params, token, next) => {
                        const answers = await next(params, token);
                        if (answers instanceof ResponseError) {
                            return answers;
                        }
                        const settings = await this.currentSettings();
                        return params.items.map((item, i) => (item.section === CONFIG_SECTION ? settings : answers[i]));
                    },
                },
                // Restricted Mode: no edits, so no quick fixes or refactorings either.
                provideCodeActions: (document, range, context, token, next) =>
                    host.isTrusted() ? next(document, range, context, token) : [],
                // The server's hints name AIRFLOW_PASSWORD (the CLI's way); in the editor, the command.
                provideHover: async (document, position, token, next) => withEditorHints(await next(document, position, token)),
            },
        };
        const client = new AirliftLanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
        client.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
            statusBar.update(parseStatus(params));
            this.deps.onChange();
        });
        this.client = client;
        try {
            await client.start();
        } catch (error) {
            output.error(`the language server did not start: ${String(error)}`);
            this.offerFix(`Airlift: the language server (${launch.command}) did not start: ${String(error)}`);
            return;
        }
        this.deps.onChange();
    }
}

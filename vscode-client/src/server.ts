/** Create, start and restart the language client: one at a time, never two servers at once. */
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
import { CLIENT_ID, CLIENT_NAME, CONFIG_SECTION, PASSWORD_SECRET, STATUS_NOTIFICATION } from './constants';
import { selectedInterpreter } from './python';
import { findServer, installServer, nodeLaunchEnvironment, type LaunchEnvironment, type ServerLaunch } from './serverCommand';
import { readSettings, redacted, serverEnvironment, serverSettings, type ServerSettings } from './settings';
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

export interface ClientManagerDeps {
    context: vscode.ExtensionContext;
    host: Host;
    output: vscode.LogOutputChannel;
    statusBar: StatusBar;
    /** The server answered or changed something the report view shows. */
    onChange(): void;
}

const STOP_TIMEOUT_MS = 3000;

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
        const password = trusted ? await host.getSecret(PASSWORD_SECRET) : undefined;
        return serverSettings(settings, { trusted, password });
    }

    private launchEnvironment(): LaunchEnvironment {
        const folder = this.deps.host.workspaceFolders()[0];
        return nodeLaunchEnvironment(
            this.deps.context.globalStorageUri.fsPath,
            folder,
            () => selectedInterpreter(folder ? vscode.Uri.file(folder) : undefined, (m) => this.deps.output.info(m)),
            (message) => this.deps.output.info(message),
        );
    }

    private async findOrInstall(): Promise<ServerLaunch | undefined> {
        const { host } = this.deps;
        const { settings } = readSettings(host.settings(CONFIG_SECTION));
        const trusted = host.isTrusted();
        const environment = this.launchEnvironment();
        const found = await findServer(settings, environment, trusted);
        if (found) {
            return found;
        }
        const install = 'Install';
        const choice = await host.showInformationMessage(
            `Airlift: airlift-lsp is not in the selected Python environment. Install it into the extension's own environment (pip install ${settings.server.installSource})?`,
            install,
            'Open Settings',
        );
        if (choice === 'Open Settings') {
            await host.executeCommand('workbench.action.openSettings', 'airlift.server');
        }
        if (choice !== install) {
            this.deps.output.warn('no language server: set airlift.server.command or install airlift-lsp');
            return undefined;
        }
        try {
            return await host.withProgress('Airlift: installing airlift-lsp…', () => installServer(settings, environment, trusted));
        } catch (error) {
            this.deps.output.error(String(error));
            await host.showErrorMessage(`Airlift: installing airlift-lsp failed: ${String(error)}`);
            return undefined;
        }
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
            revealOutputChannelOn: RevealOutputChannelOn.Never,
            // statusNotifications: this client handles the server's custom airlift/status notification.
            initializationOptions: { [CONFIG_SECTION]: initial, statusNotifications: true },
            middleware: {
                workspace: {
                    // Answer the `airlift` section with the same object as initializationOptions:
                    // typed, only what was set, the password from secret storage.
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
            const choice = await host.showErrorMessage(
                `Airlift: the language server (${launch.command}) did not start: ${String(error)}`,
                'Show Output',
                'Open Settings',
            );
            if (choice === 'Show Output') {
                output.show(true);
            } else if (choice === 'Open Settings') {
                await host.executeCommand('workbench.action.openSettings', 'airlift.server');
            }
            return;
        }
        this.deps.onChange();
    }
}

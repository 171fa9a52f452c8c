/**
 * The thin wrapper over `vscode`: the only module that touches the editor's API for the logic
 * modules (settings, commands, status, report, server command). They take a `Host` and import
 * this file for its types only, so unit tests hand them a fake and never load `vscode`.
 */
import * as vscode from 'vscode';

export interface Disposable {
    dispose(): unknown;
}

export interface PickItem {
    label: string;
    description?: string;
    detail?: string;
    picked?: boolean;
}

export interface PickOptions {
    title?: string;
    placeHolder?: string;
    matchOnDescription?: boolean;
}

export interface InputOptions {
    title?: string;
    prompt?: string;
    placeHolder?: string;
    password?: boolean;
}

/** A setting's value when someone set it (user, workspace or folder); undefined for defaults. */
export interface ConfigurationReader {
    get(key: string): unknown;
}

/** The status bar item, as the status module drives it. */
export interface StatusItem {
    text: string;
    tooltip: string;
    command: string | undefined;
    /** A theme color id (`statusBarItem.warningBackground`), or undefined for the default. */
    background: string | undefined;
    show(): void;
    dispose(): void;
}

export interface Host {
    isTrusted(): boolean;
    /** The workspace folders' paths on disk (file scheme only). */
    workspaceFolders(): string[];
    /** The active text editor's file path, if any. */
    activeFile(): string | undefined;
    settings(section: string): ConfigurationReader;
    showQuickPick<T extends PickItem>(items: T[], options: PickOptions): Promise<T | undefined>;
    showInputBox(options: InputOptions): Promise<string | undefined>;
    showInformationMessage(message: string, ...actions: string[]): Promise<string | undefined>;
    showWarningMessage(message: string, ...actions: string[]): Promise<string | undefined>;
    showErrorMessage(message: string, ...actions: string[]): Promise<string | undefined>;
    /** A modal yes/no question: true when the user chose `action`. */
    confirm(message: string, action: string): Promise<boolean>;
    registerCommand(id: string, run: (...args: unknown[]) => unknown): Disposable;
    executeCommand(id: string, ...args: unknown[]): Promise<unknown>;
    getSecret(key: string): Promise<string | undefined>;
    storeSecret(key: string, value: string): Promise<void>;
    deleteSecret(key: string): Promise<void>;
    createStatusItem(id: string, name: string): StatusItem;
    /** A notification with a title while `task` runs; `report` adds what it is doing now. */
    withProgress<T>(title: string, task: (report: (message: string) => void) => Promise<T>): Promise<T>;
}

/** Reads only what someone set: VS Code's defaults must not hide `[tool.airlift-lsp]` values. */
function explicitSettings(section: string): ConfigurationReader {
    const configuration = vscode.workspace.getConfiguration(section);
    return {
        get(key: string): unknown {
            const inspected = configuration.inspect(key);
            return inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
        },
    };
}

function statusItem(id: string, name: string): StatusItem {
    const item = vscode.window.createStatusBarItem(id, vscode.StatusBarAlignment.Left, 50);
    item.name = name;
    let background: string | undefined;
    return {
        get text() {
            return item.text;
        },
        set text(value: string) {
            item.text = value;
        },
        get tooltip() {
            return typeof item.tooltip === 'string' ? item.tooltip : (item.tooltip?.value ?? '');
        },
        set tooltip(value: string) {
            item.tooltip = value;
        },
        get command() {
            return typeof item.command === 'string' ? item.command : item.command?.command;
        },
        set command(value: string | undefined) {
            item.command = value;
        },
        get background() {
            return background;
        },
        set background(value: string | undefined) {
            background = value;
            item.backgroundColor = value ? new vscode.ThemeColor(value) : undefined;
        },
        show: () => item.show(),
        dispose: () => item.dispose(),
    };
}

export function createHost(context: vscode.ExtensionContext): Host {
    return {
        isTrusted: () => vscode.workspace.isTrusted,
        workspaceFolders: () =>
            (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
        activeFile: () => {
            const uri = vscode.window.activeTextEditor?.document.uri;
            return uri?.scheme === 'file' ? uri.fsPath : undefined;
        },
        settings: explicitSettings,
        showQuickPick: async (items, options) => vscode.window.showQuickPick(items, options),
        showInputBox: async (options) => vscode.window.showInputBox({ ...options, ignoreFocusOut: true }),
        showInformationMessage: async (message, ...actions) => vscode.window.showInformationMessage(message, ...actions),
        showWarningMessage: async (message, ...actions) => vscode.window.showWarningMessage(message, ...actions),
        showErrorMessage: async (message, ...actions) => vscode.window.showErrorMessage(message, ...actions),
        confirm: async (message, action) =>
            (await vscode.window.showWarningMessage(message, { modal: true }, action)) === action,
        registerCommand: (id, run) => vscode.commands.registerCommand(id, run),
        executeCommand: async (id, ...args) => vscode.commands.executeCommand(id, ...args),
        getSecret: async (key) => context.secrets.get(key),
        storeSecret: async (key, value) => context.secrets.store(key, value),
        deleteSecret: async (key) => context.secrets.delete(key),
        createStatusItem: statusItem,
        withProgress: (title, task) =>
            Promise.resolve(
                vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title },
                    (progress) => task((message) => progress.report({ message }))),
            ),
    };
}

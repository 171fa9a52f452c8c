/**
 * Every palette command. The server's commands are registered here, not by the language client:
 * invoked bare they ask for their DAG or task, and those that edit refuse in Restricted Mode.
 */
import {
    AIRFLOW_TOKEN_SECRET,
    ClientCommand,
    DAGSTER_TOKEN_SECRET,
    EDIT_COMMANDS,
    PASSWORD_SECRET,
    ServerCommand,
    TASK_COMMANDS,
} from './constants';
import { resolveTarget, targetFromArgs, type ServerPort, type Target } from './targets';
import type { Disposable, Host, PickItem } from './vscodeapi';

export interface CommandDeps {
    host: Host;
    port: ServerPort;
    /** Ask the report view to fetch the report again. */
    refreshReport(): void;
    /** Reveal the report view. */
    revealReport(): Promise<void>;
    restartServer(): Promise<void>;
    showOutput(): void;
    log(message: string): void;
}

/** Quick pick titles, by command. */
export const PICK_TITLES: Record<string, string> = {
    [ServerCommand.mapTask]: 'Airlift: map which task to a Dagster asset?',
    [ServerCommand.proxyTask]: 'Airlift: proxy which task to Dagster?',
    [ServerCommand.rollbackTask]: 'Airlift: roll back which task to Airflow?',
    [ServerCommand.mapDag]: 'Airlift: map the unmapped tasks of which DAG?',
    [ServerCommand.proxyDag]: 'Airlift: proxy which DAG to Dagster?',
    [ServerCommand.rollbackDag]: 'Airlift: roll back which DAG to Airflow?',
    [ServerCommand.enableProxying]: 'Airlift: enable proxying in which DAG file?',
    [ServerCommand.decommissionDag]: 'Airlift: decommission which DAG (its tasks all run in Dagster)?',
};

/** What decommission does with the DAG file; the server asks to confirm the whole step. */
export const DECOMMISSION_MODES: readonly (PickItem & { pause: boolean })[] = [
    { label: 'Remove the DAG file', description: 'the DAG leaves Airflow', pause: false },
    { label: 'Keep the DAG file, paused', description: 'is_paused_upon_creation=True, with a comment', pause: true },
];

/** `pause` as given (a lens, the report view), else picked. */
async function decommissionMode(host: Host, args: readonly unknown[]): Promise<boolean | undefined> {
    const given = args[0] as { pause?: unknown } | undefined;
    if (typeof given?.pause === 'boolean') {
        return given.pause;
    }
    const picked = await host.showQuickPick([...DECOMMISSION_MODES], { title: 'Airlift: remove the DAG file, or keep it paused?' });
    return picked?.pause;
}

export const RESTRICTED_MESSAGE =
    'Airlift: edits are off in Restricted Mode. Trust this workspace to map, proxy or roll back tasks.';
const MANAGE_TRUST = 'Manage Workspace Trust';

function errorText(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

async function ensureRunning(deps: CommandDeps): Promise<boolean> {
    if (deps.port.running()) {
        return true;
    }
    const choice = await deps.host.showErrorMessage(
        'Airlift: the language server is not running.',
        'Show Output',
        'Restart Server',
    );
    if (choice === 'Show Output') {
        deps.showOutput();
    } else if (choice === 'Restart Server') {
        await deps.restartServer();
    }
    return false;
}

/** The auth backends `airlift.peer` can write (dagster-airlift 0.29.27 has no bearer-token one). */
export const PEER_AUTHS: readonly PickItem[] = [
    { label: 'basic', description: 'user and password (AirflowBasicAuthBackend); the password is read from AIRFLOW_PASSWORD' },
    { label: 'mwaa', description: 'Amazon MWAA web login (MwaaSessionAuthBackend, boto3); needs dagster-airlift[mwaa]' },
];

/** `airlift.peer`'s arguments: the `auth` it was given, else the one picked. */
async function peerArguments(host: Host, args: readonly unknown[]): Promise<{ auth: string } | undefined> {
    const given = args[0] as { auth?: unknown } | undefined;
    if (typeof given?.auth === 'string') {
        return { auth: given.auth };
    }
    const picked = await host.showQuickPick([...PEER_AUTHS], { title: 'Airlift: peer Dagster with Airflow using which auth?' });
    return picked ? { auth: picked.label } : undefined;
}

/** Run an edit command: check trust, find the target, let the server plan and apply the edit. */
export async function runEditCommand(deps: CommandDeps, command: string, args: readonly unknown[]): Promise<unknown> {
    const { host, port } = deps;
    if (!host.isTrusted()) {
        if ((await host.showWarningMessage(RESTRICTED_MESSAGE, MANAGE_TRUST)) === MANAGE_TRUST) {
            await host.executeCommand('workbench.trust.manage');
        }
        return { applied: false, reason: 'Restricted Mode', files: [] };
    }
    if (!(await ensureRunning(deps))) {
        return undefined;
    }
    let target: Target | { auth: string } | (Target & { pause: boolean }) | undefined = {};
    try {
        if (command === ServerCommand.peer) {
            target = await peerArguments(host, args);
            if (!target) {
                return undefined;
            }
        } else if (command === ServerCommand.rollbackAll) {
            if (args.length === 0 &&
                !(await host.confirm('Roll back every proxied task and DAG of the workspace to Airflow?', 'Roll Back All'))) {
                return undefined;
            }
        } else {
            const needs = TASK_COMMANDS.includes(command) ? 'task' : 'dag';
            target = await resolveTarget(host, port, targetFromArgs(args), needs, PICK_TITLES[command] ?? 'Airlift');
            if (!target) {
                return undefined;
            }
            if (command === ServerCommand.decommissionDag) {
                const pause = await decommissionMode(host, args);
                if (pause === undefined) {
                    return undefined;
                }
                target = { dag_id: (target as Target).dag_id, pause };
            }
        }
        deps.log(`${command} ${JSON.stringify(target)}`);
        return await port.executeCommand(command, [target]);
    } catch (error) {
        await host.showErrorMessage(`Airlift: ${command} failed: ${errorText(error)}`);
        return undefined;
    } finally {
        deps.refreshReport();
    }
}

export const VERIFY_RESTRICTED_MESSAGE =
    'Airlift: Verify with Airflow runs the project\'s own Airflow on its code; trust this workspace first.';
const OPEN_SETTING = 'Open Setting';

interface VerifyResult {
    ok: boolean;
    message?: string;
    error?: string;
    findings?: number;
    notes?: string[];
}

/**
 * Verify with the project's own Airflow: the server runs it in the background (with its own
 * progress), publishes the findings under the `airlift-verify` source and answers a summary,
 * which this shows (`quiet`: the server leaves the messages to the client).
 */
export async function runVerify(deps: CommandDeps): Promise<VerifyResult | undefined> {
    const { host, port } = deps;
    if (!host.isTrusted()) {
        if ((await host.showWarningMessage(VERIFY_RESTRICTED_MESSAGE, MANAGE_TRUST)) === MANAGE_TRUST) {
            await host.executeCommand('workbench.trust.manage');
        }
        return undefined;
    }
    if (!(await ensureRunning(deps))) {
        return undefined;
    }
    let result: VerifyResult;
    try {
        result = (await port.executeCommand(ServerCommand.verify, [{ quiet: true }])) as VerifyResult;
    } catch (error) {
        await host.showErrorMessage(`Airlift: verify failed: ${errorText(error)}`);
        return undefined;
    }
    if (!result?.ok) {
        const error = result?.error ?? 'no answer from the server';
        const needsPython = error.includes('no Airflow interpreter') || error.includes('has no apache-airflow')
            || error.includes('does not exist');
        const choice = needsPython
            ? await host.showErrorMessage(`Airlift: ${error}`, OPEN_SETTING)
            : await host.showErrorMessage(`Airlift: ${error}`);
        if (choice === OPEN_SETTING) {
            await host.executeCommand('workbench.action.openSettings', 'airlift.airflow.python');
        }
        return result;
    }
    const text = [`Airlift: ${result.message ?? 'verified'}`, ...(result.notes ?? [])].join('; ');
    if (result.findings) {
        await host.showWarningMessage(text);
    } else {
        await host.showInformationMessage(text);
    }
    return result;
}

/** A secret the extension keeps in the editor's secret storage and hands to the server. */
export interface SecretSpec {
    key: string;
    /** What it is, for the input box and messages: "Airflow password". */
    name: string;
    /** The input box's prompt after the common part. */
    hint?: string;
}

export const SECRETS = {
    password: { key: PASSWORD_SECRET, name: 'Airflow password' },
    airflowToken: {
        key: AIRFLOW_TOKEN_SECRET,
        name: 'Airflow token',
        hint: 'Used when airflow.auth is "token" or "astro" (an Airflow 3 API token, an Astronomer deployment API token).',
    },
    dagsterToken: { key: DAGSTER_TOKEN_SECRET, name: 'Dagster+ token', hint: 'A Dagster+ API token for the Dagster URL.' },
} as const satisfies Record<string, SecretSpec>;

/** Ask for a secret, keep it in secret storage (empty: remove it), then restart the server with it. */
export async function setSecret(deps: CommandDeps, secret: SecretSpec): Promise<void> {
    const value = await deps.host.showInputBox({
        title: `Airlift: ${secret.name}`,
        prompt: ['Kept in the editor\'s secret storage and handed to the language server; never written to settings. Empty: remove it.',
            secret.hint].filter(Boolean).join(' '),
        password: true,
    });
    if (value === undefined) {
        return;
    }
    // A pasted token often ends in a newline; a password is taken as typed.
    const kept = secret.key === PASSWORD_SECRET ? value : value.trim();
    if (kept === '') {
        await deps.host.deleteSecret(secret.key);
    } else {
        await deps.host.storeSecret(secret.key, kept);
    }
    if (!deps.host.isTrusted()) {
        await deps.host.showInformationMessage(`Airlift: ${secret.name} saved; it is used once you trust this workspace.`);
    }
    await deps.restartServer();
}

interface MenuItem extends PickItem {
    run(): Promise<unknown> | unknown;
}

/** What a click on the status bar item offers. */
export function statusMenuItems(deps: CommandDeps): MenuItem[] {
    const { host } = deps;
    return [
        { label: '$(refresh) Refresh status', description: 'poll Airflow and re-index now', run: () => host.executeCommand(ServerCommand.refreshStatus) },
        { label: '$(output) Show output', description: 'the language server\'s log', run: () => deps.showOutput() },
        { label: '$(key) Set Airflow password', run: () => host.executeCommand(ClientCommand.setPassword) },
        { label: '$(settings-gear) Open Airlift settings', run: () => host.executeCommand('workbench.action.openSettings', 'airlift.') },
        { label: '$(debug-restart) Restart language server', run: () => deps.restartServer() },
    ];
}

export function registerCommands(deps: CommandDeps): Disposable[] {
    const { host, port } = deps;
    const disposables: Disposable[] = [];
    for (const command of EDIT_COMMANDS) {
        disposables.push(host.registerCommand(command, (...args) => runEditCommand(deps, command, args)));
    }
    disposables.push(
        host.registerCommand(ServerCommand.refreshStatus, async () => {
            if (!(await ensureRunning(deps))) {
                return undefined;
            }
            try {
                return await port.executeCommand(ServerCommand.refreshStatus, []);
            } catch (error) {
                await host.showErrorMessage(`Airlift: refresh failed: ${errorText(error)}`);
                return undefined;
            } finally {
                deps.refreshReport();
            }
        }),
        host.registerCommand(ServerCommand.migrationReport, async () => {
            if (!(await ensureRunning(deps))) {
                return undefined;
            }
            deps.refreshReport();
            await deps.revealReport();
            return port.executeCommand(ServerCommand.migrationReport, []);
        }),
        host.registerCommand(ServerCommand.verify, () => runVerify(deps)),
        ...([
            [ClientCommand.setPassword, ClientCommand.clearPassword, SECRETS.password],
            [ClientCommand.setAirflowToken, ClientCommand.clearAirflowToken, SECRETS.airflowToken],
            [ClientCommand.setDagsterToken, ClientCommand.clearDagsterToken, SECRETS.dagsterToken],
        ] as const).flatMap(([set, clear, secret]) => [
            host.registerCommand(set, () => setSecret(deps, secret)),
            host.registerCommand(clear, async () => {
                await host.deleteSecret(secret.key);
                await deps.restartServer();
            }),
        ]),
        host.registerCommand(ClientCommand.restartServer, () => deps.restartServer()),
        host.registerCommand(ClientCommand.showOutput, () => deps.showOutput()),
        host.registerCommand(ClientCommand.statusMenu, async () => {
            const picked = await host.showQuickPick(statusMenuItems(deps), { title: 'Airlift' });
            return picked?.run();
        }),
    );
    return disposables;
}

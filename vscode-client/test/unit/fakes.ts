/** Fakes of the `Host` wrapper and the server port: the unit tests never load `vscode`. */
import type { ServerPort } from '../../src/targets';
import type { ConfigurationReader, Disposable, Host, InputOptions, PickItem, PickOptions, StatusItem } from '../../src/vscodeapi';

export interface Call {
    method: string;
    args: unknown[];
}

export class FakeHost implements Host {
    trusted = true;
    folders: string[] = ['/ws'];
    active: string | undefined;
    config: Record<string, unknown> = {};
    secrets = new Map<string, string>();
    calls: Call[] = [];
    commands = new Map<string, (...args: unknown[]) => unknown>();
    statusItems: StatusItem[] = [];
    /** What the next quick pick returns: a function of the items shown. */
    pick: (items: PickItem[], options: PickOptions) => PickItem | undefined = () => undefined;
    input: string | undefined;
    answer: string | undefined;
    confirmed = false;

    private record(method: string, ...args: unknown[]): void {
        this.calls.push({ method, args });
    }

    callsOf(method: string): unknown[][] {
        return this.calls.filter((c) => c.method === method).map((c) => c.args);
    }

    isTrusted(): boolean {
        return this.trusted;
    }
    workspaceFolders(): string[] {
        return this.folders;
    }
    activeFile(): string | undefined {
        return this.active;
    }
    settings(section: string): ConfigurationReader {
        return { get: (key: string) => this.config[`${section}.${key}`] };
    }
    async showQuickPick<T extends PickItem>(items: T[], options: PickOptions): Promise<T | undefined> {
        this.record('showQuickPick', items, options);
        return this.pick(items, options) as T | undefined;
    }
    async showInputBox(options: InputOptions): Promise<string | undefined> {
        this.record('showInputBox', options);
        return this.input;
    }
    async showInformationMessage(message: string, ...actions: string[]): Promise<string | undefined> {
        this.record('showInformationMessage', message, ...actions);
        return this.answer;
    }
    async showWarningMessage(message: string, ...actions: string[]): Promise<string | undefined> {
        this.record('showWarningMessage', message, ...actions);
        return this.answer;
    }
    async showErrorMessage(message: string, ...actions: string[]): Promise<string | undefined> {
        this.record('showErrorMessage', message, ...actions);
        return this.answer;
    }
    async confirm(message: string, action: string): Promise<boolean> {
        this.record('confirm', message, action);
        return this.confirmed;
    }
    registerCommand(id: string, run: (...args: unknown[]) => unknown): Disposable {
        if (this.commands.has(id)) {
            throw new Error(`command '${id}' already exists`);
        }
        this.commands.set(id, run);
        return { dispose: () => this.commands.delete(id) };
    }
    async executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
        this.record('executeCommand', id, ...args);
        return this.commands.get(id)?.(...args);
    }
    async getSecret(key: string): Promise<string | undefined> {
        return this.secrets.get(key);
    }
    async storeSecret(key: string, value: string): Promise<void> {
        this.secrets.set(key, value);
    }
    async deleteSecret(key: string): Promise<void> {
        this.secrets.delete(key);
    }
    createStatusItem(): StatusItem {
        const item: StatusItem = {
            text: '',
            tooltip: '',
            command: undefined,
            background: undefined,
            show: () => this.record('statusShow'),
            dispose: () => this.record('statusDispose'),
        };
        this.statusItems.push(item);
        return item;
    }
    async withProgress<T>(title: string, task: (report: (message: string) => void) => Promise<T>): Promise<T> {
        this.record('withProgress', title);
        return task((message) => this.record('progress', message));
    }
}

export const REPORT = {
    dags: [
        { dag_id: 'rebuild_customers_list', file: '/ws/airflow_dags/rebuild_customers_list.py', tasks: 3, mapped: 2, proxied: 1,
            dagProxied: false, hook: 'guarded', last_run: null, task_rows: [
                { task_id: 'load_raw_customers', stage: 'proxied', assets: ['raw_data/raw_customers'], proxied: true,
                    last_run: { run_id: 'manual__2026-12-01', state: 'success', start_date: '2026-12-01T06:01:00Z', end_date: null },
                    dagster_run: { run_id: 'ab12cd34-5678-90ef', status: 'SUCCESS', start_time: '2026-12-01T06:01:10Z',
                        end_time: '2026-12-01T06:02:00Z' },
                    dagster_run_url: 'http://localhost:3000/runs/ab12cd34-5678-90ef' },
                { task_id: 'build_dbt_models', stage: 'observed', assets: ['dbt/customers'], proxied: false, last_run: null,
                    dagster_run: null, dagster_run_url: null },
                { task_id: 'export_customers', stage: 'unmapped', assets: [], proxied: false, last_run: null,
                    dagster_run: null, dagster_run_url: null },
            ] },
        { dag_id: 'daily_orders', file: '/ws/airflow_dags/daily_orders.py', tasks: 4, mapped: 0, proxied: 0, dagProxied: false,
            hook: 'missing', last_run: null, task_rows: [] },
    ],
    indexing: false,
};

function symbol(name: string, container: string, file: string, line: number) {
    return {
        name,
        kind: 12,
        containerName: container,
        location: { uri: `file://${file}`, range: { start: { line, character: 4 }, end: { line, character: 20 } } },
    };
}

export const SYMBOLS = [
    { name: 'rebuild_customers_list', kind: 2, location: { uri: 'file:///ws/airflow_dags/rebuild_customers_list.py', range: {} } },
    symbol('load_raw_customers', 'rebuild_customers_list', '/ws/airflow_dags/rebuild_customers_list.py', 31),
    symbol('build_dbt_models', 'rebuild_customers_list', '/ws/airflow_dags/rebuild_customers_list.py', 41),
    symbol('export_customers', 'rebuild_customers_list', '/ws/airflow_dags/rebuild_customers_list.py', 49),
    symbol('extract', 'daily_orders', '/ws/airflow_dags/daily_orders.py', 20),
    symbol('transform.clean', 'daily_orders', '/ws/airflow_dags/daily_orders.py', 25),
];

export class FakePort implements ServerPort {
    isRunning = true;
    requests: Call[] = [];
    results: Record<string, unknown> = { 'airlift.migrationReport': REPORT };
    failWith: Error | undefined;

    running(): boolean {
        return this.isRunning;
    }
    async executeCommand(command: string, args: unknown[]): Promise<unknown> {
        this.requests.push({ method: command, args });
        if (this.failWith) {
            throw this.failWith;
        }
        return this.results[command] ?? { applied: true, files: [] };
    }
    async workspaceSymbols(query: string): Promise<unknown> {
        this.requests.push({ method: 'workspace/symbol', args: [query] });
        return SYMBOLS;
    }
    edits(): Call[] {
        return this.requests.filter((r) => r.method !== 'airlift.migrationReport' && r.method !== 'workspace/symbol');
    }
}

/**
 * The migration report (`airlift.migrationReport`) and the tasks (workspace symbols), as plain
 * data: what the tree view and the quick picks show. No `vscode` here.
 */
import { fileURLToPath } from 'node:url';

export interface DagRun {
    run_id?: string;
    state?: string | null;
    start_date?: string | null;
    end_date?: string | null;
}

/** `DRUN` of `status --json`: the Dagster run dagster-airlift launched for the task's last Airflow run. */
export interface DagsterRun {
    run_id: string;
    status: string;
    start_time: string | null;
    end_time: string | null;
}

export interface ReportTask {
    task_id: string;
    /** `unmapped` | `observed` | `proxied`. */
    stage: string;
    assets: string[];
    proxied: boolean;
    last_run: DagRun | null;
    dagster_run: DagsterRun | null;
    /** The run's page in the Dagster UI (`dagster.url` set). */
    dagster_run_url: string | null;
}

export interface ReportDag {
    dag_id: string;
    file: string;
    tasks: number;
    mapped: number;
    proxied: number;
    dagProxied: boolean;
    hook: string;
    last_run: DagRun | null;
    /** Its tasks, in file order (servers before per-task rows send none). */
    task_rows: ReportTask[];
}

export interface MigrationReport {
    dags: ReportDag[];
    /** True while the server is still indexing the workspace. */
    indexing: boolean;
}

export interface TaskRef {
    dag_id: string;
    task_id: string;
    /** Where the task is defined, when the server said (workspace symbols). */
    file?: string;
    line?: number;
    character?: number;
}

const EMPTY: MigrationReport = { dags: [], indexing: false };

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null;
}

function count(value: unknown): number {
    return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function text(value: unknown): string | null {
    return typeof value === 'string' ? value : null;
}

function parseDagsterRun(value: unknown): DagsterRun | null {
    if (!isObject(value) || typeof value.run_id !== 'string' || value.run_id === '') {
        return null;
    }
    return { run_id: value.run_id, status: text(value.status) ?? 'UNKNOWN', start_time: text(value.start_time),
        end_time: text(value.end_time) };
}

/** Tolerant reading: rows without a task_id are dropped. */
function parseTasks(value: unknown): ReportTask[] {
    if (!Array.isArray(value)) {
        return [];
    }
    const tasks: ReportTask[] = [];
    for (const row of value) {
        if (!isObject(row) || typeof row.task_id !== 'string') {
            continue;
        }
        tasks.push({
            task_id: row.task_id,
            stage: text(row.stage) ?? 'unmapped',
            assets: Array.isArray(row.assets) ? row.assets.filter((a): a is string => typeof a === 'string') : [],
            proxied: row.proxied === true,
            last_run: isObject(row.last_run) ? (row.last_run as DagRun) : null,
            dagster_run: parseDagsterRun(row.dagster_run),
            dagster_run_url: text(row.dagster_run_url),
        });
    }
    return tasks;
}

/** Tolerant reading: rows without a dag_id are dropped, missing counts read as 0. */
export function parseReport(value: unknown): MigrationReport {
    if (!isObject(value) || !Array.isArray(value.dags)) {
        return EMPTY;
    }
    const dags: ReportDag[] = [];
    for (const row of value.dags) {
        if (!isObject(row) || typeof row.dag_id !== 'string') {
            continue;
        }
        dags.push({
            dag_id: row.dag_id,
            file: typeof row.file === 'string' ? row.file : '',
            tasks: count(row.tasks),
            mapped: count(row.mapped),
            proxied: count(row.proxied),
            dagProxied: row.dagProxied === true,
            hook: typeof row.hook === 'string' ? row.hook : 'unknown',
            last_run: isObject(row.last_run) ? (row.last_run as DagRun) : null,
            task_rows: parseTasks(row.task_rows),
        });
    }
    return { dags, indexing: value.indexing === true };
}

const SYMBOL_KIND_FUNCTION = 12;

function pathOf(uri: unknown): string | undefined {
    if (typeof uri !== 'string' || !uri.startsWith('file:')) {
        return undefined;
    }
    try {
        return fileURLToPath(uri);
    } catch {
        return undefined;
    }
}

/** Tasks among `workspace/symbol` results: functions whose container is their DAG. */
export function tasksFromSymbols(symbols: unknown): TaskRef[] {
    if (!Array.isArray(symbols)) {
        return [];
    }
    const tasks: TaskRef[] = [];
    for (const symbol of symbols) {
        if (!isObject(symbol) || symbol.kind !== SYMBOL_KIND_FUNCTION || typeof symbol.name !== 'string' ||
            typeof symbol.containerName !== 'string') {
            continue;
        }
        const location = isObject(symbol.location) ? symbol.location : {};
        const start = isObject(location.range) && isObject(location.range.start) ? location.range.start : {};
        tasks.push({
            dag_id: symbol.containerName,
            task_id: symbol.name,
            file: pathOf(location.uri),
            line: typeof start.line === 'number' ? start.line : undefined,
            character: typeof start.character === 'number' ? start.character : undefined,
        });
    }
    return tasks.sort((a, b) => a.dag_id.localeCompare(b.dag_id) || (a.line ?? 0) - (b.line ?? 0));
}

/** `2/3 mapped · 1/3 proxied`, or `DAG proxied`. */
export function dagSummary(dag: ReportDag): string {
    const proxied = dag.dagProxied ? 'DAG proxied' : `${dag.proxied}/${dag.tasks} proxied`;
    return `${dag.mapped}/${dag.tasks} mapped · ${proxied}`;
}

export function dagStage(dag: ReportDag): string {
    if (dag.tasks === 0) {
        return 'no tasks';
    }
    if (dag.dagProxied || dag.proxied === dag.tasks) {
        return 'migrated';
    }
    if (dag.proxied > 0) {
        return 'migrating';
    }
    if (dag.mapped > 0) {
        return 'observing';
    }
    return 'peered';
}

export function runText(run: DagRun | null): string {
    if (!run) {
        return 'no run seen';
    }
    return `${run.state ?? 'no state'}${run.start_date ? ` since ${run.start_date}` : ''}`;
}

export function dagTooltip(dag: ReportDag): string {
    return [
        `${dag.dag_id} (${dagStage(dag)})`,
        dag.file,
        `${dag.tasks} tasks: ${dag.mapped} mapped to Dagster assets, ${dag.proxied} proxied${dag.dagProxied ? ' (whole DAG proxied)' : ''}`,
        `proxying hook: ${dag.hook}`,
        `last run: ${runText(dag.last_run)}`,
    ].join('\n');
}

export interface TaskEntry {
    task: TaskRef;
    /** The report's row for it (absent from servers before per-task rows). */
    row?: ReportTask;
}

/** A DAG's tasks for the tree: its symbols (where each task is defined) in their order, each
 * with its report row, then the rows no symbol names (tasks known from Airflow only). */
export function taskEntries(dag: ReportDag, symbols: TaskRef[]): TaskEntry[] {
    const rows = new Map(dag.task_rows.map((row) => [row.task_id, row]));
    const entries: TaskEntry[] = symbols.map((task) => ({ task, row: rows.get(task.task_id) }));
    const named = new Set(symbols.map((task) => task.task_id));
    for (const row of dag.task_rows) {
        if (!named.has(row.task_id)) {
            entries.push({ task: { dag_id: dag.dag_id, task_id: row.task_id }, row });
        }
    }
    return entries;
}

/** Tasks grouped under their DAGs, in report order; DAGs without symbols get none. */
export function tasksByDag(report: MigrationReport, tasks: TaskRef[]): Map<string, TaskRef[]> {
    const grouped = new Map<string, TaskRef[]>(report.dags.map((dag) => [dag.dag_id, []]));
    for (const task of tasks) {
        grouped.get(task.dag_id)?.push(task);
    }
    return grouped;
}

/** As the server's hover and `status` show them (server/peering/present.py, dagster_present.py). */
const AIRFLOW_ICONS: Record<string, string> = {
    success: '✓', failed: '✗', upstream_failed: '✗', running: '⏳', queued: '⏳', scheduled: '⏳', deferred: '⏳',
    awaiting_input: '⏳', up_for_retry: '↻', up_for_reschedule: '↻', restarting: '↻', skipped: '↷', removed: '–',
};
const DAGSTER_ICONS: Record<string, string> = {
    SUCCESS: '✓', FAILURE: '✗', CANCELED: '✗', CANCELING: '✗', QUEUED: '⏳', NOT_STARTED: '⏳', STARTING: '⏳',
    STARTED: '⏳', MANAGED: '○',
};

/** The Dagster UI shows run ids by their first 8 characters. */
export function shortRunId(runId: string): string {
    return runId.slice(0, 8);
}

/** `✓ SUCCESS ab12cd34`. */
export function dagsterRunText(run: DagsterRun): string {
    return `${DAGSTER_ICONS[run.status] ?? '○'} ${run.status} ${shortRunId(run.run_id)}`;
}

/** `observed · Airflow ✓ success → Dagster ✓ SUCCESS ab12cd34`: the tree item's description. */
export function taskDescription(task: ReportTask): string {
    const parts = [task.stage];
    if (task.last_run) {
        const state = task.last_run.state ?? 'no state';
        parts.push(`Airflow ${AIRFLOW_ICONS[state] ?? '○'} ${state}`);
    }
    const dagster = task.dagster_run ? `Dagster ${dagsterRunText(task.dagster_run)}` : '';
    return parts.join(' · ') + (dagster ? (task.last_run ? ' → ' : ' · ') + dagster : '');
}

/** Markdown-escaped: server text (task ids, asset keys, run ids) is shown, never interpreted. */
export function escapeMarkdown(value: string): string {
    return value.replace(/[\\`*_{}[\]()#+\-.!|<>~&]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/** The URL as a Markdown link target, when it is plain http(s); undefined otherwise. */
export function safeLink(url: string | null): string | undefined {
    if (!url) {
        return undefined;
    }
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return undefined;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        return undefined;
    }
    return parsed.href.replace(/[()<> "'\\]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The task's tooltip (Markdown, untrusted: no command links, no HTML): stage, assets, both
 * runs, and the Dagster run linked to its page in the Dagster UI. */
export function taskTooltip(dagId: string, task: ReportTask): string {
    const lines = [`**${escapeMarkdown(task.task_id)}** in ${escapeMarkdown(dagId)} (${escapeMarkdown(task.stage)})`];
    if (task.assets.length > 0) {
        lines.push(`assets: ${task.assets.map(escapeMarkdown).join(', ')}`);
    }
    lines.push(`Airflow run: ${escapeMarkdown(runText(task.last_run))}`);
    if (task.dagster_run) {
        const label = escapeMarkdown(`Dagster run ${dagsterRunText(task.dagster_run)}`);
        const link = safeLink(task.dagster_run_url);
        lines.push(link ? `[${label}](${link})` : label);
    }
    return lines.join('\n\n');
}

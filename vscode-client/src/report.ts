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

export interface ReportDag {
    dag_id: string;
    file: string;
    tasks: number;
    mapped: number;
    proxied: number;
    dagProxied: boolean;
    hook: string;
    last_run: DagRun | null;
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

/** Tasks grouped under their DAGs, in report order; DAGs without symbols get none. */
export function tasksByDag(report: MigrationReport, tasks: TaskRef[]): Map<string, TaskRef[]> {
    const grouped = new Map<string, TaskRef[]>(report.dags.map((dag) => [dag.dag_id, []]));
    for (const task of tasks) {
        grouped.get(task.dag_id)?.push(task);
    }
    return grouped;
}

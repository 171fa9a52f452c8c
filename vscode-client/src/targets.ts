/**
 * Which DAG or task a command acts on: from its arguments (code lenses, the report view), or
 * asked with a quick pick built from `airlift.migrationReport` and workspace symbols.
 */
import * as path from 'node:path';
import { ServerCommand } from './constants';
import { dagSummary, parseReport, tasksFromSymbols, type MigrationReport, type TaskRef } from './report';
import type { Host, PickItem } from './vscodeapi';

/** What commands need from the language client. */
export interface ServerPort {
    running(): boolean;
    executeCommand(command: string, args: unknown[]): Promise<unknown>;
    workspaceSymbols(query: string): Promise<unknown>;
}

export interface Target {
    dag_id?: string;
    task_id?: string;
}

function nonEmpty(value: unknown): string | undefined {
    return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `[{dag_id, task_id}]` (lenses, the server's contract), a report view node, or `["dag", "task"]`. */
export function targetFromArgs(args: readonly unknown[]): Target {
    const [first, second] = args;
    if (typeof first === 'object' && first !== null) {
        const record = first as Record<string, unknown>;
        return { dag_id: nonEmpty(record.dag_id), task_id: nonEmpty(record.task_id) };
    }
    if (typeof first === 'string') {
        return { dag_id: nonEmpty(first), task_id: nonEmpty(second) };
    }
    return {};
}

export async function fetchReport(port: ServerPort): Promise<MigrationReport> {
    return parseReport(await port.executeCommand(ServerCommand.migrationReport, []));
}

export async function fetchTasks(port: ServerPort): Promise<TaskRef[]> {
    return tasksFromSymbols(await port.workspaceSymbols(''));
}

function sameFile(a: string | undefined, b: string | undefined): boolean {
    return a !== undefined && b !== undefined && path.resolve(a) === path.resolve(b);
}

export interface DagItem extends PickItem {
    dag_id: string;
}

export interface TaskItem extends PickItem {
    task: TaskRef;
}

/** DAGs of the active file first, then by id. */
export function dagItems(report: MigrationReport, activeFile: string | undefined, root: string | undefined): DagItem[] {
    const rank = (file: string) => (sameFile(file, activeFile) ? 0 : 1);
    return [...report.dags]
        .sort((a, b) => rank(a.file) - rank(b.file) || a.dag_id.localeCompare(b.dag_id))
        .map((dag) => ({
            label: dag.dag_id,
            description: dagSummary(dag),
            detail: root && dag.file ? path.relative(root, dag.file) : dag.file,
            dag_id: dag.dag_id,
        }));
}

/** Tasks (of one DAG, when given) with those of the active file first. */
export function taskItems(tasks: TaskRef[], dagId: string | undefined, activeFile: string | undefined): TaskItem[] {
    const rank = (task: TaskRef) => (sameFile(task.file, activeFile) ? 0 : 1);
    return tasks
        .filter((task) => dagId === undefined || task.dag_id === dagId)
        .sort((a, b) => rank(a) - rank(b))
        .map((task) => ({ label: task.task_id, description: task.dag_id, task }));
}

/** Fill in what the arguments lack by asking; undefined when the user cancels. */
export async function resolveTarget(
    host: Host,
    port: ServerPort,
    given: Target,
    needs: 'dag' | 'task',
    title: string,
): Promise<Target | undefined> {
    if (given.dag_id && (needs === 'dag' || given.task_id)) {
        return given;
    }
    const root = host.workspaceFolders()[0];
    if (needs === 'dag') {
        const report = await fetchReport(port);
        if (report.dags.length === 0) {
            await host.showInformationMessage(
                report.indexing ? 'Airlift: still indexing the workspace; try again in a moment.' : 'Airlift: no Airflow DAG found in this workspace.',
            );
            return undefined;
        }
        const picked = await host.showQuickPick(dagItems(report, host.activeFile(), root), {
            title,
            placeHolder: 'DAG',
            matchOnDescription: false,
        });
        return picked ? { dag_id: picked.dag_id } : undefined;
    }
    const items = taskItems(await fetchTasks(port), given.dag_id, host.activeFile());
    if (items.length === 0) {
        await host.showInformationMessage(
            given.dag_id ? `Airlift: DAG ${given.dag_id} has no task.` : 'Airlift: no Airflow task found in this workspace.',
        );
        return undefined;
    }
    const picked = await host.showQuickPick(items, { title, placeHolder: 'task (its DAG on the right)', matchOnDescription: true });
    return picked ? { dag_id: picked.task.dag_id, task_id: picked.task.task_id } : undefined;
}

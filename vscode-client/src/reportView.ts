/** The "Migration report" tree: DAGs with their migration progress, their tasks under them. */
import * as vscode from 'vscode';
import { REPORT_VIEW } from './constants';
import {
    dagStage, dagSummary, dagTooltip, taskDescription, taskEntries, tasksByDag, taskTooltip, type ReportDag,
    type ReportTask, type TaskEntry, type TaskRef,
} from './report';
import { fetchReport, fetchTasks, type ServerPort } from './targets';

/** Nodes carry `dag_id` / `task_id` so the context-menu commands read them as their argument. */
export type ReportNode =
    | { kind: 'dag'; dag_id: string; dag: ReportDag; tasks: TaskEntry[] }
    | { kind: 'task'; dag_id: string; task_id: string; task: TaskRef; row?: ReportTask };

const STAGE_ICONS: Record<string, string> = {
    migrated: 'pass-filled',
    migrating: 'arrow-swap',
    observing: 'eye',
    peered: 'circle-large-outline',
    'no tasks': 'circle-slash',
};

const REFRESH_DELAY_MS = 300;
const INDEXING_RETRY_MS = 1000;
const INDEXING_RETRIES = 30;

export class ReportView implements vscode.TreeDataProvider<ReportNode>, vscode.Disposable {
    private readonly changed = new vscode.EventEmitter<ReportNode | undefined>();
    readonly onDidChangeTreeData = this.changed.event;
    private readonly view: vscode.TreeView<ReportNode>;
    private nodes: ReportNode[] = [];
    private timer: NodeJS.Timeout | undefined;
    private retries = 0;

    constructor(private readonly port: ServerPort, private readonly log: (message: string) => void) {
        this.view = vscode.window.createTreeView(REPORT_VIEW, { treeDataProvider: this, showCollapseAll: true });
    }

    /** Fetch again soon; calls in a burst coalesce. */
    refresh(): void {
        if (this.timer) {
            clearTimeout(this.timer);
        }
        this.timer = setTimeout(() => void this.load(), REFRESH_DELAY_MS);
    }

    /** The user opened the view (a dormant extension wakes for it). */
    onDidBecomeVisible(listener: () => void): vscode.Disposable {
        return this.view.onDidChangeVisibility((event) => event.visible && listener());
    }

    async reveal(): Promise<void> {
        await vscode.commands.executeCommand(`${REPORT_VIEW}.focus`);
    }

    private async load(): Promise<void> {
        this.timer = undefined;
        if (!this.port.running()) {
            this.nodes = [];
            this.view.message = 'The Airlift language server is not running (see "Airlift: Show output").';
            this.changed.fire(undefined);
            return;
        }
        try {
            const [report, tasks] = await Promise.all([fetchReport(this.port), fetchTasks(this.port)]);
            const grouped = tasksByDag(report, tasks);
            this.nodes = report.dags.map((dag) => ({
                kind: 'dag', dag_id: dag.dag_id, dag, tasks: taskEntries(dag, grouped.get(dag.dag_id) ?? []),
            }));
            if (report.indexing) {
                this.view.message = 'Indexing the workspace…';
                if (this.retries++ < INDEXING_RETRIES) {
                    this.timer = setTimeout(() => void this.load(), INDEXING_RETRY_MS);
                }
            } else {
                this.retries = 0;
                this.view.message = report.dags.length === 0 ? 'No Airflow DAG found in the DAG folders.' : undefined;
            }
        } catch (error) {
            this.log(`migration report: ${String(error)}`);
            this.view.message = `Could not get the migration report: ${String(error)}`;
        }
        this.changed.fire(undefined);
    }

    getChildren(node?: ReportNode): ReportNode[] {
        if (!node) {
            return this.nodes;
        }
        if (node.kind === 'dag') {
            return node.tasks.map(({ task, row }) => ({ kind: 'task', dag_id: task.dag_id, task_id: task.task_id, task, row }));
        }
        return [];
    }

    getTreeItem(node: ReportNode): vscode.TreeItem {
        if (node.kind === 'dag') {
            const item = new vscode.TreeItem(node.dag_id, node.tasks.length > 0
                ? vscode.TreeItemCollapsibleState.Expanded
                : vscode.TreeItemCollapsibleState.None);
            item.description = dagSummary(node.dag);
            item.tooltip = dagTooltip(node.dag);
            item.iconPath = new vscode.ThemeIcon(STAGE_ICONS[dagStage(node.dag)] ?? 'circle-large-outline');
            item.contextValue = 'airlift.dag';
            item.id = `dag:${node.dag_id}`;
            return item;
        }
        const item = new vscode.TreeItem(node.task_id, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('symbol-function');
        item.contextValue = 'airlift.task';
        item.id = `task:${node.dag_id}:${node.task_id}`;
        if (node.row) {
            item.description = taskDescription(node.row);
            // Untrusted Markdown (no command links, no HTML), every server string escaped: the
            // Dagster run's link opens its page in the Dagster UI.
            item.tooltip = new vscode.MarkdownString(taskTooltip(node.dag_id, node.row));
        }
        if (node.task.file) {
            const position = new vscode.Position(node.task.line ?? 0, node.task.character ?? 0);
            item.command = {
                title: 'Go to task',
                command: 'vscode.open',
                arguments: [vscode.Uri.file(node.task.file), { selection: new vscode.Range(position, position) }],
            };
            item.tooltip ??= `${node.task_id} in ${node.dag_id}`;
        }
        return item;
    }

    dispose(): void {
        if (this.timer) {
            clearTimeout(this.timer);
        }
        this.view.dispose();
        this.changed.dispose();
    }
}

/** Ids shared with package.json and the language server (docs/language-server.md: command ids are contracts). */

export const EXTENSION_ID = 'airlift-lsp.airlift-lsp';
/** The client id: VS Code reads `airlift.trace.server` from it. */
export const CLIENT_ID = 'airlift';
export const CLIENT_NAME = 'Airlift';
export const CONFIG_SECTION = 'airlift';
export const STATUS_NOTIFICATION = 'airlift/status';
export const PASSWORD_SECRET = 'airlift.airflow.password';
/** The bearer token of `airflow.auth = "token"` (Airflow 3 API token, Astronomer deployment token). */
export const AIRFLOW_TOKEN_SECRET = 'airlift.airflow.token';
/** A Dagster+ API token for `dagster.url`. */
export const DAGSTER_TOKEN_SECRET = 'airlift.dagster.token';
export const REPORT_VIEW = 'airlift.report';
/** Context key: the active editor is one of the server's DAG files (palette `when` clauses). */
export const DAG_FILE_CONTEXT = 'airlift.dagFileActive';
/** Context key: the workspace is an Airlift project and the extension is awake. */
export const ACTIVE_CONTEXT = 'airlift.active';

/** Commands the server executes (`workspace/executeCommand`), also in the palette. */
export const ServerCommand = {
    mapTask: 'airlift.mapTask',
    mapDag: 'airlift.mapDag',
    proxyTask: 'airlift.proxyTask',
    proxyDag: 'airlift.proxyDag',
    rollbackTask: 'airlift.rollbackTask',
    rollbackDag: 'airlift.rollbackDag',
    rollbackAll: 'airlift.rollbackAll',
    enableProxying: 'airlift.enableProxying',
    refreshStatus: 'airlift.refreshStatus',
    migrationReport: 'airlift.migrationReport',
    verify: 'airlift.verify',
    peer: 'airlift.peer',
    decommissionDag: 'airlift.decommissionDag',
} as const;

/** Commands the extension handles itself. */
export const ClientCommand = {
    setPassword: 'airlift.setAirflowPassword',
    clearPassword: 'airlift.clearAirflowPassword',
    setAirflowToken: 'airlift.setAirflowToken',
    clearAirflowToken: 'airlift.clearAirflowToken',
    setDagsterToken: 'airlift.setDagsterToken',
    clearDagsterToken: 'airlift.clearDagsterToken',
    restartServer: 'airlift.restartServer',
    showOutput: 'airlift.showOutput',
    statusMenu: 'airlift.statusMenu',
} as const;

/** Commands that edit files: they need a DAG and a task. */
export const TASK_COMMANDS: readonly string[] = [ServerCommand.mapTask, ServerCommand.proxyTask, ServerCommand.rollbackTask];
/** Commands that edit files: they need a DAG. */
export const DAG_COMMANDS: readonly string[] = [
    ServerCommand.mapDag,
    ServerCommand.proxyDag,
    ServerCommand.rollbackDag,
    ServerCommand.enableProxying,
    ServerCommand.decommissionDag,
];
/** Every command that writes to the workspace: off in Restricted Mode. */
export const EDIT_COMMANDS: readonly string[] = [...TASK_COMMANDS, ...DAG_COMMANDS, ServerCommand.rollbackAll, ServerCommand.peer];

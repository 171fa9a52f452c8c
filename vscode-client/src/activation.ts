/**
 * Whether this workspace is an Airlift project, decided cheaply when a broad activation event
 * (any Python file, any pyproject.toml) fired: a `proxied_state/*.yaml`, a pyproject.toml with a
 * `[tool.airlift-lsp]` table, or a Python file importing Airflow. Anything else stays dormant:
 * no status bar item, no server, no prompt. No `vscode` here (the glue is in extension.ts).
 */
import * as path from 'node:path';
import type { MigrationReport } from './report';

/** `[tool.airlift-lsp]`, `[tool.airlift-lsp.airflow]`, `[tool."airlift-lsp"]`, or a dotted key under `[tool]`. */
const AIRLIFT_TABLE = /^[ \t]*\[[ \t]*tool[ \t]*\.[ \t]*("airlift-lsp"|airlift-lsp)[ \t]*[\].]|^[ \t]*(tool[ \t]*\.[ \t]*)?("airlift-lsp"|airlift-lsp)[ \t]*\./m;
/** `import airflow`, `import airflow.models as m`, `from airflow import DAG`, `from airflow.sdk import dag`. */
const AIRFLOW_IMPORT = /^[ \t]*(?:import[ \t]+airflow\b|from[ \t]+airflow(?:\.[\w.]+)?[ \t]+import\b)/m;

/** How much of a Python file the scan reads: imports come first. */
export const HEAD_BYTES = 16 * 1024;
/** How many Python files the scan reads at most; a DAG file opened later wakes the extension too. */
export const SCAN_LIMIT = 200;
export const SCAN_EXCLUDE = '**/{node_modules,.venv,venv,.env,env,.git,__pycache__,site-packages,.tox,.nox,.cache}/**';

export function declaresAirlift(pyproject: string): boolean {
    return AIRLIFT_TABLE.test(pyproject);
}

export function importsAirflow(python: string): boolean {
    return AIRFLOW_IMPORT.test(python);
}

/** True when `file` is a DAG file of the report (the DAG and task commands apply to it). */
export function isDagFile(report: MigrationReport, file: string | undefined): boolean {
    if (!file) {
        return false;
    }
    const resolved = path.resolve(file);
    return report.dags.some((dag) => dag.file !== '' && path.resolve(dag.file) === resolved);
}

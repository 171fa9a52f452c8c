/**
 * The interpreter selected in the Python extension (ms-python.python), when it is installed.
 * Only the part of its API this extension uses, typed locally (no dependency on its package).
 */
import * as vscode from 'vscode';

interface EnvironmentPath {
    readonly id: string;
    readonly path: string;
}

interface EnvironmentsApi {
    getActiveEnvironmentPath(resource?: vscode.Uri): EnvironmentPath;
    resolveEnvironment(environment: EnvironmentPath | string): Promise<
        { readonly executable: { readonly uri: vscode.Uri | undefined } } | undefined
    >;
    readonly onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
}

interface PythonExtensionApi {
    /** The stable API; older releases called it `environment`. */
    readonly environments?: EnvironmentsApi;
    readonly environment?: EnvironmentsApi;
}

const PYTHON_EXTENSION = 'ms-python.python';

async function environmentsApi(): Promise<EnvironmentsApi | undefined> {
    const extension = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION);
    if (!extension) {
        return undefined;
    }
    const api = extension.isActive ? extension.exports : await extension.activate();
    return api?.environments ?? api?.environment;
}

/** The selected interpreter's executable for `resource`, or undefined. Never throws. */
export async function selectedInterpreter(resource: vscode.Uri | undefined, log: (message: string) => void): Promise<string | undefined> {
    try {
        const api = await environmentsApi();
        if (!api) {
            return undefined;
        }
        const environment = await api.resolveEnvironment(api.getActiveEnvironmentPath(resource));
        return environment?.executable.uri?.fsPath;
    } catch (error) {
        log(`the Python extension did not give an interpreter: ${String(error)}`);
        return undefined;
    }
}

/** Fires when the user selects another interpreter (no-op without the Python extension). */
export async function onDidChangeInterpreter(listener: () => void): Promise<vscode.Disposable | undefined> {
    try {
        const api = await environmentsApi();
        return api?.onDidChangeActiveEnvironmentPath(() => listener());
    } catch {
        return undefined;
    }
}

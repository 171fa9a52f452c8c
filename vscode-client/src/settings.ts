/**
 * Typed `airlift.*` settings, and the settings object the server gets (docs/settings.md).
 *
 * Only values someone set are sent: the server's own precedence (client, then the workspace's
 * `[tool.airlift-lsp]`, then the environment) must see an unset editor setting as unset.
 */
import type { ConfigurationReader } from './vscodeapi';

export type ApiVersion = 'auto' | 'v1' | 'v2';
const API_VERSIONS: readonly string[] = ['auto', 'v1', 'v2'];
/** `airflow.auth` (docs/settings.md); the secrets of `token` / `astro` come from secret storage. */
const AUTH_BACKENDS: readonly string[] = ['basic', 'token', 'mwaa', 'composer', 'astro', 'command'];

export interface AirflowSettings {
    url?: string;
    username?: string;
    auth?: string;
    apiVersion?: ApiVersion;
    pollInterval?: number;
    verifyTls?: boolean;
    /** The project's own Airflow interpreter, for **Airlift: Verify with Airflow**. */
    python?: string;
}

export interface ExtensionSettings {
    airflow: AirflowSettings;
    dagFolders?: string[];
    dagsterModule?: string;
    /** The project's own Dagster interpreter (verify loads the Dagster module too), and the
     * Dagster webserver whose runs of proxied tasks hovers and lenses show. */
    dagster: { python?: string; url?: string };
    server: {
        /** The `airlift-lsp` executable; empty: the Python environment's, then the extension's own. */
        command?: string;
        /** What `pip install` gets for the extension's own environment; unset: the bundled wheel. */
        installSource?: string;
    };
}

/** The object sent as `initializationOptions.airlift` and as the `airlift` configuration section. */
export interface ServerSettings {
    airflow: {
        url?: string;
        username?: string;
        password?: string;
        /** The bearer token of `airflow.auth = "token"` / `"astro"`, from secret storage. */
        token?: string;
        auth?: string;
        apiVersion?: ApiVersion;
        pollInterval?: number;
        verifyTls?: boolean;
        python?: string;
    };
    /** `token`: a Dagster+ API token, from secret storage. */
    dagster?: { python?: string; url?: string; token?: string };
    dagFolders?: string[];
    dagsterModule?: string;
}

/** Read and check every setting; a bad value becomes a warning and is ignored (fails soft). */
export function readSettings(config: ConfigurationReader): { settings: ExtensionSettings; warnings: string[] } {
    const warnings: string[] = [];
    const text = (key: string): string | undefined => {
        const value = config.get(key);
        if (value === undefined || value === null) {
            return undefined;
        }
        if (typeof value !== 'string') {
            warnings.push(`airlift.${key}: expected a string; ignored`);
            return undefined;
        }
        return value.trim() || undefined;
    };
    const apiVersion = text('airflow.apiVersion');
    if (apiVersion !== undefined && !API_VERSIONS.includes(apiVersion)) {
        warnings.push(`airlift.airflow.apiVersion: expected auto, v1 or v2, got "${apiVersion}"; ignored`);
    }
    const auth = text('airflow.auth');
    if (auth !== undefined && !AUTH_BACKENDS.includes(auth)) {
        warnings.push(`airlift.airflow.auth: expected one of ${AUTH_BACKENDS.join(', ')}, got "${auth}"; ignored`);
    }
    const pollInterval = config.get('airflow.pollInterval');
    const pollValid = typeof pollInterval === 'number' && Number.isFinite(pollInterval) && pollInterval >= 1;
    if (pollInterval !== undefined && !pollValid) {
        warnings.push('airlift.airflow.pollInterval: expected seconds >= 1; ignored');
    }
    const verifyTls = config.get('airflow.verifyTls');
    if (verifyTls !== undefined && typeof verifyTls !== 'boolean') {
        warnings.push('airlift.airflow.verifyTls: expected true or false; ignored');
    }
    const dagFolders = config.get('dagFolders');
    const foldersValid = Array.isArray(dagFolders) && dagFolders.every((f) => typeof f === 'string' && f.trim() !== '');
    if (dagFolders !== undefined && !foldersValid) {
        warnings.push('airlift.dagFolders: expected a list of folder paths; ignored');
    }
    const settings: ExtensionSettings = {
        airflow: {
            url: text('airflow.url'),
            username: text('airflow.username'),
            auth: auth !== undefined && AUTH_BACKENDS.includes(auth) ? auth : undefined,
            apiVersion: apiVersion !== undefined && API_VERSIONS.includes(apiVersion) ? (apiVersion as ApiVersion) : undefined,
            pollInterval: pollValid ? (pollInterval as number) : undefined,
            verifyTls: typeof verifyTls === 'boolean' ? verifyTls : undefined,
            python: text('airflow.python'),
        },
        dagster: { python: text('dagster.python'), url: text('dagster.url') },
        // An empty list is the default ("the whole workspace"): leave it to pyproject.toml.
        dagFolders: foldersValid && (dagFolders as string[]).length > 0 ? (dagFolders as string[]) : undefined,
        dagsterModule: text('dagsterModule'),
        server: {
            command: text('server.command'),
            installSource: text('server.installSource'),
        },
    };
    return { settings, warnings };
}

/** What secret storage holds; an empty value counts as unset. */
export interface Secrets {
    password?: string;
    airflowToken?: string;
    dagsterToken?: string;
}

/**
 * What the server gets: the secrets (password, Airflow token, Dagster+ token) come from secret
 * storage, never from settings. In Restricted Mode peering and verify are off: no secret, and an
 * explicitly empty URL and interpreters so the workspace's pyproject.toml cannot turn them on
 * (the server process also gets no AIRFLOW_* variables, see `serverEnvironment`).
 */
export function serverSettings(
    settings: ExtensionSettings,
    options: { trusted: boolean } & Secrets,
): ServerSettings {
    const { url, username, auth, apiVersion, pollInterval, verifyTls, python } = settings.airflow;
    const password = options.password || undefined;
    const token = options.airflowToken || undefined;
    const airflow: ServerSettings['airflow'] = options.trusted
        ? { url, username, password, auth, token, apiVersion, pollInterval, verifyTls, python }
        : { url: '', python: '' };
    const dagster = options.trusted
        ? dropUndefined({ python: settings.dagster.python, url: settings.dagster.url, token: options.dagsterToken || undefined })
        : { python: '', url: '' };
    return dropUndefined({
        airflow: dropUndefined(airflow),
        dagster: Object.keys(dagster).length > 0 ? dagster : undefined,
        dagFolders: settings.dagFolders,
        dagsterModule: settings.dagsterModule,
    });
}

const AIRFLOW_VARIABLES = ['AIRFLOW_URL', 'AIRFLOW_USERNAME', 'AIRFLOW_PASSWORD', 'AIRFLOW_TOKEN', 'AIRFLOW_TOKEN_COMMAND',
    'DAGSTER_URL', 'DAGSTER_CLOUD_API_TOKEN'];

/** The server process's environment: without Airflow or Dagster credentials in Restricted Mode. */
export function serverEnvironment(
    environment: Record<string, string | undefined>,
    trusted: boolean,
): Record<string, string | undefined> {
    const copy = { ...environment };
    if (!trusted) {
        for (const name of AIRFLOW_VARIABLES) {
            delete copy[name];
        }
    }
    return copy;
}

/** Settings as they may be logged: the password and the tokens replaced. */
export function redacted(settings: ServerSettings): ServerSettings {
    const mask = <T extends object>(part: T, keys: readonly (keyof T)[]): T =>
        Object.fromEntries(Object.entries(part).map(([k, v]) => [k, keys.includes(k as keyof T) && v !== undefined ? '***' : v])) as T;
    const copy: ServerSettings = { ...settings, airflow: mask(settings.airflow, ['password', 'token']) };
    if (settings.dagster) {
        copy.dagster = mask(settings.dagster, ['token']);
    }
    return copy;
}

function dropUndefined<T extends object>(value: T): T {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

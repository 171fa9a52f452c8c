/**
 * The server's stderr, as the Output channel shows it: each line at the level the server logged
 * it (`%(asctime)s %(levelname)s %(name)s: %(message)s`, see `run_serve`), not all as errors;
 * pygls's noise dropped; hints that name an environment variable also name the editor's command.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface LogLine {
    level: LogLevel;
    text: string;
}

const HEADER = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d+)? (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+): ?(.*)$/;
const LEVELS: Record<string, LogLevel> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error', CRITICAL: 'error' };

/**
 * pygls warns for every `$/cancelRequest` of a request it already answered: VS Code sends many
 * (hover, lenses), and none is a problem.
 */
const NOISE = [/Cancel notification for unknown message id/];

export const SET_PASSWORD_COMMAND = 'Airlift: Set Airflow password';

/** In the editor the password comes from its secret storage: say how to put it there. */
export function editorHint(text: string): string {
    return text
        .replace(/\buse AIRFLOW_PASSWORD or the editor's secret storage\b/g, `use "${SET_PASSWORD_COMMAND}" or AIRFLOW_PASSWORD`)
        .replace(/\bset (airflow\.username and )?AIRFLOW_PASSWORD\b/g,
        (_match, user: string | undefined) =>
            `${user ? 'set airlift.airflow.username and ' : ''}set the password with "${SET_PASSWORD_COMMAND}" (or AIRFLOW_PASSWORD)`);
}

/**
 * Reads the server's stderr line by line. A line without a header (a traceback's continuation)
 * keeps the level of the record it belongs to; a dropped record drops its continuation lines too.
 */
export class ServerLogReader {
    private level: LogLevel = 'error';
    private dropping = false;

    /** The line to show, or undefined to drop it. */
    read(line: string): LogLine | undefined {
        const header = HEADER.exec(line);
        if (header) {
            const [, levelName, logger, message] = header;
            this.level = LEVELS[levelName];
            this.dropping = NOISE.some((pattern) => pattern.test(message));
            return this.dropping ? undefined : { level: this.level, text: editorHint(`${logger}: ${message}`) };
        }
        if (this.dropping || line.trim() === '') {
            return undefined;
        }
        return { level: this.level, text: editorHint(line) };
    }
}

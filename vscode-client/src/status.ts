/** The status bar item fed by the server's `airlift/status` notification. */
import { ClientCommand } from './constants';
import { editorHint } from './serverLog';
import type { Host, StatusItem } from './vscodeapi';

export type PeeringState = 'connected' | 'connecting' | 'unreachable' | 'unauthorized' | 'disabled';

/** `airlift/status` params, as the server's poller sends them. */
export interface PeeringStatus {
    state: PeeringState | string;
    url?: string | null;
    apiVersion?: string | null;
    lastPoll?: string | null;
    error?: string | null;
}

export interface StatusView {
    text: string;
    tooltip: string;
    background: string | undefined;
}

export const DISABLED: PeeringStatus = { state: 'disabled' };

/** Accept only objects shaped like a status; anything else shows as `disabled`. */
export function parseStatus(params: unknown): PeeringStatus {
    if (typeof params !== 'object' || params === null || typeof (params as PeeringStatus).state !== 'string') {
        return DISABLED;
    }
    return params as PeeringStatus;
}

function when(lastPoll: string | null | undefined): string {
    if (!lastPoll) {
        return '';
    }
    const date = new Date(lastPoll);
    return Number.isNaN(date.getTime()) ? ` · last poll ${lastPoll}` : ` · last poll ${date.toLocaleTimeString()}`;
}

export function describeStatus(status: PeeringStatus, options: { trusted: boolean }): StatusView {
    const where = status.url ? `${status.url}${status.apiVersion ? ` (API ${status.apiVersion})` : ''}` : 'Airflow';
    const click = '\nClick for actions: refresh, output, password, settings.';
    switch (status.state) {
        case 'connected':
            return {
                text: '$(pass) Airflow',
                tooltip: `Airlift: connected to ${where}${when(status.lastPoll)}${click}`,
                background: undefined,
            };
        case 'connecting':
            return {
                text: '$(sync~spin) Airflow',
                tooltip: `Airlift: connecting to ${where}…${click}`,
                background: undefined,
            };
        case 'unreachable':
            return {
                text: '$(warning) Airflow: unreachable',
                tooltip: `Airlift: cannot reach ${where}: ${editorHint(status.error ?? 'no answer')}${when(status.lastPoll)}${click}`,
                background: 'statusBarItem.warningBackground',
            };
        case 'unauthorized':
            return {
                text: '$(lock) Airflow: unauthorized',
                tooltip: `Airlift: ${where} refused the credentials: ${editorHint(status.error ?? 'authentication failed')}` +
                    `\nSet the user in airlift.airflow.username and the password with "Airlift: Set Airflow password".${click}`,
                background: 'statusBarItem.errorBackground',
            };
        default:
            return {
                text: '$(circle-slash) Airflow: off',
                tooltip: options.trusted
                    ? `Airlift: not peering with Airflow (set airlift.airflow.url, or [tool.airlift-lsp] airflow.url in pyproject.toml).${click}`
                    : `Airlift: peering is off in Restricted Mode; trust the workspace to see live Airflow runs.${click}`,
                background: undefined,
            };
    }
}

export class StatusBar {
    private readonly item: StatusItem;
    private current: PeeringStatus = DISABLED;

    constructor(private readonly host: Host) {
        this.item = host.createStatusItem('airlift.status', 'Airlift: Airflow status');
        this.item.command = ClientCommand.statusMenu;
        this.update(DISABLED);
    }

    /** Shown only once the workspace is an Airlift project (see extension.ts). */
    show(): void {
        this.item.show();
    }

    get status(): PeeringStatus {
        return this.current;
    }

    update(status: PeeringStatus): void {
        this.current = status;
        const view = describeStatus(status, { trusted: this.host.isTrusted() });
        this.item.text = view.text;
        this.item.tooltip = view.tooltip;
        this.item.background = view.background;
    }

    dispose(): void {
        this.item.dispose();
    }
}

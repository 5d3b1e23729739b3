// The connection state, always visible: connected, connecting, reconnecting or offline.
import type { ConnectionStatus } from "../sdk.js";

const LABELS: Record<ConnectionStatus, string> = {
  connected: "Connected",
  connecting: "Connecting…",
  reconnecting: "Reconnecting…",
  disconnected: "Offline",
};

export function ConnectionPill({ status }: { status: ConnectionStatus }) {
  return (
    <span
      class={`pill ${status}`}
      data-testid="connection-status"
      data-status={status}
      role="status"
    >
      <span class="pill-dot" aria-hidden="true" />
      {LABELS[status]}
    </span>
  );
}

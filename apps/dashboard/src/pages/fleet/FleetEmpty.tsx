/** First-run help: how to expose an app-server and add it as a target. */
import { EmptyState } from "../../components/StateViews.tsx";

const CONFIG_SNIPPET = `targets:
  - name: alice                      # one target per developer
    team: payments
    url: wss://alice-dev.example.com:4500
    tokenFile: /etc/codex-fleet/alice.token
  - name: bob
    team: payments
    url: ws://127.0.0.1:4501
    tokenEnv: BOB_TOKEN`;

const SERVER_COMMAND = `openssl rand -hex 32 > ~/.codex/ws-token && chmod 600 ~/.codex/ws-token
codex app-server --listen ws://127.0.0.1:4500 \\
  --ws-auth capability-token --ws-token-file ~/.codex/ws-token`;

/** Shown when the collector has no targets configured. */
export function FleetEmpty() {
  return (
    <div className="card" data-testid="fleet-empty">
      <EmptyState title="No targets yet">
        <p>
          codex-fleet watches one <code>codex app-server</code> per developer, read-only. Add a target in
          three steps:
        </p>
        <ol className="steps">
          <li>
            On the developer's machine, start a long-lived app-server with a WebSocket listener and a token:
            <pre className="snippet">{SERVER_COMMAND}</pre>
            Put TLS (or an SSH tunnel) in front of a listener that leaves the machine: tokens only travel over{" "}
            <code>wss://</code> or to loopback. The developer points their own client at it with{" "}
            <code>codex --remote ws://127.0.0.1:4500 --remote-auth-token-env CODEX_WS_TOKEN</code>.
          </li>
          <li>
            Add it under <code>targets:</code> in the collector's config file (<code>--config FILE</code> or{" "}
            <code>CODEX_FLEET_CONFIG</code>):
            <pre className="snippet">{CONFIG_SNIPPET}</pre>
          </li>
          <li>Restart the collector. The target appears here with its connection state within seconds.</li>
        </ol>
      </EmptyState>
    </div>
  );
}

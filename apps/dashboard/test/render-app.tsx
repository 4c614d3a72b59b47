/** Renders the whole dashboard at a URL with the fake WebSocket, as a browser would load it. */
import { act, render } from "@testing-library/react";
import { App } from "../src/App.tsx";
import { FakeWebSocket } from "./fake-websocket.ts";
import { snapshotMessage } from "./fixtures.ts";

/** Options every test uses: no jitter (random = 0) so delays are exact. */
export const LIVE_OPTIONS = {
  WebSocketImpl: FakeWebSocket,
  url: "ws://dashboard.test/api/v1/live",
  random: () => 0,
};

/** Mounts <App/> at `path`. */
export function renderApp(path: string) {
  window.history.replaceState(null, "", path);
  return render(<App liveOptions={LIVE_OPTIONS} />);
}

/** Opens the live socket and sends the snapshot (fixtures unless overridden). */
export function deliverSnapshot(message = snapshotMessage()) {
  act(() => {
    const socket = FakeWebSocket.latest();
    socket.open();
    socket.receive(message);
  });
}

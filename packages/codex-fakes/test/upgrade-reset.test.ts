/**
 * A client that resets its connection during an upgrade the fake refuses or never answers must
 * not become an uncaught ECONNRESET in the test process (Node drops its socket error listener
 * before emitting 'upgrade'). Vitest fails the run on an uncaught error, so this test can fail.
 */
import { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ScriptedPeer, startScriptedPeer } from "../src/scripted-peer.ts";

const UPGRADE =
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

/** Send an upgrade request, wait until the peer has seen it, then reset the connection (RST). */
async function upgradeThenReset(peer: ScriptedPeer): Promise<void> {
  const seen = peer.upgrades.length;
  const socket = new Socket();
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.connect(peer.port, "127.0.0.1", resolve));
  socket.write(UPGRADE);
  while (peer.upgrades.length === seen) await new Promise((r) => setTimeout(r, 5));
  socket.resetAndDestroy();
  // Give the peer's side time to read the reset.
  await new Promise((r) => setTimeout(r, 100));
}

let peer: ScriptedPeer | undefined;
afterEach(async () => {
  await peer?.close();
  peer = undefined;
});

describe("a client that resets an upgrade", () => {
  it("is harmless when the peer hangs the upgrade", async () => {
    peer = await startScriptedPeer({ upgrade: { kind: "hang" } });
    await upgradeThenReset(peer);
    expect(peer.upgrades).toHaveLength(1);
  });

  it("is harmless when the peer refuses the upgrade", async () => {
    peer = await startScriptedPeer({ upgrade: { kind: "refuse", status: 401, body: "bad token" } });
    await upgradeThenReset(peer);
    expect(peer.upgrades).toHaveLength(1);
  });
});

/**
 * A TCP proxy that meters what a WebSocket client receives: every byte from the server after
 * the HTTP upgrade response, and every WebSocket frame by opcode (server frames are unmasked,
 * RFC 6455 §5.2). Both sides of the footprint comparison are metered the same way, on the wire.
 */
import { createServer, Socket } from "node:net";

/** What the client side of every proxied connection received. */
export interface WsMeterCounts {
  /** Bytes after the upgrade response (frame headers included). */
  bytes: number;
  /** Text and continuation frames (the JSON-RPC messages). */
  dataFrames: number;
  /** Ping, pong and close frames. */
  controlFrames: number;
  /** Data frames and bytes by JSON-RPC method ("(response)" for answers). */
  byMethod: Record<string, { frames: number; bytes: number }>;
}

/** A running meter in front of one server. */
export interface WsMeter {
  readonly port: number;
  snapshot(): WsMeterCounts;
  close(): Promise<void>;
}

/** Parses the server → client byte stream of one connection. */
class Downstream {
  private upgraded = false;
  private head = "";
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly counts: WsMeterCounts) {}

  push(chunk: Buffer): void {
    let data = chunk;
    if (!this.upgraded) {
      this.head += data.toString("latin1");
      const end = this.head.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.upgraded = true;
      data = Buffer.from(this.head.slice(end + 4), "latin1");
    }
    this.counts.bytes += data.length;
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = (this.buf[0] as number) & 0x0f;
      const masked = ((this.buf[1] as number) & 0x80) !== 0;
      let len = (this.buf[1] as number) & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (masked) off += 4;
      if (this.buf.length < off + len) return;
      if (opcode <= 2) {
        this.counts.dataFrames++;
        const head = this.buf.subarray(off, off + Math.min(len, 200)).toString("utf8");
        const method = /"method":"([^"]+)"/.exec(head)?.[1] ?? "(response)";
        const m = this.counts.byMethod[method] ?? { frames: 0, bytes: 0 };
        this.counts.byMethod[method] = m;
        m.frames++;
        m.bytes += off + len;
      } else this.counts.controlFrames++;
      this.buf = this.buf.subarray(off + len);
    }
  }
}

/** Listen on 127.0.0.1:0 and forward every connection to `targetPort`. */
export async function startWsMeter(targetPort: number): Promise<WsMeter> {
  const counts: WsMeterCounts = { bytes: 0, dataFrames: 0, controlFrames: 0, byMethod: {} };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    const down = new Downstream(counts);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("data", (c: Buffer) => upstream.write(c));
    upstream.on("data", (c: Buffer) => {
      down.push(c);
      client.write(c);
    });
    upstream.connect(targetPort, "127.0.0.1");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    snapshot: () => ({ ...counts, byMethod: structuredClone(counts.byMethod) }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

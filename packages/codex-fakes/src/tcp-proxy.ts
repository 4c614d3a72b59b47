/**
 * A TCP proxy on 127.0.0.1:0 for fault tests: put it between the collector and Postgres (or an
 * app-server) and `cut()` the link — every connection is reset and new ones are reset on accept,
 * the way a dead network or a crashed peer looks to a client — then `restore()` it. `delayMs`
 * slows every chunk in both directions (a slow database), keeping the byte order.
 */
import { createServer, Socket } from "node:net";

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /** Where connections go (default 127.0.0.1). */
  targetHost?: string;
  targetPort: number;
  /** Delay applied to every chunk in both directions (default 0). */
  delayMs?: number;
}

/** A running proxy. */
export interface TcpProxy {
  readonly port: number;
  /** Connections forwarded since start. */
  readonly accepted: number;
  /** Connections reset on accept while cut. */
  readonly refused: number;
  /** Connections open right now. */
  readonly open: number;
  readonly isCut: boolean;
  /** Delay per chunk, both directions; may be changed at any time. */
  delayMs: number;
  /** Reset every open connection (no FIN, no close frame: RST) and reset new ones until restore(). */
  cut(): void;
  /** Forward new connections again. */
  restore(): void;
  close(): Promise<void>;
}

/** `url` with its host and port replaced by the proxy's (`postgresql://…`, `ws://…`). */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(proxy.port);
  return u.toString();
}

/** Start a proxy to `targetHost:targetPort`. */
export async function startTcpProxy(opts: TcpProxyOptions): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let cut = false;
  let accepted = 0;
  let refused = 0;

  const proxy: TcpProxy = {
    port: 0,
    get accepted() {
      return accepted;
    },
    get refused() {
      return refused;
    },
    get open() {
      return pairs.size;
    },
    get isCut() {
      return cut;
    },
    delayMs: opts.delayMs ?? 0,
    cut() {
      cut = true;
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
      pairs.clear();
    },
    restore() {
      cut = false;
    },
    async close() {
      proxy.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  /** Forward a → b, each chunk after `delayMs`; order is kept because every chunk waits the same. */
  const pipe = (from: Socket, to: Socket) => {
    from.on("data", (chunk: Buffer) => {
      const delay = proxy.delayMs;
      if (delay <= 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, delay);
    });
    // A half-close or an error on one side ends the pair, after the delayed data went through.
    const end = () =>
      setTimeout(() => {
        if (!to.destroyed) to.end();
      }, proxy.delayMs);
    from.on("end", end);
    from.on("error", () => to.destroy());
  };

  const server = createServer((client) => {
    client.on("error", () => {});
    if (cut) {
      refused++;
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = new Socket();
    upstream.on("error", () => client.destroy());
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const forget = () => pairs.delete(pair);
    client.on("close", () => {
      forget();
      upstream.destroy();
    });
    upstream.on("close", () => {
      forget();
      client.destroy();
    });
    upstream.connect(opts.targetPort, opts.targetHost ?? "127.0.0.1");
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  (proxy as { port: number }).port = typeof address === "object" && address ? address.port : 0;
  return proxy;
}

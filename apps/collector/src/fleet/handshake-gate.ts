/**
 * How many targets may be in their opening handshake at once (WebSocket upgrade, `initialize`),
 * shared by a fleet's connections. Why (issue 13, measured at 10,000 simulated servers): dialled
 * all at once, every handshake's request, socket and parser objects stay alive while the event
 * loop works through the others, survive the young-generation collections, and the old space
 * grows to hold them; the heap V8 then keeps committed was ~130 MB (13 KB per target) more than
 * with at most a few hundred handshakes in flight, and following took no longer.
 *
 * A slot is held until the handshake ends (open or failed) or for `holdMaxMs` at most: a target
 * that never answers (a sleeping laptop) must not hold up the rest of the fleet for its whole
 * connect timeout. Waiting targets get their turn first come, first served.
 */

/** One connection's place at the gate; `release()` any number of times, waiting or holding. */
export interface GateTicket {
  release(): void;
}

export interface HandshakeGateOptions {
  /** Handshakes in flight at once (≥ 1). */
  max: number;
  /** A slot is given back after this long even if its handshake has not ended. */
  holdMaxMs: number;
}

type State = "waiting" | "holding" | "done";

class Ticket implements GateTicket {
  state: State = "waiting";
  timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly gate: HandshakeGate,
    readonly start: (ticket: GateTicket) => void,
  ) {}

  release(): void {
    if (this.state === "done") return;
    const held = this.state === "holding";
    this.state = "done";
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (held) this.gate.freed();
  }
}

export class HandshakeGate {
  private holding = 0;
  private waiting: Ticket[] = [];
  private head = 0;
  /** A start that releases at once (a bad URL) frees its slot inside pump: no recursion. */
  private pumping = false;

  constructor(private readonly opts: HandshakeGateOptions) {
    if (!Number.isInteger(opts.max) || opts.max < 1)
      throw new Error(`handshake gate: max must be an integer ≥ 1 (got ${opts.max})`);
    if (!(opts.holdMaxMs > 0))
      throw new Error(`handshake gate: holdMaxMs must be > 0 (got ${opts.holdMaxMs})`);
  }

  /** Handshakes holding a slot now (tests and metrics). */
  get inFlight(): number {
    return this.holding;
  }

  /** Call `start` once a slot is free (at once if one is); release the ticket when the handshake ends. */
  enter(start: (ticket: GateTicket) => void): GateTicket {
    const ticket = new Ticket(this, start);
    this.waiting.push(ticket);
    this.pump();
    return ticket;
  }

  /** A holding ticket was released (its handshake ended, or it held its slot for `holdMaxMs`). */
  freed(): void {
    this.holding--;
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.holding < this.opts.max && this.head < this.waiting.length) {
        const t = this.waiting[this.head++] as Ticket;
        if (t.state !== "waiting") continue; // released while waiting
        t.state = "holding";
        this.holding++;
        t.timer = setTimeout(() => t.release(), this.opts.holdMaxMs);
        t.timer.unref();
        t.start(t);
      }
      if (this.head === this.waiting.length) {
        this.waiting = [];
        this.head = 0;
      }
    } finally {
      // A start that throws must not leave the gate shut for every later target.
      this.pumping = false;
    }
  }
}

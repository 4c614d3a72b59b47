/**
 * One timer for the whole simulated fleet: a binary min-heap of callbacks keyed by real time,
 * driven by a single `setTimeout` for the earliest entry. Thousands of simulated servers with a
 * few pending steps each cost a few heap entries, not thousands of Node timers.
 */

/** A scheduled callback; `cancel()` is O(1) (the entry is skipped when it reaches the top). */
export interface ScheduledTask {
  cancel(): void;
  readonly cancelled: boolean;
}

interface Entry extends ScheduledTask {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Real-time scheduler shared by every simulated server. */
export class Scheduler {
  private heap: Entry[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;
  private live = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = (err) => {
      throw err;
    },
  ) {}

  /** Pending (not cancelled) tasks. */
  get size(): number {
    return this.live;
  }

  /** Run `fn` after `delayMs` real milliseconds (0 → on the next turn of the event loop). */
  after(delayMs: number, fn: () => void): ScheduledTask {
    const entry: Entry = {
      at: this.now() + Math.max(0, delayMs),
      seq: this.seq++,
      fn,
      cancelled: false,
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        this.live--;
      },
    };
    if (this.closed) {
      entry.cancelled = true;
      return entry;
    }
    this.live++;
    this.push(entry);
    this.arm();
    return entry;
  }

  /** Drop every pending task and the timer. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const e of this.heap) e.cancelled = true;
    this.heap = [];
    this.live = 0;
  }

  private arm(): void {
    const top = this.heap[0];
    if (!top || this.closed) return;
    if (this.timer && this.timerAt <= top.at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = top.at;
    this.timer = setTimeout(() => this.run(), Math.max(0, top.at - this.now()));
  }

  private run(): void {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    // Bound one slice so that a burst cannot starve sockets; the rest runs on the next tick.
    for (let ran = 0; ran < 5000; ran++) {
      const top = this.heap[0];
      if (!top || top.at > now) break;
      this.pop();
      if (top.cancelled) continue;
      top.cancelled = true;
      this.live--;
      try {
        top.fn();
      } catch (err) {
        this.onError(err);
      }
      if (this.closed) return;
    }
    this.arm();
  }

  private less(i: number, j: number): boolean {
    const a = this.heap[i] as Entry;
    const b = this.heap[j] as Entry;
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const t = h[i] as Entry;
    h[i] = h[j] as Entry;
    h[j] = t;
  }

  private push(entry: Entry): void {
    this.heap.push(entry);
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(l, m)) m = l;
      if (r < h.length && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

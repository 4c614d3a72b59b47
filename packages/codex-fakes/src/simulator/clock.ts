/**
 * A simulated server's clock, the source of `emittedAtMs`, `createdAt`, `startedAt` and friends.
 * Live it is the wall clock. While a developer replays past days it runs `speed` times faster
 * than real time and jumps forward over the idle gaps between turns, so each replayed turn
 * carries realistic past timestamps and durations while taking a fraction of a second to run.
 */
export class SimClock {
  private virtualBase: number;
  private realBase: number;
  private speedFactor = 1;

  /** `startMs`: where simulated time begins (the start of the history to replay; default now). */
  constructor(
    private readonly realNow: () => number = Date.now,
    startMs?: number,
  ) {
    this.realBase = realNow();
    this.virtualBase = startMs ?? this.realBase;
  }

  /** Current simulated time, ms since the epoch. */
  now(): number {
    return Math.floor(this.virtualBase + (this.realNow() - this.realBase) * this.speedFactor);
  }

  /** How many simulated ms pass per real ms (1 when live). */
  get speed(): number {
    return this.speedFactor;
  }

  /** Real ms to wait for `simMs` simulated ms to pass. */
  realDelay(simMs: number): number {
    return simMs / this.speedFactor;
  }

  /** Replay mode: jump to `atMs` (never backwards: the clock stays monotonic) and run at `speed`. */
  replay(atMs: number, speed: number): void {
    const current = this.now();
    this.realBase = this.realNow();
    this.virtualBase = Math.max(current, atMs);
    this.speedFactor = speed;
  }

  /** Back to the wall clock (never backwards). */
  goLive(): void {
    const current = this.now();
    this.realBase = this.realNow();
    this.virtualBase = Math.max(current, this.realBase);
    this.speedFactor = 1;
  }
}

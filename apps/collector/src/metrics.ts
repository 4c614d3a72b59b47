/**
 * Prometheus metrics in the text exposition format, without a client library: a handful of
 * counters, gauges and one histogram are all the collector needs.
 */
import { TARGET_STATES } from "@codex-fleet/protocol/status";

class LabeledCounter {
  private values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly label: string,
  ) {}
  inc(labelValue: string, by = 1): void {
    this.values.set(labelValue, (this.values.get(labelValue) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}{${this.label}="${escapeLabel(k)}"} ${v}`);
    return lines.join("\n");
  }
}

/** A counter with several labels; values are kept per distinct label tuple. */
class MultiLabelCounter {
  private values = new Map<string, { labels: string[]; n: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}
  inc(labels: readonly string[], by = 1): void {
    const key = JSON.stringify(labels);
    const entry = this.values.get(key) ?? { labels: [...labels], n: 0 };
    entry.n += by;
    this.values.set(key, entry);
  }
  get(labels: readonly string[]): number {
    return this.values.get(JSON.stringify(labels))?.n ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, n } of this.values.values()) {
      const text = this.labelNames.map((l, i) => `${l}="${escapeLabel(labels[i] ?? "")}"`).join(",");
      lines.push(`${this.name}{${text}} ${n}`);
    }
    return lines.join("\n");
  }
}

/**
 * Enum values read off the wire that this version does not know, by field and name. A hostile
 * peer can invent endless names: at most MAX_UNKNOWN_VARIANTS distinct pairs are kept, the rest
 * count under `(other)`.
 */
export const MAX_UNKNOWN_VARIANTS = 50;
class UnknownVariantCounter {
  private values = new Map<string, { field: string; value: string; n: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(field: string, value: string): void {
    let key = `${field}\u0000${value}`;
    if (!this.values.has(key) && this.values.size >= MAX_UNKNOWN_VARIANTS) {
      value = "(other)";
      key = `${field}\u0000${value}`;
    }
    const entry = this.values.get(key) ?? { field, value, n: 0 };
    entry.n++;
    this.values.set(key, entry);
  }
  /** Count of one (field, value) pair (tests, API). */
  get(field: string, value: string): number {
    return this.values.get(`${field}\u0000${value}`)?.n ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { field, value, n } of this.values.values())
      lines.push(`${this.name}{field="${escapeLabel(field)}",value="${escapeLabel(value)}"} ${n}`);
    return lines.join("\n");
  }
}

class Counter {
  value = 0;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(by = 1): void {
    this.value += by;
  }
  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n${this.name} ${this.value}`;
  }
}

class Histogram {
  private counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (v <= b) this.counts[i] = (this.counts[i] ?? 0) + 1;
    });
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [i, b] of this.buckets.entries())
      lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`);
    lines.push(
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.count}`,
    );
    return lines.join("\n");
  }
}

export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

const MS_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** The collector's metrics registry. */
export class Metrics {
  readonly notifications = new LabeledCounter(
    "codex_fleet_notifications_total",
    "Notifications received, by method or event kind.",
    "method",
  );
  readonly invalidFrames = new LabeledCounter(
    "codex_fleet_invalid_frames_total",
    "Frames that could not be understood.",
    "target",
  );
  readonly unknownVariants = new UnknownVariantCounter(
    "codex_fleet_unknown_variants_total",
    "Enum values read off the wire (statuses, flags, request kinds) that this version does not know; kept as unknown:<name>.",
  );
  readonly dbWriteErrors = new Counter(
    "codex_fleet_db_write_errors_total",
    "Failed ingest transactions (retried).",
  );
  readonly dbWriteMs = new Histogram(
    "codex_fleet_db_write_ms",
    "Ingest transaction duration in ms.",
    MS_BUCKETS,
  );
  readonly ingestLagMs = new Histogram(
    "codex_fleet_ingest_lag_ms",
    "emittedAtMs to counted in the database, ms.",
    MS_BUCKETS,
  );
  // Cluster (issue 12): leases by kind (target | alerts).
  readonly leaseAcquisitions = new LabeledCounter(
    "codex_fleet_lease_acquisitions_total",
    "Leases this instance acquired, by kind (target, alerts).",
    "kind",
  );
  readonly leaseTakeovers = new LabeledCounter(
    "codex_fleet_lease_failovers_total",
    "Leases this instance acquired that another instance held before (released or expired), by kind.",
    "kind",
  );
  readonly leaseLosses = new LabeledCounter(
    "codex_fleet_lease_losses_total",
    "Leases this instance lost (not renewed in time, or taken), by kind: it stopped acting on them.",
    "kind",
  );
  readonly leaseReleases = new LabeledCounter(
    "codex_fleet_lease_releases_total",
    "Leases this instance handed over (fair share) or released at stop, by kind.",
    "kind",
  );
  readonly leaseRenewFailures = new LabeledCounter(
    "codex_fleet_lease_renew_failures_total",
    "Keeper rounds (renew, read, acquire) that could not reach the database.",
    "step",
  );
  /**
   * Alert notifications (issue 16) by receiver and final outcome: `sent`, or `failed` once retries
   * gave up. Named apart from codex_fleet_notifications_total, which counts app-server notifications.
   * Receivers are the configured ones, so the cardinality is bounded by the config.
   */
  readonly alertNotifications = new MultiLabelCounter(
    "codex_fleet_alert_notifications_total",
    "Alert group notifications by receiver and outcome (sent, or failed after every retry).",
    ["receiver", "outcome"],
  );
  /** Retention (issue 13): rows deleted by the pruning job, by table. */
  readonly retentionDeleted = new LabeledCounter(
    "codex_fleet_retention_deleted_rows_total",
    "Rows the retention job deleted (older than retention.detailDays / hourlyDays / audit.retentionDays), by table.",
    "table",
  );
  private targetStates = new Map<string, string>();
  private gauges = new Map<string, () => { help: string; values: [string, number][] }>();
  private counters = new Map<string, () => { help: string; values: [string, number][] }>();

  setTargetState(target: string, state: string): void {
    this.targetStates.set(target, state);
  }

  /** A gauge computed at scrape time. `values` are [labels-string, value] pairs. */
  gauge(name: string, fn: () => { help: string; values: [string, number][] }): void {
    this.gauges.set(name, fn);
  }

  /** A counter kept elsewhere (a monotonic count an object owns), read at scrape time. */
  counter(name: string, fn: () => { help: string; values: [string, number][] }): void {
    this.counters.set(name, fn);
  }

  render(): string {
    const byState = new Map<string, number>();
    for (const s of TARGET_STATES) byState.set(s, 0);
    for (const s of this.targetStates.values()) byState.set(s, (byState.get(s) ?? 0) + 1);
    const parts = [
      "# HELP codex_fleet_connections Target connections by state.\n# TYPE codex_fleet_connections gauge\n" +
        [...byState].map(([s, n]) => `codex_fleet_connections{state="${s}"} ${n}`).join("\n"),
      this.notifications.render(),
      this.invalidFrames.render(),
      this.unknownVariants.render(),
      this.dbWriteErrors.render(),
      this.dbWriteMs.render(),
      this.ingestLagMs.render(),
      this.leaseAcquisitions.render(),
      this.leaseTakeovers.render(),
      this.leaseLosses.render(),
      this.leaseReleases.render(),
      this.leaseRenewFailures.render(),
      this.alertNotifications.render(),
      this.retentionDeleted.render(),
    ];
    for (const [type, fns] of [
      ["gauge", this.gauges],
      ["counter", this.counters],
    ] as const) {
      for (const [name, fn] of fns) {
        const g = fn();
        parts.push(
          `# HELP ${name} ${g.help}\n# TYPE ${name} ${type}\n` +
            g.values.map(([labels, v]) => `${name}${labels ? `{${labels}}` : ""} ${v}`).join("\n"),
        );
      }
    }
    return `${parts.join("\n")}\n`;
  }
}

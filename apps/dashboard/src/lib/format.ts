/** Number, money, duration and time formatting shared by every page (en-US, compact). */

const compactUnits: [number, string][] = [
  [1e12, "T"],
  [1e9, "B"],
  [1e6, "M"],
  [1e3, "k"],
];

/** 1234 → "1.2k", 1_234_567 → "1.2M"; integers below 1000 print as is. */
export function formatTokens(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return "—";
  const abs = Math.abs(value);
  for (const [size, unit] of compactUnits) {
    // 999_950 must read "1M", not "1000k": switch unit where rounding would reach 1000.
    if (abs >= size * 0.9995) {
      const scaled = value / size;
      const digits = Math.abs(scaled) >= 100 ? 0 : 1;
      return `${trimZero(scaled.toFixed(digits))}${unit}`;
    }
  }
  return String(Math.round(value));
}

/** Exact integer with thousands separators, for tables people copy into reports. */
export function formatInteger(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return "—";
  return Math.round(value).toLocaleString("en-US");
}

/** 12.345 → "$12.35"; small non-zero amounts keep precision ("$0.004"); large ones drop cents. */
export function formatUsd(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return "—";
  const abs = Math.abs(value);
  if (abs > 0 && abs < 0.01) return `${value < 0 ? "-" : ""}$${trimZero(abs.toPrecision(1))}`;
  if (abs >= 100_000) return `${value < 0 ? "-" : ""}$${formatTokens(abs)}`;
  return value.toLocaleString("en-US", { style: "currency", currency: "USD" });
}

/** Share in [0, 1] → "12.3%"; null when the denominator was 0. */
export function formatPct(value: number | null | undefined, digits = 1): string {
  if (value == null || !Number.isFinite(value)) return "—";
  const pct = value * 100;
  if (pct !== 0 && Math.abs(pct) < 0.1) return "<0.1%";
  return `${trimZero(pct.toFixed(digits))}%`;
}

/** a / b, or null when b is 0 (so the UI prints "—" instead of NaN). */
export function ratio(a: number, b: number): number | null {
  return b > 0 ? a / b : null;
}

/** 192_000 → "3m 12s", 4_000 → "4s", 3_900_000 → "1h 5m", 90_000_000 → "1d 1h", 850 → "850ms". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "—";
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.floor(ms / 1000);
  const days = Math.floor(totalSeconds / 86_400);
  const hours = Math.floor((totalSeconds % 86_400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (days > 0) return hours > 0 ? `${days}d ${hours}h` : `${days}d`;
  if (hours > 0) return minutes > 0 ? `${hours}h ${minutes}m` : `${hours}h`;
  if (minutes > 0) return seconds > 0 ? `${minutes}m ${seconds}s` : `${minutes}m`;
  return `${seconds}s`;
}

/** Time since `iso` relative to `nowMs`: "just now", "5m ago", "in 3m" (future), "—" for null. */
export function formatRelative(iso: string | number | null | undefined, nowMs: number): string {
  const at = toMs(iso);
  if (at == null) return "—";
  const diff = nowMs - at;
  if (Math.abs(diff) < 5_000) return "just now";
  const text = formatDuration(Math.abs(diff)).split(" ")[0] ?? "";
  return diff > 0 ? `${text} ago` : `in ${text}`;
}

/** Absolute local time for tooltips and tables: "Nov 21, 14:03:12". */
export function formatDateTime(iso: string | number | null | undefined): string {
  const at = toMs(iso);
  if (at == null) return "—";
  return new Date(at).toLocaleString("en-US", {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  });
}

/** Chart axis label for a usage bucket: "14:00" for hours, "Nov 21" for days. */
export function formatBucket(iso: string, bucket: "hour" | "day"): string {
  const at = toMs(iso);
  if (at == null) return iso;
  const date = new Date(at);
  if (bucket === "hour") {
    return date.toLocaleString("en-US", { hour: "2-digit", minute: "2-digit", hour12: false });
  }
  return date.toLocaleString("en-US", { month: "short", day: "numeric" });
}

/** ISO string or epoch ms → epoch ms; null for null/invalid. */
export function toMs(value: string | number | null | undefined): number | null {
  if (value == null) return null;
  const ms = typeof value === "number" ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

function trimZero(text: string): string {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

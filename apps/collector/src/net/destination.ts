/**
 * Where the collector may connect (SSRF, issue "Hostile input, round two", finding 4). One policy
 * for app-server targets and alert receivers: every address a host name resolves to is classified,
 * and link-local addresses (169.254.0.0/16, fe80::/10, which hold the cloud metadata services
 * 169.254.169.254 and fd00:ec2::254), metadata host names, unspecified, multicast and broadcast
 * addresses are refused. Loopback and private (RFC 1918, ULA) addresses are allowed: that is how
 * developers expose app-servers and where in-house receivers live.
 *
 * Checked twice: on the URL's text when a target or receiver is defined (config load, admin API),
 * and at connect time through `guardedLookup`, which the socket uses to resolve the name, so the
 * address that was checked is the address connected to (a DNS answer that changes cannot slip by).
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP } from "node:net";

/** What an address is. */
export type AddressClass =
  | "loopback"
  | "private"
  | "link-local"
  | "metadata"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "public";

/** Which destinations are allowed beyond public, loopback and private addresses. */
export interface DestinationPolicy {
  /** Link-local addresses and cloud metadata endpoints (default: refused). */
  allowLinkLocal: boolean;
}

export const DEFAULT_DESTINATION_POLICY: DestinationPolicy = { allowLinkLocal: false };

/** Host names of cloud metadata services (GCP, AWS, Azure, Alibaba…), refused like their addresses. */
const METADATA_NAMES = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.azure.internal",
  "metadata.tencentyun.com",
  "100.100.100.200",
]);

/**
 * An IPv4 address in any form `inet_aton` (and so `getaddrinfo` and the WHATWG URL parser)
 * accepts — `2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376`, `169.254.43518` — as four octets,
 * or null when `text` is not one.
 */
export function parseIPv4(text: string): [number, number, number, number] | null {
  const parts = text.split(".");
  if (parts.length > 4 || parts.some((p) => p === "")) return null;
  const nums: number[] = [];
  for (const part of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(part)) n = part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) n = Number.parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) n = Number(part);
    else return null;
    if (!Number.isSafeInteger(n)) return null;
    nums.push(n);
  }
  const last = nums.pop() as number;
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) return null;
  let value = last;
  nums.forEach((n, i) => {
    value += n * 256 ** (3 - i);
  });
  return [(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255];
}

/** The 8 groups of an IPv6 address (brackets, zone and embedded IPv4 allowed), or null. */
function parseIPv6(text: string): number[] | null {
  const host = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (isIP(host) !== 6) return null;
  let body = host;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (v4?.[1]) {
    const o = parseIPv4(v4[1]);
    if (o === null) return null;
    body = `${body.slice(0, -v4[1].length)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head = "", tail] = body.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill("0");
  const groups = [...h, ...fill, ...t].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 ? groups : null;
}

function classifyIPv4([a, b, c, d]: readonly number[]): AddressClass {
  if (a === 127) return "loopback";
  if (a === 0) return "unspecified";
  if (a === 169 && b === 254) return "link-local";
  // Alibaba Cloud's metadata service sits in the shared (CGNAT) range.
  if (a === 100 && b === 100 && c === 100 && d === 200) return "metadata";
  if (a === 10 || (a === 172 && (b as number) >= 16 && (b as number) <= 31) || (a === 192 && b === 168))
    return "private";
  if ((a as number) >= 224 && (a as number) <= 239) return "multicast";
  if (a === 255 && b === 255 && c === 255 && d === 255) return "broadcast";
  if ((a as number) >= 240) return "unspecified";
  return "public";
}

/**
 * The class of an IP address literal (any IPv4 form, IPv6 with or without brackets), or null when
 * `host` is not an address. IPv4-mapped and -compatible IPv6 (`::ffff:169.254.169.254`) and NAT64
 * (`64:ff9b::a9fe:a9fe`) are classified as the IPv4 address they carry.
 */
export function classifyAddress(host: string): AddressClass | null {
  const v4 = parseIPv4(host);
  if (v4 !== null) return classifyIPv4(v4);
  const g = parseIPv6(host);
  if (g === null) return null;
  const embedded = (): number[] => [
    (g[6] as number) >> 8,
    (g[6] as number) & 255,
    (g[7] as number) >> 8,
    (g[7] as number) & 255,
  ];
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(8)) return "unspecified";
  if (zeros(7) && g[7] === 1) return "loopback";
  if (zeros(5) && g[5] === 0xffff) return classifyIPv4(embedded()); // ::ffff:a.b.c.d
  if (zeros(6)) return classifyIPv4(embedded()); // ::a.b.c.d (deprecated compatible form)
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0))
    return classifyIPv4(embedded());
  const first = g[0] as number;
  if (first === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && g[7] === 0x254)
    return "metadata"; // AWS IMDS over IPv6
  if ((first & 0xffc0) === 0xfe80) return "link-local";
  if ((first & 0xfe00) === 0xfc00) return "private";
  if ((first & 0xff00) === 0xff00) return "multicast";
  return "public";
}

/** Why `cls` is refused under `policy`, or null when allowed. */
function refusal(cls: AddressClass, policy: DestinationPolicy): string | null {
  switch (cls) {
    case "public":
    case "loopback":
    case "private":
      return null;
    case "link-local":
    case "metadata":
      return policy.allowLinkLocal
        ? null
        : `${cls === "metadata" ? "a cloud metadata" : "a link-local"} address (set network.allowLinkLocal: true to allow)`;
    default:
      return `a ${cls} address`;
  }
}

/**
 * What is wrong with connecting to `url`'s host, judged on the text (IP literals in every form,
 * metadata names), or null. Names are judged again on their addresses at connect time.
 */
export function destinationProblem(url: string, policy: DestinationPolicy): string | null {
  if (!URL.canParse(url)) return null;
  // The WHATWG parser already turns numeric IPv4 forms into dotted quads; parseIPv4 covers the rest.
  const host = new URL(url).hostname
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "")
    .toLowerCase();
  if (METADATA_NAMES.has(host))
    return policy.allowLinkLocal
      ? null
      : `refusing to connect to ${host}: a cloud metadata host (set network.allowLinkLocal: true to allow)`;
  const cls = classifyAddress(host);
  if (cls === null) return null;
  const why = refusal(cls, policy);
  return why === null ? null : `refusing to connect to ${host}: ${why}`;
}

/** An error with the code `EDESTINATION`, raised by `guardedLookup`. */
export class DestinationError extends Error {
  readonly code = "EDESTINATION";
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
/** `dns.lookup`'s shape, as `net.connect`, `http.request` and `ws` take it. */
export type LookupFunction = (hostname: string, options: object, callback: LookupCallback) => void;
/** Resolves a name to all of its addresses (a test seam: `dns.lookup` with `all: true` by default). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );

/**
 * A `lookup` for sockets that resolves with `resolver`, refuses the name when any of its
 * addresses (or the name itself) is refused under `policy`, and hands the socket exactly the
 * addresses it checked.
 */
export function guardedLookup(
  policy: DestinationPolicy,
  resolver: Resolver = systemResolver,
): LookupFunction {
  return (hostname, options, callback) => {
    const host = hostname.replace(/\.$/, "").toLowerCase();
    if (METADATA_NAMES.has(host) && !policy.allowLinkLocal) {
      callback(new DestinationError(`refusing to connect to ${host}: a cloud metadata host`), "", 4);
      return;
    }
    resolver(hostname).then(
      (addresses) => {
        const family = (options as { family?: number }).family;
        const usable = addresses.filter((a) => !family || a.family === family);
        for (const a of usable) {
          const why = refusal(classifyAddress(a.address) ?? "unspecified", policy);
          if (why !== null) {
            callback(
              new DestinationError(`refusing to connect to ${hostname}: it resolves to ${why}`),
              "",
              4,
            );
            return;
          }
        }
        const first = usable[0];
        if (first === undefined) {
          const err: NodeJS.ErrnoException = new Error(`no address for ${hostname}`);
          err.code = "ENOTFOUND";
          callback(err, "", 4);
        } else if ((options as { all?: boolean }).all) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, "", 4),
    );
  };
}

/** The destination policy (SSRF, issue "Hostile input, round two", finding 4): classifier and lookup. */
import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import {
  classifyAddress,
  DEFAULT_DESTINATION_POLICY,
  destinationProblem,
  guardedLookup,
  parseIPv4,
} from "../../../src/net/destination.ts";

describe("parseIPv4", () => {
  it.each([
    ["169.254.169.254", [169, 254, 169, 254]],
    ["2852039166", [169, 254, 169, 254]],
    ["0xa9fea9fe", [169, 254, 169, 254]],
    ["0XA9FEA9FE", [169, 254, 169, 254]],
    ["0251.0376.0251.0376", [169, 254, 169, 254]],
    ["0xa9.0xfe.0xa9.0xfe", [169, 254, 169, 254]],
    ["169.254.43518", [169, 254, 169, 254]],
    ["169.16689662", [169, 254, 169, 254]],
    ["127.1", [127, 0, 0, 1]],
    ["0", [0, 0, 0, 0]],
  ])("does read %s", (text, octets) => {
    expect(parseIPv4(text)).toEqual(octets);
  });

  it.each(["256.1.1.1", "1.2.3.4.5", "4294967296", "1..2", "09.1.1.1", "example.com", ""])(
    "does not take %s for an IPv4 address",
    (text) => {
      expect(parseIPv4(text)).toBeNull();
    },
  );
});

describe("classifyAddress", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["2130706433", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.20", "private"],
    ["fd12:3456::1", "private"],
    ["169.254.169.254", "link-local"],
    ["2852039166", "link-local"],
    ["0xa9fea9fe", "link-local"],
    ["0251.0376.0251.0376", "link-local"],
    ["169.254.1.1", "link-local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["febf::1", "link-local"],
    ["::ffff:169.254.169.254", "link-local"],
    ["[::ffff:a9fe:a9fe]", "link-local"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::169.254.169.254", "link-local"],
    ["64:ff9b::a9fe:a9fe", "link-local"],
    ["fd00:ec2::254", "metadata"],
    ["100.100.100.200", "metadata"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["172.32.0.1", "public"],
    ["8.8.8.8", "public"],
    ["2001:db8::1", "public"],
  ])("does classify %s as %s", (host, cls) => {
    expect(classifyAddress(host)).toBe(cls);
  });

  it("does return null for names", () => {
    expect(classifyAddress("alice-dev.example.com")).toBeNull();
  });
});

describe("destinationProblem", () => {
  const refused = [
    "ws://169.254.169.254/latest/meta-data/",
    "ws://[::ffff:169.254.169.254]/",
    "ws://[::ffff:a9fe:a9fe]:4500",
    "ws://2852039166/",
    "ws://0xa9fea9fe/",
    "ws://0251.0376.0251.0376/",
    "ws://[fe80::1]:4500",
    "ws://[fd00:ec2::254]/",
    "ws://metadata.google.internal/computeMetadata/v1/",
    "ws://METADATA.GOOGLE.INTERNAL./",
    "http://169.254.169.254/",
    "https://metadata/",
    "ws://0.0.0.0:4500",
    "ws://[::]:4500",
    "ws://224.0.0.1:4500",
  ];
  it.each(refused)("does refuse %s by default", (url) => {
    expect(destinationProblem(url, DEFAULT_DESTINATION_POLICY)).toMatch(/^refusing to connect to /);
  });

  it.each([
    "ws://127.0.0.1:4500",
    "ws://localhost:4500",
    "ws://[::1]:4500",
    "ws://192.168.1.20:4500",
    "ws://10.0.0.5:4500",
    "wss://alice-dev.example.com:4500",
    "https://hooks.slack.com/services/T/B/X",
  ])("does allow %s (loopback, LAN and names are legitimate)", (url) => {
    expect(destinationProblem(url, DEFAULT_DESTINATION_POLICY)).toBeNull();
  });

  it("does allow link-local and metadata destinations with network.allowLinkLocal", () => {
    for (const url of ["ws://169.254.169.254/", "ws://metadata.google.internal/", "ws://[fe80::1]/"])
      expect(destinationProblem(url, { allowLinkLocal: true })).toBeNull();
    // Never a broadcast or unspecified address.
    expect(destinationProblem("ws://0.0.0.0/", { allowLinkLocal: true })).toMatch(/unspecified/);
  });
});

describe("guardedLookup", () => {
  const run = (addresses: LookupAddress[], options: object = {}, host = "app.test") =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      guardedLookup(DEFAULT_DESTINATION_POLICY, async () => addresses)(host, options, (err, address) =>
        resolve({ err, address }),
      ),
    );

  it("does hand the socket the checked address", async () => {
    expect(await run([{ address: "192.168.1.20", family: 4 }])).toEqual({
      err: null,
      address: "192.168.1.20",
    });
    expect(
      await run(
        [
          { address: "::1", family: 6 },
          { address: "127.0.0.1", family: 4 },
        ],
        { all: true },
      ),
    ).toEqual({
      err: null,
      address: [
        { address: "::1", family: 6 },
        { address: "127.0.0.1", family: 4 },
      ],
    });
  });

  it("does refuse a name when any of its addresses is link-local", async () => {
    const { err } = await run([
      { address: "127.0.0.1", family: 4 },
      { address: "::ffff:169.254.169.254", family: 6 },
    ]);
    expect(err?.code).toBe("EDESTINATION");
    expect(err?.message).toMatch(/app\.test: it resolves to a link-local address/);
  });

  it("does refuse metadata names before resolving them", async () => {
    const { err } = await run([{ address: "127.0.0.1", family: 4 }], {}, "metadata.google.internal");
    expect(err?.code).toBe("EDESTINATION");
  });
});

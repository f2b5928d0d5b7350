import { describe, expect, it } from "vitest";
import { normalizeAddress, parseTrustList, resolveClient } from "../../src/trust-proxy.js";

const loopback = parseTrustList(["127.0.0.1", "::1"]);
const chain = parseTrustList(["127.0.0.1", "10.0.0.0/8", "2001:db8:ffff::/48"]);
const client = (
  peer: string,
  headers: string[],
  trust = loopback,
  scheme: "http" | "https" = "http",
) => resolveClient(peer, scheme, headers, trust);

describe("normalizeAddress", () => {
  it("maps IPv4-mapped IPv6 to IPv4, drops brackets, refuses non-addresses", () => {
    expect(normalizeAddress("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(normalizeAddress("::FFFF:7f00:1")).toBe("127.0.0.1");
    expect(normalizeAddress("0:0:0:0:0:ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(normalizeAddress("[2001:DB8::1]")).toBe("2001:db8::1");
    expect(normalizeAddress("2001:db8::ffff:1.2.3.4")).toBe("2001:db8::ffff:1.2.3.4");
    expect(normalizeAddress("example.com")).toBeNull();
    expect(normalizeAddress("1.2.3.256")).toBeNull();
  });
});

describe("parseTrustList", () => {
  it("takes addresses, CIDR ranges of both families, mapped forms and loopback", () => {
    const t = parseTrustList([
      "192.0.2.1",
      "10.0.0.0/8",
      "fd00::/8",
      "::ffff:172.16.0.0/112",
      "loopback",
    ]);
    expect(t.trusts("192.0.2.1")).toBe(true);
    expect(t.trusts("192.0.2.2")).toBe(false);
    expect(t.trusts("10.255.0.1")).toBe(true);
    expect(t.trusts("11.0.0.1")).toBe(false);
    expect(t.trusts("fd12::1")).toBe(true);
    expect(t.trusts("fe80::1")).toBe(false);
    expect(t.trusts("172.16.9.9")).toBe(true);
    expect(t.trusts("172.17.0.1")).toBe(false);
    expect(t.trusts("127.8.0.1")).toBe(true);
    expect(t.trusts("::1")).toBe(true);
  });

  it("names the entry that is wrong", () => {
    for (const bad of ["10.0.0.0/33", "fd00::/129", "nginx.local", "10.0.0.0/8/1", "1.2.3.4/x", ""])
      expect(() => parseTrustList([bad])).toThrow(`"${bad}" is not an IP address`);
  });

  it("an empty list trusts nobody", () => {
    expect(parseTrustList([]).trusts("127.0.0.1")).toBe(false);
  });
});

describe("resolveClient", () => {
  it("an untrusted peer's forwarding headers are ignored", () => {
    const h = [
      "X-Forwarded-For",
      "127.0.0.1",
      "X-Forwarded-Proto",
      "https",
      "Forwarded",
      "for=127.0.0.1;proto=https",
    ];
    expect(client("198.51.100.9", h)).toEqual({ address: "198.51.100.9", scheme: "http" });
  });

  it("no headers from a trusted peer: the peer is the client", () => {
    expect(client("::ffff:127.0.0.1", [])).toEqual({ address: "127.0.0.1", scheme: "http" });
  });

  it("X-Forwarded-For from the right: a client's own entries cannot pass for the proxy's", () => {
    // The client sent "X-Forwarded-For: 127.0.0.1"; nginx appended the address it saw.
    const h = ["x-forwarded-for", "127.0.0.1, 203.0.113.5", "x-forwarded-proto", "https"];
    expect(client("127.0.0.1", h)).toEqual({ address: "203.0.113.5", scheme: "https" });
  });

  it("walks past every trusted hop, across header lines and IPv6 (RFC 7239 section 7.4)", () => {
    const h = ["X-Forwarded-For", "192.0.2.43, 2001:db8:cafe::17", "X-Forwarded-For", "10.1.1.1"];
    expect(client("10.0.0.2", h, chain).address).toBe("2001:db8:cafe::17");
    const all = ["X-Forwarded-For", "192.0.2.43, 10.3.3.3, 10.2.2.2"];
    expect(client("127.0.0.1", all, chain).address).toBe("192.0.2.43");
  });

  it("X-Forwarded-For entries with ports and mapped forms", () => {
    expect(client("127.0.0.1", ["x-forwarded-for", "192.0.2.1:5555"]).address).toBe("192.0.2.1");
    expect(client("127.0.0.1", ["x-forwarded-for", "[2001:db8::1]:80"]).address).toBe(
      "2001:db8::1",
    );
    expect(client("127.0.0.1", ["x-forwarded-for", "::ffff:192.0.2.9"]).address).toBe("192.0.2.9");
  });

  it("garbage in X-Forwarded-For is unknown, never an address", () => {
    expect(client("127.0.0.1", ["x-forwarded-for", "<script>"]).address).toBe("unknown");
    expect(client("127.0.0.1", ["x-forwarded-for", ""]).address).toBe("unknown");
  });

  it("X-Forwarded-Proto only http or https; without X-Forwarded-For it still sets the scheme", () => {
    expect(client("127.0.0.1", ["x-forwarded-proto", "HTTPS"]).scheme).toBe("https");
    expect(client("127.0.0.1", ["x-forwarded-proto", "gopher"]).scheme).toBe("http");
    expect(client("127.0.0.1", [], loopback, "https").scheme).toBe("https");
  });

  describe("Forwarded (RFC 7239)", () => {
    it("section 4 examples", () => {
      expect(client("127.0.0.1", ["Forwarded", 'for="_gazonk"'])).toEqual({
        address: "_gazonk",
        scheme: "http",
      });
      expect(client("127.0.0.1", ["Forwarded", 'For="[2001:db8:cafe::17]:4711"']).address).toBe(
        "2001:db8:cafe::17",
      );
      expect(
        client("127.0.0.1", ["Forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43"]),
      ).toEqual({
        address: "192.0.2.60",
        scheme: "https",
      });
      expect(client("127.0.0.1", ["Forwarded", "for=192.0.2.43, for=198.51.100.17"]).address).toBe(
        "198.51.100.17",
      );
    });

    it("section 7.4: the X-Forwarded-For list as Forwarded, walked past trusted hops", () => {
      const h = [
        "Forwarded",
        'for=192.0.2.43, for="[2001:db8:cafe::17]", for=10.9.9.9;proto=https',
      ];
      expect(client("10.0.0.1", h, chain)).toEqual({
        address: "2001:db8:cafe::17",
        scheme: "https",
      });
    });

    it("section 6: unknown and obfuscated nodes end the walk and are never loopback", () => {
      expect(client("127.0.0.1", ["Forwarded", "for=unknown"]).address).toBe("unknown");
      expect(client("127.0.0.1", ["Forwarded", "for=127.0.0.1, for=_hidden"]).address).toBe(
        "_hidden",
      );
      expect(client("127.0.0.1", ["Forwarded", 'for="unknown:4711"']).address).toBe("unknown");
    });

    it("takes precedence over X-Forwarded-For", () => {
      const h = ["X-Forwarded-For", "192.0.2.1", "Forwarded", "for=192.0.2.2"];
      expect(client("127.0.0.1", h).address).toBe("192.0.2.2");
    });

    it("quoted strings with escapes and separators inside them", () => {
      expect(client("127.0.0.1", ["Forwarded", 'for="_a\\"b,;c"']).address).toBe("unknown");
      expect(client("127.0.0.1", ["Forwarded", 'by="x,y";for=192.0.2.7']).address).toBe(
        "192.0.2.7",
      );
    });

    it("an unterminated quote in the client's line cannot swallow the proxy's line", () => {
      const h = ["Forwarded", 'for="127.0.0.1', "Forwarded", "for=198.51.100.3"];
      expect(client("127.0.0.1", h).address).toBe("198.51.100.3");
      // ... and in one line it leaves the element unreadable: unknown, not the loopback inside it.
      expect(client("127.0.0.1", ["Forwarded", 'for="127.0.0.1, for=127.0.0.1']).address).toBe(
        "unknown",
      );
    });

    it("a repeated parameter or garbage makes that element unknown", () => {
      expect(client("127.0.0.1", ["Forwarded", "for=192.0.2.1;for=127.0.0.1"]).address).toBe(
        "unknown",
      );
      expect(client("127.0.0.1", ["Forwarded", "for=192.0.2.1 garbage"]).address).toBe("unknown");
      expect(client("127.0.0.1", ["Forwarded", "proto=https"]).address).toBe("unknown");
    });
  });
});

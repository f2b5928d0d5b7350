/**
 * Who the client is behind a proxy (--trust-proxy), pure. Behind nginx every connection comes from
 * nginx; the client's address and scheme are in X-Forwarded-For / X-Forwarded-Proto or Forwarded
 * (RFC 7239), which anybody can send. So they are believed only from a trusted peer, and read from
 * the right: each trusted hop vouches for the one before it, and the first address that is not
 * trusted is the client. Anything after it (further left) is the client's own say and ignored.
 */
import { BlockList, isIP, isIPv4 } from "node:net";

export interface TrustProxy {
  /** True when `address` (a normalised IP) is a proxy whose forwarding headers are believed. */
  trusts(address: string): boolean;
}

export interface Client {
  /** An IP address, or a token a proxy gave instead ("unknown", "_hidden"): never a loopback then. */
  address: string;
  scheme: "http" | "https";
}

const NOBODY: TrustProxy = { trusts: () => false };

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`, `::ffff:a00:1`) as IPv4; brackets dropped; v6 lower case. */
export function normalizeAddress(raw: string): string | null {
  let a = raw.trim();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  const family = isIP(a);
  if (family === 4) return a;
  if (family !== 6) return null;
  a = a.toLowerCase();
  // Mapped: only zero groups before "ffff:", then 32 bits (dotted or two hex groups).
  const at = a.indexOf("ffff:");
  if (at > 0 && /^[0:]+$/.test(a.slice(0, at))) {
    const tail = a.slice(at + 5);
    if (isIPv4(tail)) return tail;
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(tail);
    if (hex !== null) {
      const hi = parseInt(hex[1]!, 16);
      const lo = parseInt(hex[2]!, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
  }
  return a;
}

/**
 * `--trust-proxy` entries (addresses, CIDR ranges, or `loopback`) → a TrustProxy; throws an Error
 * naming the first entry that is neither.
 */
export function parseTrustList(entries: readonly string[]): TrustProxy {
  if (entries.length === 0) return NOBODY;
  const list = new BlockList();
  for (const entry of entries) {
    if (entry === "loopback") {
      list.addSubnet("127.0.0.0", 8, "ipv4");
      list.addAddress("::1", "ipv6");
      continue;
    }
    const [addr, prefix, extra] = entry.split("/");
    const ip = normalizeAddress(addr ?? "");
    const bad = new Error(
      `"${entry}" is not an IP address, a CIDR range (10.0.0.0/8, fd00::/8) or "loopback"`,
    );
    if (ip === null || extra !== undefined) throw bad;
    const family = isIPv4(ip) ? "ipv4" : "ipv6";
    if (prefix === undefined) {
      list.addAddress(ip, family);
      continue;
    }
    let bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    // A mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
    if (family === "ipv4" && addr!.includes(":")) bits -= 96;
    if (!(bits >= 0 && bits <= (family === "ipv4" ? 32 : 128))) throw bad;
    list.addSubnet(ip, bits, family);
  }
  return { trusts: (a) => list.check(a, isIPv4(a) ? "ipv4" : "ipv6") };
}

interface Hop {
  /** The node the proxy received the request from: an address, a token, or null if unreadable. */
  node: string | null;
  proto: string | undefined;
}

/** `for` node (RFC 7239 section 6) or an X-Forwarded-For entry → address or token, port dropped. */
function nodeName(raw: string | null): string {
  if (raw === null) return "unknown";
  let v = raw.trim();
  const direct = normalizeAddress(v);
  if (direct !== null) return direct;
  // With a port: 192.0.2.43:47011, [2001:db8:cafe::17]:4711
  const port = /^(\[[^\]]+\]|[^:]+):\d{1,5}$/.exec(v);
  if (port !== null) v = port[1]!;
  const ip = normalizeAddress(v);
  if (ip !== null) return ip;
  return /^(unknown|_[A-Za-z0-9._-]+)$/.test(v) ? v : "unknown";
}

/** One Forwarded header line → its elements; a malformed element reads as for=unknown. */
function parseForwarded(line: string): Hop[] {
  const hops: Hop[] = [];
  let pairs = new Map<string, string>();
  let ok = true;
  let i = 0;
  const finishElement = () => {
    hops.push(ok ? { node: pairs.get("for") ?? null, proto: pairs.get("proto") } : BROKEN);
    pairs = new Map();
    ok = true;
  };
  while (i <= line.length) {
    // forwarded-pair = token "=" value; value = token / quoted-string
    const key = /^[ \t]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)=/.exec(line.slice(i));
    let value = "";
    if (key === null) {
      const empty = /^[ \t]*(?=[;,]|$)/.exec(line.slice(i))!;
      i += empty[0].length;
    } else {
      i += key[0].length;
      if (line[i] === '"') {
        let j = i + 1;
        let closed = false;
        while (j < line.length) {
          if (line[j] === "\\") {
            value += line[j + 1] ?? "";
            j += 2;
          } else if (line[j] === '"') {
            closed = true;
            j++;
            break;
          } else value += line[j++];
        }
        if (!closed) ok = false;
        i = j;
      } else {
        const tok = /^[!#$%&'*+\-.^_`|~0-9A-Za-z:]*/.exec(line.slice(i))![0];
        value = tok;
        i += tok.length;
      }
      const name = key[1]!.toLowerCase();
      if (pairs.has(name)) ok = false; // each parameter at most once per element (section 4)
      pairs.set(name, value);
    }
    const rest = /^[ \t]*/.exec(line.slice(i))![0];
    i += rest.length;
    const c = line[i];
    if (c === ";") i++;
    else if (c === ",") {
      finishElement();
      i++;
    } else if (c === undefined) {
      finishElement();
      break;
    } else {
      // Garbage: this element is unreadable; skip to the next comma.
      ok = false;
      const next = line.indexOf(",", i);
      i = next === -1 ? line.length : next;
    }
  }
  return hops;
}

const BROKEN: Hop = { node: null, proto: undefined };

function headerLines(rawHeaders: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    if (rawHeaders[i]!.toLowerCase() === name) out.push(rawHeaders[i + 1]!);
  return out;
}

function schemeOf(proto: string | undefined): "http" | "https" | null {
  const p = proto?.trim().toLowerCase();
  return p === "http" || p === "https" ? p : null;
}

/**
 * The client behind `peer`: the peer itself unless it is trusted; then Forwarded if present,
 * else X-Forwarded-For with X-Forwarded-Proto, walked from the right past trusted hops.
 */
export function resolveClient(
  peer: string,
  peerScheme: "http" | "https",
  rawHeaders: readonly string[],
  trust: TrustProxy,
): Client {
  let address = normalizeAddress(peer) ?? peer;
  let scheme = peerScheme;
  if (!trust.trusts(address)) return { address, scheme };
  const forwarded = headerLines(rawHeaders, "forwarded");
  let hops: Hop[];
  if (forwarded.length > 0) hops = forwarded.flatMap(parseForwarded);
  else {
    const xff = headerLines(rawHeaders, "x-forwarded-for").flatMap((l) => l.split(","));
    const xfp = headerLines(rawHeaders, "x-forwarded-proto").flatMap((l) => l.split(","));
    // One proto per hop when the lists line up; else the last one, set by the nearest proxy.
    hops = xff.map((node, i) => ({
      node,
      proto: xfp.length === xff.length ? xfp[i] : i === xff.length - 1 ? xfp.at(-1) : undefined,
    }));
    if (xff.length === 0) scheme = schemeOf(xfp.at(-1)) ?? scheme;
  }
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    scheme = schemeOf(hop.proto) ?? scheme;
    address = nodeName(hop.node);
    if (isIP(address) === 0 || !trust.trusts(address)) break;
  }
  return { address, scheme };
}

/**
 * CGI variables ↔ the pipeline's request fields, and the response's CGI header block; pure.
 *
 * nginx (or any FastCGI web server) sends the request as CGI variables: REQUEST_METHOD,
 * REQUEST_URI, HTTP_* for each header, CONTENT_TYPE and CONTENT_LENGTH without the prefix. Because
 * the sandbox's request record splits fields at newlines, a value with CR, LF or NUL is refused
 * here, as node:http's parser refuses it on the HTTP front.
 */
import { STATUS_CODES } from "node:http";

export interface CgiRequestHead {
  method: string;
  /** The request target as on the wire (REQUEST_URI). */
  target: string;
  /** The host that picks the site: SITEBOX_SITE if the web server sends it, else HTTP_HOST. */
  host: string | undefined;
  /** Header names (lower case) and values, flat, in arrival order, like node's rawHeaders. */
  rawHeaders: string[];
  remoteAddress: string;
  scheme: "http" | "https";
  /** "1.1" from SERVER_PROTOCOL=HTTP/1.1, for the access log. */
  httpVersion: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TARGET = /^[^\x00-\x20\x7f]+$/;
const BAD_VALUE = /[\r\n\0]/;

/** The variables requestHead reads (the first of a repeated name counts). */
interface Vars {
  method?: string;
  uri?: string;
  query?: string;
  script?: string;
  pathInfo?: string;
  length?: string;
  type?: string;
  site?: string;
  https?: string;
  requestScheme?: string;
  protocol?: string;
  host?: string;
  remote?: string;
}

/** One pass over the variables: a switch (length checks first), no hashing of fresh names. */
function readVars(pairs: readonly [string, string][]): Vars {
  const v: Vars = {};
  for (let i = 0; i < pairs.length; i++) {
    const [name, value] = pairs[i]!;
    switch (name) {
      case "REQUEST_METHOD":
        v.method ??= value;
        break;
      case "REQUEST_URI":
        v.uri ??= value;
        break;
      case "QUERY_STRING":
        v.query ??= value;
        break;
      case "SCRIPT_NAME":
        v.script ??= value;
        break;
      case "PATH_INFO":
        v.pathInfo ??= value;
        break;
      case "CONTENT_LENGTH":
        v.length ??= value;
        break;
      case "CONTENT_TYPE":
        v.type ??= value;
        break;
      case "SITEBOX_SITE":
        v.site ??= value;
        break;
      case "HTTPS":
        v.https ??= value;
        break;
      case "REQUEST_SCHEME":
        v.requestScheme ??= value;
        break;
      case "SERVER_PROTOCOL":
        v.protocol ??= value;
        break;
      case "HTTP_HOST":
        v.host ??= value;
        break;
      case "REMOTE_ADDR":
        v.remote ??= value;
        break;
    }
  }
  return v;
}

/** HTTP_USER_AGENT → user-agent, for the names seen so far (bounded: names come from clients). */
const HEADER_NAMES = new Map<string, string>();
const MAX_HEADER_NAMES = 1024;

function headerName(cgiName: string): string {
  let name = HEADER_NAMES.get(cgiName);
  if (name === undefined) {
    name = cgiName.slice(5).toLowerCase().replaceAll("_", "-");
    if (HEADER_NAMES.size < MAX_HEADER_NAMES) HEADER_NAMES.set(cgiName, name);
  }
  return name;
}

/** The request head from the CGI variables, or a sentence saying why it cannot be served. */
export function requestHead(
  params: ReadonlyMap<string, string> | [string, string][],
): CgiRequestHead | string {
  const pairs = params instanceof Map ? [...params] : (params as [string, string][]);
  // One pass for the variables read by name, one for the headers: no lookup per variable.
  const v = readVars(pairs);
  const method = v.method ?? "";
  if (!TOKEN.test(method)) return "REQUEST_METHOD missing or not a token";
  let target = v.uri;
  if (target === undefined || target === "") {
    const query = v.query;
    target = (v.script ?? "") + (v.pathInfo ?? "") + (query ? `?${query}` : "");
  }
  if (!TARGET.test(target)) return "REQUEST_URI missing or has spaces or control characters";
  const rawHeaders: string[] = [];
  // CONTENT_LENGTH / CONTENT_TYPE are the web server's framing (nginx de-chunks the body and
  // counts it); nginx also passes the client's own copies as HTTP_CONTENT_*: keep one of each.
  const cgiLength = v.length;
  const cgiType = v.type;
  for (let i = 0; i < pairs.length; i++) {
    const [name, value] = pairs[i]!;
    let header: string;
    if (name.startsWith("HTTP_")) {
      if (name === "HTTP_TRANSFER_ENCODING") continue;
      if (name === "HTTP_CONTENT_LENGTH" && cgiLength) continue;
      if (name === "HTTP_CONTENT_TYPE" && cgiType) continue;
      header = headerName(name);
    } else if (name === "CONTENT_TYPE" || name === "CONTENT_LENGTH") {
      if (value === "") continue; // CGI sends these empty when absent
      header = name === "CONTENT_TYPE" ? "content-type" : "content-length";
    } else continue;
    if (!TOKEN.test(header) || BAD_VALUE.test(value)) return `bad header in ${name}`;
    rawHeaders.push(header, value);
  }
  const site = v.site;
  if (site !== undefined && BAD_VALUE.test(site)) return "bad SITEBOX_SITE";
  const https = v.https;
  const requestScheme = v.requestScheme?.toLowerCase();
  const scheme =
    (https !== undefined && https !== "" && https.toLowerCase() !== "off") ||
    requestScheme === "https"
      ? "https"
      : "http";
  const protocol = /^HTTP\/(\d\.\d|\d)$/.exec(v.protocol ?? "");
  return {
    method,
    target,
    host: site !== undefined && site !== "" ? site : v.host,
    rawHeaders,
    remoteAddress: v.remote ?? "",
    scheme,
    httpVersion: protocol?.[1] ?? "1.1",
  };
}

/** Hop-by-hop headers mean nothing inside FastCGI: the web server frames the client's reply. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade"]);

/**
 * The CGI header block a response starts with: `Status: 200 OK`, the headers, a blank line.
 * `headers` is flat (name, value, name, value…) and already validated by the pipeline.
 */
export function responseHead(status: number, headers: readonly string[]): string {
  let out = `Status: ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    out += `${name}: ${headers[i + 1]}\r\n`;
  }
  return out + "\r\n";
}

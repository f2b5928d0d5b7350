import { openAccessLog, type AccessSink } from "./access-log.js";

/**
 * The only place that writes to stdout and stderr. Access lines (Apache combined format) are
 * batched: a write per request is a syscall per request when stdout is a pipe or a file.
 *
 * Error-log lines carry text from sites (console output, error messages, stacks, load errors):
 * every such text is escaped to one line, so no site can forge a line tagged with another, and
 * each site's lines are held to a rate (log-rate.ts), with a summary of what was dropped.
 */
import { LogRate, SITE_BYTES_PER_S, SITE_LINES_PER_S } from "./log-rate.js";

export interface Tags {
  site?: string;
  route?: string;
  worker?: number;
}

export interface Log {
  access(line: string): void;
  error(tags: Tags, message: string): void;
  console(tags: Tags, level: string, text: string): void;
  info(message: string): void;
  flush(): void;
  /** Reopens the access log file (SIGUSR1, for logrotate); only a log that writes files has it. */
  reopen?(): void;
}

/** A logged text from a site is cut here (console lines are already cut at 16 KiB). */
const MAX_TEXT = 16 * 1024;

function tagText(tags: Tags): string {
  let out = "";
  if (tags.worker !== undefined) out += ` worker=${tags.worker}`;
  if (tags.site !== undefined) out += ` site=${oneLine(tags.site)}`;
  if (tags.route !== undefined) out += ` route=${oneLine(tags.route)}`;
  return out;
}

/**
 * A stack with each run of identical lines kept once and counted: a runaway recursion's 2,700
 * frames of one function fit in two lines, and the frames below it are not cut off.
 */
export function foldRepeatedLines(text: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length;) {
    let j = i + 1;
    while (j < lines.length && lines[j] === lines[i]) j++;
    out.push(lines[i]!);
    if (j - i > 1) out.push(`    ... the line above ${j - i - 1} more times`);
    i = j;
  }
  return out.join("\n");
}

/**
 * One line, unambiguous: control characters (and the two Unicode line separators) become
 * `\n`, `\r`, `\t` or `\xHH`/`\uHHHH`, a backslash becomes `\\`, as Apache escapes its logs.
 */
export function oneLine(text: string, max = MAX_TEXT): string {
  const cut =
    text.length > max ? `${text.slice(0, max)}... (${text.length - max} more characters)` : text;
  return /[\x00-\x1f\x7f\\\u2028\u2029]/.test(cut)
    ? cut.replace(/[\x00-\x1f\x7f\\\u2028\u2029]/g, escapeChar)
    : cut;
}

function escapeChar(c: string): string {
  switch (c) {
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
    case "\\":
      return "\\\\";
    default: {
      const code = c.charCodeAt(0);
      return code > 0xff ? "\\u" + code.toString(16) : "\\x" + code.toString(16).padStart(2, "0");
    }
  }
}

/** Bytes of access lines a worker holds before it writes them (or 20 ms, whichever is first). */
const ACCESS_BATCH_BYTES = 64 * 1024;

export class StdLog implements Log {
  readonly #sink: AccessSink;
  /**
   * Access lines are encoded into bytes as they come, not kept as strings: a line's string
   * refers to the request's own strings (over FastCGI, slices of its whole params block), and
   * hundreds of lines held for 20 ms kept that much of every request alive through scavenges.
   */
  #batch = Buffer.allocUnsafe(ACCESS_BATCH_BYTES);
  #used = 0;
  #scheduled = false;
  #rate = new LogRate();
  #summaries: NodeJS.Timeout | undefined;
  /** The tags of each site's last line, for its summary. */
  #lastTags = new Map<string, Tags>();

  /** `accessLog`: a file path, or "-" for stdout; throws if the file cannot be opened. */
  constructor(accessLog = "-") {
    this.#sink = openAccessLog(accessLog);
  }

  access(line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: with that much room the line fits whole.
    if (this.#used + line.length * 3 + 1 > ACCESS_BATCH_BYTES) {
      this.flush();
      if (line.length * 3 + 1 > ACCESS_BATCH_BYTES) {
        this.#sink.write(Buffer.from(line + "\n"));
        return;
      }
    }
    this.#used += this.#batch.write(line, this.#used, "utf8");
    this.#batch[this.#used++] = 0x0a;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.flush(), 20).unref();
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#used === 0) return;
    // The sink may hold the bytes until they are written (a file stream): they are its own.
    const bytes = this.#batch.subarray(0, this.#used);
    this.#batch = Buffer.allocUnsafe(ACCESS_BATCH_BYTES);
    this.#used = 0;
    this.#sink.write(bytes);
  }

  reopen(): void {
    this.flush();
    const problem = this.#sink.reopen();
    if (problem !== null) this.error({}, problem);
  }

  error(tags: Tags, message: string): void {
    this.#line(tags, "error", message);
  }

  console(tags: Tags, level: string, text: string): void {
    this.#line(tags, `console.${level}`, text);
  }

  info(message: string): void {
    process.stderr.write(`sitebox: ${oneLine(message)}\n`);
  }

  #line(tags: Tags, kind: string, text: string): void {
    const line = `[${new Date().toISOString()}] ${oneLine(kind)}${tagText(tags)}: ${oneLine(text)}\n`;
    if (tags.site !== undefined && !this.#rate.take(tags.site, line.length, Date.now())) {
      this.#lastTags.set(tags.site, { site: tags.site, worker: tags.worker });
      this.#summaries ??= setInterval(() => this.#summarize(), 1000).unref();
      return;
    }
    process.stderr.write(line);
  }

  #summarize(): void {
    for (const d of this.#rate.drained(Date.now())) {
      const tags = this.#lastTags.get(d.key) ?? { site: d.key };
      this.#lastTags.delete(d.key);
      process.stderr.write(
        `[${new Date().toISOString()}] error${tagText(tags)}: log rate limit: ${d.lines} lines ` +
          `(${d.bytes} bytes) dropped in ${(d.overMs / 1000).toFixed(1)} s ` +
          `(a site may log ${SITE_LINES_PER_S} lines or ${SITE_BYTES_PER_S >> 10} KiB a second)\n`,
      );
    }
    if (!this.#rate.dropping) {
      clearInterval(this.#summaries);
      this.#summaries = undefined;
    }
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
let clfSecond = 0;
let clfText = "";

/** `[10/Oct/2000:13:55:36 +0000]`, computed once per second. */
export function clfDate(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== clfSecond) {
    const d = new Date(second * 1000);
    const p = (n: number) => (n < 10 ? "0" + n : String(n));
    clfText =
      `[${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
      `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000]`;
    clfSecond = second;
  }
  return clfText;
}

/** Quotes a request-controlled field as Apache does: no raw quotes, backslashes or controls. */
export function clfQuote(value: string | undefined): string {
  if (value === undefined || value === "") return "-";
  return /["\\\x00-\x1f\x7f]/.test(value)
    ? value.replace(
        /["\\\x00-\x1f\x7f]/g,
        (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"),
      )
    : value;
}

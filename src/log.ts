import { openAccessLog, type AccessSink } from "./access-log.js";

/**
 * The only place that writes to stdout and stderr. Access lines (Apache combined format) are
 * batched: a write per request is a syscall per request when stdout is a pipe or a file.
 */
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

function tagText(tags: Tags): string {
  let out = "";
  if (tags.worker !== undefined) out += ` worker=${tags.worker}`;
  if (tags.site !== undefined) out += ` site=${tags.site}`;
  if (tags.route !== undefined) out += ` route=${tags.route}`;
  return out;
}

export class StdLog implements Log {
  readonly #sink: AccessSink;
  #buffer: string[] = [];
  #bytes = 0;
  #scheduled = false;

  /** `accessLog`: a file path, or "-" for stdout; throws if the file cannot be opened. */
  constructor(accessLog = "-") {
    this.#sink = openAccessLog(accessLog);
  }

  access(line: string): void {
    this.#buffer.push(line);
    this.#bytes += line.length;
    if (this.#bytes > 64 * 1024) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.flush(), 20).unref();
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#buffer.length === 0) return;
    const text = this.#buffer.join("\n") + "\n";
    this.#buffer = [];
    this.#bytes = 0;
    this.#sink.write(text);
  }

  reopen(): void {
    this.flush();
    const problem = this.#sink.reopen();
    if (problem !== null) this.error({}, problem);
  }

  error(tags: Tags, message: string): void {
    process.stderr.write(`[${new Date().toISOString()}] error${tagText(tags)}: ${message}\n`);
  }

  console(tags: Tags, level: string, text: string): void {
    const lines = text.split("\n").join("\n    ");
    process.stderr.write(
      `[${new Date().toISOString()}] console.${level}${tagText(tags)}: ${lines}\n`,
    );
  }

  info(message: string): void {
    process.stderr.write(`sitebox: ${message}\n`);
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

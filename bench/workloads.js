// The workloads every target serves, and the exact bytes each must answer: the same for sitebox,
// node:http and the anchors, so a ratio compares like with like (the bench checks them first).
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./common.js";
import { item, pageData } from "./site/_lib/data.js";
import { renderPage } from "./site/_lib/template.js";

/** The benchmark site for sitebox (copied to a temp folder); the baseline imports its _lib. */
export const SITE_DIR = path.join(ROOT, "bench/site");
export const STATIC_FILE = path.join(SITE_DIR, "public/style.css");

/** The POSTed body: a small order, plain ASCII and no "/" (PHP's json_encode would escape it). */
export const ECHO_BODY = JSON.stringify({
  order: 1042,
  customer: { id: 42, name: "Ada Lovelace", email: "ada@example.com", vip: true },
  lines: Array.from({ length: 8 }, (_, i) => ({
    sku: `SKU-${100 + i}`,
    qty: i + 1,
    cents: 250 * i,
  })),
  note: "Leave at the door, please.",
  tags: ["express", "gift", "fragile"],
});

export const WORKLOADS = [
  { name: "hello", label: "hello text", method: "GET", path: "/" },
  { name: "json", label: "JSON API ?n=10 (Response.json)", method: "GET", path: "/api/items?n=10" },
  { name: "static", label: "static CSS file, 2 KB", method: "GET", path: "/style.css" },
  { name: "page", label: "HTML page from a template, 5 KB", method: "GET", path: "/page" },
  { name: "echo", label: "POST JSON body echoed", method: "POST", path: "/api/echo" },
];

/** What each workload must answer, byte for byte. */
export function expectedBodies() {
  return {
    hello: "Hello, world!",
    json: JSON.stringify({ items: Array.from({ length: 10 }, (_, i) => item(i)) }),
    static: fs.readFileSync(STATIC_FILE, "utf8"),
    page: renderPage(pageData()),
    echo: JSON.stringify(JSON.parse(ECHO_BODY)),
  };
}

/** A wrk script that POSTs the echo body (wrk sends it on every request). */
export function wrkPostScript(file) {
  const lua =
    `wrk.method = "POST"\n` +
    `wrk.headers["Content-Type"] = "application/json"\n` +
    `wrk.body = [==[${ECHO_BODY}]==]\n`;
  fs.writeFileSync(file, lua);
  return file;
}

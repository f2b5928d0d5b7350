// GET /  (a route is a file: index.js → /, hello.js → /hello, api/time.js → /api/time)
import { page } from "./_lib/layout.js";

// The tour of `sitebox demo` (its registry is src/demo/index.ts).
const DEMOS = [
  ["stale-code", "edited code stays old until restart (forever), fixed by watch or SIGHUP"],
  ["stale-helper", "an edited helper stays stale when only the entry file is checked"],
  ["module-state", "module state persists, differs per worker, resets on reload"],
  ["data-leak", "one user's data leaking into the next request through module state"],
  ["version-skew", "workers answering with old and new code at once"],
  ["broken-edit", "a syntax error saved: 500s, or the last good generation"],
  ["half-deploy", "a multi-file change served half-done, or all-or-nothing"],
  ["symlink-flip", "a release deployed by flipping a symlink"],
  ["mtime-window", "two edits within one second"],
  ["cgi-cost", "a fresh interpreter per request against a kept one"],
  ["reload-window", "from saving a file to every worker serving it"],
  ["memory", "memory as workers and sites grow"],
  ["idle-eviction", "sandboxes of idle sites dropped, memory falls"],
  ["leak", "a handler leaking into module state, bounded by --max-memory"],
  ["recycle-stampede", "all workers recycling at once against one at a time"],
  ["restart", "stop/start drops requests, a SIGHUP rolling restart none"],
  ["runaway", "loops and never-ending handlers stopped, other sites unaffected"],
];

export default /** @satisfies {Sitebox.ExportedHandler} */ ({
  // The whole contract: take a web Request, return a web Response.
  async fetch(request, env, ctx) {
    const { origin } = new URL(request.url);
    return page(
      "sitebox",
      `
<h1><img src="/logo.svg" alt="" width="64" height="64"> sitebox</h1>
<p>sitebox is a prefork web server that serves a folder of sites, one folder per host name.
Each site's scripts run in a sandboxed QuickJS interpreter inside the worker processes, much as
Apache ran Python in its children with mod_python.</p>

<h2>Examples in this site</h2>
<ul>
  <li><a href="/hello?name=newcomer">/hello</a>: a dynamic page with state kept in the module</li>
  <li><a href="/api/time">/api/time</a>: a JSON API built with <code>Response.json</code></li>
  <li><a href="/form">/form</a>: a form that posts to itself</li>
  <li><a href="/logo.svg">/logo.svg</a>, <a href="/style.css">/style.css</a>: static files from <code>public/</code></li>
  <li><a href="/.sitebox/status">/.sitebox/status</a>: the server's status page</li>
</ul>
<p>Another site answers for another host name:
<code>curl -H 'Host: example.com' ${origin}/</code></p>
<h2>The pitfalls of embedded interpreters, replayed</h2>
<p>Each demonstration starts a real server, shows the historical behaviour, then the fix, with
measured figures. Run <code>npx sitebox demo NAME</code> (or <code>all</code>):</p>
<ul class="demos">${DEMOS.map(([name, what]) => `<li><code>${name}</code>: ${what}</li>`).join("")}</ul>`,
    );
  },
});

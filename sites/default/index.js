// GET /  (a route is a file: index.js → /, hello.js → /hello, api/time.js → /api/time)
import { page } from "./_lib/layout.js";

export default {
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
<p>Run <code>sitebox demo</code> to replay the classic pitfalls of embedded interpreters
(stale code, leaking state, runaway scripts) with real requests.</p>`,
    );
  },
};

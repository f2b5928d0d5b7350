// GET /hello?name=Ada  (a dynamic page)
import { escapeHtml } from "./_lib/format.js";
import { page } from "./_lib/layout.js";

// Module state lives as long as this site's sandbox, and each worker process has its own
// sandbox: with --workers 4 there are four counters, and a code change starts them again at 0.
let visits = 0;

export default /** @satisfies {Sitebox.ExportedHandler} */ ({
  async fetch(request) {
    visits++;
    const name = new URL(request.url).searchParams.get("name")?.trim() || "world";
    // escapeHtml: ?name=<script>… must come back as text, not as markup.
    return page(
      "Hello",
      `
<h1>Hello, ${escapeHtml(name)}!</h1>
<p>It is ${new Date().toUTCString()}.</p>
<p>This worker process has served this page <strong>${visits}</strong> time(s). The count is
per worker process, so a reload may show another worker's count.</p>
<form action="/hello">
  <input name="name" value="${escapeHtml(name)}"> <button>Greet</button>
</form>`,
    );
  },
});

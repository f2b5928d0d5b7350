// GET /form shows a form; the form POSTs to the same URL, which reads it and shows what was sent.
import { escapeHtml } from "./_lib/format.js";
import { page } from "./_lib/layout.js";

const form = (name = "", message = "") => `
<form method="post" action="/form">
  <label>Name <input name="name" value="${escapeHtml(name)}" required></label>
  <label>Message <textarea name="message" rows="3">${escapeHtml(message)}</textarea></label>
  <button>Send</button>
</form>`;

export default /** @satisfies {Sitebox.ExportedHandler} */ ({
  async fetch(request) {
    if (request.method === "GET" || request.method === "HEAD")
      return page("Form", `<h1>Send a message</h1>${form()}`);
    if (request.method !== "POST")
      return new Response("Method Not Allowed\n", {
        status: 405,
        headers: { allow: "GET, HEAD, POST" },
      });

    // formData() parses application/x-www-form-urlencoded bodies: what a plain <form> sends.
    const data = await request.formData();
    const name = String(data.get("name") ?? "").trim();
    const message = String(data.get("message") ?? "");
    if (name === "")
      return page("Form", `<p class="error">Please give a name.</p>${form(name, message)}`, 422);

    // Answered directly instead of redirected (Post/Redirect/Get): a redirect would have to park
    // the values somewhere, and module state is per worker process, so the GET after the
    // redirect could land on a worker that never saw them.
    return page(
      "Thanks",
      `
<h1>Thanks, ${escapeHtml(name)}!</h1>
<p>You wrote:</p>
<blockquote>${message ? escapeHtml(message) : "<em>(nothing)</em>"}</blockquote>
<p><a href="/form">Send another</a></p>`,
    );
  },
});

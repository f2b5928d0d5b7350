// An HTML page (~5 KB) rendered from a template.
import { pageData } from "./_lib/data.js";
import { renderPage } from "./_lib/template.js";

export default {
  fetch() {
    return new Response(renderPage(pageData()), {
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  },
};

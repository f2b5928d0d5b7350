// The page shell every HTML route shares, so each route holds only its own content.
import { escapeHtml } from "./format.js";

/**
 * An HTML Response. `body` is trusted markup: escape request values before putting them in.
 * @param {string} title
 * @param {string} body
 */
export function page(title, body, status = 200) {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header><a href="/"><img src="/logo.svg" alt="" width="32" height="32"> sitebox</a></header>
<main>
${body.trim()}
</main>
</body>
</html>
`;
  return new Response(html, { status, headers: { "content-type": "text/html; charset=utf-8" } });
}

// A small template: literal HTML with escaped holes and one loop.
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };
const escape = (v) => String(v).replace(/[&<>"]/g, (c) => ESCAPES[c]);

export function renderPage({ title, rows }) {
  let body = "";
  for (const r of rows)
    body +=
      `<tr><td>${r.id}</td><td><a href="/item/${r.id}">${escape(r.name)}</a></td>` +
      `<td class="num">${r.price}</td><td class="num">${r.stock}</td></tr>\n`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escape(title)}</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<h1>${escape(title)}</h1>
<table>
<thead><tr><th>#</th><th>Name</th><th>Price</th><th>Stock</th></tr></thead>
<tbody>
${body}</tbody>
</table>
<footer>${rows.length} products</footer>
</body>
</html>
`;
}

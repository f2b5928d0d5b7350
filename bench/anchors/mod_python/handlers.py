# The bench's workloads as mod_python handlers (bench/workloads.js): the same bytes as sitebox's
# site (bench/site/), written as a mod_python user would write them. The static file is Apache's.
import html
import json
from urllib.parse import parse_qs

from mod_python import apache


def _send(req, content_type, text):
    data = text.encode("utf-8")
    req.content_type = content_type
    req.set_content_length(len(data))
    req.write(data)
    return apache.OK


def hello(req):
    return _send(req, "text/plain", "Hello, world!")


def _item(i):
    return {"id": i, "name": "Item %d" % i, "price": 100 + i, "inStock": i % 2 == 0}


def items(req):
    query = parse_qs(req.args or "")
    try:
        n = min(1000, int(query.get("n", ["10"])[0]))
    except ValueError:
        n = 0
    body = {"items": [_item(i) for i in range(n)]}
    return _send(req, "application/json", json.dumps(body, separators=(",", ":")))


def _page_data():
    rows = [
        {"id": i, "name": "Widget %d & <Co>" % i, "price": 100 + i * 7, "stock": (i * 13) % 50}
        for i in range(1, 41)
    ]
    return {"title": "Products & <prices>", "rows": rows}


def _escape(v):
    return html.escape(str(v), quote=True)


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<h1>{title}</h1>
<table>
<thead><tr><th>#</th><th>Name</th><th>Price</th><th>Stock</th></tr></thead>
<tbody>
{body}</tbody>
</table>
<footer>{count} products</footer>
</body>
</html>
"""

_ROW = (
    '<tr><td>{id}</td><td><a href="/item/{id}">{name}</a></td>'
    '<td class="num">{price}</td><td class="num">{stock}</td></tr>\n'
)


def page(req):
    data = _page_data()
    body = "".join(
        _ROW.format(id=r["id"], name=_escape(r["name"]), price=r["price"], stock=r["stock"])
        for r in data["rows"]
    )
    text = _PAGE.format(title=_escape(data["title"]), body=body, count=len(data["rows"]))
    return _send(req, "text/html; charset=utf-8", text)


def echo(req):
    if req.method != "POST":
        return apache.HTTP_METHOD_NOT_ALLOWED
    try:
        data = json.loads(req.read())
    except ValueError:
        return apache.HTTP_BAD_REQUEST
    return _send(req, "application/json", json.dumps(data, separators=(",", ":")))

// JSON API: `?n=10` items, read from the query string, answered with Response.json.
import { item } from "../_lib/data.js";

export default {
  fetch(request) {
    const n = Math.min(1000, Number(new URL(request.url).searchParams.get("n") ?? 10) || 0);
    return Response.json({ items: Array.from({ length: n }, (_, i) => item(i)) });
  },
};

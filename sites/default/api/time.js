// GET /api/time  (a JSON API; folders map to URL paths)
import { timeParts } from "../_lib/format.js";

export default /** @satisfies {Sitebox.ExportedHandler} */ ({
  async fetch(request) {
    if (request.method !== "GET" && request.method !== "HEAD")
      return Response.json(
        { error: "method not allowed" },
        { status: 405, headers: { allow: "GET, HEAD" } },
      );
    // Response.json serialises the value and sets content-type: application/json.
    return Response.json(timeParts(new Date()), { headers: { "cache-control": "no-store" } });
  },
});

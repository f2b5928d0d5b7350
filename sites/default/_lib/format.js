// Helpers shared by the routes. The leading underscore makes this folder importable
// (`import … from "./_lib/format.js"`) but never routable: GET /_lib/format is a 404.

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe for HTML content and quoted attributes. Use it on every value from a request. */
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A moment in the shapes clients ask for. UTC only: the sandbox has no time-zone data. */
export function timeParts(date = new Date()) {
  return {
    iso: date.toISOString(),
    unix: Math.floor(date.getTime() / 1000),
    utc: date.toUTCString(),
  };
}

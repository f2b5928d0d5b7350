// Helpers shared by the routes. The leading underscore makes this folder importable
// (`import … from "./_lib/format.js"`) but never routable: GET /_lib/format is a 404.

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * Text made safe for HTML content and quoted attributes. Use it on every value from a request.
 * @param {unknown} value
 */
export function escapeHtml(value) {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ENTITIES[/** @type {keyof typeof ENTITIES} */ (c)],
  );
}

/** A moment in the shapes clients ask for, in UTC (Intl.DateTimeFormat gives other time zones). */
export function timeParts(date = new Date()) {
  return {
    iso: date.toISOString(),
    unix: Math.floor(date.getTime() / 1000),
    utc: date.toUTCString(),
  };
}

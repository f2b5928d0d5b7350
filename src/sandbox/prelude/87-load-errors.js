// A module that fails to load because it touches a global this sandbox does not have (a library
// reaching for `process`, `Intl`, `Buffer` at import time) fails with a message naming the file
// and the API, instead of QuickJS's bare "'X' is not defined".
const MISSING_GLOBAL = /^'([^']+)' is not defined$/;
const FRAME_FILE = /\(([^():]+):\d+(?::\d+)?\)|at ([^\s():]+):\d+/;

function describeLoadError(e, route) {
  if (!(e instanceof ReferenceError)) return e;
  const m = MISSING_GLOBAL.exec(String(e.message));
  if (m === null || ObjectHasOwn(globalObject, m[1])) return e;
  const frame = FRAME_FILE.exec(typeof e.stack === "string" ? e.stack : "");
  const file = frame === null ? route : (frame[1] ?? frame[2]);
  const err = new ReferenceError(`${file}: uses \`${m[1]}\`, which this sandbox does not provide`);
  if (typeof e.stack === "string") {
    ObjectDefineProperty(err, "stack", { value: e.stack, writable: true, configurable: true });
  }
  return err;
}

// For the host (host/io.ts, host/strings.ts), taken through entry.intrinsics: the untampered JSON
// functions, for strings that cannot cross as C strings, and errors of the context's own types.
const hostIntrinsics = [
  JSONparse,
  JSONstringify,
  (name, message) => {
    const C = name === "TypeError" ? TypeError : name === "RangeError" ? RangeError : null;
    const e =
      C !== null
        ? new C(message)
        : name === "SyntaxError"
          ? new SyntaxError(message)
          : new Error(message);
    if (C === null && name !== "SyntaxError") {
      ObjectDefineProperty(e, "name", { value: name, writable: true, configurable: true });
    }
    return e;
  },
];

// Host operations that finish later (host/async-ops.ts): a host function starts one and returns
// a ticket; when it settles, the host calls entry.settle(ticket, ok, ...values), which lands here.
const hostOps = new SafeMap(); // ticket -> { resolve, reject, decode }

// The promise for a ticket; decode turns the host's values into the result.
function hostOperation(ticket, decode) {
  const d = newDeferred();
  hostOps.set(ticket, { resolve: d.resolve, reject: d.reject, decode });
  return d.promise;
}

// A failure from the host: (kind "dom" | "error", name, message).
function hostOperationError(kind, name, message) {
  if (kind === "dom") return new DOMException(message, name);
  if (name === "TypeError") return new TypeError(message);
  if (name === "RangeError") return new RangeError(message);
  if (name === "SyntaxError") return new SyntaxError(message);
  return new DOMException(message, "OperationError");
}

function settleHostOperation(ticket, ok, a, b, c, d, e) {
  const op = hostOps.get(ticket);
  if (op === undefined) return;
  hostOps.delete(ticket);
  if (!ok) {
    op.reject(hostOperationError(a, b, c));
    return;
  }
  try {
    op.resolve(op.decode(a, b, c, d, e));
  } catch (err) {
    op.reject(err);
  }
}

/**
 * A worker being drained (SIGHUP roll) must answer a connection it had already accepted, even
 * when that client is slow to send its first request: no client retries a request on a fresh
 * connection, so cutting it after the keep-alive quiet period loses the request.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import net from "node:net";
import { request, sleep, startServer, type RunningServer } from "./helpers.js";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    workers: 1,
    sites: {
      default: {
        "index.js": "export default { fetch: () => new Response('ok') };",
        "slow.js":
          "export default { fetch: () => new Promise((r) => setTimeout(() => r(new Response('slow')), 3000)) };",
      },
    },
  });
});
afterAll(() => server?.close());

/** A raw TCP connection to the server: what it has received so far, and when it closed. */
async function rawConnection() {
  const { port } = new URL(server.url);
  const socket = net.connect(Number(port), "127.0.0.1");
  await new Promise<void>((resolve, reject) =>
    socket.once("connect", resolve).once("error", reject),
  );
  let received = "";
  socket.on("data", (d: Buffer) => (received += d.toString()));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { socket, reply: () => received, closed };
}

it("a connection accepted before a roll gets its answer though its request comes 800 ms later", async () => {
  const { socket, reply, closed } = await rawConnection();
  const pids = async () => {
    const r = await request(server.url, "/.sitebox/status.json", { fresh: true });
    return (JSON.parse(r.text).workers as { pid: number }[]).map((w) => w.pid).join();
  };
  const before = await pids(); // also: the worker has accepted our connection by now
  server.proc.kill("SIGHUP");
  // The replacement is ready once the status page lists only it; the old worker drains from then.
  for (const end = Date.now() + 15_000; (await pids()) === before; await sleep(25))
    if (Date.now() > end) throw new Error("the worker was not replaced");
  await sleep(800);
  socket.write("GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
  await closed;
  expect(reply()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(reply()).toMatch(/\r\n\r\nok$/);
});

it("a request in flight when the drain begins is answered with connection: close", async () => {
  const { socket, reply, closed } = await rawConnection();
  // Kept alive: without being told, the client would send its next request on this connection.
  socket.write("GET /slow HTTP/1.1\r\nhost: localhost\r\n\r\n");
  await sleep(300); // the handler is waiting on its timer
  server.proc.kill("SIGHUP");
  await closed; // the worker closes the connection after the answer, as it said it would
  expect(reply()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(reply()).toMatch(/\r\nconnection: close\r\n/i);
  expect(reply()).toMatch(/\r\n\r\nslow$/);
});

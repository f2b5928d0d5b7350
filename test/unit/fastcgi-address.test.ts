import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import {
  clearStaleSocket,
  parseFastCgiAddress,
  restrictSocket,
} from "../../src/fastcgi/address.js";
import { tempDir } from "../helpers.js";

describe("parseFastCgiAddress", () => {
  it("reads HOST:PORT, [v6]:PORT, a bare port and socket paths", () => {
    expect(parseFastCgiAddress("127.0.0.1:9000")).toEqual({
      kind: "tcp",
      host: "127.0.0.1",
      port: 9000,
    });
    expect(parseFastCgiAddress("[::1]:9000")).toEqual({ kind: "tcp", host: "::1", port: 9000 });
    expect(parseFastCgiAddress("9001")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 9001 });
    expect(parseFastCgiAddress("run/fcgi.sock", "/srv")).toEqual({
      kind: "unix",
      path: "/srv/run/fcgi.sock",
    });
  });
  it("says what it accepts", () => {
    for (const bad of ["host", "h:0", "h:70000", "[nope]:80", ":x"])
      expect(() => parseFastCgiAddress(bad)).toThrow(/is not HOST:PORT/);
  });
});

describe("unix sockets", () => {
  it("a stale socket is removed, a live one or a plain file is refused; the mode is 0660", async () => {
    const dir = tempDir("sitebox-sock-");
    const path = join(dir, "fcgi.sock");
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(path, r));
    await restrictSocket(path);
    expect(statSync(path).mode & 0o777).toBe(0o660);
    await expect(clearStaleSocket(path)).rejects.toThrow(/in use/);
    // A killed server leaves its socket file behind.
    const stale = join(dir, "stale.sock");
    const child = spawn(process.execPath, [
      "-e",
      `require("net").createServer().listen(${JSON.stringify(stale)}, () => console.log("up"))`,
    ]);
    await new Promise((r) => child.stdout.once("data", r));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(existsSync(stale)).toBe(true);
    await clearStaleSocket(stale);
    expect(existsSync(stale)).toBe(false);
    const file = join(dir, "file");
    writeFileSync(file, "x");
    await expect(clearStaleSocket(file)).rejects.toThrow(/not a socket/);
    await clearStaleSocket(join(dir, "absent.sock"));
    await new Promise((r) => server.close(r));
    expect(existsSync(path)).toBe(false);
  });
});

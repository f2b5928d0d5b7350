/**
 * /.sitebox/health: whether this instance takes traffic, for a load balancer. Cheap (no site code,
 * no call to the primary), open to every client (it says nothing but ok or draining), never
 * cached. At SIGTERM it turns "draining" (503) while the listener still accepts, for --drain-delay
 * ms, so a balancer that polls it stops sending before connections are refused.
 */
import type { ServerResponse } from "node:http";

export const HEALTH_PATH = "/.sitebox/health";

class Health {
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  drain(): void {
    this.#draining = true;
  }

  /** The status and JSON body of a health answer. */
  answer(): { status: number; body: string } {
    return this.#draining
      ? { status: 503, body: '{"status":"draining"}\n' }
      : { status: 200, body: '{"status":"ok"}\n' };
  }

  /** Answers on a node:http response; true, so the status endpoint can return it. */
  respond(res: ServerResponse): true {
    const { status, body } = this.answer();
    res
      .writeHead(status, {
        "content-type": "application/json",
        "content-length": body.length,
        "cache-control": "no-store",
      })
      .end(body);
    return true;
  }
}

/** One per worker process: every worker of the instance is told at once (message health-draining). */
export const health = new Health();

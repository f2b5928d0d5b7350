// A site written in TypeScript against sitebox's types (types/index.d.ts): `npm test` type-checks
// it (types/tsconfig.json) and test/types.test.ts bundles and serves it.

interface Vars {
  readonly greeting?: string;
}

const route = new URLPattern({ pathname: "/items/:id" });

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const match = route.exec(url);
    if (match !== null) {
      const id = match.pathname.groups.id ?? "";
      ctx.waitUntil(Promise.resolve());
      return Response.json({ id, sha256: await sha256(id) });
    }
    if (url.pathname === "/price") {
      const price = new Intl.NumberFormat("de-DE", { style: "currency", currency: "EUR" });
      return new Response(price.format(1234.5));
    }
    if (url.pathname === "/stream") {
      const body = new ReadableStream<string>({
        start(controller) {
          controller.enqueue("a,");
          controller.enqueue("b");
          controller.close();
        },
      }).pipeThrough(new TextEncoderStream());
      return new Response(body, { headers: { "content-type": "text/plain" } });
    }
    if (request.method === "POST") {
      const form = await request.formData();
      const copy = structuredClone({ name: String(form.get("name")) });
      return new Response(`${env.greeting ?? "Hello"}, ${copy.name}`);
    }
    return new Response("not found", { status: 404 });
  },
} satisfies Sitebox.ExportedHandler<Vars>;

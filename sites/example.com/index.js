// A second site: sites/example.com/ answers requests whose Host header is example.com (any port).
//   curl -H 'Host: example.com' http://127.0.0.1:8080/
// Any other host name falls back to sites/default/.
export default /** @satisfies {Sitebox.ExportedHandler} */ ({
  // env holds the "vars" of this site's site.json: configuration without editing code.
  async fetch(request, env) {
    const { host, pathname } = new URL(request.url);
    return new Response(`${env.GREETING}\nYou asked ${host} for ${pathname}.\n`, {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  },
});

// hello: the smallest useful response.
export default {
  fetch() {
    return new Response("Hello, world!", { headers: { "content-type": "text/plain" } });
  },
};

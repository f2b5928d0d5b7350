// A POSTed JSON body, parsed and answered back.
export default {
  async fetch(request) {
    return Response.json(await request.json());
  },
};

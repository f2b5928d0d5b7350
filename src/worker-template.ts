/**
 * A worker's side of the sandbox template image (src/template-images.ts): it asks the primary
 * where the image is, once its message handler is in place (a message sent to a worker still
 * loading its modules would be lost), and opens it.
 */
import { openImage, type ImageFile } from "./sandbox/template-image.js";
import type { ImageState } from "./template-images.js";

/** The primary answers once the image is built, which is bounded; this is only a backstop. */
const WAIT_MS = 90_000;

export async function primaryImage(
  ask: (timeoutMs: number) => Promise<ImageState>,
): Promise<ImageFile | Error> {
  let state: ImageState;
  try {
    state = await ask(WAIT_MS);
  } catch (err) {
    return err as Error;
  }
  return "path" in state ? openImage(state.path) : new Error(state.error);
}

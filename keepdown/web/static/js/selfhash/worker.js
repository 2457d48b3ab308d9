// The hashing worker: files in, hashes out, off the page's main thread so the page stays
// responsive while a 12-megapixel photo is hashed (docs/self-submission.md).
//
// Message in:  {id, file (a File or Blob), options: {applyExifOrientation, maxPixels,
//               maxImageBytes, maxVideoBytes}}
// Messages out: {id, result, timings} or {id, error: {code, message}}.
// The worker never opens a connection: the page's Content-Security-Policy would refuse it,
// and there is nothing here that tries.

import { HashError, hashFile } from "./files.js";

self.addEventListener("message", async (event) => {
  const { id, file, options } = event.data || {};
  try {
    const { result, timings } = await hashFile(file, options || {});
    self.postMessage({ id, result, timings });
  } catch (err) {
    const code = err instanceof HashError ? err.code : "failed";
    self.postMessage({ id, error: { code, message: String((err && err.message) || err) } });
  }
});

self.postMessage({ ready: true });

// One file on the person's device to its hashes: what the worker (worker.js) runs.
//
// 1. Read the first bytes and tell the kind from them (never from the name or the type the
//    browser guesses): a picture keepdown decodes (JPEG, PNG, GIF, WebP, BMP, TIFF), a video
//    (MP4/MOV, WebM/Matroska, AVI), or something we do not take.
// 2. MD5 and SHA-256 of the bytes: Web Crypto's SHA-256 (one read) up to WEB_CRYPTO_MAX_BYTES,
//    above that both streamed in chunks (md5.js, sha256.js) so a long video never sits in
//    memory whole.
// 3. A picture is decoded by the browser (createImageBitmap, no colour management: keepdown's
//    decoder does none either), drawn once on an OffscreenCanvas and read back as RGBA, turned
//    by its EXIF orientation exactly as keepdown would have (orientation.js: keepdown's
//    apply_exif_orientation decides, whatever the browser did); PDQ and its 8 rotations and
//    mirrors come from those pixels (pdq.js, alpha ignored as keepdown does).
//
// Nothing here sends anything anywhere: the result is hashes and sizes only.

import { Md5 } from "./md5.js";
import { browserApplies, correction, exifOrientation, orient } from "./orientation.js";
import { pdqDihedral } from "./pdq.js";
import { Sha256 } from "./sha256.js";

/** Files up to this size are read at once and hashed with Web Crypto; larger ones stream. */
export const WEB_CRYPTO_MAX_BYTES = 256 * 1024 * 1024;
const CHUNK_BYTES = 8 * 1024 * 1024;

export class HashError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const HEX = "0123456789abcdef";
function hex(buffer) {
  let out = "";
  for (const b of new Uint8Array(buffer)) out += HEX[b >> 4] + HEX[b & 15];
  return out;
}

function ascii(bytes, start, end) {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** "image" (with its format), "video", or null, from the first 16 bytes. */
export function kindOf(head) {
  const b = head;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: "image", format: "JPEG" };
  if (b[0] === 0x89 && ascii(b, 1, 4) === "PNG") return { kind: "image", format: "PNG" };
  if (ascii(b, 0, 4) === "GIF8") return { kind: "image", format: "GIF" };
  if (ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP") return { kind: "image", format: "WEBP" };
  if (ascii(b, 0, 2) === "BM") return { kind: "image", format: "BMP" };
  if (ascii(b, 0, 4) === "II*\0" || ascii(b, 0, 4) === "MM\0*") return { kind: "image", format: "TIFF" };
  if (ascii(b, 4, 8) === "ftyp") return { kind: "video", format: "MP4" };
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return { kind: "video", format: "WEBM" };
  if (ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "AVI ") return { kind: "video", format: "AVI" };
  return null;
}

/** Step 2: {md5, sha256} of bytes already read. */
export async function exactOfBytes(bytes) {
  const sha256 = hex(await crypto.subtle.digest("SHA-256", bytes));
  return { md5: new Md5().update(bytes).hex(), sha256 };
}

/** Step 2: {md5, sha256} of a Blob (or File): read at once up to WEB_CRYPTO_MAX_BYTES,
 * streamed in chunks above. */
export async function exactHashes(blob) {
  if (blob.size <= WEB_CRYPTO_MAX_BYTES) return exactOfBytes(await blob.arrayBuffer());
  const md5 = new Md5();
  const sha = new Sha256();
  for (let at = 0; at < blob.size; at += CHUNK_BYTES) {
    const chunk = new Uint8Array(await blob.slice(at, at + CHUNK_BYTES).arrayBuffer());
    md5.update(chunk);
    sha.update(chunk);
  }
  return { md5: md5.hex(), sha256: sha.hex() };
}

function bitmapOptions(options) {
  return {
    imageOrientation: options.applyExifOrientation ? "from-image" : "none",
    premultiplyAlpha: "none",
    colorSpaceConversion: "none",
  };
}

/** Step 3's decoding, started: a promise of the decoded bitmap. The browser decodes off
 * this thread, so the exact hashes are computed meanwhile. */
export function openBitmap(blob, options = {}) {
  return createImageBitmap(blob, bitmapOptions(options)).catch((err) => {
    throw new HashError("undecodable", `this browser cannot open the picture (${err.message})`);
  });
}

/** Step 3's pixels: a decoded bitmap drawn once and read back as RGBA (then closed). */
export function pixelsOf(bitmap, { maxPixels = 1e8 } = {}) {
  const { width, height } = bitmap;
  try {
    if (width * height > maxPixels) {
      throw new HashError("too_large", `the picture is ${width}x${height}, over ${maxPixels} pixels`);
    }
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    const image = context.getImageData(0, 0, width, height);
    return { data: image.data, width, height, channels: 4 };
  } finally {
    bitmap.close();
  }
}

/** Step 3's turning: the browser's pixels as keepdown would have decoded them. */
export async function asKeepdownSees(pixels, bytes, format, options = {}) {
  const tag = exifOrientation(new Uint8Array(bytes), format);
  if (tag === 1) return pixels;
  const turned = await browserApplies(format, bitmapOptions(options));
  return orient(pixels, correction(tag, Boolean(options.applyExifOrientation), turned));
}

/** Steps 1-3 for one file: {kind, format, size, md5, sha256[, width, height, quality, pdq]}
 * (a picture the browser cannot open has ``pdq_error`` instead of the PDQ fields).
 * ``timings`` (milliseconds per step) are for the benchmark; nothing else reads them. */
export async function hashFile(file, options = {}) {
  const started = performance.now();
  const timings = {};
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const found = kindOf(head);
  if (found === null) {
    throw new HashError("unsupported", "this is not a picture or a video this page can read");
  }
  const limit = found.kind === "image" ? options.maxImageBytes : options.maxVideoBytes;
  if (limit && file.size > limit) {
    throw new HashError("too_large", `the file is ${file.size} bytes, over the ${limit}-byte limit`);
  }
  const result = { ...found, size: file.size };
  let mark = performance.now();
  if (found.kind !== "image") {
    Object.assign(result, await exactHashes(file));
    timings.exact = performance.now() - mark;
  } else {
    await hashPicture(file, options, result, timings);
  }
  timings.total = performance.now() - started;
  return { result, timings };
}

/** Steps 2 and 3 for a picture (read once: a picture is at most max_image_bytes). */
async function hashPicture(file, options, result, timings) {
  let mark = performance.now();
  const bytes = await file.arrayBuffer();
  // the browser decodes on a thread of its own while the exact hashes run here (the outcome
  // is kept as a value until awaited: no unhandled rejection meanwhile)
  const bitmap = openBitmap(file, options).then(
    (opened) => ({ opened }),
    (error) => ({ error }),
  );
  Object.assign(result, await exactOfBytes(bytes));
  timings.exact = performance.now() - mark;
  mark = performance.now();
  let pixels;
  try {
    const { opened, error } = await bitmap;
    if (error) throw error;
    pixels = await asKeepdownSees(pixelsOf(opened, options), bytes, result.format, options);
  } catch (err) {
    // A picture this browser cannot open (TIFF in most browsers, a damaged file) or one too
    // large still has its exact hashes: they are sent, PDQ is not.
    if (!(err instanceof HashError)) throw err;
    result.pdq_error = err.code;
  }
  timings.decode = performance.now() - mark; // what was left of decoding, read-back, turning
  if (!pixels) return;
  mark = performance.now();
  const pdq = pdqDihedral(pixels);
  timings.pdq = performance.now() - mark;
  Object.assign(result, {
    width: pixels.width,
    height: pixels.height,
    quality: pdq.quality,
    pdq: pdq.hashes,
  });
}

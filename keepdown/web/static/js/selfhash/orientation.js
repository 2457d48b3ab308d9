// EXIF orientation, handled as keepdown handles it (docs/self-submission.md).
//
// keepdown hashes a picture's stored pixels as they are unless apply_exif_orientation is on
// (then it turns them upright first, as Pillow's exif_transpose does). Browsers do not let a
// page choose reliably: Chromium turns JPEGs and PNGs upright even when asked not to
// (createImageBitmap's imageOrientation: "none"), but not WebPs. So:
//
// 1. read the picture's own EXIF orientation (1-8) from its bytes (JPEG APP1, PNG eXIf, WebP
//    EXIF chunk: where Pillow reads it);
// 2. find out, once per format and option, what this browser does: decode a 2x1 picture
//    tagged "rotate 90" (PROBES, made by scripts/selfhash_tables.py) and see whether it comes
//    out 1x2;
// 3. turn the decoded pixels into what keepdown would have hashed: undo the browser's
//    rotation, or apply the one it skipped. Rotations and mirrors move whole pixels, so the
//    result is exactly the pixels keepdown sees, and the hash keepdown's.

/** What each orientation value does to the stored pixels R (rw x rh) to show D: the source
 * pixel of D[y][x] is R[sy][sx], linear in x and y, so as a flat index into R it is
 * c + dx * x + dy * y. Returns [dx, dy, c]. Orientation 1 is identity (EXIF / TIFF tag 274).
 */
function steps(o, rw, rh) {
  const last = (rh - 1) * rw; // the first pixel of R's last row
  switch (o) {
    case 2: // mirrored left-right: R[y][rw-1-x]
      return [-1, rw, rw - 1];
    case 3: // turned 180 degrees: R[rh-1-y][rw-1-x]
      return [-1, -rw, last + rw - 1];
    case 4: // mirrored top-bottom: R[rh-1-y][x]
      return [1, -rw, last];
    case 5: // mirrored along the main diagonal: R[x][y]
      return [rw, 1, 0];
    case 6: // turned 90 degrees clockwise: R[rh-1-x][y]
      return [-rw, 1, last];
    case 7: // mirrored along the other diagonal: R[rh-1-x][rw-1-y]
      return [-rw, -1, last + rw - 1];
    case 8: // turned 90 degrees anticlockwise: R[x][rw-1-y]
      return [rw, -1, rw - 1];
    default:
      return null;
  }
}

/** The orientation that undoes ``o`` (the two quarter turns undo each other). */
export function inverse(o) {
  return o === 6 ? 8 : o === 8 ? 6 : o;
}

/** RGBA pixels ``{data, width, height}`` turned as orientation ``o`` turns stored pixels. */
export function orient(pixels, o) {
  const { width: rw, height: rh } = pixels;
  const step = steps(o, rw, rh);
  if (step === null) return pixels;
  const [dx, dy, c] = step;
  const dw = o >= 5 ? rh : rw;
  const dh = o >= 5 ? rw : rh;
  const from = new Uint32Array(pixels.data.buffer, pixels.data.byteOffset, rw * rh);
  const out = new Uint8ClampedArray(dw * dh * 4);
  const to = new Uint32Array(out.buffer);
  for (let y = 0, at = 0; y < dh; y++) {
    for (let x = 0, s = c + dy * y; x < dw; x++, s += dx) to[at++] = from[s];
  }
  return { data: out, width: dw, height: dh, channels: 4 };
}

function u16(bytes, at, little) {
  return little ? bytes[at] | (bytes[at + 1] << 8) : (bytes[at] << 8) | bytes[at + 1];
}

function u32(bytes, at, little) {
  return little
    ? (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0
    : ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** The orientation tag (274) of IFD0 of a TIFF structure at ``start``; 1 when absent. */
export function tiffOrientation(bytes, start, end = bytes.length) {
  if (end - start < 8) return 1;
  const order = String.fromCharCode(bytes[start], bytes[start + 1]);
  if (order !== "II" && order !== "MM") return 1;
  const little = order === "II";
  if (u16(bytes, start + 2, little) !== 42) return 1;
  const ifd = start + u32(bytes, start + 4, little);
  if (ifd + 2 > end) return 1;
  const count = u16(bytes, ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > end) return 1;
    if (u16(bytes, entry, little) === 0x0112 && u16(bytes, entry + 2, little) === 3) {
      const value = u16(bytes, entry + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

function ascii(bytes, start, length) {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

function exifStart(bytes, at, end) {
  // an Exif block may or may not start with "Exif\0\0" before its TIFF header
  return ascii(bytes, at, 6) === "Exif\0\0" ? tiffOrientation(bytes, at + 6, end) : tiffOrientation(bytes, at, end);
}

/** Step 1: the EXIF orientation of a JPEG, PNG or WebP file's bytes (1 when none). */
export function exifOrientation(bytes, format) {
  if (format === "JPEG") {
    let at = 2;
    while (at + 4 <= bytes.length && bytes[at] === 0xff) {
      const marker = bytes[at + 1];
      const length = u16(bytes, at + 2, false);
      if (marker === 0xda || marker === 0xd9) break; // image data: no metadata after this
      if (marker === 0xe1 && ascii(bytes, at + 4, 6) === "Exif\0\0") {
        return tiffOrientation(bytes, at + 10, Math.min(at + 2 + length, bytes.length));
      }
      at += 2 + length;
    }
    return 1;
  }
  if (format === "PNG") {
    for (let at = 8; at + 8 <= bytes.length; ) {
      const length = u32(bytes, at, false);
      const type = ascii(bytes, at + 4, 4);
      if (type === "eXIf") return exifStart(bytes, at + 8, Math.min(at + 8 + length, bytes.length));
      if (type === "IEND") break;
      at += 12 + length;
    }
    return 1;
  }
  if (format === "WEBP") {
    for (let at = 12; at + 8 <= bytes.length; ) {
      const length = u32(bytes, at + 4, true);
      if (ascii(bytes, at, 4) === "EXIF") return exifStart(bytes, at + 8, Math.min(at + 8 + length, bytes.length));
      at += 8 + length + (length & 1);
    }
  }
  return 1;
}

const applies = new Map();

/** Step 2: does this browser turn a ``format`` picture upright with these options? */
export async function browserApplies(format, options) {
  const key = `${format} ${options.imageOrientation}`;
  if (!applies.has(key)) {
    const probe = PROBES[format];
    let turned = false;
    if (probe) {
      const bytes = Uint8Array.from(atob(probe), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes]), options);
      turned = bitmap.width === 1 && bitmap.height === 2;
      bitmap.close();
    }
    applies.set(key, turned);
  }
  return applies.get(key);
}

/** Step 3: what to do to the browser's pixels so they are keepdown's: the orientation to
 * apply (1: nothing). ``tag`` is the file's orientation, ``wanted`` whether keepdown turns
 * pictures upright, ``turned`` whether the browser did. */
export function correction(tag, wanted, turned) {
  if (tag === 1 || wanted === turned) return 1;
  return turned ? inverse(tag) : tag;
}

// 2x1 pictures tagged orientation 6 ("rotate 90"), base64: written by
// scripts/selfhash_tables.py. A browser that applies the tag decodes them as 1x2.
const PROBES = {
  JPEG: "/9j/4AAQSkZJRgABAQAAAQABAAD/4QAiRXhpZgAATU0AKgAAAAgAAQESAAMAAAABAAYAAAAAAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAABAAIDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDHooorhPqD/9k=",
  PNG: "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAGmVYSWZNTQAqAAAACAABARIAAwAAAAEABgAAAAAAANZnS2kAAAAPSURBVHicYzwhJ8fAwAAABcwBBkWIWdQAAAAASUVORK5CYII=",
  WEBP: "UklGRm4AAABXRUJQVlA4WAoAAAAIAAAAAQAAAAAAVlA4IC4AAACwAQCdASoCAAEAAUAmJaACdLoABDAAAP7x3I/4DdfFtMv/vYL/3YL/3YL/WwAARVhJRhoAAABNTQAqAAAACAABARIAAwAAAAEABgAAAAAAAA==",
};

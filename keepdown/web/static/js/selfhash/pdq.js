// PDQ, Meta's 256-bit perceptual hash, in plain JavaScript: keepdown's own implementation for
// hashing on the person's device. Bit-identical to keepdown's Python PDQ
// (keepdown/hashing/pdq.py and pdq_filter.py), itself bit-identical to Meta's C++ reference,
// on the same pixels: same hash, same quality, same 8 rotations and mirrors.
//
// Bit-identity needs every float32 operation of the Python in the same order. JavaScript
// numbers are doubles, so each float32 step is rounded explicitly: Math.fround after each
// addition, subtraction, multiplication and division of a scalar, or a store into a
// Float32Array (which rounds the same way). For +, -, * and / of two float32 values the double
// result rounded once to float32 is the correctly rounded float32 result (a double has more
// than 2 x 24 + 2 bits), so this is exactly the float32 arithmetic of the Python kernels.
//
// Steps (docs/pdq.md, docs/self-submission.md):
// 1. luma Y = (299 R + 587 G + 114 B) / 1000 in float32 (grey is its own luma);
// 2. box ("Jarosz") filter along the rows, then the columns, then the rows, then the columns,
//    window ceil(size / 128) with shrinking windows at the edges, streamed row by row (only
//    the rows the column filter still needs are kept) and decimated to 64 x 64;
// 3. quality from the quantised gradients of the 64 x 64 image;
// 4. the DCT's 16 x 16 lowest frequencies; bit k says "coefficient k above the median";
// 5. the 8 rotations and mirrors from the same DCT (sign patterns and a transpose).
//
// Bit layout: bit k (DCT row k / 16, column k % 16) is worth 2**k in the 256-bit big-endian
// number printed as 64 hex digits, as python-threatexchange prints it.

const fround = Math.fround;

/** The 8 rotations and mirrors, in pdqhash.compute_dihedral's (and keepdown's) order. */
export const DIHEDRAL_NAMES = Object.freeze([
  "original",
  "rotate90",
  "rotate180",
  "rotate270",
  "flipx",
  "flipy",
  "flipplus1",
  "flipminus1",
]);

/** The reference hashes nothing smaller than this on either side (zero hash, quality 0). */
export const MIN_HASHABLE_DIM = 5;

const ZERO_HEX = "0".repeat(64);

/** The box filter's window for an image side: half a 64th, rounded up. */
export function jaroszWindow(size) {
  return Math.floor((size + 2 * 64 - 1) / (2 * 64));
}

/** The 64 pixel indices the decimation keeps (the centres of 64 cells). */
export function decimationIndices(size) {
  const out = new Int32Array(64);
  for (let k = 0; k < 64; k++) out[k] = Math.floor(((k + 0.5) * size) / 64);
  return out;
}

function checkPixels(pixels) {
  const { data, width, height, channels } = pixels;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new TypeError("PDQ needs 8-bit pixels (Uint8Array or Uint8ClampedArray)");
  }
  if (![1, 3, 4].includes(channels)) {
    throw new RangeError(`PDQ needs 1 (grey), 3 (RGB) or 4 (RGBA) channels, not ${channels}`);
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`PDQ needs a positive integer width and height, got ${width}x${height}`);
  }
  if (data.length < width * height * channels) {
    throw new RangeError(`${data.length} bytes are too few for ${width}x${height}x${channels}`);
  }
}

/** Step 1 for one row: float32 luma into ``out`` (alpha, the 4th channel, is ignored).
 * The Python divides the exact integer 299 R + 587 G + 114 B (at most 255000) by 1000 in
 * float32. Multiplying by the double 0.001 and rounding to float32 (the store does) gives the
 * same float32 for every integer from 0 to 255000 (tests/web/selfhash checks all of them;
 * n / 1000 is never within a double's error of a float32 rounding boundary), and a
 * multiplication costs a fraction of a division. */
function lumaRow(data, start, width, channels, out, words) {
  if (channels === 1) {
    for (let j = 0; j < width; j++) out[j] = data[start + j];
  } else if (words) {
    // RGBA read as one little-endian 32-bit word per pixel: one load instead of three
    for (let j = 0, p = start >> 2; j < width; j++, p++) {
      const v = words[p];
      out[j] = ((v & 255) * 299 + ((v >>> 8) & 255) * 587 + ((v >>> 16) & 255) * 114) * 0.001;
    }
  } else {
    for (let j = 0, p = start; j < width; j++, p += channels) {
      out[j] = (data[p] * 299 + data[p + 1] * 587 + data[p + 2] * 114) * 0.001;
    }
  }
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** RGBA pixels as 32-bit words (little-endian machines, aligned buffers), else null. */
function wordsOf(pixels) {
  const { data, channels } = pixels;
  if (channels !== 4 || !LITTLE_ENDIAN || data.byteOffset % 4 !== 0) return null;
  return new Uint32Array(data.buffer, data.byteOffset, data.length >> 2);
}

/** Exported for the exhaustive test of lumaRow's multiplication (see there). */
export function lumaOfSum(n) {
  return fround(n * 0.001);
}

// The box filters run LANES rows side by side, each with its own running sum. A row's sum is
// a chain of dependent float32 additions whatever we do; four independent chains in one loop
// let the processor overlap them (the Python puts 16 rows in SIMD lanes for the same reason).
// Each lane's arithmetic is exactly the one-row filter's, so the results are the same bits.
const LANES = 4;

/** The reference's box1DFloat on ``n`` values of four rows a0..a3 (window ``w``) into
 * d0..d3: a running float32 sum, the entering value added, then the leaving one subtracted,
 * divided by the count of values in the (edge-shrunk) window. */
function boxRows(a0, a1, a2, a3, d0, d1, d2, d3, n, w) {
  const half = (w + 2) >> 1;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let ri = 0;
  let oi = 0;
  for (let q = 0; q < half - 1; q++, ri++) {
    s0 = fround(s0 + a0[ri]); // phase 1: accumulate, no output
    s1 = fround(s1 + a1[ri]);
    s2 = fround(s2 + a2[ri]);
    s3 = fround(s3 + a3[ri]);
  }
  let cnt = half - 1;
  for (let q = 0; q < w - half + 1; q++, ri++, oi++) {
    cnt++; // phase 2: growing window
    s0 = fround(s0 + a0[ri]);
    s1 = fround(s1 + a1[ri]);
    s2 = fround(s2 + a2[ri]);
    s3 = fround(s3 + a3[ri]);
    d0[oi] = s0 / cnt;
    d1[oi] = s1 / cnt;
    d2[oi] = s2 / cnt;
    d3[oi] = s3 / cnt;
  }
  for (let q = 0; q < n - w; q++, ri++, oi++) {
    const li = ri - w; // phase 3: full window, add then subtract
    s0 = fround(fround(s0 + a0[ri]) - a0[li]);
    s1 = fround(fround(s1 + a1[ri]) - a1[li]);
    s2 = fround(fround(s2 + a2[ri]) - a2[li]);
    s3 = fround(fround(s3 + a3[ri]) - a3[li]);
    d0[oi] = s0 / cnt;
    d1[oi] = s1 / cnt;
    d2[oi] = s2 / cnt;
    d3[oi] = s3 / cnt;
  }
  for (let q = 0; q < half - 1; q++, ri++, oi++) {
    cnt--; // phase 4: shrinking window
    const li = ri - w;
    s0 = fround(s0 - a0[li]);
    s1 = fround(s1 - a1[li]);
    s2 = fround(s2 - a2[li]);
    s3 = fround(s3 - a3[li]);
    d0[oi] = s0 / cnt;
    d1[oi] = s1 / cnt;
    d2[oi] = s2 / cnt;
    d3[oi] = s3 / cnt;
  }
}

/** box1DFloat along four rows, keeping only the outputs whose index is in ``keep``: the
 * same running sums, so the kept values are the full filter's. Lane k (< nr) goes to row
 * row0 + k of ``out`` (H x 64); ``emit[t]`` says how many kept outputs are ready at step t. */
function boxRowsSampled(rows, nr, n, w, emit, out, row0) {
  const [a0, a1, a2, a3] = rows;
  const half = (w + 2) >> 1;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let cnt = 0;
  let at = row0 * 64; // the next kept output of lane 0
  for (let t = 0; t < n + half - 1; t++) {
    if (t < w) {
      cnt++; // the window fills (no output before t = half - 1)
      s0 = fround(s0 + a0[t]);
      s1 = fround(s1 + a1[t]);
      s2 = fround(s2 + a2[t]);
      s3 = fround(s3 + a3[t]);
    } else if (t < n) {
      const l = t - w; // full window, add then subtract
      s0 = fround(fround(s0 + a0[t]) - a0[l]);
      s1 = fround(fround(s1 + a1[t]) - a1[l]);
      s2 = fround(fround(s2 + a2[t]) - a2[l]);
      s3 = fround(fround(s3 + a3[t]) - a3[l]);
    } else {
      cnt--; // the window empties at the far edge
      const l = t - w;
      s0 = fround(s0 - a0[l]);
      s1 = fround(s1 - a1[l]);
      s2 = fround(s2 - a2[l]);
      s3 = fround(s3 - a3[l]);
    }
    for (let e = emit[t]; e > 0; e--, at++) {
      out[at] = s0 / cnt;
      if (nr > 1) out[at + 64] = s1 / cnt;
      if (nr > 2) out[at + 128] = s2 / cnt;
      if (nr > 3) out[at + 192] = s3 / cnt;
    }
  }
}

/** For a filter of window ``w`` over ``n`` values: how many of the kept outputs ``keep``
 * are ready at each step t (output i is ready at t = i + half - 1). */
function emitSteps(keep, n, w) {
  const half = (w + 2) >> 1;
  const emit = new Uint8Array(n + half - 1);
  for (const i of keep) emit[i + half - 1]++;
  return emit;
}

/** The second column pass on the 64 kept columns ``p`` (n x 64), kept at 64 rows. */
function columnsSampled(p, n, w, keep) {
  const half = (w + 2) >> 1;
  const s = new Float32Array(64);
  const out = new Float32Array(64 * 64);
  let cnt = 0;
  let m = 0;
  for (let t = 0; t < n + half - 1; t++) {
    const add = t * 64;
    const sub = (t - w) * 64;
    if (t < n) {
      if (t < w) {
        cnt++;
        for (let k = 0; k < 64; k++) s[k] += p[add + k];
      } else {
        for (let k = 0; k < 64; k++) {
          s[k] += p[add + k];
          s[k] -= p[sub + k];
        }
      }
    } else {
      cnt--;
      for (let k = 0; k < 64; k++) s[k] -= p[sub + k];
    }
    const oi = t - half + 1;
    while (m < 64 && keep[m] === oi) {
      for (let k = 0; k < 64; k++) out[m * 64 + k] = s[k] / cnt;
      m++;
    }
  }
  return out;
}

/** The first column pass for row ``t``: slide the window (add row t, then drop row t - w,
 * each rounded to float32) and, when ``dst`` is given, write the window's mean row there.
 * Returns the rows now in the window. */
function columnStep(ring, colsum, t, height, w, cnt, dst) {
  const width = colsum.length;
  const old = t - w;
  if (t >= height) {
    const sub = ring[old % ring.length];
    cnt--;
    for (let j = 0; j < width; j++) {
      const c = fround(colsum[j] - sub[j]);
      colsum[j] = c;
      if (dst) dst[j] = c / cnt;
    }
    return cnt;
  }
  const add = ring[t % ring.length];
  if (old < 0) {
    cnt++;
    for (let j = 0; j < width; j++) {
      const c = fround(colsum[j] + add[j]);
      colsum[j] = c;
      if (dst) dst[j] = c / cnt;
    }
    return cnt;
  }
  const sub = ring[old % ring.length];
  for (let j = 0; j < width; j++) {
    const c = fround(fround(colsum[j] + add[j]) - sub[j]);
    colsum[j] = c;
    if (dst) dst[j] = c / cnt;
  }
  return cnt;
}

function rowBuffers(count, width) {
  return Array.from({ length: count }, () => new Float32Array(width));
}

/** Step 2: luma, the four box passes and the decimation, streamed over the rows: only the
 * rows the column filter still needs (t - winCols .. t + LANES - 1) are held, in a ring. */
function filterTo64x64(pixels) {
  const { data, width, height, channels } = pixels;
  const winRows = jaroszWindow(width); // the window along each row, from the width
  const winCols = jaroszWindow(height);
  const keepRows = decimationIndices(height);
  const keepCols = decimationIndices(width);
  const ring = rowBuffers(winCols + LANES, width);
  const luma = rowBuffers(LANES, width);
  const spare = new Float32Array(width); // where lanes past the last row write
  const filtered = rowBuffers(LANES, width);
  const colsum = new Float32Array(width);
  const p = new Float32Array(height * 64); // the second row pass, at the kept columns
  const halfC = (winCols + 2) >> 1;
  const stride = width * channels;
  const words = wordsOf(pixels);
  let cnt = 0;
  let lane = 0;
  let outRow = 0;
  const emit = emitSteps(keepCols, width, winRows);
  for (let t = 0; t < height + halfC - 1; t++) {
    if (t < height && t % LANES === 0) {
      const nr = Math.min(LANES, height - t);
      const dst = [0, 1, 2, 3].map((r) => (r < nr ? ring[(t + r) % ring.length] : spare));
      for (let r = 0; r < nr; r++) lumaRow(data, (t + r) * stride, width, channels, luma[r], words);
      boxRows(...luma, ...dst, width, winRows);
    }
    const out = t >= halfC - 1 ? filtered[lane++] : null;
    cnt = columnStep(ring, colsum, t, height, winCols, cnt, out);
    if (out) {
      if (lane === LANES || outRow + lane === height) {
        boxRowsSampled(filtered, lane, width, winRows, emit, p, outRow);
        outRow += lane;
        lane = 0;
      }
    }
  }
  return columnsSampled(p, height, winCols, keepRows);
}

function lumaImage(pixels) {
  const { data, width, height, channels } = pixels;
  const out = new Float32Array(width * height);
  for (let i = 0; i < height; i++) {
    lumaRow(data, i * width * channels, width, channels, out.subarray(i * width, (i + 1) * width));
  }
  return out;
}

/** The reference's image-domain quality: quantised gradient sum / 90, at most 100. */
export function quality64(a) {
  let total = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      const d = fround(fround(fround(a[i * 64 + j] - a[(i + 1) * 64 + j]) * 100) / 255);
      total += Math.abs(Math.trunc(d));
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      const d = fround(fround(fround(a[i * 64 + j] - a[i * 64 + j + 1]) * 100) / 255);
      total += Math.abs(Math.trunc(d));
    }
  }
  return Math.min(Math.floor(total / 90), 100);
}

let dctMatrix = null;

/** The reference's 16 x 64 DCT matrix: float32 of (float32 sqrt(2/64)) * cos(...) in double.
 * Read from DCT_BITS (below), the float32 bit patterns keepdown's Python computes: Math.cos
 * is not specified to the last bit, and one ulp could move a value across a float32
 * rounding boundary in some engine. tests/web/selfhash checks the table against Python's. */
export function dct16x64() {
  if (dctMatrix === null) {
    const bytes = Uint8Array.from(atob(DCT_BITS), (c) => c.charCodeAt(0));
    const view = new DataView(bytes.buffer);
    dctMatrix = new Float32Array(16 * 64);
    for (let i = 0; i < dctMatrix.length; i++) dctMatrix[i] = view.getFloat32(4 * i, true);
  }
  return dctMatrix;
}

/** D A D^T restricted to the 16 x 16 low frequencies, each sum in ascending k from zero,
 * products and sums rounded to float32 one by one (no fused multiply-add). */
export function dct64To16(a) {
  const d = dct16x64();
  const t = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let k = 0; k < 64; k++) {
      const weight = d[i * 64 + k];
      for (let j = 0; j < 64; j++) t[i * 64 + j] += fround(weight * a[k * 64 + j]);
    }
  }
  const b = new Float32Array(16 * 16);
  for (let i = 0; i < 16; i++) {
    for (let k = 0; k < 64; k++) {
      const weight = t[i * 64 + k];
      for (let j = 0; j < 16; j++) b[i * 16 + j] += fround(weight * d[j * 64 + k]);
    }
  }
  return b;
}

/** Torben Mogensen's median as the reference implements it (may return a midpoint). */
export function torbenMedian(m) {
  const n = m.length;
  const half = (n + 1) >> 1;
  let lo = m[0];
  let hi = m[0];
  for (let i = 1; i < n; i++) {
    if (m[i] < lo) lo = m[i];
    if (m[i] > hi) hi = m[i];
  }
  let guess, less, greater, equal, maxLt, minGt;
  for (;;) {
    guess = fround(fround(lo + hi) / 2);
    less = greater = equal = 0;
    maxLt = lo;
    minGt = hi;
    for (let i = 0; i < n; i++) {
      const v = m[i];
      if (v < guess) {
        less++;
        if (v > maxLt) maxLt = v;
      } else if (v > guess) {
        greater++;
        if (v < minGt) minGt = v;
      } else {
        equal++;
      }
    }
    if (less <= half && greater <= half) break;
    if (less > greater) hi = maxLt;
    else lo = minGt;
  }
  if (less >= half) return maxLt;
  if (less + equal >= half) return guess;
  return minGt;
}

const HEX = "0123456789abcdef";

/** 256 coefficients (row-major 16 x 16) to the hash's 64 hex digits. */
export function bitsToHex(dct) {
  const median = torbenMedian(dct);
  const bytes = new Uint8Array(32);
  for (let k = 0; k < 256; k++) {
    if (dct[k] > median) bytes[31 - (k >> 3)] |= 1 << (k & 7);
  }
  let out = "";
  for (const b of bytes) out += HEX[b >> 4] + HEX[b & 15];
  return out;
}

function transpose(a) {
  const out = new Float32Array(256);
  for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) out[i * 16 + j] = a[j * 16 + i];
  return out;
}

function signed(a, negate) {
  const out = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) out[i * 16 + j] = negate(i, j) ? -a[i * 16 + j] : a[i * 16 + j];
  }
  return out;
}

/** The 8 variants' DCTs: reversing an axis negates its even frequencies (as indexed here),
 * swapping the axes transposes (the reference's dct16OriginalTo*). */
export function dihedralDcts(a) {
  const flipRows = signed(a, (i) => (i & 1) === 0);
  const flipCols = signed(a, (_i, j) => (j & 1) === 0);
  const checker = signed(a, (i, j) => ((i ^ j) & 1) === 1);
  return [
    a,
    transpose(flipCols), // rotate90
    checker, // rotate180
    transpose(flipRows), // rotate270
    flipRows, // flipx
    flipCols, // flipy
    transpose(a), // flipplus1
    transpose(checker), // flipminus1
  ];
}

function tooSmall(pixels) {
  return pixels.width < MIN_HASHABLE_DIM || pixels.height < MIN_HASHABLE_DIM;
}

/** PDQ hash and quality of ``{data, width, height, channels}`` (channels 1, 3 or 4; RGBA's
 * alpha ignored): {hash: 64 hex digits, quality: 0-100}. pdqhash.compute's rules, including
 * its quirk of hashing a 64 x 64 image unfiltered. */
export function pdqHash(pixels) {
  checkPixels(pixels);
  if (tooSmall(pixels)) return { hash: ZERO_HEX, quality: 0 };
  const square64 = pixels.width === 64 && pixels.height === 64;
  const buf = square64 ? lumaImage(pixels) : filterTo64x64(pixels);
  return { hash: bitsToHex(dct64To16(buf)), quality: quality64(buf) };
}

/** The 8 rotations and mirrors from one filter pass: {quality, hashes: {name: hex}} in
 * DIHEDRAL_NAMES order. pdqhash.compute_dihedral's rules (a 64 x 64 image is filtered). */
export function pdqDihedral(pixels) {
  checkPixels(pixels);
  const hashes = {};
  if (tooSmall(pixels)) {
    for (const name of DIHEDRAL_NAMES) hashes[name] = ZERO_HEX;
    return { quality: 0, hashes };
  }
  const buf = filterTo64x64(pixels);
  const variants = dihedralDcts(dct64To16(buf));
  DIHEDRAL_NAMES.forEach((name, i) => {
    hashes[name] = bitsToHex(variants[i]);
  });
  return { quality: quality64(buf), hashes };
}

/** Hamming distance between two 64-digit hex hashes. */
export function pdqDistance(a, b) {
  let bits = 0;
  for (let i = 0; i < 64; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      bits++;
    }
  }
  return bits;
}

// The float32 bit patterns (little-endian, row-major) of keepdown.hashing.pdq._dct_matrix(),
// base64: written by scripts/selfhash_tables.py, checked by tests/web/test_selfhash_node.py.
const DCT_BITS = "/vY0PmOHND5yqDM+tFoyPvaeMD5Mdi4+CuIrPsbjKD5ZfSU+3bAhPqiAHT5R7xg+qP8TPrm0Dj7HEQk+TBoDPu2j+T1Neew91bzePf920D2YsME9vXKyPdXGoj2JtpI9wUuCPT0hYz3kHkE9cKUePUqU9zwERbE81BBVPHEojjtxKI671BBVvARFsbxKlPe8cKUeveQeQb09IWO9wUuCvYm2kr3VxqK9vXKyvZiwwb3/dtC91bzevU157L3to/m9TBoDvscRCb65tA6+qP8TvlHvGL6ogB2+3bAhvll9Jb7G4yi+CuIrvkx2Lr72njC+tFoyvnKoM75jhzS+/vY0viHNND5hDzM+K5gvPgxwKj65oyM+9UMbPmZlET5hIAY+XCHzPYuq1z0FILo9nsqaPS/vcz277y89CX3UPHsdDjx7HQ68CX3UvLvvL70v73O9nsqavQUgur2Lqte9XCHzvWEgBr5mZRG+9UMbvrmjI74McCq+K5gvvmEPM74hzTS+Ic00vmEPM74rmC++DHAqvrmjI771Qxu+ZmURvmEgBr5cIfO9i6rXvQUgur2eypq9L+9zvbvvL70JfdS8ex0OvHsdDjwJfdQ8u+8vPS/vcz2eypo9BSC6PYuq1z1cIfM9YSAGPmZlET71Qxs+uaMjPgxwKj4rmC8+YQ8zPiHNND5jhzQ+9p4wPsbjKD6ogB0+ubQOPu2j+T3/dtA91caiPT0hYz1KlPc8cSiOOwRFsbzkHkG9ibaSvZiwwb1Neey9xxEJvlHvGL5ZfSW+THYuvnKoM77+9jS+tFoyvgriK77dsCG+qP8TvkwaA77VvN69vXKyvcFLgr1wpR691BBVvNQQVTxwpR49wUuCPb1ysj3VvN49TBoDPqj/Ez7dsCE+CuIrPrRaMj7+9jQ+cqgzPkx2Lj5ZfSU+Ue8YPscRCT5Neew9mLDBPYm2kj3kHkE9BEWxPHEojrtKlPe8PSFjvdXGor3/dtC97aP5vbm0Dr6ogB2+xuMovvaeML5jhzS+ziU0PoY5LT4SpR8+Cu4LPsas5T3yqao9RTBSPanxjTyp8Y28RTBSvfKpqr3GrOW9Cu4LvhKlH76GOS2+ziU0vs4lNL6GOS2+EqUfvgruC77GrOW98qmqvUUwUr2p8Y28qfGNPEUwUj3yqao9xqzlPQruCz4SpR8+hjktPs4lND7OJTQ+hjktPhKlHz4K7gs+xqzlPfKpqj1FMFI9qfGNPKnxjbxFMFK98qmqvcas5b0K7gu+EqUfvoY5Lb7OJTS+ziU0voY5Lb4SpR++Cu4Lvsas5b3yqaq9RTBSvanxjbyp8Y08RTBSPfKpqj3GrOU9Cu4LPhKlHz6GOS0+ziU0PnKoMz7G4yg+qP8TPk157D3VxqI9cKUePXEojrvkHkG9vXKyve2j+b1R7xi+CuIrvmOHNL60WjK+WX0lvrm0Dr7VvN69ibaSvUqU97zUEFU8PSFjPZiwwT1MGgM+qIAdPkx2Lj7+9jQ+9p4wPt2wIT7HEQk+/3bQPcFLgj0ERbE8BEWxvMFLgr3/dtC9xxEJvt2wIb72njC+/vY0vkx2Lr6ogB2+TBoDvpiwwb09IWO91BBVvEqU9zyJtpI91bzePbm0Dj5ZfSU+tFoyPmOHND4K4is+Ue8YPu2j+T29crI95B5BPXEojjtwpR691caivU157L2o/xO+xuMovnKoM75hDzM+uaMjPmEgBj4FILo9u+8vPXsdDrwv73O9i6rXvWZlEb4McCq+Ic00viuYL771Qxu+XCHzvZ7Kmr0JfdS8CX3UPJ7Kmj1cIfM99UMbPiuYLz4hzTQ+DHAqPmZlET6Lqtc9L+9zPXsdDjy77y+9BSC6vWEgBr65oyO+YQ8zvmEPM765oyO+YSAGvgUgur277y+9ex0OPC/vcz2Lqtc9ZmURPgxwKj4hzTQ+K5gvPvVDGz5cIfM9nsqaPQl91DwJfdS8nsqavVwh8731Qxu+K5gvviHNNL4McCq+ZmURvouq170v73O9ex0OvLvvLz0FILo9YSAGPrmjIz5hDzM+tFoyPqiAHT5Neew9wUuCPXEojjs9IWO91bzevVHvGL72njC+cqgzvt2wIb7to/m9ibaSvdQQVbzkHkE9/3bQPaj/Ez5Mdi4+Y4c0Pll9JT5MGgM+1caiPQRFsTxwpR69mLDBvbm0Dr4K4iu+/vY0vsbjKL7HEQm+vXKyvUqU97xKlPc8vXKyPccRCT7G4yg+/vY0PgriKz65tA4+mLDBPXClHj0ERbG81caivUwaA75ZfSW+Y4c0vkx2Lr6o/xO+/3bQveQeQb3UEFU8ibaSPe2j+T3dsCE+cqgzPvaeMD5R7xg+1bzePT0hYz1xKI67wUuCvU157L2ogB2+tFoyvoWKMT4XgxY+TiPJPa9CDT2vQg29TiPJvReDFr6FijG+hYoxvheDFr5OI8m9r0INva9CDT1OI8k9F4MWPoWKMT6FijE+F4MWPk4jyT2vQg09r0INvU4jyb0Xgxa+hYoxvoWKMb4Xgxa+TiPJva9CDb2vQg09TiPJPReDFj6FijE+hYoxPheDFj5OI8k9r0INPa9CDb1OI8m9F4MWvoWKMb6FijG+F4MWvk4jyb2vQg29r0INPU4jyT0XgxY+hYoxPoWKMT4XgxY+TiPJPa9CDT2vQg29TiPJvReDFr6FijG+hYoxvheDFr5OI8m9r0INva9CDT1OI8k9F4MWPoWKMT72njA+ubQOPtXGoj1xKI47ibaSvccRCb5Mdi6+tFoyvqj/E769crK91BBVvMFLgj1MGgM+CuIrPnKoMz5R7xg+mLDBPQRFsTw9IWO97aP5vcbjKL5jhzS+qIAdvv920L1KlPe85B5BPU157D1ZfSU+/vY0Pt2wIT7VvN49cKUePXClHr3VvN693bAhvv72NL5ZfSW+TXnsveQeQb1KlPc8/3bQPaiAHT5jhzQ+xuMoPu2j+T09IWM9BEWxvJiwwb1R7xi+cqgzvgriK75MGgO+wUuCvdQQVTy9crI9qP8TPrRaMj5Mdi4+xxEJPom2kj1xKI671caivbm0Dr72njC+K5gvPmEgBj4v73M9CX3UvIuq1725oyO+Ic00vvVDG74FILq9ex0OvJ7Kmj1mZRE+YQ8zPgxwKj5cIfM9u+8vPbvvL71cIfO9DHAqvmEPM75mZRG+nsqavXsdDjwFILo99UMbPiHNND65oyM+i6rXPQl91Dwv73O9YSAGviuYL74rmC++YSAGvi/vc70JfdQ8i6rXPbmjIz4hzTQ+9UMbPgUguj17HQ48nsqavWZlEb5hDzO+DHAqvlwh87277y+9u+8vPVwh8z0McCo+YQ8zPmZlET6eypo9ex0OvAUgur31Qxu+Ic00vrmjI76Lqte9CX3UvC/vcz1hIAY+K5gvPkx2Lj7to/k9cKUePT0hY73HEQm+tFoyvsbjKL7VvN69BEWxvIm2kj2o/xM+Y4c0Pt2wIT6YsME9cSiOO71ysr2ogB2+/vY0vlHvGL7VxqK91BBVPP920D1ZfSU+cqgzPrm0Dj7BS4I9SpT3vE157L0K4iu+9p4wvkwaA77kHkG95B5BPUwaAz72njA+CuIrPk157D1KlPc8wUuCvbm0Dr5yqDO+WX0lvv920L3UEFW81caiPVHvGD7+9jQ+qIAdPr1ysj1xKI67mLDBvd2wIb5jhzS+qP8Tvom2kr0ERbE81bzePcbjKD60WjI+xxEJPj0hYz1wpR697aP5vUx2Lr6GOS0+xqzlPanxjTzyqaq9EqUfvs4lNL4K7gu+RTBSvUUwUj0K7gs+ziU0PhKlHz7yqao9qfGNvMas5b2GOS2+hjktvsas5b2p8Y288qmqPRKlHz7OJTQ+Cu4LPkUwUj1FMFK9Cu4Lvs4lNL4SpR++8qmqvanxjTzGrOU9hjktPoY5LT7GrOU9qfGNPPKpqr0SpR++ziU0vgruC75FMFK9RTBSPQruCz7OJTQ+EqUfPvKpqj2p8Y28xqzlvYY5Lb6GOS2+xqzlvanxjbzyqao9EqUfPs4lND4K7gs+RTBSPUUwUr0K7gu+ziU0vhKlH77yqaq9qfGNPMas5T2GOS0+CuIrPv920D1xKI671bzevUx2Lr7G4yi+mLDBvdQQVTxNeew99p4wPll9JT69crI9BEWxvO2j+b20WjK+3bAhvtXGor1KlPc8TBoDPnKoMz6ogB0+ibaSPXClHr3HEQm+Y4c0vlHvGL7BS4K95B5BPbm0Dj7+9jQ+qP8TPj0hYz09IWO9qP8Tvv72NL65tA6+5B5BvcFLgj1R7xg+Y4c0PscRCT5wpR49ibaSvaiAHb5yqDO+TBoDvkqU97zVxqI93bAhPrRaMj7to/k9BEWxPL1ysr1ZfSW+9p4wvk157L3UEFW8mLDBPcbjKD5Mdi4+1bzePXEojjv/dtC9CuIrvgxwKj4FILo9CX3UvGEgBr4hzTS+ZmURvrvvL72eypo9uaMjPiuYLz6Lqtc9ex0OvFwh871hDzO+9UMbvi/vc70v73M99UMbPmEPMz5cIfM9ex0OPIuq170rmC++uaMjvp7Kmr277y89ZmURPiHNND5hIAY+CX3UPAUgur0McCq+DHAqvgUgur0JfdQ8YSAGPiHNND5mZRE+u+8vPZ7Kmr25oyO+K5gvvouq1717HQ48XCHzPWEPMz71Qxs+L+9zPS/vc731Qxu+YQ8zvlwh8717HQ68i6rXPSuYLz65oyM+nsqaPbvvL71mZRG+Ic00vmEgBr4JfdS8BSC6PQxwKj7G4yg+1caiPeQeQb1R7xi+tFoyvtW83r3UEFU8TBoDPv72ND7HEQk+BEWxPP920L32njC+qIAdvj0hY72JtpI9WX0lPgriKz69crI9cKUevaj/E75yqDO+TXnsvXEojjvto/k9Y4c0Prm0Dj5KlPc8mLDBvUx2Lr7dsCG+wUuCvcFLgj3dsCE+THYuPpiwwT1KlPe8ubQOvmOHNL7to/m9cSiOu0157D1yqDM+qP8TPnClHj29crK9CuIrvll9Jb6JtpK9PSFjPaiAHT72njA+/3bQPQRFsbzHEQm+/vY0vkwaA77UEFW81bzePbRaMj5R7xg+5B5BPdXGor3G4yi+dD0nPtSLij3Ui4q9dD0nvnQ9J77Ui4q91IuKPXQ9Jz50PSc+1IuKPdSLir10PSe+dD0nvtSLir3Ui4o9dD0nPnQ9Jz7Ui4o91IuKvXQ9J750PSe+1IuKvdSLij10PSc+dD0nPtSLij3Ui4q9dD0nvnQ9J77Ui4q91IuKPXQ9Jz50PSc+1IuKPdSLir10PSe+dD0nvtSLir3Ui4o9dD0nPnQ9Jz7Ui4o91IuKvXQ9J750PSe+1IuKvdSLij10PSc+dD0nPtSLij3Ui4q9dD0nvnQ9J77Ui4q91IuKPXQ9Jz50PSc+1IuKPdSLir10PSe+dD0nvtSLir3Ui4o9dD0nPg==";

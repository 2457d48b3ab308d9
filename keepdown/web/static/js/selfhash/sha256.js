// SHA-256 (FIPS 180-4), incremental, in plain JavaScript: only for files too large to read at
// once. The page hashes with Web Crypto (crypto.subtle.digest) whenever it can; but Web Crypto
// has no incremental digest, so a file over files.js's WEB_CRYPTO_MAX_BYTES (a long video from
// a phone) would have to sit in memory whole. This streams it in chunks instead.
// tests/web/selfhash checks it against node's own SHA-256 on 1,000 random buffers.
//
// Usage: const h = new Sha256(); h.update(bytes); h.update(more); h.hex();

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K = Int32Array.from(
  [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ],
  (v) => v | 0,
);

// The first 32 bits of the fractional parts of the square roots of the first 8 primes.
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

function rotr(x, n) {
  return (x >>> n) | (x << (32 - n));
}

export class Sha256 {
  constructor() {
    this.state = Int32Array.from(H0, (v) => v | 0);
    this.block = new Uint8Array(64);
    this.w = new Int32Array(64);
    this.filled = 0;
    this.length = 0;
    this.done = false;
  }

  /** Add ``bytes`` (a Uint8Array, or an ArrayBuffer). */
  update(bytes) {
    if (this.done) throw new Error("this SHA-256 is finished; start a new one");
    const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    let i = 0;
    this.length += data.length;
    if (this.filled) {
      const take = Math.min(64 - this.filled, data.length);
      this.block.set(data.subarray(0, take), this.filled);
      this.filled += take;
      i = take;
      if (this.filled < 64) return this;
      this.compress(this.block, 0);
      this.filled = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.compress(data, i);
    if (i < data.length) {
      this.block.set(data.subarray(i), 0);
      this.filled = data.length - i;
    }
    return this;
  }

  /** The digest as 64 lower-case hex digits (the hash cannot be updated after). */
  hex() {
    if (!this.done) this.finish();
    let out = "";
    for (const v of this.state) out += (v >>> 0).toString(16).padStart(8, "0");
    return out;
  }

  finish() {
    const bits = this.length * 8;
    const pad = new Uint8Array((this.filled < 56 ? 56 : 120) - this.filled + 8);
    pad[0] = 0x80;
    const tail = pad.length - 8;
    const high = Math.floor(bits / 2 ** 32);
    const low = bits % 2 ** 32;
    for (let b = 0; b < 4; b++) {
      pad[tail + 3 - b] = (high >>> (8 * b)) & 0xff; // 64-bit big-endian length
      pad[tail + 7 - b] = (low >>> (8 * b)) & 0xff;
    }
    this.length -= pad.length;
    this.update(pad);
    this.done = true;
  }

  compress(data, offset) {
    const w = this.w;
    for (let j = 0; j < 16; j++) {
      const p = offset + 4 * j;
      w[j] = (data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3];
    }
    for (let j = 16; j < 64; j++) {
      const a = w[j - 15];
      const b = w[j - 2];
      const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
      const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
      w[j] = (w[j - 16] + s0 + w[j - 7] + s1) | 0;
    }
    const st = this.state;
    let a = st[0];
    let b = st[1];
    let c = st[2];
    let d = st[3];
    let e = st[4];
    let f = st[5];
    let g = st[6];
    let h = st[7];
    for (let j = 0; j < 64; j++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[j] + w[j]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
    st[4] += e;
    st[5] += f;
    st[6] += g;
    st[7] += h;
  }
}

/** SHA-256 of one buffer, as 64 hex digits. */
export function sha256Hex(bytes) {
  return new Sha256().update(bytes).hex();
}

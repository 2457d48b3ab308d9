// MD5 (RFC 1321), incremental, in plain JavaScript: keepdown's own, for hashing on the person's
// device. Web Crypto has no MD5 (it is broken for signatures), but hash lists the world shares
// (NCMEC, StopNCII, hotlines) still carry MD5, so a submitted picture needs one.
//
// Written here rather than taken from npm: it is short, fully specified by RFC 1321 (whose
// test suite tests/web/selfhash runs, with 1,000 random buffers against Node's crypto), and
// the page's promise is that everything it runs can be read in this repository.
//
// Usage: const h = new Md5(); h.update(bytes); h.update(more); h.hex();

export class Md5 {
  constructor() {
    this.state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
    this.block = new Uint8Array(64);
    this.filled = 0; // bytes waiting in ``block``
    this.length = 0; // bytes seen in all (a double: exact up to 2**53)
    this.done = false;
  }

  /** Add ``bytes`` (a Uint8Array, or an ArrayBuffer). */
  update(bytes) {
    if (this.done) throw new Error("this MD5 is finished; start a new one");
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

  /** The digest as 32 lower-case hex digits (the hash cannot be updated after). */
  hex() {
    if (!this.done) this.finish();
    let out = "";
    for (let i = 0; i < 4; i++) {
      const v = this.state[i];
      for (let b = 0; b < 4; b++) out += ((v >>> (8 * b)) & 0xff).toString(16).padStart(2, "0");
    }
    return out;
  }

  finish() {
    const bits = this.length * 8;
    const pad = new Uint8Array(((this.filled < 56 ? 56 : 120) - this.filled) + 8);
    pad[0] = 0x80;
    const tail = pad.length - 8;
    // the length in bits, 64-bit little-endian (the low word first)
    const low = bits % 2 ** 32;
    const high = Math.floor(bits / 2 ** 32);
    for (let b = 0; b < 4; b++) {
      pad[tail + b] = (low >>> (8 * b)) & 0xff;
      pad[tail + 4 + b] = (high >>> (8 * b)) & 0xff;
    }
    this.length -= pad.length; // padding is not data (update adds it back)
    this.update(pad);
    this.done = true;
  }

  // The 64 steps written out (the usual four rounds), so the engine keeps the state in
  // registers: a loop with a switch per step ran 5-10 times slower.
  compress(data, offset) {
    const x0 = data[offset + 0] | (data[offset + 1] << 8) | (data[offset + 2] << 16) | (data[offset + 3] << 24);
    const x1 = data[offset + 4] | (data[offset + 5] << 8) | (data[offset + 6] << 16) | (data[offset + 7] << 24);
    const x2 = data[offset + 8] | (data[offset + 9] << 8) | (data[offset + 10] << 16) | (data[offset + 11] << 24);
    const x3 = data[offset + 12] | (data[offset + 13] << 8) | (data[offset + 14] << 16) | (data[offset + 15] << 24);
    const x4 = data[offset + 16] | (data[offset + 17] << 8) | (data[offset + 18] << 16) | (data[offset + 19] << 24);
    const x5 = data[offset + 20] | (data[offset + 21] << 8) | (data[offset + 22] << 16) | (data[offset + 23] << 24);
    const x6 = data[offset + 24] | (data[offset + 25] << 8) | (data[offset + 26] << 16) | (data[offset + 27] << 24);
    const x7 = data[offset + 28] | (data[offset + 29] << 8) | (data[offset + 30] << 16) | (data[offset + 31] << 24);
    const x8 = data[offset + 32] | (data[offset + 33] << 8) | (data[offset + 34] << 16) | (data[offset + 35] << 24);
    const x9 = data[offset + 36] | (data[offset + 37] << 8) | (data[offset + 38] << 16) | (data[offset + 39] << 24);
    const x10 = data[offset + 40] | (data[offset + 41] << 8) | (data[offset + 42] << 16) | (data[offset + 43] << 24);
    const x11 = data[offset + 44] | (data[offset + 45] << 8) | (data[offset + 46] << 16) | (data[offset + 47] << 24);
    const x12 = data[offset + 48] | (data[offset + 49] << 8) | (data[offset + 50] << 16) | (data[offset + 51] << 24);
    const x13 = data[offset + 52] | (data[offset + 53] << 8) | (data[offset + 54] << 16) | (data[offset + 55] << 24);
    const x14 = data[offset + 56] | (data[offset + 57] << 8) | (data[offset + 58] << 16) | (data[offset + 59] << 24);
    const x15 = data[offset + 60] | (data[offset + 61] << 8) | (data[offset + 62] << 16) | (data[offset + 63] << 24);
    const st = this.state;
    let a = st[0];
    let b = st[1];
    let c = st[2];
    let d = st[3];
    a = ((a + ((b & c) | (~b & d)) + x0 + 0xd76aa478) | 0);
    a = ((a << 7) | (a >>> 25)) + b | 0;
    d = ((d + ((a & b) | (~a & c)) + x1 + 0xe8c7b756) | 0);
    d = ((d << 12) | (d >>> 20)) + a | 0;
    c = ((c + ((d & a) | (~d & b)) + x2 + 0x242070db) | 0);
    c = ((c << 17) | (c >>> 15)) + d | 0;
    b = ((b + ((c & d) | (~c & a)) + x3 + 0xc1bdceee) | 0);
    b = ((b << 22) | (b >>> 10)) + c | 0;
    a = ((a + ((b & c) | (~b & d)) + x4 + 0xf57c0faf) | 0);
    a = ((a << 7) | (a >>> 25)) + b | 0;
    d = ((d + ((a & b) | (~a & c)) + x5 + 0x4787c62a) | 0);
    d = ((d << 12) | (d >>> 20)) + a | 0;
    c = ((c + ((d & a) | (~d & b)) + x6 + 0xa8304613) | 0);
    c = ((c << 17) | (c >>> 15)) + d | 0;
    b = ((b + ((c & d) | (~c & a)) + x7 + 0xfd469501) | 0);
    b = ((b << 22) | (b >>> 10)) + c | 0;
    a = ((a + ((b & c) | (~b & d)) + x8 + 0x698098d8) | 0);
    a = ((a << 7) | (a >>> 25)) + b | 0;
    d = ((d + ((a & b) | (~a & c)) + x9 + 0x8b44f7af) | 0);
    d = ((d << 12) | (d >>> 20)) + a | 0;
    c = ((c + ((d & a) | (~d & b)) + x10 + 0xffff5bb1) | 0);
    c = ((c << 17) | (c >>> 15)) + d | 0;
    b = ((b + ((c & d) | (~c & a)) + x11 + 0x895cd7be) | 0);
    b = ((b << 22) | (b >>> 10)) + c | 0;
    a = ((a + ((b & c) | (~b & d)) + x12 + 0x6b901122) | 0);
    a = ((a << 7) | (a >>> 25)) + b | 0;
    d = ((d + ((a & b) | (~a & c)) + x13 + 0xfd987193) | 0);
    d = ((d << 12) | (d >>> 20)) + a | 0;
    c = ((c + ((d & a) | (~d & b)) + x14 + 0xa679438e) | 0);
    c = ((c << 17) | (c >>> 15)) + d | 0;
    b = ((b + ((c & d) | (~c & a)) + x15 + 0x49b40821) | 0);
    b = ((b << 22) | (b >>> 10)) + c | 0;
    a = ((a + ((d & b) | (~d & c)) + x1 + 0xf61e2562) | 0);
    a = ((a << 5) | (a >>> 27)) + b | 0;
    d = ((d + ((c & a) | (~c & b)) + x6 + 0xc040b340) | 0);
    d = ((d << 9) | (d >>> 23)) + a | 0;
    c = ((c + ((b & d) | (~b & a)) + x11 + 0x265e5a51) | 0);
    c = ((c << 14) | (c >>> 18)) + d | 0;
    b = ((b + ((a & c) | (~a & d)) + x0 + 0xe9b6c7aa) | 0);
    b = ((b << 20) | (b >>> 12)) + c | 0;
    a = ((a + ((d & b) | (~d & c)) + x5 + 0xd62f105d) | 0);
    a = ((a << 5) | (a >>> 27)) + b | 0;
    d = ((d + ((c & a) | (~c & b)) + x10 + 0x02441453) | 0);
    d = ((d << 9) | (d >>> 23)) + a | 0;
    c = ((c + ((b & d) | (~b & a)) + x15 + 0xd8a1e681) | 0);
    c = ((c << 14) | (c >>> 18)) + d | 0;
    b = ((b + ((a & c) | (~a & d)) + x4 + 0xe7d3fbc8) | 0);
    b = ((b << 20) | (b >>> 12)) + c | 0;
    a = ((a + ((d & b) | (~d & c)) + x9 + 0x21e1cde6) | 0);
    a = ((a << 5) | (a >>> 27)) + b | 0;
    d = ((d + ((c & a) | (~c & b)) + x14 + 0xc33707d6) | 0);
    d = ((d << 9) | (d >>> 23)) + a | 0;
    c = ((c + ((b & d) | (~b & a)) + x3 + 0xf4d50d87) | 0);
    c = ((c << 14) | (c >>> 18)) + d | 0;
    b = ((b + ((a & c) | (~a & d)) + x8 + 0x455a14ed) | 0);
    b = ((b << 20) | (b >>> 12)) + c | 0;
    a = ((a + ((d & b) | (~d & c)) + x13 + 0xa9e3e905) | 0);
    a = ((a << 5) | (a >>> 27)) + b | 0;
    d = ((d + ((c & a) | (~c & b)) + x2 + 0xfcefa3f8) | 0);
    d = ((d << 9) | (d >>> 23)) + a | 0;
    c = ((c + ((b & d) | (~b & a)) + x7 + 0x676f02d9) | 0);
    c = ((c << 14) | (c >>> 18)) + d | 0;
    b = ((b + ((a & c) | (~a & d)) + x12 + 0x8d2a4c8a) | 0);
    b = ((b << 20) | (b >>> 12)) + c | 0;
    a = ((a + (b ^ c ^ d) + x5 + 0xfffa3942) | 0);
    a = ((a << 4) | (a >>> 28)) + b | 0;
    d = ((d + (a ^ b ^ c) + x8 + 0x8771f681) | 0);
    d = ((d << 11) | (d >>> 21)) + a | 0;
    c = ((c + (d ^ a ^ b) + x11 + 0x6d9d6122) | 0);
    c = ((c << 16) | (c >>> 16)) + d | 0;
    b = ((b + (c ^ d ^ a) + x14 + 0xfde5380c) | 0);
    b = ((b << 23) | (b >>> 9)) + c | 0;
    a = ((a + (b ^ c ^ d) + x1 + 0xa4beea44) | 0);
    a = ((a << 4) | (a >>> 28)) + b | 0;
    d = ((d + (a ^ b ^ c) + x4 + 0x4bdecfa9) | 0);
    d = ((d << 11) | (d >>> 21)) + a | 0;
    c = ((c + (d ^ a ^ b) + x7 + 0xf6bb4b60) | 0);
    c = ((c << 16) | (c >>> 16)) + d | 0;
    b = ((b + (c ^ d ^ a) + x10 + 0xbebfbc70) | 0);
    b = ((b << 23) | (b >>> 9)) + c | 0;
    a = ((a + (b ^ c ^ d) + x13 + 0x289b7ec6) | 0);
    a = ((a << 4) | (a >>> 28)) + b | 0;
    d = ((d + (a ^ b ^ c) + x0 + 0xeaa127fa) | 0);
    d = ((d << 11) | (d >>> 21)) + a | 0;
    c = ((c + (d ^ a ^ b) + x3 + 0xd4ef3085) | 0);
    c = ((c << 16) | (c >>> 16)) + d | 0;
    b = ((b + (c ^ d ^ a) + x6 + 0x04881d05) | 0);
    b = ((b << 23) | (b >>> 9)) + c | 0;
    a = ((a + (b ^ c ^ d) + x9 + 0xd9d4d039) | 0);
    a = ((a << 4) | (a >>> 28)) + b | 0;
    d = ((d + (a ^ b ^ c) + x12 + 0xe6db99e5) | 0);
    d = ((d << 11) | (d >>> 21)) + a | 0;
    c = ((c + (d ^ a ^ b) + x15 + 0x1fa27cf8) | 0);
    c = ((c << 16) | (c >>> 16)) + d | 0;
    b = ((b + (c ^ d ^ a) + x2 + 0xc4ac5665) | 0);
    b = ((b << 23) | (b >>> 9)) + c | 0;
    a = ((a + (c ^ (b | ~d)) + x0 + 0xf4292244) | 0);
    a = ((a << 6) | (a >>> 26)) + b | 0;
    d = ((d + (b ^ (a | ~c)) + x7 + 0x432aff97) | 0);
    d = ((d << 10) | (d >>> 22)) + a | 0;
    c = ((c + (a ^ (d | ~b)) + x14 + 0xab9423a7) | 0);
    c = ((c << 15) | (c >>> 17)) + d | 0;
    b = ((b + (d ^ (c | ~a)) + x5 + 0xfc93a039) | 0);
    b = ((b << 21) | (b >>> 11)) + c | 0;
    a = ((a + (c ^ (b | ~d)) + x12 + 0x655b59c3) | 0);
    a = ((a << 6) | (a >>> 26)) + b | 0;
    d = ((d + (b ^ (a | ~c)) + x3 + 0x8f0ccc92) | 0);
    d = ((d << 10) | (d >>> 22)) + a | 0;
    c = ((c + (a ^ (d | ~b)) + x10 + 0xffeff47d) | 0);
    c = ((c << 15) | (c >>> 17)) + d | 0;
    b = ((b + (d ^ (c | ~a)) + x1 + 0x85845dd1) | 0);
    b = ((b << 21) | (b >>> 11)) + c | 0;
    a = ((a + (c ^ (b | ~d)) + x8 + 0x6fa87e4f) | 0);
    a = ((a << 6) | (a >>> 26)) + b | 0;
    d = ((d + (b ^ (a | ~c)) + x15 + 0xfe2ce6e0) | 0);
    d = ((d << 10) | (d >>> 22)) + a | 0;
    c = ((c + (a ^ (d | ~b)) + x6 + 0xa3014314) | 0);
    c = ((c << 15) | (c >>> 17)) + d | 0;
    b = ((b + (d ^ (c | ~a)) + x13 + 0x4e0811a1) | 0);
    b = ((b << 21) | (b >>> 11)) + c | 0;
    a = ((a + (c ^ (b | ~d)) + x4 + 0xf7537e82) | 0);
    a = ((a << 6) | (a >>> 26)) + b | 0;
    d = ((d + (b ^ (a | ~c)) + x11 + 0xbd3af235) | 0);
    d = ((d << 10) | (d >>> 22)) + a | 0;
    c = ((c + (a ^ (d | ~b)) + x2 + 0x2ad7d2bb) | 0);
    c = ((c << 15) | (c >>> 17)) + d | 0;
    b = ((b + (d ^ (c | ~a)) + x9 + 0xeb86d391) | 0);
    b = ((b << 21) | (b >>> 11)) + c | 0;
    st[0] = (st[0] + a) | 0;
    st[1] = (st[1] + b) | 0;
    st[2] = (st[2] + c) | 0;
    st[3] = (st[3] + d) | 0;
  }
}

/** MD5 of one buffer, as 32 hex digits. */
export function md5Hex(bytes) {
  return new Md5().update(bytes).hex();
}

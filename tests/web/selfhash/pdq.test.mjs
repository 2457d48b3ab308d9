// The in-browser hashes against keepdown's Python, with node's built-in test runner.
//
// tests/web/test_selfhash_node.py writes the cases (pixel buffers decoded or drawn by
// keepdown's Python, and the hashes keepdown's Python computed for them) into a folder and runs
//     KEEPDOWN_SELFHASH_CASES=<folder> node --test tests/web/selfhash/
// Every buffer must give the same PDQ hash, quality and 8 rotations and mirrors, bit for bit;
// MD5 and SHA-256 must equal node's own (OpenSSL's) on the same bytes. What was compared is
// written to <folder>/node-results.json, which the Python side checks (so a run that compared
// nothing cannot pass).

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import test from "node:test";

import { md5Hex, Md5 } from "../../../keepdown/web/static/js/selfhash/md5.js";
import { exifOrientation, orient } from "../../../keepdown/web/static/js/selfhash/orientation.js";
import {
  dct16x64,
  lumaOfSum,
  pdqDihedral,
  pdqHash,
} from "../../../keepdown/web/static/js/selfhash/pdq.js";
import { Sha256, sha256Hex } from "../../../keepdown/web/static/js/selfhash/sha256.js";

const folder = process.env.KEEPDOWN_SELFHASH_CASES;
const skip = folder ? false : "KEEPDOWN_SELFHASH_CASES is not set (run tests/web/test_selfhash_node.py)";
const results = {};

function record(name, compared, mismatches) {
  results[name] = { compared, mismatches: mismatches.length };
  if (folder) {
    fs.writeFileSync(path.join(folder, "node-results.json"), JSON.stringify(results, null, 1));
  }
}

function loadManifest() {
  return JSON.parse(fs.readFileSync(path.join(folder, "manifest.json"), "utf8"));
}

function pixelsOf(fd, item) {
  const data = new Uint8Array(item.length);
  fs.readSync(fd, data, 0, item.length, item.offset);
  return { data, width: item.width, height: item.height, channels: item.channels };
}

function comparePdq(item, pixels) {
  const problems = [];
  const one = pdqHash(pixels);
  if (one.hash !== item.hash || one.quality !== item.quality) {
    problems.push(`compute: ${one.hash}/${one.quality} != ${item.hash}/${item.quality}`);
  }
  const all = pdqDihedral(pixels);
  if (all.quality !== item.dihedral_quality) {
    problems.push(`dihedral quality ${all.quality} != ${item.dihedral_quality}`);
  }
  for (const [name, want] of Object.entries(item.dihedral)) {
    if (all.hashes[name] !== want) problems.push(`${name}: ${all.hashes[name]} != ${want}`);
  }
  return problems;
}

for (const group of ["reference", "random", "photo-like"]) {
  test(`PDQ of every ${group} buffer equals keepdown's Python`, { skip }, () => {
    const manifest = loadManifest();
    const items = manifest.cases.filter((c) => c.group === group);
    assert.ok(items.length > 0, `no ${group} cases in the manifest`);
    const fd = fs.openSync(path.join(folder, "pixels.bin"), "r");
    const mismatches = [];
    try {
      for (const item of items) {
        const problems = comparePdq(item, pixelsOf(fd, item));
        if (problems.length) mismatches.push(`${item.name}: ${problems.join("; ")}`);
      }
    } finally {
      fs.closeSync(fd);
    }
    record(group, items.length, mismatches);
    assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} of ${items.length} differ`);
  });
}

test("the DCT table is keepdown's Python matrix, bit for bit", { skip }, () => {
  const manifest = loadManifest();
  const python = Buffer.from(manifest.dct_float32_le_base64, "base64");
  const ours = Buffer.from(dct16x64().buffer);
  record("dct", 1, python.equals(ours) ? [] : ["table"]);
  assert.ok(python.equals(ours), "pdq.js DCT_BITS differs: run scripts/selfhash_tables.py");
});

test("luma: multiplying by 0.001 rounds as the Python's float32 division, for every sum", () => {
  // 299 R + 587 G + 114 B is an integer from 0 to 255000; the Python divides it by 1000 in
  // float32, pdq.js multiplies by the double 0.001 and rounds to float32.
  const mismatches = [];
  for (let n = 0; n <= 255000; n++) {
    if (lumaOfSum(n) !== Math.fround(n / 1000)) mismatches.push(n);
  }
  record("luma", 255001, mismatches);
  assert.deepEqual(mismatches.slice(0, 10), []);
});

test("EXIF orientation: tags read from JPEG, PNG and WebP; pixels turned as Pillow turns them", { skip }, () => {
  const { orientation } = loadManifest();
  const bytes = (b64) => new Uint8Array(Buffer.from(b64, "base64"));
  const mismatches = [];
  const pixels = { data: bytes(orientation.pixels), width: orientation.width, height: orientation.height, channels: 4 };
  for (const [tag, want] of Object.entries(orientation.turned)) {
    const got = orient(pixels, Number(tag));
    const same = got.width === want.width && got.height === want.height;
    if (!same || Buffer.compare(Buffer.from(got.data), Buffer.from(bytes(want.data))) !== 0) {
      mismatches.push(`turn ${tag}`);
    }
  }
  for (const file of orientation.files) {
    const tag = exifOrientation(bytes(file.data), file.format);
    if (tag !== file.tag) mismatches.push(`${file.format} tag ${file.tag} read as ${tag}`);
  }
  record("orientation", Object.keys(orientation.turned).length + orientation.files.length, mismatches);
  assert.deepEqual(mismatches, []);
});

const RFC1321 = [
  ["", "d41d8cd98f00b204e9800998ecf8427e"],
  ["a", "0cc175b9c0f1b6a831c399e269772661"],
  ["abc", "900150983cd24fb0d6963f7d28e17f72"],
  ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
  ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
  [
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "d174ab98d277d9f5a5611c2c9f419d9f",
  ],
  [
    "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
    "57edf4a22be3c955ac49da2e2107b67a",
  ],
];

test("MD5: RFC 1321's test suite", () => {
  for (const [text, want] of RFC1321) assert.equal(md5Hex(new TextEncoder().encode(text)), want);
});

// Sizes around the 64-byte block and its 56-byte padding edge, and large ones.
function sizes(count, seed) {
  let x = seed;
  const next = () => ((x = (x * 1103515245 + 12345) % 2 ** 31), x);
  const out = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1 << 20, (1 << 20) + 3];
  while (out.length < count) out.push(next() % (next() % 2 ? 300 : 12000));
  return out;
}

test("MD5 and SHA-256 of 1,000 random buffers equal node's own, whole and in pieces", () => {
  let compared = 0;
  const mismatches = [];
  for (const [i, size] of sizes(1000, 7).entries()) {
    const bytes = crypto.randomBytes(size);
    const md5 = crypto.createHash("md5").update(bytes).digest("hex");
    const sha = crypto.createHash("sha256").update(bytes).digest("hex");
    // fed in irregular pieces, as a file read in chunks is
    const piecewiseMd5 = new Md5();
    const piecewiseSha = new Sha256();
    for (let at = 0, step = 1 + (i % 97); at < size; at += step, step = step * 3 + 1) {
      piecewiseMd5.update(bytes.subarray(at, at + step));
      piecewiseSha.update(bytes.subarray(at, at + step));
    }
    const got = [md5Hex(bytes), piecewiseMd5.hex(), sha256Hex(bytes), piecewiseSha.hex()];
    if (got.join() !== [md5, md5, sha, sha].join()) mismatches.push(`size ${size}`);
    compared++;
  }
  record("exact", compared, mismatches);
  assert.deepEqual(mismatches, []);
});

test("bad pixels are refused with a clear error", () => {
  assert.throws(() => pdqHash({ data: [1, 2, 3], width: 1, height: 1, channels: 3 }), TypeError);
  const data = new Uint8Array(12);
  assert.throws(() => pdqHash({ data, width: 2, height: 2, channels: 2 }), /channels/);
  assert.throws(() => pdqHash({ data, width: 3, height: 2, channels: 3 }), /too few/);
  assert.throws(() => pdqHash({ data, width: 0, height: 2, channels: 3 }), /width and height/);
  const md5 = new Md5();
  md5.hex();
  assert.throws(() => md5.update(data), /finished/);
});

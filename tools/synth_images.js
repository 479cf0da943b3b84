#!/usr/bin/env node
// synth_images.js: writes a deterministic set of synthetic RGB images as one .npy array, u8
// [N,3,H,W] (the [C,H,W] samples `qat calibrate --data npy:FILE` reads; `--layout NHWC` turns them
// into NHWC model inputs). For calibrating outside models when no real images are on the machine.
//
//   node tools/synth_images.js --count 64 --size 128 --seed 1 -o calib.npy
//
// Each image is a smooth two-colour gradient background with a few filled ellipses on it: one
// large skin-toned ellipse with two dark "eye" dots and a "mouth" bar (a crude face shape), and
// some random-coloured ones, plus mild pixel noise. They are NOT photographs: ranges calibrated
// on them are a stand-in, and any result obtained with them must say so. The generator is a
// fixed xorshift32, so the same arguments give the same bytes on every machine.
'use strict';

const fs = require('fs');

function fail(msg) {
  process.stderr.write(`synth_images: error: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { count: 64, size: 128, seed: 1, out: null };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    const int = (v, min, max) => {
      if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) fail(`${a} must be an integer in [${min}, ${max}], got '${v}'`);
      return Number(v);
    };
    if (a === '--count') o.count = int(value(), 1, 100000);
    else if (a === '--size') o.size = int(value(), 8, 4096);
    else if (a === '--seed') o.seed = int(value(), 0, 4294967295);
    else if (a === '-o' || a === '--output') o.out = value();
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node tools/synth_images.js [--count N] [--size S] [--seed K] -o out.npy\n');
      process.exit(0);
    } else fail(`unknown argument '${a}'`);
  }
  if (o.out === null) fail('missing -o out.npy');
  if (o.count * 3 * o.size * o.size > 1 << 30) fail('the array would exceed 1 GiB');
  return o;
}

// xorshift32: tiny, fixed, and the same in every JavaScript engine.
function makeRng(seed) {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const rnd = makeRng(o.seed);
  const S = o.size;
  const plane = S * S;
  const data = new Uint8Array(o.count * 3 * plane);
  const img = new Float32Array(3 * plane);
  const ellipse = (cx, cy, rx, ry, rgb) => {
    const x0 = Math.max(0, Math.floor(cx - rx)), x1 = Math.min(S - 1, Math.ceil(cx + rx));
    const y0 = Math.max(0, Math.floor(cy - ry)), y1 = Math.min(S - 1, Math.ceil(cy + ry));
    for (let y = y0; y <= y1; ++y) {
      for (let x = x0; x <= x1; ++x) {
        const dx = (x - cx) / rx, dy = (y - cy) / ry;
        if (dx * dx + dy * dy <= 1) for (let c = 0; c < 3; ++c) img[c * plane + y * S + x] = rgb[c];
      }
    }
  };
  const colour = () => [255 * rnd(), 255 * rnd(), 255 * rnd()];
  for (let n = 0; n < o.count; ++n) {
    const a = colour(), b = colour();
    const horizontal = rnd() < 0.5;
    for (let y = 0; y < S; ++y) {
      for (let x = 0; x < S; ++x) {
        const t = (horizontal ? x : y) / (S - 1);
        for (let c = 0; c < 3; ++c) img[c * plane + y * S + x] = a[c] * (1 - t) + b[c] * t;
      }
    }
    const others = Math.floor(rnd() * 4);
    for (let k = 0; k < others; ++k) ellipse(rnd() * S, rnd() * S, (0.05 + 0.2 * rnd()) * S, (0.05 + 0.2 * rnd()) * S, colour());
    // The face: skin tone, eyes, mouth.
    const r = (0.15 + 0.25 * rnd()) * S;
    const cx = r + rnd() * (S - 2 * r), cy = r + rnd() * (S - 2 * r);
    const shade = 0.6 + 0.4 * rnd();
    ellipse(cx, cy, 0.8 * r, r, [225 * shade, 180 * shade, 150 * shade]);
    const eye = [40 * rnd(), 30 * rnd(), 30 * rnd()];
    ellipse(cx - 0.3 * r, cy - 0.25 * r, 0.12 * r, 0.08 * r, eye);
    ellipse(cx + 0.3 * r, cy - 0.25 * r, 0.12 * r, 0.08 * r, eye);
    ellipse(cx, cy + 0.45 * r, 0.3 * r, 0.06 * r, [150 * shade, 60 * shade, 60 * shade]);
    const base = n * 3 * plane;
    for (let i = 0; i < 3 * plane; ++i) {
      const v = img[i] + (rnd() - 0.5) * 16;
      data[base + i] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  }
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${o.count}, 3, ${S}, ${S}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head[0] = 0x93;
  head.write('NUMPY', 1, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  const tmp = `${o.out}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
    fs.renameSync(tmp, o.out);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch (_) {
      // nothing to clean up
    }
    fail(`cannot write ${o.out}: ${e.message}`);
  }
  process.stdout.write(`synth_images: wrote ${o.out}: u8[${o.count},3,${S},${S}] (synthetic, seed ${o.seed})\n`);
}

main();

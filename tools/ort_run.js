#!/usr/bin/env node
// ort_run.js: runs an ONNX model in ONNX Runtime (npm onnxruntime-node, installed by
// scripts/install-deps.sh into third_party/ort) on .npy inputs and writes .npy outputs. It is the
// outside oracle of qat's tests and the ONNX Runtime side of the benchmarks.
//
//   node tools/ort_run.js model.onnx --input x=x.npy [--input ...] --out-dir D
//        [--threads T] [--opt-level disabled|basic|extended|all] [--warmup W] [--repeat R]
//   node tools/ort_run.js model.onnx --info
//
// Each output is written to D/<name>.npy (characters outside [A-Za-z0-9_.-] become '_'). The last
// line on stdout is JSON: {"outputs":[{"name","file","dtype","dims"}...], "latency_ms":{...}}
// (latency only with --repeat). Errors print one line "ort_run: error: ..." and exit with 2.
'use strict';

const fs = require('fs');
const path = require('path');

function fail(msg) {
  process.stderr.write(`ort_run: error: ${msg}\n`);
  process.exit(2);
}

// ---- .npy ----------------------------------------------------------------------------------

// numpy descr -> [ORT tensor type, TypedArray constructor, bytes per element]
const NPY_TYPES = {
  '<f4': ['float32', Float32Array, 4],
  '<f8': ['float64', Float64Array, 8],
  '<f2': ['float16', Uint16Array, 2],
  '|i1': ['int8', Int8Array, 1],
  '|u1': ['uint8', Uint8Array, 1],
  '<i2': ['int16', Int16Array, 2],
  '<u2': ['uint16', Uint16Array, 2],
  '<i4': ['int32', Int32Array, 4],
  '<u4': ['uint32', Uint32Array, 4],
  '<i8': ['int64', BigInt64Array, 8],
  '<u8': ['uint64', BigUint64Array, 8],
  '|b1': ['bool', Uint8Array, 1],
};
const ORT_TO_DESCR = {};
for (const [descr, [t]] of Object.entries(NPY_TYPES)) ORT_TO_DESCR[t] = descr;

function parseNpy(buf, what) {
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    fail(`${what}: not a .npy file (bad magic)`);
  }
  const major = buf[6];
  let headerLen;
  let offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail(`${what}: truncated .npy header`);
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    fail(`${what}: unsupported .npy version ${major}`);
  }
  if (offset + headerLen > buf.length) fail(`${what}: truncated .npy header`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', offset, offset + headerLen);
  const descrM = header.match(/'descr'\s*:\s*'([^']+)'/);
  const fortranM = header.match(/'fortran_order'\s*:\s*(True|False)/);
  const shapeM = header.match(/'shape'\s*:\s*\(([^)]*)\)/);
  if (!descrM || !fortranM || !shapeM) fail(`${what}: malformed .npy header ${JSON.stringify(header.trim())}`);
  let descr = descrM[1];
  // Single-byte types may be written with '<' or '=' instead of '|'.
  if (/^[<=|](i1|u1|b1)$/.test(descr)) descr = '|' + descr.slice(1);
  if (descr[0] === '=') descr = '<' + descr.slice(1);
  const info = NPY_TYPES[descr];
  if (!info) fail(`${what}: unsupported dtype '${descrM[1]}' (big-endian or exotic)`);
  if (fortranM[1] === 'True') fail(`${what}: Fortran-order arrays are not supported`);
  const dims = shapeM[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      if (!/^\d+$/.test(s)) fail(`${what}: bad shape entry '${s}'`);
      return Number(s);
    });
  const count = dims.reduce((a, b) => a * b, 1);
  const dataStart = offset + headerLen;
  const nbytes = count * info[2];
  if (buf.length - dataStart < nbytes) {
    fail(`${what}: data has ${buf.length - dataStart} bytes, shape [${dims}] of ${descr} needs ${nbytes}`);
  }
  // Copy into an aligned buffer: typed arrays need element alignment.
  const raw = new ArrayBuffer(nbytes);
  new Uint8Array(raw).set(buf.subarray(dataStart, dataStart + nbytes));
  return { type: info[0], data: new info[1](raw), dims };
}

function serializeNpy(type, dims, data) {
  const descr = ORT_TO_DESCR[type];
  if (!descr) fail(`output of type ${type} cannot be written as .npy`);
  const shape = dims.length === 0 ? '()' : dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad so that magic + version + length + header is a multiple of 64, ending in '\n'.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head[0] = 0x93;
  head.write('NUMPY', 1, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  let body;
  if (type === 'bool') {
    body = Buffer.from(Array.from(data, (v) => (v ? 1 : 0)));
  } else {
    body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

// Writes through a temporary file and a rename, so a failed run leaves no partial output.
function writeAtomic(file, bytes) {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch (_) {
      // nothing to clean up
    }
    fail(`cannot write ${file}: ${e.message}`);
  }
}

// ---- arguments -----------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { model: null, inputs: [], outDir: null, threads: 1, opt: 'all', warmup: 0, repeat: 0, info: false };
  const needValue = (i, flag) => {
    if (i + 1 >= argv.length) fail(`${flag} needs a value`);
    return argv[i + 1];
  };
  const intArg = (v, flag, min) => {
    if (!/^\d+$/.test(v) || Number(v) < min) fail(`${flag} must be an integer >= ${min}, got '${v}'`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--input' || a === '-i') {
      const spec = needValue(i++, a);
      const eq = spec.indexOf('=');
      if (eq <= 0 || eq === spec.length - 1) fail(`bad --input '${spec}': expected name=file.npy`);
      o.inputs.push([spec.slice(0, eq), spec.slice(eq + 1)]);
    } else if (a === '--out-dir' || a === '-o') {
      o.outDir = needValue(i++, a);
    } else if (a === '--threads') {
      o.threads = intArg(needValue(i++, a), a, 1);
    } else if (a === '--opt-level') {
      o.opt = needValue(i++, a);
      if (!['disabled', 'basic', 'extended', 'all'].includes(o.opt)) {
        fail(`--opt-level must be disabled, basic, extended or all, got '${o.opt}'`);
      }
    } else if (a === '--warmup') {
      o.warmup = intArg(needValue(i++, a), a, 0);
    } else if (a === '--repeat') {
      o.repeat = intArg(needValue(i++, a), a, 0);
    } else if (a === '--info') {
      o.info = true;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: node tools/ort_run.js model.onnx --input name=file.npy ... --out-dir D\n' +
          '       [--threads T] [--opt-level disabled|basic|extended|all] [--warmup W] [--repeat R]\n' +
          '       node tools/ort_run.js model.onnx --info\n',
      );
      process.exit(0);
    } else if (a.startsWith('-')) {
      fail(`unknown option '${a}'`);
    } else if (o.model === null) {
      o.model = a;
    } else {
      fail(`unexpected argument '${a}'`);
    }
  }
  if (o.model === null) fail('missing model file');
  if (!o.info && o.outDir === null && o.repeat === 0) fail('missing --out-dir (or --repeat for timing only)');
  return o;
}

function loadOrt() {
  const dir = path.join(__dirname, '..', 'third_party', 'ort', 'node_modules', 'onnxruntime-node');
  if (!fs.existsSync(dir)) fail(`ONNX Runtime not found at ${dir} (run scripts/install-deps.sh)`);
  try {
    return require(dir);
  } catch (e) {
    fail(`cannot load onnxruntime-node: ${e.message}`);
  }
  return null;
}

function safeName(name) {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return s === '' || s === '.' || s === '..' ? `_${s}` : s;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(o.model) || !fs.statSync(o.model).isFile()) fail(`${o.model}: no such file`);
  if (o.outDir !== null) {
    if (!fs.existsSync(o.outDir)) {
      try {
        fs.mkdirSync(o.outDir, { recursive: true });
      } catch (e) {
        fail(`cannot create --out-dir ${o.outDir}: ${e.message}`);
      }
    }
    if (!fs.statSync(o.outDir).isDirectory()) fail(`--out-dir ${o.outDir} is not a directory`);
  }
  // Read every input before loading the model, so bad files fail fast.
  const feeds = {};
  for (const [name, file] of o.inputs) {
    if (name in feeds) fail(`input '${name}' given twice`);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) fail(`input '${name}': ${file}: no such file`);
    feeds[name] = parseNpy(fs.readFileSync(file), file);
  }
  const ort = loadOrt();
  let session;
  try {
    session = await ort.InferenceSession.create(o.model, {
      intraOpNumThreads: o.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: o.opt,
    });
  } catch (e) {
    fail(`${o.model}: ONNX Runtime cannot load the model: ${String(e.message || e).split('\n')[0]}`);
  }
  if (o.info) {
    process.stdout.write(JSON.stringify({ inputs: session.inputNames, outputs: session.outputNames }) + '\n');
    return;
  }
  const known = new Set(session.inputNames);
  for (const name of Object.keys(feeds)) {
    if (!known.has(name)) fail(`model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
  }
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length > 0) fail(`missing --input for ${missing.join(', ')}`);
  const ortFeeds = {};
  for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);

  const run = async () => {
    try {
      return await session.run(ortFeeds);
    } catch (e) {
      fail(`ONNX Runtime failed to run ${o.model}: ${String(e.message || e).split('\n')[0]}`);
    }
    return null;
  };
  for (let i = 0; i < o.warmup; ++i) await run();
  let results = null;
  const times = [];
  const reps = Math.max(o.repeat, 1);
  for (let i = 0; i < reps; ++i) {
    const t0 = process.hrtime.bigint();
    results = await run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }

  const summary = { outputs: [] };
  for (const name of session.outputNames) {
    const t = results[name];
    const entry = { name, dtype: t.type, dims: Array.from(t.dims) };
    if (o.outDir !== null) {
      entry.file = path.join(o.outDir, `${safeName(name)}.npy`);
      writeAtomic(entry.file, serializeNpy(t.type, Array.from(t.dims), t.data));
    }
    summary.outputs.push(entry);
  }
  if (o.repeat > 0) {
    const sorted = [...times].sort((a, b) => a - b);
    summary.latency_ms = {
      runs: times.length,
      mean: times.reduce((a, b) => a + b, 0) / times.length,
      median: sorted[Math.floor(sorted.length / 2)],
      min: sorted[0],
    };
  }
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main().catch((e) => fail(String(e && e.message ? e.message : e)));

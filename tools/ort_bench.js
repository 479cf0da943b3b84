#!/usr/bin/env node
// ONNX Runtime side of `qat bench --compare-ort` and of bench/model_bench: times one model with
// onnxruntime-node (third_party/ort) under the same batch, threads, warm-up and iteration rules
// as qat, and prints one JSON object on stdout:
//   {"latency_ms": {"min", "median", "mean", "p90", "p99"}, "throughput_per_s", "iterations",
//    "batch", "threads", "ort_version", "samples_ms": [every timed run, in order]}
// With --profile, ONNX Runtime's own profiler is on (it slows the runs: time without it) and the
// object also holds "profile": {"runs", "total_ms", "by_op_ms": {op type: ms per run},
// "nodes": [{"name", "op", "ms"}, ... slowest first]}: means over the timed runs (the warm-up
// runs' events are dropped) of its kernel times, after its graph rewrites (node names like
// "conv1_nchwc", ops like "QuickGelu").
//
// usage: node tools/ort_bench.js MODEL.onnx [--batch N] [--threads T] [--warmup W]
//            [--iterations I | --duration S] [--seed K] [--profile]
// Inputs are random (uniform [-1, 1) for floats, small integers otherwise) with every symbolic
// or unknown dim 0 set to the batch; other symbolic dims are an error (give a static model).
// Errors: one line on stderr, exit code 2.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

function fail(msg) {
    process.stderr.write(`ort_bench: error: ${msg}\n`);
    process.exit(2);
}

function parseArgs(argv) {
    const o = {batch: 1, threads: 1, warmup: 10, iterations: 0, duration: 0, seed: 1, profile: false};
    const rest = [];
    for (let i = 0; i < argv.length; ++i) {
        const a = argv[i];
        const num = (name, int) => {
            if (i + 1 >= argv.length) fail(`${a} needs a value`);
            const v = Number(argv[++i]);
            if (!Number.isFinite(v) || (int && !Number.isInteger(v)) || v < 0) fail(`${a}: bad value '${argv[i]}'`);
            o[name] = v;
        };
        if (a === '--batch') num('batch', true);
        else if (a === '--threads') num('threads', true);
        else if (a === '--warmup') num('warmup', true);
        else if (a === '--iterations') num('iterations', true);
        else if (a === '--duration') num('duration', false);
        else if (a === '--seed') num('seed', true);
        else if (a === '--profile') o.profile = true;
        else if (a.startsWith('--')) fail(`unknown option ${a}`);
        else rest.push(a);
    }
    if (rest.length !== 1) fail('expected one model path');
    if (o.batch < 1) fail('--batch must be >= 1');
    if (o.threads < 1) fail('--threads must be >= 1');
    if (o.iterations === 0 && o.duration === 0) o.iterations = 50;
    o.model = rest[0];
    return o;
}

function loadOrt() {
    const local = path.join(__dirname, '..', 'third_party', 'ort', 'node_modules', 'onnxruntime-node');
    try {
        return require(fs.existsSync(local) ? local : 'onnxruntime-node');
    } catch (e) {
        fail(`cannot load onnxruntime-node (${e.message}); run scripts/install-deps.sh`);
    }
}

// Deterministic pseudo-random numbers (mulberry32), so both sides could share inputs if needed.
function rng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function makeTensor(ort, meta, batch, rand) {
    const dims = meta.shape.map((d, i) => {
        if (typeof d === 'number' && d >= 0) return d;
        if (i === 0) return batch;
        fail(`input '${meta.name}' has a symbolic dim ${i} ('${d}'): only the batch dim may be symbolic`);
    });
    if (dims.length > 0 && typeof meta.shape[0] === 'number' && meta.shape[0] >= 0 && meta.shape[0] !== batch)
        fail(`input '${meta.name}' has a static batch ${meta.shape[0]}, asked for --batch ${batch}`);
    const n = dims.reduce((a, b) => a * b, 1);
    const t = meta.type;
    const make = {
        float32: () => Float32Array.from({length: n}, () => rand() * 2 - 1),
        int8: () => Int8Array.from({length: n}, () => Math.floor(rand() * 256) - 128),
        uint8: () => Uint8Array.from({length: n}, () => Math.floor(rand() * 256)),
        int32: () => Int32Array.from({length: n}, () => Math.floor(rand() * 10)),
        int64: () => BigInt64Array.from({length: n}, () => BigInt(Math.floor(rand() * 10))),
    }[t];
    if (!make) fail(`input '${meta.name}' has type ${t}, which ort_bench does not generate`);
    return new ort.Tensor(t, make(), dims);
}

// ONNX Runtime's profile file (Chrome trace events), summarized per op type and node, then removed.
function readProfile(prefix, warmup) {
    const dir = path.dirname(prefix);
    const base = path.basename(prefix);
    const files = fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json'));
    if (files.length === 0) fail('ONNX Runtime wrote no profile file');
    const events = [];
    for (const f of files) {
        const full = path.join(dir, f);
        try {
            events.push(...JSON.parse(fs.readFileSync(full, 'utf8')));
        } catch (e) {
            fail(`cannot read ONNX Runtime's profile ${full}: ${e.message}`);
        } finally {
            fs.rmSync(full, {force: true});
        }
    }
    const starts = events.filter((e) => e.name === 'model_run').map((e) => e.ts).sort((a, b) => a - b);
    const from = starts.length > warmup ? starts[warmup] : Infinity;
    const runs = Math.max(1, starts.length - warmup);
    const nodes = new Map();
    for (const e of events) {
        if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
        const name = e.name.slice(0, -'_kernel_time'.length);
        const op = (e.args && e.args.op_name) || '';
        const n = nodes.get(name) || {name, op, ms: 0};
        n.ms += e.dur / 1000 / runs;
        nodes.set(name, n);
    }
    const list = [...nodes.values()].sort((a, b) => b.ms - a.ms);
    const byOp = {};
    for (const n of list) byOp[n.op] = (byOp[n.op] || 0) + n.ms;
    return {runs, total_ms: list.reduce((a, n) => a + n.ms, 0), by_op_ms: byOp, nodes: list};
}

function percentile(sorted, p) {
    if (sorted.length === 0) return 0;
    const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[idx];
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    if (!fs.existsSync(o.model)) fail(`model file '${o.model}' does not exist`);
    const ort = loadOrt();
    let session;
    const profilePrefix = path.join(os.tmpdir(), `ort_bench_${process.pid}_`);
    try {
        session = await ort.InferenceSession.create(o.model, {
            intraOpNumThreads: o.threads,
            interOpNumThreads: 1,
            executionMode: 'sequential',
            graphOptimizationLevel: 'all',
            executionProviders: ['cpu'],
            enableProfiling: o.profile,
            profileFilePrefix: profilePrefix,
        });
    } catch (e) {
        fail(`ONNX Runtime cannot load '${o.model}': ${e.message.split('\n')[0]}`);
    }
    const rand = rng(o.seed);
    const feeds = {};
    const metas = session.inputMetadata;
    for (let i = 0; i < session.inputNames.length; ++i) {
        const name = session.inputNames[i];
        const meta = Array.isArray(metas) ? metas[i] : metas[name];
        if (!meta || !meta.isTensor) fail(`input '${name}' is not a tensor`);
        feeds[name] = makeTensor(ort, {name, shape: meta.shape, type: meta.type}, o.batch, rand);
    }
    for (let i = 0; i < o.warmup; ++i) await session.run(feeds);
    const lat = [];
    const t_end = process.hrtime.bigint() + BigInt(Math.round(o.duration * 1e9));
    for (let i = 0; ; ++i) {
        if (o.iterations > 0 ? i >= o.iterations : process.hrtime.bigint() >= t_end) break;
        const t0 = process.hrtime.bigint();
        await session.run(feeds);
        lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const sorted = lat.slice().sort((a, b) => a - b);
    const mean = lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length);
    const out = {
        latency_ms: {
            min: sorted[0] || 0,
            median: percentile(sorted, 50),
            mean,
            p90: percentile(sorted, 90),
            p99: percentile(sorted, 99),
        },
        throughput_per_s: mean > 0 ? (o.batch * 1000) / mean : 0,
        iterations: lat.length,
        batch: o.batch,
        threads: o.threads,
        ort_version: (ort.env && ort.env.versions && ort.env.versions.common) || 'unknown',
        samples_ms: lat,
    };
    if (o.profile) {
        session.endProfiling();
        out.profile = readProfile(profilePrefix, o.warmup);
    }
    process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => fail(e && e.message ? e.message.split('\n')[0] : String(e)));

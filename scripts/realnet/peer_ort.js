#!/usr/bin/env node
'use strict';
// ONNX Runtime side of the realnet peer flow and of compare.sh
// (onnxruntime-node from scripts/ort, installed by scripts/ort/setup.sh).
//
//   node peer_ort.js optimize --model M.onnx --out O.onnx [--level basic]
//        ORT graph optimisation, saved (what quant_pre_process does, step 2)
//   node peer_ort.js minmax --model AUG.onnx --map MAP.json --input X.npy --out STATS.json
//        runs the ReduceMin/ReduceMax-augmented model (peer_qdq.py plan) on
//        every sample; per calibrated tensor: min, max, min |x| over all samples
//   node peer_ort.js hist --model FULL.onnx --plan HIST.json --input X.npy --out HIST_OUT.json
//        [--budget-mb 1024]  histograms of |x| (fixed edges from HIST.json)
//        of every listed tensor over all samples; the tensors are fetched in
//        groups of at most --budget-mb per run to bound memory
//   node peer_ort.js eval --ref M.onnx [--variant NAME=Q.onnx ...] [--dir NAME=DIR ...]
//        --input X.npy --out SQNR.json
//        runs the FP32 model and every variant sample by sample (a DIR holds
//        one .npy per output, e.g. npusim's --output-dir, rows = samples) and
//        accumulates, per output, sum ref^2 and sum (ref - q)^2:
//        SQNR = 10 log10(sum ref^2 / sum (ref - q)^2)
//   node peer_ort.js time --model M.onnx --input X.npy [--samples N]
//        wall time of ORT FP32 inference over the samples (session creation
//        excluded, one warm-up run excluded), JSON on stdout
// Common: [--threads T] (default 2, intra-op), [--batch B] rows per run for
// models whose leading input dimension is not fixed (default 16; a fixed
// leading dimension, e.g. a batch-1 export, is always used as is).

const fs = require('fs');
const path = require('path');
const { readNpy } = require('../ort/npy');

const ortDir = path.join(__dirname, '..', 'ort', 'node_modules', 'onnxruntime-node');
let ort;
try {
  ort = require(ortDir);
} catch (e) {
  console.error(`peer_ort: cannot load onnxruntime-node from ${ortDir} (run scripts/ort/setup.sh): ${e.message}`);
  process.exit(2);
}

function parse(argv) {
  const a = { cmd: argv[0], variant: [], dir: [], threads: 2, batch: 16, level: 'basic', budgetMb: 1024 };
  for (let i = 1; i < argv.length; i += 1) {
    const f = argv[i];
    const v = () => { i += 1; if (i >= argv.length) throw new Error(`${f} needs a value`); return argv[i]; };
    if (f === '--model') a.model = v();
    else if (f === '--out') a.out = v();
    else if (f === '--level') a.level = v();
    else if (f === '--map') a.map = v();
    else if (f === '--plan') a.plan = v();
    else if (f === '--input') a.input = v();
    else if (f === '--ref') a.ref = v();
    else if (f === '--variant') a.variant.push(v());
    else if (f === '--dir') a.dir.push(v());
    else if (f === '--threads') a.threads = Number(v());
    else if (f === '--batch') a.batch = Number(v());
    else if (f === '--samples') a.samples = Number(v());
    else if (f === '--budget-mb') a.budgetMb = Number(v());
    else throw new Error(`unknown argument ${f}`);
  }
  return a;
}

async function session(model, threads, level = 'all', extra = {}) {
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: level, ...extra,
  });
}

// Rows of the .npy per run: the model's fixed leading dimension, else --batch.
function chunkRows(sess, rec, batch) {
  const meta = sess.inputMetadata;
  let fixed;
  if (Array.isArray(meta) && meta.length > 0 && Array.isArray(meta[0].shape)) {
    const d0 = meta[0].shape[0];
    if (typeof d0 === 'number' && d0 > 0) fixed = d0;
  }
  const rows = rec.dims[0];
  if (fixed !== undefined) {
    if (rows % fixed !== 0) throw new Error(`input has ${rows} rows, not a multiple of the model's batch ${fixed}`);
    return fixed;
  }
  return Math.max(1, Math.min(batch, rows));
}

// Yields feeds {name: Tensor} for rows [b, e) of the (single) input.
function* chunks(sess, rec, rows, limit) {
  const n = limit ? Math.min(limit, rec.dims[0]) : rec.dims[0];
  const per = rec.dims.slice(1).reduce((x, y) => x * y, 1);
  for (let b = 0; b < n; b += rows) {
    const e = Math.min(n, b + rows);
    yield { b, e, feeds: { [sess.inputNames[0]]: new ort.Tensor(rec.type, rec.data.subarray(b * per, e * per), [e - b, ...rec.dims.slice(1)]) } };
  }
}

async function cmdOptimize(a) {
  await session(a.model, a.threads, a.level, { optimizedModelFilePath: a.out });
  console.error(`peer_ort: ${a.level}-optimized ${a.model} -> ${a.out}`);
}

async function cmdMinmax(a) {
  const map = JSON.parse(fs.readFileSync(a.map, 'utf8')); // {tensor: [minOut, maxOut, absminOut]}
  const sess = await session(a.model, a.threads, 'disabled'); // as ORT's calibrator: ORT_DISABLE_ALL
  const rec = readNpy(a.input);
  const stats = {};
  for (const t of Object.keys(map)) stats[t] = { min: Infinity, max: -Infinity, absmin: Infinity };
  const fetches = Object.values(map).flat();
  let n = 0;
  for (const { b, e, feeds } of chunks(sess, rec, chunkRows(sess, rec, a.batch))) {
    const out = await sess.run(feeds, fetches);
    for (const [t, [mn, mx, am]] of Object.entries(map)) {
      const s = stats[t];
      for (const v of out[mn].data) if (v < s.min) s.min = v;
      for (const v of out[mx].data) if (v > s.max) s.max = v;
      for (const v of out[am].data) if (v < s.absmin) s.absmin = v;
    }
    n = e;
    if (b === 0 || e % 16 === 0) process.stderr.write(`\rpeer_ort minmax: ${e}/${rec.dims[0]}`);
  }
  process.stderr.write('\n');
  fs.writeFileSync(a.out, JSON.stringify({ samples: n, tensors: stats }));
}

async function cmdHist(a) {
  const plan = JSON.parse(fs.readFileSync(a.plan, 'utf8')); // {bins, tensors: [{name, lo, hi, bytes}]}
  const sess = await session(a.model, a.threads, 'disabled');
  const rec = readNpy(a.input);
  const rows = chunkRows(sess, rec, a.batch);
  const bins = plan.bins;
  const hist = {};
  // Groups of tensors whose bytes per run stay under the budget.
  const budget = a.budgetMb * 1024 * 1024;
  const groups = [];
  let cur = [];
  let bytes = 0;
  for (const t of plan.tensors) {
    const tb = (t.bytes || budget) * rows;
    if (cur.length > 0 && bytes + tb > budget) { groups.push(cur); cur = []; bytes = 0; }
    cur.push(t); bytes += tb;
  }
  if (cur.length > 0) groups.push(cur);
  for (let g = 0; g < groups.length; g += 1) {
    const group = groups[g];
    for (const t of group) hist[t.name] = new Float64Array(bins);
    for (const { e, feeds } of chunks(sess, rec, rows)) {
      const out = await sess.run(feeds, group.map((t) => t.name));
      for (const t of group) {
        const h = hist[t.name];
        const data = out[t.name].data;
        const lo = t.lo;
        const norm = t.hi > t.lo ? bins / (t.hi - t.lo) : 0;
        for (let i = 0; i < data.length; i += 1) {
          const v = Math.abs(data[i]);
          if (Number.isNaN(v)) continue;
          let k = Math.floor((v - lo) * norm);
          if (k >= bins) k = bins - 1; else if (k < 0) k = 0;
          h[k] += 1;
        }
      }
      process.stderr.write(`\rpeer_ort hist: group ${g + 1}/${groups.length} (${group.length} tensors), sample ${e}/${rec.dims[0]}   `);
    }
  }
  process.stderr.write('\n');
  const outObj = { bins, tensors: {} };
  for (const [k, v] of Object.entries(hist)) outObj.tensors[k] = Array.from(v);
  fs.writeFileSync(a.out, JSON.stringify(outObj));
}

function fileNameFor(name) { // npusim's file_name_for
  return `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.npy`;
}

async function cmdEval(a) {
  const ref = await session(a.ref, a.threads);
  const rec = readNpy(a.input);
  const rows = chunkRows(ref, rec, a.batch);
  const variants = [];
  for (const spec of a.variant) {
    const eq = spec.indexOf('=');
    variants.push({ name: spec.slice(0, eq), sess: await session(spec.slice(eq + 1), a.threads) });
  }
  for (const spec of a.dir) {
    const eq = spec.indexOf('=');
    const dir = spec.slice(eq + 1);
    const outs = {};
    for (const o of ref.outputNames) {
      const f = path.join(dir, fileNameFor(o));
      if (fs.existsSync(f)) outs[o] = readNpy(f);
    }
    variants.push({ name: spec.slice(0, eq), outs });
  }
  const acc = {};
  for (const v of variants) {
    acc[v.name] = {};
    for (const o of ref.outputNames) acc[v.name][o] = { ref2: 0, err2: 0, maxabs: 0, n: 0, missing: false };
  }
  let refSeconds = 0;
  const seconds = {};
  for (const { b, e, feeds } of chunks(ref, rec, rows, a.samples)) {
    let t0 = process.hrtime.bigint();
    const r = await ref.run(feeds);
    refSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
    for (const v of variants) {
      let q;
      if (v.sess) {
        t0 = process.hrtime.bigint();
        q = await v.sess.run(feeds);
        seconds[v.name] = (seconds[v.name] || 0) + Number(process.hrtime.bigint() - t0) / 1e9;
      }
      for (const o of ref.outputNames) {
        const s = acc[v.name][o];
        const rd = r[o].data;
        let qd;
        if (v.sess) qd = q[o].data;
        else if (v.outs[o]) {
          const per = rd.length / (e - b);   // values per row (a chunk holds e - b rows)
          if (v.outs[o].data.length < e * per) { s.missing = true; continue; }
          qd = v.outs[o].data.subarray(b * per, e * per);
        } else { s.missing = true; continue; }
        for (let i = 0; i < rd.length; i += 1) {
          const d = rd[i] - qd[i];
          s.ref2 += rd[i] * rd[i];
          s.err2 += d * d;
          const ad = Math.abs(d);
          if (ad > s.maxabs || Number.isNaN(ad)) s.maxabs = ad;
        }
        s.n += rd.length;
      }
    }
    process.stderr.write(`\rpeer_ort eval: ${e}/${a.samples ? Math.min(a.samples, rec.dims[0]) : rec.dims[0]}`);
  }
  process.stderr.write('\n');
  const result = { samples: a.samples ? Math.min(a.samples, rec.dims[0]) : rec.dims[0], outputs: ref.outputNames,
    ref_seconds: refSeconds, variant_seconds: seconds, sqnr_db: {}, detail: acc };
  for (const v of variants) {
    result.sqnr_db[v.name] = {};
    for (const o of ref.outputNames) {
      const s = acc[v.name][o];
      result.sqnr_db[v.name][o] = s.missing ? null
        : (s.err2 === 0 ? Infinity : 10 * Math.log10(s.ref2 / s.err2));
    }
  }
  fs.writeFileSync(a.out, JSON.stringify(result, (k, v) => (v === Infinity ? 'inf' : v), 1));
}

async function cmdTime(a) {
  const sess = await session(a.model, a.threads);
  const rec = readNpy(a.input);
  const rows = chunkRows(sess, rec, a.batch);
  const first = chunks(sess, rec, rows).next().value;
  await sess.run(first.feeds); // warm-up
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (const { e, feeds } of chunks(sess, rec, rows, a.samples)) { await sess.run(feeds); n = e; }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ model: path.basename(a.model), samples: n, rows_per_run: rows, threads: a.threads,
    seconds: +s.toFixed(4), max_rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
    ort_version: require(path.join(ortDir, 'package.json')).version }));
}

async function main() {
  const a = parse(process.argv.slice(2));
  const cmds = { optimize: cmdOptimize, minmax: cmdMinmax, hist: cmdHist, eval: cmdEval, time: cmdTime };
  if (!cmds[a.cmd]) throw new Error(`usage: peer_ort.js ${Object.keys(cmds).join('|')} ... (see the header)`);
  await cmds[a.cmd](a);
}

main().catch((e) => { console.error(`peer_ort: ${e.message}`); process.exit(1); });

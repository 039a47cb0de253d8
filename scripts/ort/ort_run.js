#!/usr/bin/env node
'use strict';
// ONNX Runtime (CPU) oracle for bitnpu: runs a model on .npy inputs and writes
// .npy outputs, or measures throughput.
//
//   node scripts/ort/ort_run.js --model M.onnx --input x.npy --output out.npy
//        [--threads N] [--batch B] [--opt-level disabled|basic|extended|all] [--bench]
//
// --input/--output take PATH (the model's first input/output) or NAME=PATH
// (repeatable). Inputs with a leading dynamic batch dimension are run in
// chunks of B samples (--batch, default 500; 0 = all at once) and the outputs
// concatenated. --bench times batch-1 and batch-64 inference on the first
// sample of the input and prints one JSON object; an --output is then optional.

const path = require('path');
const { readNpy, writeNpy } = require('./npy');

const USAGE = 'usage: node ort_run.js --model M.onnx --input x.npy [--output out.npy] '
  + '[--threads N] [--batch B] [--opt-level L] [--bench]';

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { inputs: [], outputs: [], threads: 1, batch: 500, optLevel: 'all', bench: false };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      i += 1;
      return argv[i];
    };
    if (flag === '--model') args.model = value();
    else if (flag === '--input') args.inputs.push(value());
    else if (flag === '--output') args.outputs.push(value());
    else if (flag === '--threads') args.threads = positiveInt(flag, value());
    else if (flag === '--batch') args.batch = nonNegativeInt(flag, value());
    else if (flag === '--opt-level') args.optLevel = value();
    else if (flag === '--bench') args.bench = true;
    else if (flag === '--help' || flag === '-h') { console.log(USAGE); process.exit(0); }
    else throw new UsageError(`unknown argument ${flag}`);
  }
  if (!args.model) throw new UsageError('--model is required');
  if (args.inputs.length === 0) throw new UsageError('--input is required');
  if (!args.bench && args.outputs.length === 0) throw new UsageError('--output is required (or --bench)');
  if (!['disabled', 'basic', 'extended', 'all'].includes(args.optLevel)) {
    throw new UsageError(`--opt-level must be disabled, basic, extended or all, not ${args.optLevel}`);
  }
  return args;
}

function nonNegativeInt(flag, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be an integer >= 0, not ${text}`);
  return n;
}

function positiveInt(flag, text) {
  const n = nonNegativeInt(flag, text);
  if (n === 0) throw new UsageError(`${flag} must be >= 1`);
  return n;
}

// "NAME=PATH" or "PATH" (bound to names[index]) -> [name, path].
function bind(spec, names, index, what) {
  const eq = spec.indexOf('=');
  if (eq > 0 && names.includes(spec.slice(0, eq))) return [spec.slice(0, eq), spec.slice(eq + 1)];
  if (index >= names.length) throw new UsageError(`model has only ${names.length} ${what}(s): ${names.join(', ')}`);
  return [names[index], spec];
}

// Slices samples [begin, end) along axis 0 of a tensor record.
function sliceBatch(ort, rec, begin, end) {
  const per = rec.dims.slice(1).reduce((a, b) => a * b, 1);
  return new ort.Tensor(rec.type, rec.data.subarray(begin * per, end * per), [end - begin, ...rec.dims.slice(1)]);
}

// Repeats sample 0 of a record `batch` times.
function repeatFirst(ort, rec, batch) {
  const per = rec.dims.slice(1).reduce((a, b) => a * b, 1);
  const data = new rec.data.constructor(per * batch);
  for (let b = 0; b < batch; b += 1) data.set(rec.data.subarray(0, per), b * per);
  return new ort.Tensor(rec.type, data, [batch, ...rec.dims.slice(1)]);
}

function concatOutputs(chunks) {
  const first = chunks[0];
  const total = chunks.reduce((n, t) => n + t.data.length, 0);
  const data = new first.data.constructor(total);
  let offset = 0;
  for (const t of chunks) { data.set(t.data, offset); offset += t.data.length; }
  const rows = chunks.reduce((n, t) => n + t.dims[0], 0);
  return { data, dims: [rows, ...first.dims.slice(1)], type: first.type };
}

async function runAll(ort, session, records, batch) {
  const names = Object.keys(records);
  const n = records[names[0]].dims.length > 0 ? records[names[0]].dims[0] : 1;
  // Chunk only when every input has the same leading (batch) dimension.
  const batched = names.every((k) => records[k].dims.length > 0 && records[k].dims[0] === n);
  const chunk = batch === 0 || !batched || n === 0 ? Math.max(n, 1) : batch;
  const chunks = {};
  for (let begin = 0; begin < Math.max(n, 1); begin += chunk) {
    const end = Math.min(n, begin + chunk);
    const feeds = {};
    for (const name of names) {
      feeds[name] = chunk >= n ? new ort.Tensor(records[name].type, records[name].data, records[name].dims)
        : sliceBatch(ort, records[name], begin, end);
    }
    const out = await session.run(feeds);
    for (const [name, tensor] of Object.entries(out)) (chunks[name] = chunks[name] || []).push(tensor);
  }
  const result = {};
  for (const [name, list] of Object.entries(chunks)) result[name] = concatOutputs(list);
  return result;
}

async function timeBatch(ort, session, records, batch) {
  const feeds = {};
  for (const [name, rec] of Object.entries(records)) feeds[name] = repeatFirst(ort, rec, batch);
  for (let i = 0; i < 5; i += 1) await session.run(feeds); // warm-up
  // Run for at least 1 s and 10 iterations; report the mean.
  let iters = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (iters < 10 || elapsed < 1.0) {
    await session.run(feeds);
    iters += 1;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  const msPerBatch = (elapsed * 1e3) / iters;
  return { batch, iterations: iters, ms_per_batch: +msPerBatch.toFixed(4),
    images_per_s: +((batch * 1e3) / msPerBatch).toFixed(1) };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'], intraOpNumThreads: args.threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: args.optLevel,
  });
  const records = {};
  args.inputs.forEach((spec, i) => {
    const [name, file] = bind(spec, session.inputNames, i, 'input');
    records[name] = readNpy(file);
  });
  const missing = session.inputNames.filter((n) => !(n in records));
  if (missing.length) throw new UsageError(`no --input for model input(s): ${missing.join(', ')}`);

  if (args.outputs.length > 0) {
    const outputs = await runAll(ort, session, records, args.batch);
    args.outputs.forEach((spec, i) => {
      const [name, file] = bind(spec, session.outputNames, i, 'output');
      writeNpy(file, outputs[name].data, outputs[name].dims, outputs[name].type);
    });
  }
  if (args.bench) {
    const report = { model: path.basename(args.model), threads: args.threads, opt_level: args.optLevel,
      ort_version: require('onnxruntime-node/package.json').version,
      batch1: await timeBatch(ort, session, records, 1),
      batch64: await timeBatch(ort, session, records, 64) };
    console.log(JSON.stringify(report));
  }
}

main().catch((err) => {
  console.error(`error: ${err.message}`);
  if (!(err instanceof UsageError) && process.env.ORT_RUN_DEBUG) console.error(err.stack);
  process.exit(2);
});

#!/usr/bin/env node
// Plots and a self-contained HTML page for an archsweep result folder
// (docs/sweeps.md, "Plots and the HTML page"):
//
//   node scripts/sweep/report.js DIR [-q]
//
// reads DIR/results.json (archsweep run / merge) and writes
//   DIR/plots/<network>.acc_vs_<axis>.vl.json  accuracy against each swept axis
//   DIR/plots/<network>.pareto.vl.json         accuracy against cycles (or energy_pj)
//   DIR/plots/*.svg                            the same charts rendered here (vega View.toSVG)
//   DIR/report.html                            the charts and a table of every row, with the
//                                              vega, vega-lite and vega-embed code inlined:
//                                              it loads nothing from the network
// Accuracy is top1 when the network has labels, else sqnr_db. Rows whose status
// is not ok (invalid_arch, failed) are left out of the charts and shown, with
// their error, in the table. The packages come from scripts/sweep/setup.sh.
//
// Exit 0: done. 1: rendering failed. 2: bad usage or unreadable results.json.
// 3: the npm packages are not installed.

import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const LIBS = [
  ['vega', 'vega/build/vega.min.js'],
  ['vega-lite', 'vega-lite/build/vega-lite.min.js'],
  ['vega-embed', 'vega-embed/build/vega-embed.min.js'],
];

function die(code, msg) {
  process.stderr.write(`sweep report: ${msg}\n`);
  process.exit(code);
}

// ---------------------------------------------------------------- arguments
const args = process.argv.slice(2);
const quiet = args.includes('-q') || args.includes('--quiet');
const positional = args.filter((a) => !a.startsWith('-'));
const usage = 'usage: node scripts/sweep/report.js DIR [-q]\n' +
    '  DIR holds results.json (archsweep run/merge); writes DIR/plots/*.vl.json, *.svg and DIR/report.html\n';
if (args.includes('-h') || args.includes('--help')) {
  process.stdout.write(usage);
  process.exit(0);
}
if (positional.length !== 1 || args.some((a) => a.startsWith('-') && !['-q', '--quiet'].includes(a))) {
  process.stderr.write(usage);
  process.exit(2);
}
const dir = positional[0];
const log = (msg) => { if (!quiet) process.stdout.write(msg + '\n'); };

let vega;
let vegaLite;
try {
  vega = await import('vega');
  vegaLite = await import('vega-lite');
} catch (e) {
  die(3, `cannot load the npm packages vega and vega-lite (run scripts/sweep/setup.sh): ${e.message}`);
}

let results;
try {
  results = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));
} catch (e) {
  die(2, `cannot read ${path.join(dir, 'results.json')}: ${e.message}`);
}
if (!results || !Array.isArray(results.axes) || !Array.isArray(results.results)) {
  die(2, `${path.join(dir, 'results.json')}: expected {axes: [...], results: [...]}`);
}

// ---------------------------------------------------------------- data model
const axisPaths = results.axes.map(String);
const rows = results.results;
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

// Every axis over all rows: its values in plan order, numeric or not, swept
// (more than one value) or set at every point. Field names a0, a1, ... keep
// the dots of axis paths out of Vega-Lite's field syntax.
const axes = axisPaths.map((p, i) => {
  const values = [];
  for (const r of rows) {
    const v = String((r.axis_values || [])[i] ?? '');
    if (!values.includes(v)) values.push(v);
  }
  const numeric = values.length > 0 && values.every((v) => NUMBER.test(v.trim()));
  if (numeric) values.sort((a, b) => Number(a) - Number(b));
  return {path: p, field: `a${i}`, values, numeric, swept: values.length > 1,
    typed: numeric ? values.map(Number) : values};
});
const axisValue = (ax, r) => {
  const s = String((r.axis_values || [])[axisPaths.indexOf(ax.path)] ?? '');
  return ax.numeric ? Number(s) : s;
};

const networks = [...new Set(rows.map((r) => String(r.network)))];
const slug = (s) => String(s).replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'x';

const fmt = (v) => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    return String(Number(v.toPrecision(6)));
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
};

// ---------------------------------------------------------------- specs
const charts = []; // {id, network, file, title, spec}
const usedFiles = new Set();
function addChart(network, stem, spec) {
  let file = stem;
  for (let k = 2; usedFiles.has(file); k++) file = `${stem}_${k}`;
  usedFiles.add(file);
  charts.push({id: `chart-${charts.length}`, network, file, spec});
}

const notes = {}; // network -> notes shown above its charts in the page

for (const net of networks) {
  const netRows = rows.filter((r) => String(r.network) === net);
  const labelled = netRows.some((r) => isNum(r.top1) || isNum(r.fp32_top1));
  const metric = labelled ? 'top1' : 'sqnr_db';
  const metricTitle = labelled ? 'top-1 (%)' : 'lowest output SQNR vs FP32 (dB)';
  const ok = netRows.filter((r) => r.status === 'ok' && isNum(r[metric]));
  const skipped = netRows.length - ok.length;
  const byEnergy = ok.length > 0 && ok.every((r) => isNum(r.energy_pj));
  const fp32 = labelled ? ok.map((r) => r.fp32_top1).find(isNum) : undefined;
  notes[net] = {total: netRows.length, plotted: ok.length, metricTitle, byEnergy};
  if (ok.length === 0) continue;

  const swept = axes.filter((a) => a.swept);
  const data = ok.map((r) => {
    const d = {point: r.point, network: net, acc: r[metric], cycles: r.cycles,
      dram_bytes: r.dram_bytes, latency_us: r.latency_us};
    if (byEnergy) d.energy_pj = r.energy_pj;
    for (const ax of axes) d[ax.field] = axisValue(ax, r);
    return d;
  });
  const tooltip = [
    {field: 'point', type: 'nominal', title: 'point'},
    ...swept.map((a) => ({field: a.field, type: a.numeric ? 'quantitative' : 'nominal', title: a.path})),
    {field: 'acc', type: 'quantitative', title: metricTitle},
    {field: 'cycles', type: 'quantitative', title: 'cycles'},
    ...(byEnergy ? [{field: 'energy_pj', type: 'quantitative', title: 'energy (pJ)'}] : []),
    {field: 'dram_bytes', type: 'quantitative', title: 'DRAM bytes'},
  ];
  const yEnc = {field: 'acc', type: 'quantitative', title: metricTitle,
    scale: labelled ? {domain: [0, 100]} : {zero: false, padding: 12}};
  const subtitle = [];
  if (fp32 !== undefined) subtitle.push(`dashed: FP32 top-1 ${fmt(fp32)}%`);
  if (skipped > 0) subtitle.push(`${skipped} of ${netRows.length} points not plotted (invalid or failed; see the table)`);
  const fp32Rule = fp32 === undefined ? [] : [{
    mark: {type: 'rule', strokeDash: [4, 4], color: '#888'},
    encoding: {y: {datum: fp32}},
  }];
  // Categorical encodings (colour, shape) of an axis, in plan order.
  const catEnc = (ax) => ({field: ax.field, type: 'nominal', title: ax.path,
    sort: ax.typed, legend: {labelLimit: 320, titleLimit: 320}});
  const longLabels = (ax) => !ax.numeric && ax.values.some((v) => v.length > 12);

  // (a) accuracy against each swept axis, coloured by the swept axis with the
  // fewest values among the others, shape by the next one.
  for (const ax of swept) {
    const others = swept.filter((a) => a !== ax)
        .sort((a, b) => a.values.length - b.values.length || axes.indexOf(a) - axes.indexOf(b));
    const colour = others[0];
    const shape = others[1];
    const enc = {y: yEnc, tooltip};
    if (colour) enc.color = catEnc(colour);
    let mark;
    if (ax.numeric) {
      enc.x = {field: ax.field, type: 'quantitative', title: ax.path, scale: {zero: false, nice: false, padding: 16},
        axis: ax.values.length <= 16 ? {values: ax.typed} : {}};
      // One line per combination of the other swept axes.
      if (others.length > 1) enc.detail = others.slice(1).map((a) => ({field: a.field, type: 'nominal'}));
      if (shape && shape.values.length <= 6) enc.shape = catEnc(shape);
      mark = {type: 'line', point: {filled: true, size: 70}, strokeWidth: 1.5, clip: true};
    } else {
      enc.x = {field: ax.field, type: 'nominal', title: ax.path, sort: ax.typed,
        axis: {labelLimit: 260, labelAngle: longLabels(ax) ? -20 : 0}};
      if (colour) enc.xOffset = {field: colour.field, type: 'nominal', sort: colour.typed};
      if (shape && shape.values.length <= 6) enc.shape = catEnc(shape);
      mark = {type: 'point', filled: true, size: 80};
    }
    addChart(net, `${slug(net)}.acc_vs_${slug(ax.path)}`, {
      $schema: SCHEMA,
      description: `${net}: ${metricTitle} against ${ax.path} (archsweep ${results.sweep ?? ''})`,
      title: {text: `${net}: ${metric} vs ${ax.path}`, subtitle, anchor: 'start'},
      width: 440, height: 260,
      data: {values: data},
      layer: [{mark, encoding: enc}, ...fp32Rule],
    });
  }

  // (b) the accuracy / cost Pareto scatter: x is energy_pj when every plotted
  // row has it (then colour is cycles), else cycles. The 2-D front (highest
  // accuracy for its cost) is drawn as a step line.
  const xField = byEnergy ? 'energy_pj' : 'cycles';
  const xTitle = byEnergy ? 'energy (pJ)' : 'cycles';
  const sorted = data.map((d, i) => ({x: d[xField], y: d.acc, i}))
      .sort((a, b) => a.x - b.x || b.y - a.y);
  let best = -Infinity;
  for (let k = 0; k < sorted.length;) {
    let j = k;
    while (j < sorted.length && sorted[j].x === sorted[k].x) j++;
    const groupMax = sorted[k].y;
    for (let m = k; m < j; m++) {
      data[sorted[m].i].front = sorted[m].y === groupMax && groupMax > best ? 'Pareto front' : 'dominated';
    }
    best = Math.max(best, groupMax);
    k = j;
  }
  const pointEnc = {
    x: {field: xField, type: 'quantitative', title: xTitle, scale: {zero: false, padding: 16}},
    y: yEnc,
    tooltip: [...tooltip, {field: 'front', type: 'nominal', title: 'front'}],
  };
  if (byEnergy) {
    pointEnc.color = {field: 'cycles', type: 'quantitative', title: 'cycles', scale: {scheme: 'viridis'}};
    pointEnc.shape = {field: 'front', type: 'nominal', title: '', scale: {domain: ['Pareto front', 'dominated']}};
  } else {
    pointEnc.color = {field: 'front', type: 'nominal', title: '',
      scale: {domain: ['Pareto front', 'dominated'], range: ['#d62728', '#9e9e9e']}};
  }
  addChart(net, `${slug(net)}.pareto`, {
    $schema: SCHEMA,
    description: `${net}: ${metricTitle} against ${xTitle}, Pareto front (archsweep ${results.sweep ?? ''})`,
    title: {text: `${net}: ${metric} vs ${xTitle}`, subtitle, anchor: 'start'},
    width: 440, height: 260,
    data: {values: data},
    layer: [
      {transform: [{filter: "datum.front === 'Pareto front'"}],
        mark: {type: 'line', interpolate: 'step-after', color: '#d62728', opacity: 0.5},
        encoding: {x: {field: xField, type: 'quantitative'}, y: {field: 'acc', type: 'quantitative'}}},
      {mark: {type: 'point', filled: true, size: 80, opacity: 0.85}, encoding: pointEnc},
      ...fp32Rule,
    ],
  });
}

// ---------------------------------------------------------------- write specs + SVGs
const plotsDir = path.join(dir, 'plots');
fs.mkdirSync(plotsDir, {recursive: true});
for (const c of charts) {
  fs.writeFileSync(path.join(plotsDir, `${c.file}.vl.json`), JSON.stringify(c.spec, null, 2) + '\n');
  let svg;
  try {
    const compiled = vegaLite.compile(c.spec, {logger: vega.logger(vega.Warn)}).spec;
    const view = new vega.View(vega.parse(compiled), {renderer: 'none'});
    svg = await view.toSVG();
    view.finalize();
  } catch (e) {
    die(1, `rendering ${c.file}: ${e.stack || e}`);
  }
  fs.writeFileSync(path.join(plotsDir, `${c.file}.svg`), svg);
  log(`wrote ${path.join(plotsDir, c.file)}.vl.json, .svg`);
}

// ---------------------------------------------------------------- HTML
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
// JSON inside <script>: no '<' at all, so no '</script' or '<!--'.
const scriptJson = (v) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

const libCode = LIBS.map(([name, rel]) => {
  const file = path.join(HERE, 'node_modules', rel);
  let code;
  try {
    code = fs.readFileSync(file, 'utf8');
  } catch (e) {
    die(3, `cannot read ${file} (run scripts/sweep/setup.sh): ${e.message}`);
  }
  // Cannot end the script element early.
  code = code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
  const version = JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', name, 'package.json'), 'utf8')).version;
  return {name, version, code};
});

const statusCounts = {};
for (const r of rows) statusCounts[r.status] = (statusCounts[r.status] || 0) + 1;

// Table: point, network, every axis, status, error, then the other fields in
// the order of the first row (arch_hash last, shortened).
const lead = ['point', 'network'];
const mid = ['status', 'error'];
const rest = [];
for (const r of rows) {
  for (const k of Object.keys(r)) {
    if (![...lead, ...mid, 'axis_values', 'arch_hash'].includes(k) && !rest.includes(k)) rest.push(k);
  }
}
if (rows.some((r) => 'arch_hash' in r)) rest.push('arch_hash');
const numericCols = new Set([...lead, ...rest].filter((k) => rows.some((r) => typeof r[k] === 'number')));
const numericCol = (k) => numericCols.has(k);
const cell = (k, v) => {
  if (k === 'arch_hash' && typeof v === 'string') return `<td class="hash" title="${esc(v)}">${esc(v.slice(0, 12))}</td>`;
  return `<td${numericCol(k) ? ' class="num"' : ''}>${esc(fmt(v))}</td>`;
};
const head = [...lead, ...axisPaths, ...mid, ...rest]
    .map((k) => `<th>${esc(k).replace(/\./g, '.<wbr>').replace(/_/g, '_<wbr>')}</th>`).join('');
const body = rows.map((r) => {
  const status = String(r.status ?? '');
  const cells = [
    ...lead.map((k) => cell(k, r[k])),
    ...axes.map((ax, i) => `<td${ax.values.some((v) => v.length > 16) ? ' class="wide"' : ''}>` +
        `${esc((r.axis_values || [])[i] ?? '')}</td>`),
    `<td class="status">${esc(status)}</td>`,
    `<td class="error">${esc(r.error ?? '')}</td>`,
    ...rest.map((k) => cell(k, r[k])),
  ];
  return `<tr class="status-${esc(slug(status))}">${cells.join('')}</tr>`;
}).join('\n');

const sections = networks.map((net) => {
  const n = notes[net];
  const mine = charts.filter((c) => c.network === net);
  const figs = mine.map((c) =>
    `<figure><div class="chart" id="${c.id}"></div><figcaption>plots/${esc(c.file)}.vl.json, .svg</figcaption></figure>`)
      .join('\n');
  const summary = `${n.plotted} of ${n.total} points plotted; accuracy is ${esc(n.metricTitle)}; ` +
      `cost is ${n.byEnergy ? 'energy (pJ), colour cycles' : 'cycles (no energy_pj in the results)'}.`;
  return `<section id="net-${esc(slug(net))}">
<h2>${esc(net)}</h2>
<p>${summary}${n.plotted === 0 ? ' <strong>No valid points to plot.</strong>' : ''}</p>
<div class="charts">
${figs}
</div>
</section>`;
}).join('\n');

const embedSpecs = charts.map((c) => {
  const spec = {...c.spec};
  delete spec.$schema; // the page gives the mode; nothing to look up
  return {id: c.id, spec};
});

const title = `archsweep: ${results.sweep ?? path.basename(path.resolve(dir))}`;
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
.meta { color: #555; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; border: 1px solid #ddd; padding: 0.5em; }
figcaption { color: #666; font-size: 12px; }
.chart-error { color: #b00020; white-space: pre-wrap; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; vertical-align: top; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.hash { font-family: monospace; }
td.error { min-width: 24em; max-width: 48em; white-space: pre-wrap; overflow-wrap: anywhere; }
th { max-width: 12em; }
td.wide { min-width: 16em; }
tr.status-invalid_arch td { background: #fff4e0; }
tr.status-failed td { background: #fde7e9; }
tr.status-invalid_arch td.status, tr.status-failed td.status { font-weight: bold; color: #b00020; }
.table-wrap { overflow-x: auto; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">spec hash <code>${esc(results.spec_hash ?? '')}</code>; ${rows.length} rows (points x networks):
${Object.entries(statusCounts).map(([s, k]) => `${k} ${esc(s)}`).join(', ')}.
Swept axes: ${axes.filter((a) => a.swept).map((a) => `<code>${esc(a.path)}</code>`).join(', ') || 'none'}.
Made by scripts/sweep/report.js with ${libCode.map((l) => `${l.name} ${l.version}`).join(', ')}; works offline.</p>
<nav>${networks.map((n) => `<a href="#net-${esc(slug(n))}">${esc(n)}</a>`).join(' | ')} | <a href="#results">all results</a></nav>
${sections}
<section id="results">
<h2>All results</h2>
<div class="table-wrap">
<table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
</div>
</section>
${libCode.map((l) => `<script data-lib="${l.name}">\n${l.code}\n</script>`).join('\n')}
<script id="sweep-specs" type="application/json">${scriptJson(embedSpecs)}</script>
<script>
(function () {
  var body = document.body;
  window.addEventListener('error', function (e) { body.setAttribute('data-js-error', String(e.message)); });
  var specs = JSON.parse(document.getElementById('sweep-specs').textContent);
  var drawn = 0, failed = 0;
  Promise.all(specs.map(function (s) {
    return vegaEmbed('#' + s.id, s.spec, {mode: 'vega-lite', renderer: 'svg', actions: false})
      .then(function () { drawn++; }, function (err) {
        failed++;
        var el = document.getElementById(s.id);
        el.className += ' chart-error';
        el.textContent = 'chart failed: ' + err;
        console.error('sweep report: chart ' + s.id + ' failed: ' + err);
      });
  })).then(function () {
    body.setAttribute('data-charts-drawn', String(drawn));
    body.setAttribute('data-charts-failed', String(failed));
  });
})();
</script>
</body>
</html>
`;
fs.writeFileSync(path.join(dir, 'report.html'), html);
log(`wrote ${path.join(dir, 'report.html')} (${charts.length} charts, ${rows.length} rows)`);

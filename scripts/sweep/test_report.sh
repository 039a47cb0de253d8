#!/usr/bin/env bash
# The sweep report end to end (docs/sweeps.md, "Plots and the HTML page"):
# runs archsweep on configs/sweeps/acc_small.yaml, makes the plots and the
# HTML page with scripts/sweep/report.js, and checks that
#   - every chart has a Vega-Lite spec and an SVG with drawn marks;
#   - report.html has no http(s) reference outside the inlined vega libraries,
#     and no element that loads anything (src=, <link> other than the data: icon);
#   - in headless Chromium (Debian's chromium) every chart container holds an
#     <svg> after the scripts ran (--dump-dom), the page logged no console error
#     or warning, and it requested nothing from the network (Chromium's net log,
#     with every host name made unresolvable);
#   - a screenshot of the page is not blank.
#
#   scripts/sweep/test_report.sh --build BUILD [--out DIR]
#
# Exit 0: pass. 1: a check failed. 2: bad usage / a tool failed.
# 77: node/npm, the npm packages (scripts/sweep/setup.sh, e.g. offline) or
# chromium are not available -- CTest reports that as skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD="" OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "error: unknown argument $1" >&2; exit 2 ;;
  esac
done
ARCHSWEEP="$BUILD/tools/archsweep"
[[ -n "$BUILD" && -x "$ARCHSWEEP" ]] || { echo "error: give --build BUILD with BUILD/tools/archsweep built" >&2; exit 2; }

skip() { echo "SKIPPED: $*"; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm not installed (apt-get install nodejs npm)"
bash scripts/sweep/setup.sh || skip "could not install vega, vega-lite, vega-embed (no access to the npm registry?)"
CHROMIUM=""
for c in chromium chromium-browser; do
  if command -v "$c" >/dev/null; then CHROMIUM=$(command -v "$c"); break; fi
done
[[ -n "$CHROMIUM" ]] || skip "chromium not installed (apt-get install chromium)"

if [[ -z "$OUT" ]]; then
  OUT=$(mktemp -d "${TMPDIR:-/tmp}/sweep_report.XXXXXX")
  trap 'rm -rf "$OUT"' EXIT
fi
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
SWEEP="$OUT/sweep"
rm -rf "$SWEEP" "$OUT/chromium"
mkdir -p "$OUT/chromium"

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# ---- the sweep and the report
"$ARCHSWEEP" run configs/sweeps/acc_small.yaml -o "$SWEEP" -q --threads 2 ||
  { echo "error: archsweep run failed" >&2; exit 2; }
node scripts/sweep/report.js "$SWEEP" || { echo "error: report.js failed" >&2; exit 2; }

# ---- the plots: acc_small sweeps 3 axes of one network: 3 axis charts + 1 Pareto
shopt -s nullglob
ok_rows=$(grep -c '"status": "ok"' "$SWEEP/results.json" || true)
[[ $ok_rows -gt 0 ]] || { echo "error: no ok rows in $SWEEP/results.json" >&2; exit 2; }
specs=("$SWEEP"/plots/*.vl.json)
[[ ${#specs[@]} -eq 4 ]] && ok "4 Vega-Lite specs" || fail "expected 4 specs in $SWEEP/plots, found ${#specs[@]}"
for spec in "${specs[@]}"; do
  svg="${spec%.vl.json}.svg"
  name=$(basename "$svg")
  if [[ ! -s "$svg" ]]; then fail "$name missing"; continue; fi
  # Every plotted point is a <path role="graphics-symbol"> in a mark-symbol group.
  marks=$(grep -oE '<(path|circle|rect|line)[^>]*role="graphics-symbol"' "$svg" | wc -l || true)
  symbols=$(grep -oE 'class="mark-symbol' "$svg" | wc -l || true)
  if grep -q '<svg' "$svg" && [[ $marks -ge $ok_rows && $symbols -gt 0 ]]; then
    ok "$name: $marks data marks ($ok_rows ok rows)"
  else
    fail "$name: $marks data marks for $ok_rows ok rows"
  fi
done
# Axis types and the Pareto chart's x: energy_pj when the results have it (then
# colour is cycles), else cycles.
if node -e '
    const fs = require("fs"), path = require("path");
    const dir = process.argv[1];
    const rows = JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8")).results;
    const energy = rows.filter((r) => r.status === "ok").every((r) => typeof r.energy_pj === "number");
    const spec = (f) => JSON.parse(fs.readFileSync(path.join(dir, "plots", f), "utf8"));
    const main = (f) => spec(f).layer[0].encoding;
    const errs = [];
    const want = (what, got, exp) => { if (got !== exp) errs.push(`${what}: ${got}, expected ${exp}`); };
    want("accumulator bits x", main("cnn.acc_vs_engines_mac_accumulator_bits.vl.json").x.type, "quantitative");
    want("overflow x", main("cnn.acc_vs_engines_mac_accumulator_overflow.vl.json").x.type, "nominal");
    want("precisions x", main("cnn.acc_vs_engines_mac_precisions.vl.json").x.type, "nominal");
    const p = spec("cnn.pareto.vl.json").layer[1].encoding;
    want("Pareto x", p.x.field, energy ? "energy_pj" : "cycles");
    if (energy) want("Pareto colour", p.color.field, "cycles");
    const plotted = spec("cnn.pareto.vl.json").data.values.length;
    want("Pareto points", plotted, rows.filter((r) => r.status === "ok").length);
    if (errs.length) { console.log(errs.join("; ")); process.exit(1); }
    console.log(`Pareto x is ${p.x.field}; ${plotted} ok points plotted, invalid ones left out`);' "$SWEEP" > "$OUT/specs.txt"; then
  ok "specs: $(cat "$OUT/specs.txt")"
else
  fail "specs: $(cat "$OUT/specs.txt")"
fi

# ---- the page: nothing outside the inlined libraries names a URL or loads a file
HTML="$SWEEP/report.html"
[[ -s "$HTML" ]] || { fail "no report.html"; exit 1; }
awk '/^<script data-lib="[a-z-]*">$/ {lib = 1} !lib {print} lib && /^<\/script>$/ {lib = 0}' "$HTML" > "$OUT/own.html"
[[ $(grep -c '<script data-lib=' "$HTML") -eq 3 ]] || fail "report.html does not inline the 3 libraries"
if grep -qiE 'https?://|(src|href)=["'"'"']?//' "$OUT/own.html"; then
  fail "report.html names URLs outside the libraries: $(grep -oiE 'https?://[^"<> ]*' "$OUT/own.html" | sort -u | tr '\n' ' ')"
else
  ok "report.html names no URL outside the inlined libraries"
fi
if grep -qiE '<(script|img|iframe|embed|object|audio|video|source|input)[^>]* src=' "$OUT/own.html" ||
   grep -oiE '<link [^>]*>' "$OUT/own.html" | grep -qv 'href="data:,"'; then
  fail "report.html has an element that loads a file"
fi
grep -q 'vega-embed' "$HTML" && grep -q 'vegaLite' "$HTML" || fail "report.html does not hold the libraries"
liburls=$(grep -oE 'https?://[a-zA-Z0-9./_-]+' "$HTML" | sort -u | tr '\n' ' ')
echo "info: URL strings inside the inlined libraries (not loaded; the net log below checks): $liburls"
grep -q '<td class="status">invalid_arch</td>' "$HTML" || fail "the table does not show the invalid_arch rows"
grep -q 'int8 x int8 products need 16 bits' "$HTML" || fail "the table does not show the invalid points' error"

# ---- headless Chromium: every host name unresolvable, a net log of every request
chrome() {
  timeout 120 "$CHROMIUM" --headless --disable-gpu --no-sandbox --no-first-run \
    --user-data-dir="$OUT/chromium/profile" --disable-background-networking --disable-extensions \
    --host-resolver-rules="MAP * ~NOTFOUND" "$@" "file://$HTML"
}
chrome --enable-logging=stderr --v=0 --log-net-log="$OUT/chromium/netlog.json" \
  --virtual-time-budget=10000 --dump-dom > "$OUT/chromium/dom.html" 2> "$OUT/chromium/console.log" ||
  { fail "chromium --dump-dom failed ($(tail -3 "$OUT/chromium/console.log"))"; }
n=${#specs[@]}
body=$(grep -om1 '<body[^>]*>' "$OUT/chromium/dom.html" || true)
if [[ "$body" == *"data-charts-drawn=\"$n\""* && "$body" == *'data-charts-failed="0"'* && "$body" != *data-js-error* ]]; then
  ok "Chromium: vega-embed drew $n charts"
else
  fail "Chromium: the charts did not all draw (body: ${body:-none})"
fi
for ((k = 0; k < n; k++)); do
  grep -qE "<div class=\"chart[^\"]*\" id=\"chart-$k\"[^>]*><svg" "$OUT/chromium/dom.html" ||
    fail "Chromium: chart-$k holds no <svg>"
done
drawn_marks=$(grep -oE '<path[^>]*role="graphics-symbol"' "$OUT/chromium/dom.html" | wc -l || true)
[[ $drawn_marks -ge $((n * ok_rows)) ]] && ok "Chromium: $drawn_marks data marks in the DOM" ||
  fail "Chromium: $drawn_marks data marks in the DOM, expected at least $((n * ok_rows))"
# Console messages of the page (Chromium logs them as INFO:CONSOLE); the page
# itself logs nothing, so an error, a warning or a refused load is a failure.
console=$(grep 'CONSOLE' "$OUT/chromium/console.log" || true)
if [[ -n "$console" ]] && grep -qiE 'error|uncaught|refused|failed|violat|warn' <<< "$console"; then
  fail "Chromium console: $console"
else
  ok "Chromium: no console errors${console:+ (other messages: $console)}"
fi
# Requests the page made (its network isolation key is file://): only file:
# and data: URLs. Chromium's own background requests have other keys.
if [[ -s "$OUT/chromium/netlog.json" ]]; then
  if page_net=$(node -e '
      const fs = require("fs");
      let text = fs.readFileSync(process.argv[1], "utf8").trim();
      if (!text.endsWith("}")) text = text.replace(/,?\s*$/, "") + "]}";  // a log cut short
      const log = JSON.parse(text);
      const bad = new Set();
      for (const e of log.events || []) {
        const p = e.params || {};
        if (p.url && String(p.network_isolation_key || "").startsWith("file://") && !/^(file|data|blob):/.test(p.url)) bad.add(p.url);
      }
      process.stdout.write([...bad].join(" "));' "$OUT/chromium/netlog.json"); then
    [[ -z "$page_net" ]] && ok "Chromium: the page requested nothing from the network" ||
      fail "Chromium: the page requested $page_net"
  else
    fail "cannot read Chromium's net log"
  fi
else
  fail "Chromium wrote no net log"
fi

# ---- the screenshot
chrome --screenshot="$OUT/report.png" --window-size=1400,2000 --virtual-time-budget=10000 \
  > /dev/null 2> "$OUT/chromium/screenshot.log" || fail "chromium --screenshot failed"
size=$(stat -c %s "$OUT/report.png" 2>/dev/null || echo 0)
# A blank 1400x2000 page compresses to a few KB; text and charts to far more.
[[ $size -gt 40000 ]] && ok "screenshot $OUT/report.png: $size bytes" ||
  fail "screenshot $OUT/report.png is $size bytes (blank?)"

if [[ $fails -eq 0 ]]; then
  echo "sweep report: plots and the HTML page render (in $OUT)"
  exit 0
fi
echo "sweep report: $fails check(s) failed (in $OUT)"
exit 1

#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, CMake option BITNPU_FUZZ, clang with
# ASan+UBSan) and runs each for SECONDS (default 60), one after the other,
# then prints executions and coverage (libFuzzer's edges, "cov") per harness.
#
#   scripts/fuzz.sh [SECONDS]
#
# Environment: BITNPU_FUZZ_BUILD_DIR (default build-fuzz), BITNPU_FUZZ_TARGETS
# (default: all, e.g. "arch npy"), BITNPU_FUZZ_ARGS (extra libFuzzer flags,
# e.g. -runs=1000000), BITNPU_FUZZ_JOBS (build parallelism, default nproc).
# Needs Debian's clang and libfuzzer-NN-dev (apt-get install clang libfuzzer-14-dev).
#
# Seeds come from fuzz/corpus/<target>/ plus the repository's own files
# (configs, tests/arch/bad, models/*.onnx, data/*.npy) and ONNX's conformance
# models (libonnx-testdata); what the fuzzer adds is kept in
# BUILD/fuzz-corpus/<target>/ across runs. A crashing input is written to
# BUILD/fuzz-artifacts/<target>/ and the script exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-60}
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 ]] || { echo "error: SECONDS must be a whole number >= 1" >&2; exit 2; }
build=${BITNPU_FUZZ_BUILD_DIR:-build-fuzz}
[[ "$build" = /* ]] || build=$root/$build
read -r -a targets <<< "${BITNPU_FUZZ_TARGETS:-arch onnx npy npz ctable preprocess qdq program sweep}"
read -r -a extra <<< "${BITNPU_FUZZ_ARGS:-}"

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  command -v clang++ >/dev/null || { echo "error: clang++ not found (apt-get install clang libfuzzer-14-dev)" >&2; exit 2; }
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${generator[@]}" -DBITNPU_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITNPU_BUILD_TESTS=OFF -DBITNPU_BUILD_BENCH=OFF -DBITNPU_BUILD_RTL=OFF >/dev/null
fi
cmake --build "$build" --target fuzz_all -j"${BITNPU_FUZZ_JOBS:-$(nproc)}"

# Seeds: rebuilt each run (small files only), never written by the fuzzer.
seed_files() {
  case $1 in
    arch) ls configs/*.yaml tests/arch/bad/*.yaml ;;
    onnx) ls models/*.onnx
          find /usr/share/libonnx-testdata/data -name model.onnx -size -64k 2>/dev/null || true ;;
    npy) find data -name '*.npy' -size -100k ;;
  esac
}

summary=()
failed=0
for t in "${targets[@]}"; do
  exe=$build/fuzz/fuzz_$t
  [[ -x "$exe" ]] || { echo "error: no harness $exe" >&2; exit 2; }
  seeds=$build/fuzz-seeds/$t corpus=$build/fuzz-corpus/$t artifacts=$build/fuzz-artifacts/$t
  rm -rf "$seeds"
  mkdir -p "$seeds" "$corpus" "$artifacts"
  [[ -d fuzz/corpus/$t ]] && cp fuzz/corpus/$t/* "$seeds/" 2>/dev/null || true
  n=0
  while read -r f; do
    [[ -n "$f" ]] || continue
    cp "$f" "$seeds/seed_$((n++))_$(basename "$f")"
  done < <(seed_files "$t")
  log=$build/fuzz-$t.log
  echo "== fuzz_$t: ${seconds}s ($(ls "$seeds" | wc -l) seeds, corpus $corpus)"
  status=0
  "$exe" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${extra[@]}" "$corpus" "$seeds" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<< "$last")
  result=ok
  if [[ $status -ne 0 ]]; then
    result="FAILED (exit $status; $log; artifacts in $artifacts)"
    failed=1
    grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: |.*runtime error)' "$log" | head -5 || true
  fi
  summary+=("$(printf '%-12s execs %-10s cov(edges) %-6s ft %-6s corpus %-6s %s' \
    "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result")")
done
echo
echo "harness      (${seconds}s each)"
printf '%s\n' "${summary[@]}"
exit $failed

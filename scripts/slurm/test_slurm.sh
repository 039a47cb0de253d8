#!/usr/bin/env bash
# Integration test of scripts/slurm/ on a real, throw-away, single-node Slurm
# cluster (docs/sweeps.md, "Slurm"): starts munged, slurmctld and slurmd from
# Debian's packages (munge, slurm-wlm) on this host with a key, config, spool,
# state and logs in a temporary folder and ports of their own; runs
# scripts/slurm/submit.sh on configs/sweeps/acc_small.yaml with 4 shards;
# waits for the array and the merge job; runs the same spec unsharded; and
# requires merged/results.csv to equal the unsharded results.csv apart from
# the timing columns.
#
#   scripts/slurm/test_slurm.sh --build BUILD [--out DIR]
#
# Needs root (slurmd launches jobs as their user; SlurmUser=root). Exit 0:
# equal. 1: a difference, a failed or stuck job. 2: bad usage. 77: skipped --
# the packages are missing, not root, or the cluster did not come up.
# The daemons are always stopped and the temporary folder removed on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD="" OUT="out/slurm_test" SHARDS=4 SPEC=configs/sweeps/acc_small.yaml
UP_TIMEOUT=60 JOB_TIMEOUT=300
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) [[ $# -ge 2 ]] || { echo "error: --build needs a folder" >&2; exit 2; }; BUILD="$2"; shift 2 ;;
    --out) [[ $# -ge 2 ]] || { echo "error: --out needs a folder" >&2; exit 2; }; OUT="$2"; shift 2 ;;
    *) echo "error: unknown argument '$1' (usage: scripts/slurm/test_slurm.sh --build BUILD [--out DIR])" >&2; exit 2 ;;
  esac
done
BIN="$BUILD/tools/archsweep"
[[ -n "$BUILD" && -x "$BIN" ]] || { echo "error: give --build BUILD with BUILD/tools/archsweep built, got '$BUILD'" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/archsweep
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

skip() { echo "SKIPPED: $*"; exit 77; }
for tool in munged mungekey munge slurmctld slurmd sbatch squeue sinfo scontrol scancel python3; do
  command -v "$tool" >/dev/null || skip "'$tool' not found (apt-get install slurm-wlm munge python3)"
done
[[ $(id -u) -eq 0 ]] || skip "needs root to run slurmd and munged with SlurmUser=root"

# --- the throw-away cluster -------------------------------------------------
TMP=$(mktemp -d /tmp/bitnpu-slurm.XXXXXX)
chmod 755 "$TMP"
mkdir -p "$TMP/spool" "$TMP/state"
ctld_pid="" slurmd_pid=""
# shellcheck disable=SC2317  # (run by the EXIT trap)
cleanup() {
  local rc=$?
  set +e
  if [[ -n "$ctld_pid" ]] && kill -0 "$ctld_pid" 2>/dev/null; then
    # Jobs first: with proctrack/linuxproc a job's slurmstepd outlives slurmd.
    local jobs
    mapfile -t jobs < <(squeue -h -o %i 2>/dev/null)
    if [[ ${#jobs[@]} -gt 0 ]]; then
      scancel --full --quiet "${jobs[@]}" 2>/dev/null
      for _ in $(seq 20); do [[ -z "$(squeue -h -o %i 2>/dev/null)" ]] && break; sleep 0.5; done
    fi
  fi
  for pid in "$slurmd_pid" "$ctld_pid"; do
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null
  done
  for pid in "$slurmd_pid" "$ctld_pid"; do
    [[ -n "$pid" ]] || continue
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [[ -s "$TMP/munged.pid" ]]; then
    munged --stop --socket="$TMP/munge.socket" >/dev/null 2>&1 || kill "$(cat "$TMP/munged.pid")" 2>/dev/null
  fi
  # Keep the daemon logs of a failed run next to the results.
  if [[ $rc -ne 0 && $rc -ne 77 ]]; then
    mkdir -p "$OUT/daemon_logs"; cp "$TMP"/*.log "$OUT/daemon_logs/" 2>/dev/null
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Show a daemon log's tail and skip: the cluster did not come up.
down() {
  local why=$1; shift
  for f in "$@"; do [[ -s "$f" ]] && { echo "--- $(basename "$f") (last lines)"; tail -n 15 "$f"; }; done
  skip "$why"
}

mungekey --create --keyfile="$TMP/munge.key" >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$TMP/munge.key" bs=1 count=1024 status=none
chmod 600 "$TMP/munge.key"
munged --force --key-file="$TMP/munge.key" --socket="$TMP/munge.socket" --pid-file="$TMP/munged.pid" \
  --log-file="$TMP/munged.log" --seed-file="$TMP/munged.seed" >"$TMP/munged.out" 2>&1 ||
  down "munged did not start" "$TMP/munged.out" "$TMP/munged.log"
munge -S "$TMP/munge.socket" -n </dev/null | unmunge -S "$TMP/munge.socket" >/dev/null 2>&1 ||
  down "munge round trip failed" "$TMP/munged.log"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ctld_port=$(free_port) slurmd_port=$(free_port)
while [[ "$slurmd_port" == "$ctld_port" ]]; do slurmd_port=$(free_port); done
host=$(hostname -s)
cat >"$TMP/slurm.conf" <<EOF
ClusterName=bitnpu-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$TMP/munge.socket
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$TMP/slurm.conf"
# Nothing of a surrounding Slurm job or user setup may leak into ours.
unset SLURM_JOB_ID SLURM_ARRAY_JOB_ID SBATCH_PARTITION SBATCH_ACCOUNT SBATCH_TIMELIMIT SBATCH_RESERVATION || true

slurmctld -D -f "$SLURM_CONF" >"$TMP/slurmctld.out" 2>&1 &
ctld_pid=$!
slurmd -D -f "$SLURM_CONF" -N "$host" >"$TMP/slurmd.out" 2>&1 &
slurmd_pid=$!

echo "slurm: cluster 'bitnpu-test' on $host (ports $ctld_port/$slurmd_port, $(nproc) CPUs) in $TMP"
state=""
for ((i = 0; i < UP_TIMEOUT * 2; i++)); do
  kill -0 "$ctld_pid" 2>/dev/null || down "slurmctld exited" "$TMP/slurmctld.out" "$TMP/slurmctld.log"
  kill -0 "$slurmd_pid" 2>/dev/null || down "slurmd exited" "$TMP/slurmd.out" "$TMP/slurmd.log"
  state=$(sinfo -h -N -n "$host" -o %t 2>/dev/null | head -1) || state=""
  [[ "$state" == idle ]] && break
  sleep 0.5
done
[[ "$state" == idle ]] ||
  down "node $host not idle after ${UP_TIMEOUT}s (state '${state:-none}')" "$TMP/slurmctld.log" "$TMP/slurmd.log"
echo "slurm: node $host idle after $((i / 2)) s"

# --- the sharded run on Slurm -------------------------------------------------
rm -rf "$OUT/slurm" "$OUT/unsharded" "$OUT/daemon_logs"
t0=$(date +%s.%N)
submitted=$(bash scripts/slurm/submit.sh "$SPEC" "$OUT/slurm" "$SHARDS" --archsweep "$BIN") ||
  { echo "FAIL: scripts/slurm/submit.sh failed"; exit 1; }
echo "$submitted"
array=$(sed -n 's/^array_job=\([0-9]*\).*/\1/p' <<<"$submitted")
merge=$(sed -n 's/^merge_job=\([0-9]*\).*/\1/p' <<<"$submitted")
[[ -n "$array" && -n "$merge" ]] || { echo "FAIL: submit.sh printed no job ids"; exit 1; }

done_=0
for ((i = 0; i < JOB_TIMEOUT * 4; i++)); do
  # An empty queue only counts when squeue itself answered.
  if queue=$(squeue -h -o %i 2>/dev/null) && [[ -z "$queue" ]]; then done_=1; break; fi
  if ! kill -0 "$ctld_pid" 2>/dev/null || ! kill -0 "$slurmd_pid" 2>/dev/null; then
    echo "FAIL: a Slurm daemon exited while the jobs ran"; exit 1
  fi
  sleep 0.25
done
t1=$(date +%s.%N)
if [[ $done_ -ne 1 ]]; then
  echo "FAIL: jobs still queued after ${JOB_TIMEOUT}s:"; squeue -l; exit 1
fi
job_state() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sort -u | cut -d= -f2 | paste -sd,; }
array_state=$(job_state "$array") merge_state=$(job_state "$merge")
echo "slurm: array $array: $array_state; merge $merge: $merge_state"
# Where the time went: each job's start and end, in seconds after submission
# (Slurm keeps whole seconds).
scontrol -o show job 2>/dev/null | awk '
  function secs(t) { split(substr(t, index(t, "T") + 1), h, ":"); return h[1] * 3600 + h[2] * 60 + h[3] }
  { delete f; for (i = 1; i <= NF; i++) { k = index($i, "="); if (k) f[substr($i, 1, k - 1)] = substr($i, k + 1) }
    what = ("ArrayTaskId" in f) ? "shard " f["ArrayTaskId"] : f["JobName"]
    s = secs(f["SubmitTime"])
    printf "  job %s (%s): started +%ds, ended +%ds\n", f["JobId"], what, secs(f["StartTime"]) - s, secs(f["EndTime"]) - s }' |
  sort -t+ -k2 -n
for f in "$OUT"/slurm/logs/*.out; do [[ -f "$f" ]] && sed "s|^|  $(basename "$f" .out): |" "$f"; done
if [[ "$array_state" != COMPLETED || "$merge_state" != COMPLETED ]]; then
  echo "FAIL: the jobs did not all complete"; exit 1
fi
for ((k = 1; k <= SHARDS; k++)); do
  grep -q "\"shard\": \"$k/$SHARDS\"" "$OUT/slurm/shard_$k/sweep.json" 2>/dev/null ||
    { echo "FAIL: shard_$k/sweep.json does not say shard $k/$SHARDS"; exit 1; }
done
[[ -f "$OUT/slurm/merged/results.csv" ]] || { echo "FAIL: no merged/results.csv"; exit 1; }

# --- the same spec unsharded --------------------------------------------------
t2=$(date +%s.%N)
"$BIN" run "$SPEC" -o "$OUT/unsharded" -q >/dev/null
t3=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
echo "timing: slurm 4-shard array + merge (submit to last job gone) $(secs "$t0" "$t1") s; unsharded archsweep run $(secs "$t2" "$t3") s"

# --- compare, timing columns dropped ------------------------------------------
# An invalid point's error names its arch.yaml, whose folder differs between a
# shard and the unsharded run: compare that path from points/ on.
compare() {
  python3 - "$1" "$2" <<'PY'
import csv, re, sys
timing = {"seconds_calibrate", "seconds_evaluate", "seconds_cycle"}
def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        sys.exit(f"{path}: empty")
    header = rows[0]
    missing = timing - set(header)
    if missing:
        sys.exit(f"{path}: no column {sorted(missing)}")
    keep = [i for i, h in enumerate(header) if h not in timing]
    err = header.index("error") if "error" in header else -1
    out = []
    for r in rows:
        if err >= 0 and err < len(r):
            r = list(r)
            r[err] = re.sub(r"\S*/(points/p\d+/arch\.yaml)", r"\1", r[err])
        out.append([r[i] if i < len(r) else "<missing>" for i in keep])
    return [h for i, h in enumerate(header) if i in keep], out
ha, a = load(sys.argv[1])
hb, b = load(sys.argv[2])
if len(a) != len(b):
    print(f"row counts differ: {len(a) - 1} vs {len(b) - 1} results")
bad = 0
for n, (ra, rb) in enumerate(zip(a, b)):
    if ra != rb:
        bad += 1
        if bad <= 5:
            diffs = [f"{h}: {x!r} vs {y!r}" for h, x, y in zip(ha, ra, rb) if x != y]
            print(f"line {n + 1} differs: " + "; ".join(diffs))
if bad or len(a) != len(b):
    sys.exit(1)
print(f"{len(a) - 1} results, {len(ha)} columns (timing dropped) identical")
PY
}
status=0
compare "$OUT/slurm/merged/results.csv" "$OUT/unsharded/results.csv" || status=1
# Negative control: one shard alone must not pass for the whole sweep.
if compare "$OUT/slurm/shard_1/results.csv" "$OUT/unsharded/results.csv" >/dev/null; then
  echo "FAIL: negative control (shard_1 vs unsharded) was accepted"; status=1
else
  echo "negative control (shard_1 alone vs unsharded) rejected, as it must be"
fi
[[ $status -eq 0 ]] && echo "slurm test: the $SHARDS-shard job array merges to the unsharded result" ||
  echo "slurm test: MISMATCH between merged and unsharded results"
exit $status

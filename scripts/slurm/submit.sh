#!/usr/bin/env bash
# Runs an archsweep sweep on a Slurm cluster (docs/sweeps.md, "Slurm"): a job
# array of N shards (scripts/slurm/archsweep.sbatch, task K runs
# `archsweep run SPEC -o OUTROOT/shard_K --shard K/N`), then a merge job that
# starts only when every shard succeeded (scripts/slurm/merge.sbatch:
# `archsweep merge SPEC -o OUTROOT/merged OUTROOT/shard_1..N`).
#
#   scripts/slurm/submit.sh SPEC OUTROOT N [--archsweep BIN]
#
# BIN defaults to $ARCHSWEEP, else build/tools/archsweep, else `archsweep` on
# PATH. SPEC, OUTROOT and BIN must be on a file system the compute nodes see.
# Slurm logs go to OUTROOT/logs/. Partition, account, time limit and the like:
# sbatch's own environment variables (SBATCH_PARTITION, SBATCH_ACCOUNT,
# SBATCH_TIMELIMIT, ...). Re-submitting into the same OUTROOT resumes.
#
# Prints, on success (exit 0):
#   array_job=<id> tasks=N out=OUTROOT/shard_{1..N}
#   merge_job=<id> after=<array id> out=OUTROOT/merged
# Exit 2: bad usage (or the spec does not load); 1: sbatch failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

die() { echo "submit.sh: error: $*" >&2; exit 2; }
usage="usage: scripts/slurm/submit.sh SPEC OUTROOT N [--archsweep BIN]"
pos=() bin=${ARCHSWEEP:-}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --archsweep) [[ $# -ge 2 ]] || die "--archsweep needs a path"; bin=$2; shift 2 ;;
    --archsweep=*) bin=${1#--archsweep=}; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    -*) die "unknown option '$1'; $usage" ;;
    *) pos+=("$1"); shift ;;
  esac
done
[[ ${#pos[@]} -eq 3 ]] || die "$usage"
spec=${pos[0]} outroot=${pos[1]} n=${pos[2]}
[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "N (the shard count) must be a positive integer, got '$n'"
[[ -f "$spec" ]] || die "no sweep spec '$spec'"
if [[ -z "$bin" ]]; then
  if [[ -x "$repo/build/tools/archsweep" ]]; then bin=$repo/build/tools/archsweep
  else bin=$(command -v archsweep) || die "no archsweep binary: give --archsweep BIN"; fi
fi
[[ -x "$bin" && ! -d "$bin" ]] || die "archsweep binary '$bin' is not an executable file"
command -v sbatch >/dev/null || die "sbatch not found: is this a Slurm submit host?"

abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
spec=$(abs "$spec") bin=$(abs "$bin")
mkdir -p "$outroot/logs"
outroot=$(cd "$outroot" && pwd)

# Refuse a spec that does not load here rather than in N failed tasks.
plan=$("$bin" plan "$spec" 2>&1) || { echo "$plan" >&2; die "the spec '$spec' does not load (archsweep plan)"; }
points=$(echo "$plan" | sed -n '1s/^[^:]*: \([0-9][0-9]*\) point.*/\1/p')
if [[ -n "$points" ]] && (( n > points )); then
  echo "submit.sh: warning: $n shards for $points points: shards $((points + 1))-$n will be empty" >&2
fi

jobid() { local out; out=$("$@") || return 1; echo "${out%%;*}"; }
array=$(jobid sbatch --parsable --array="1-$n" --job-name="archsweep" --chdir="$outroot" \
          --output="$outroot/logs/shard_%a.out" \
          "$here/archsweep.sbatch" "$spec" "$outroot" "$bin") ||
  { echo "submit.sh: sbatch of the shard array failed" >&2; exit 1; }
merge=$(jobid sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
          --job-name="archsweep-merge" --chdir="$outroot" --output="$outroot/logs/merge.out" \
          "$here/merge.sbatch" "$spec" "$outroot" "$n" "$bin") ||
  { echo "submit.sh: sbatch of the merge job failed; cancelling array $array" >&2
    scancel "$array" 2>/dev/null || true; exit 1; }
echo "array_job=$array tasks=$n out=$outroot/shard_{1..$n}"
echo "merge_job=$merge after=$array out=$outroot/merged"

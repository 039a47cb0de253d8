#!/usr/bin/env bash
# Checks the citations of the numerics contract, docs/numerics.md.
#
# Code and documents cite a rule of the contract as numerics.md followed by
# the section's heading in double quotes, the heading written exactly as in
# docs/numerics.md (any level). This script scans the repository's source and
# documentation files (.cpp .hpp .h .sv .svh .md .sh .txt .cmake .py .yaml,
# tracked or not yet added, but not ignored ones) and fails when
#   - a citation names a heading docs/numerics.md does not have,
#   - a markdown link to numerics.md#anchor names an anchor no heading has,
#   - a citation is split across two lines (numerics.md at the end of one
#     line, the quoted heading on the next), so it could not be checked,
#   - a heading of docs/numerics.md occurs twice (a citation would be
#     ambiguous),
#   - a file still cites the old design-notes contract (the upper-case file
#     name ending in .md) or a path into a shared docs folder outside the
#     repository.
#
# Usage: scripts/check_citations.sh [--exclude REGEX] [REPO_ROOT]
#   REPO_ROOT   default: the folder above this script
#   --exclude   skip files whose repository-relative path matches the
#               extended regular expression (also: CHECK_CITATIONS_EXCLUDE);
#               by default every file is checked
# Exit 0: every citation resolves. 1: a problem (each printed as
# FILE:LINE: message). 2: bad usage, or docs/numerics.md is missing.
# Uses bash, git (optional), grep, sed, awk and coreutils only.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

root=""
exclude=${CHECK_CITATIONS_EXCLUDE:-}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --exclude) [[ $# -ge 2 ]] || { echo "error: --exclude needs a regex" >&2; exit 2; }
               exclude=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "error: unknown option $1" >&2; exit 2 ;;
    *) [[ -z "$root" ]] || { echo "error: more than one repository root given" >&2; exit 2; }
       root=$1; shift ;;
  esac
done
[[ -n "$root" ]] || root="$(dirname "${BASH_SOURCE[0]}")/.."
cd "$root" || { echo "error: cannot enter $root" >&2; exit 2; }

contract=docs/numerics.md
[[ -f "$contract" ]] || { echo "error: $root/$contract does not exist" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- headings of the contract (outside fenced code blocks) and their anchors
awk '
  /^[[:space:]]*(```|~~~)/ { fence = !fence; next }
  fence { next }
  /^#+[[:space:]]+[^[:space:]]/ && match($0, /^#+/) && RLENGTH <= 6 {
    h = $0
    sub(/^#+[[:space:]]+/, "", h)
    sub(/[[:space:]]+#+[[:space:]]*$/, "", h)   # optional closing #s
    sub(/[[:space:]]+$/, "", h)
    print FNR "\t" h
  }' "$contract" >"$tmp/headings.tsv"
cut -f2 "$tmp/headings.tsv" >"$tmp/headings"
[[ -s "$tmp/headings" ]] || { echo "error: $contract has no headings" >&2; exit 2; }
# GitHub-style anchors: lower case, punctuation other than - and _ dropped,
# spaces become hyphens.
awk '{ a = tolower($0); gsub(/[^a-z0-9 _-]/, "", a); gsub(/ /, "-", a); print a }' \
  "$tmp/headings" >"$tmp/anchors"

# ---- the files to scan
list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard
  else
    find . -type f -not -path './.git/*' -not -path './build*' -print0 | sed -z 's|^\./||'
  fi
}
list_files | grep -zE '\.(cpp|hpp|h|sv|svh|md|sh|txt|cmake|py|yaml)$' | sort -zu >"$tmp/all" || true
if [[ -n "$exclude" ]]; then
  grep -zvE -- "$exclude" "$tmp/all" >"$tmp/candidates" || true
else
  cp "$tmp/all" "$tmp/candidates"
fi
# Only files that exist (a tracked file may be deleted in the work tree).
while IFS= read -r -d '' f; do
  [[ -f "$f" ]] && printf '%s\0' "$f"
done <"$tmp/candidates" >"$tmp/files"
nfiles=$(tr -cd '\0' <"$tmp/files" | wc -c)

scan() {  # scan GREP_ARGS...: grep -H over every file, no error when nothing matches
  xargs -0 -r grep -H "$@" -- <"$tmp/files" || true
}

# ---- 1. citations: numerics.md, a space, the heading in double quotes
scan -noE 'numerics\.md "[^"]*"' >"$tmp/citations"
awk -v OFS="" '
  FNR == NR { known[$0] = 1; next }
  {
    # FILE:LINE:MATCH; the heading in MATCH may contain colons
    file = $0; sub(/:.*/, "", file)
    rest = substr($0, length(file) + 2)
    line = rest; sub(/:.*/, "", line)
    cited = substr(rest, length(line) + 2)
    sub(/^numerics\.md "/, "", cited); sub(/"$/, "", cited)
    n++
    if (!(cited in known)) {
      print file, ":", line, ": cites numerics.md section \"", cited, "\", which docs/numerics.md does not have"
      bad++
    }
  }
  END { print n + 0 >"/dev/stderr" }' "$tmp/headings" "$tmp/citations" \
  >"$tmp/errors" 2>"$tmp/ncitations" || true

# ---- 2. markdown links to numerics.md#anchor
scan -noE '\]\(([^)#[:space:]]*/)?numerics\.md#[^)[:space:]]*\)' >"$tmp/links"
awk -v OFS="" '
  FNR == NR { known[$0] = 1; next }
  {
    file = $0; sub(/:.*/, "", file)
    rest = substr($0, length(file) + 2)
    line = rest; sub(/:.*/, "", line)
    anchor = rest; sub(/^[^#]*#/, "", anchor); sub(/\)$/, "", anchor)
    if (!(anchor in known))
      print file, ":", line, ": links to numerics.md#", anchor, ", an anchor no heading of docs/numerics.md has"
  }' "$tmp/anchors" "$tmp/links" >>"$tmp/errors"

# ---- 3. citations split across lines
xargs -0 -r awk -v OFS="" '
  FNR == 1 { prev = "" }
  prev ~ /numerics\.md[[:space:]]*\(?$/ && $0 ~ /^[[:space:]]*(\/\/+|#+|\*|--|;+)?[[:space:]]*"/ {
    print FILENAME, ":", FNR - 1, ": numerics.md citation split across two lines (keep numerics.md and the quoted heading on one line)"
  }
  { prev = $0 }' <"$tmp/files" >>"$tmp/errors" || true

# ---- 4. duplicate headings
awk -F'\t' -v OFS="" -v c="$contract" '
  seen[$2] { print c, ":", $1, ": heading \"", $2, "\" also at line ", seen[$2], " (citations would be ambiguous)"; next }
  { seen[$2] = $1 }' "$tmp/headings.tsv" >>"$tmp/errors"

# ---- 5. references outside the repository
scan -nE '[N]UMERICS\.md' | sed -E 's/^([^:]*:[0-9]+):.*/\1: cites the design-notes contract; cite docs\/numerics.md (a section: numerics.md and the quoted heading) instead/' \
  >>"$tmp/errors"
scan -nE 'shared[/]docs' | sed -E 's/^([^:]*:[0-9]+):.*/\1: refers to a document outside the repository (shared docs folder)/' \
  >>"$tmp/errors"

ncitations=$(cat "$tmp/ncitations")
nheadings=$(wc -l <"$tmp/headings")
if [[ -s "$tmp/errors" ]]; then
  cat "$tmp/errors"
  echo "check_citations: $(wc -l <"$tmp/errors") problem(s); $ncitations citation(s) of $nheadings heading(s) in $nfiles file(s)${exclude:+ (excluded: $exclude)}" >&2
  exit 1
fi
echo "check_citations: OK, $ncitations citation(s) of $nheadings heading(s) in $nfiles file(s)${exclude:+ (excluded: $exclude)}"

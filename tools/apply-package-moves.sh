#!/usr/bin/env bash
# Rewrites references to the types that issue 22 moved into internal packages, following
# tools/package-moves.txt, and moves .java files whose package moved into the matching folder.
#
#   tools/apply-package-moves.sh [FILE...]
#
# Without FILE: every file git tracks (and every untracked, not ignored one) that can name a type:
# .java, .md, .json, .properties, .yml, .yaml, .xml, .txt, .tpl. Run it from the repository root,
# then `./mvnw -q spotless:apply` (it appends imports after the package line; spotless orders them).
#
# What it does to each file:
#   1. `package <old> <new>` lines: every `<old>` (as a whole name: the package, its types and
#      subpackages) becomes `<new>`; `type <old FQN> <new FQN>` lines: that type's name, also as a
#      static import or the prefix of a nested type.
#   2. A .java file that still declares `package dev.outboxkit.relay.cdc;` but is not one of the
#      `stays` types is implementation: its package line becomes dev.outboxkit.relay.internal.cdc
#      and it imports the `stays` types it names. A `stays` file imports the moved CDC types it
#      names (they were in its package before).
#   3. A .java file under src/{main,test}/java whose folder does not match its package is moved
#      (git mv when tracked) to the folder of its package.
# It is idempotent: running it twice changes nothing the second time.
set -euo pipefail

root=$(git rev-parse --show-toplevel)
moves="$root/tools/package-moves.txt"
[ -f "$moves" ] || { echo "no $moves" >&2; exit 1; }

split_old=dev.outboxkit.relay.cdc
split_new=dev.outboxkit.relay.internal.cdc

sed_script=$(mktemp)
trap 'rm -f "$sed_script"' EXIT
stays=()
moved_split=()
while read -r kind old new; do
  case "$kind" in
    package | type)
      printf 's/\\b%s\\b/%s/g\n' "${old//./\\.}" "$new" >>"$sed_script"
      if [ "$kind" = type ] && [ "${old%.*}" = "$split_old" ]; then moved_split+=("${old##*.}"); fi
      ;;
    stays) stays+=("${old##*.}") ;;
    '' | '#'*) ;;
    *) echo "unknown line in $moves: $kind $old $new" >&2; exit 1 ;;
  esac
done <"$moves"

if [ "$#" -eq 0 ]; then
  mapfile -t files < <(cd "$root" && git ls-files --cached --others --exclude-standard \
    '*.java' '*.md' '*.json' '*.properties' '*.yml' '*.yaml' '*.xml' '*.txt' '*.tpl' |
    grep -v '^tools/package-moves.txt$' | sed "s|^|$root/|")
else
  files=("$@")
fi

# Adds `import <fqn>;` after the package line when the file names <simple> outside its imports.
add_import() {
  local file=$1 fqn=$2 simple=${2##*.}
  grep -q "^import ${fqn//./\\.};" "$file" && return 0
  # Code lines only: a name in a comment needs no import (and may name a package-private type).
  # (No pipe into grep -q: with pipefail its early exit would fail the pipe.)
  local code
  code=$(grep -v -E '^\s*(import |package |\*|//|/\*)' "$file" || true)
  grep -q "\\b$simple\\b" <<<"$code" || return 0
  sed -i "0,/^package .*;/s//&\nimport $fqn;/" "$file"
}

changed=0
for file in "${files[@]}"; do
  [ -f "$file" ] || continue
  file=$(realpath "$file")
  before=$(md5sum <"$file")
  sed -i -f "$sed_script" "$file"
  if [[ "$file" == *.java ]]; then
    name=$(basename "$file" .java)
    if grep -q "^package ${split_old//./\\.};" "$file"; then
      is_api=false
      for s in "${stays[@]}"; do [ "$s" = "$name" ] && is_api=true; done
      if $is_api; then
        for t in "${moved_split[@]}"; do add_import "$file" "$split_new.$t"; done
      else
        sed -i "s/^package ${split_old//./\\.};/package $split_new;/" "$file"
      fi
    fi
    if grep -q "^package ${split_new//./\\.};" "$file"; then
      for s in "${stays[@]}"; do add_import "$file" "$split_old.$s"; done
    fi
    # Move the file to the folder of its package.
    pkg=$(sed -n 's/^package \([a-zA-Z0-9_.]*\);.*/\1/p' "$file" | head -1)
    if [ -n "$pkg" ] && [[ "$file" =~ ^(.*/src/[a-zA-Z]+/java)/ ]]; then
      want="${BASH_REMATCH[1]}/${pkg//.//}/$(basename "$file")"
      if [ "$file" != "$want" ] && [ -e "$want" ]; then
        echo "not moved: ${file#"$root"/} (${want#"$root"/} exists)" >&2
      elif [ "$file" != "$want" ]; then
        mkdir -p "$(dirname "$want")"
        if git -C "$root" ls-files --error-unmatch "$file" >/dev/null 2>&1; then
          git -C "$root" mv "$file" "$want"
        else
          mv "$file" "$want"
        fi
        echo "moved ${file#"$root"/} -> ${want#"$root"/}"
        file=$want
      fi
    fi
  fi
  [ "$before" = "$(md5sum <"$file")" ] || { changed=$((changed + 1)); echo "rewrote ${file#"$root"/}"; }
done
echo "$changed file(s) rewritten"

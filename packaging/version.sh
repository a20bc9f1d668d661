#!/bin/sh
# Writes the version resource `bypass --version` prints: the project version (from Maven) and the
# git commit of the checkout it is built from ("-dirty" when tracked files differ), or "unknown"
# outside a git checkout. Run by Maven at generate-resources: version.sh VERSION REPO OUTFILE
set -eu
version=$1 repo=$2 out=$3
commit=unknown
if command -v git >/dev/null 2>&1 && git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
    commit=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
    if [ "$commit" != unknown ] && ! git -C "$repo" diff --quiet HEAD -- 2>/dev/null; then
        commit=$commit-dirty
    fi
fi
mkdir -p "$(dirname "$out")"
printf 'version=%s\ncommit=%s\n' "$version" "$commit" > "$out.tmp"
# Rewrite only on change, so an unchanged tree does not re-package the jar.
if [ -f "$out" ] && cmp -s "$out" "$out.tmp"; then rm -f "$out.tmp"; else mv "$out.tmp" "$out"; fi

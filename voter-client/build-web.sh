#!/usr/bin/env bash
# Build the voting page bundle into voter-client/web/dist/:
# the WebAssembly build of psephos-voter, its wasm-bindgen glue, and the
# static pages, scripts and styles of web/static/. Prints the bundle hash
# (SPEC.md §13.6) the board names in its voting_opened entry.
#
# Needs: rustup target wasm32-unknown-unknown, and wasm-bindgen-cli at the
# exact version of wasm-bindgen in Cargo.lock (ci-browser.sh installs both).
# No wasm-opt: Debian's binaryen breaks Rust 1.95 output.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
dist="$here/web/dist"

want="$(grep -A1 '^name = "wasm-bindgen"$' "$root/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')"
if [ "$have" != "$want" ]; then
  echo "wasm-bindgen-cli $want is needed (found: ${have:-none}): cargo install wasm-bindgen-cli --version $want" >&2
  exit 1
fi

# A cdylib only for this build: native builds of the crate stay an rlib.
# Paths are remapped so the bundle does not depend on where it was built;
# no debug info and whole-program optimisation for size; wasm-bindgen
# drops the name and producers sections
# (the workspace's release profile keeps debug info for native profiling).
(cd "$root" && CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_LTO=true \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$root=/psephos --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo" \
  cargo rustc -p psephos-voter --lib --release --target wasm32-unknown-unknown --crate-type cdylib)

rm -rf "$dist"
mkdir -p "$dist"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section --out-dir "$dist" \
  "$target/wasm32-unknown-unknown/release/psephos_voter.wasm"
cp "$here"/web/static/* "$dist"/

# The bundle hash: SHA-256 over "name\nhex(SHA-256(file))\n" for each file, sorted by name.
(cd "$dist" && LC_ALL=C ls | while read -r f; do printf '%s\n%s\n' "$f" "$(sha256sum "$f" | cut -d' ' -f1)"; done) \
  | sha256sum | cut -d' ' -f1 > "$here/web/bundle.sha256.tmp"
echo "bundle in $dist"
echo "bundle_sha256 $(cat "$here/web/bundle.sha256.tmp")"
rm -f "$here/web/bundle.sha256.tmp"

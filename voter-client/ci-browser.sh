#!/usr/bin/env bash
# The voter client's browser tests (issue 5), for CI and developers:
#   1. installs Debian's chromium + chromium-driver and wasm-bindgen-cli at
#      the exact Cargo.lock version when missing (no browser is downloaded
#      by any test tool);
#   2. builds the page bundle (build-web.sh);
#   3. runs the wasm-bindgen tests (tests/web.rs) in headless Chromium;
#   4. runs the page end to end against a real board (tests/browser_e2e.rs),
#      saving screenshots to target/screenshots/ and printing timings.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
rustup target add wasm32-unknown-unknown >/dev/null
want="$(grep -A1 '^name = "wasm-bindgen"$' "$root/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  # No --locked: the registry lacks one of its pinned dependencies (DEPENDENCIES.md).
  cargo install wasm-bindgen-cli --version "$want"
fi

bash "$here/build-web.sh"

# From voter-client/ so that .cargo/config.toml sets the wasm test runner;
# webdriver.json there gives Chromium the flags it needs as root.
(cd "$here" && CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=300 \
  cargo test -p psephos-voter --no-default-features --target wasm32-unknown-unknown --test web -- --nocapture)

(cd "$root" && PSEPHOS_BROWSER_TESTS=1 cargo test -p psephos-voter --test browser_e2e -- --nocapture)
echo "screenshots: $root/target/screenshots/"

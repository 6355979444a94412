#!/usr/bin/env bash
# Builds every fuzz target (`cargo fuzz list`: tsp_request, tsp_response, tst_info,
# ocsp_request, ocsp_response, ocsp_get_path, crl, crl_parse, pkcs11_uri, merkle_proof,
# proof_verify, imei, sightings_csv, receipt) and runs each for N seconds (default 20)
# from the seeded corpus.
# Exits non-zero if a build fails or any target crashes, times out or runs out of memory;
# the reproducer is then in fuzz/artifacts/<target>/.
#
#   fuzz/smoke.sh        # 20 s per target
#   fuzz/smoke.sh 60     # 60 s per target
#
# Works on the stable toolchain: cargo-fuzz's nightly-only flags (-Zsanitizer=address, ...)
# are allowed by RUSTC_BOOTSTRAP=1. Installs cargo-fuzz if it is missing.
set -euo pipefail

secs=${1:-20}
case $secs in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

./seed.sh
cargo fuzz build

mapfile -t targets < <(cargo fuzz list)
if [ ${#targets[@]} -eq 0 ]; then
    echo "smoke.sh: cargo fuzz list found no targets" >&2
    exit 1
fi
failed=()
for t in "${targets[@]}"; do
    echo "smoke.sh: running $t for ${secs}s"
    log=$(mktemp)
    # -timeout: one input taking this long counts as a failure (and stops a hang from
    # outliving max_total_time, which libFuzzer only checks between inputs).
    if cargo fuzz run "$t" -- -max_total_time="$secs" -timeout=25 >"$log" 2>&1; then
        echo "smoke.sh: $t ok: $(grep -E '^#[0-9]+' "$log" | tail -1)"
    else
        echo "smoke.sh: $t FAILED; last lines of its log:" >&2
        tail -40 "$log" >&2
        failed+=("$t")
    fi
    rm -f "$log"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "smoke.sh: crashed: ${failed[*]} (inputs in $here/artifacts/)" >&2
    exit 1
fi
echo "smoke.sh: all ${#targets[@]} targets ran ${secs}s without a crash (${SECONDS}s in all)"

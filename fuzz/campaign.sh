#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one at a time, from the seeded
# corpus, and prints a table: target, executions, exec/s, coverage (cov and ft from
# libFuzzer's last stat line) and crashes (reproducers written to fuzz/artifacts/<target>/
# by this run: crash-, oom-, timeout-, leak-). A crash stops that target's run early; the
# table says so and the script exits non-zero at the end.
#
#   fuzz/campaign.sh 600                 # 10 minutes per target
#   fuzz/campaign.sh 1800 crl_parse      # one target
#
# Like smoke.sh: stable toolchain with RUSTC_BOOTSTRAP=1, installs cargo-fuzz if missing,
# seeds (seed.sh) and builds first. Each run's full log is kept in fuzz/logs/<target>.log.
set -euo pipefail

secs=${1:-}
case $secs in '' | *[!0-9]*) echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2 ;; esac
shift

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
./seed.sh >/dev/null
cargo fuzz build

if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
mkdir -p logs
rows=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "artifacts/$t"
    before=$(ls "artifacts/$t" | wc -l)
    log="logs/$t.log"
    echo "campaign.sh: $t for ${secs}s (log: fuzz/$log)" >&2
    status=ok
    cargo fuzz run "$t" -- -max_total_time="$secs" -timeout=25 -print_final_stats=1 \
        >"$log" 2>&1 || status=stopped
    crashes=$(( $(ls "artifacts/$t" | wc -l) - before ))
    [ "$status" = ok ] && [ "$crashes" -eq 0 ] || failed=1
    # Last libFuzzer stat line: "#N <EVENT> cov: C ft: F corp: ... exec/s: E ...".
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(printf '%s' "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    [ -n "$rate" ] || rate=$(printf '%s' "$last" | sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p')
    cov=$(printf '%s' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s' "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    rows+=("$(printf '| %-14s | %12s | %7s | %6s | %6s | %7s | %-7s |' \
        "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$crashes" "$status")")
done

printf '\n%s s per target\n\n' "$secs"
printf '| %-14s | %12s | %7s | %6s | %6s | %7s | %-7s |\n' \
    target executions exec/s cov ft crashes run
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ---------------- -------------- --------- -------- -------- --------- ---------
printf '%s\n' "${rows[@]}"
exit $failed

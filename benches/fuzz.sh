#!/usr/bin/env bash
# Fuzzes every target of fuzz/ (cargo fuzz, libFuzzer) for a set time each, seeded from
# fuzz/seeds.txt and fuzz/regressions/, and prints what each run did. A crash's input is
# copied to fuzz/regressions/TARGET/, where tests/it/fuzz_inputs.rs runs it in the normal suite
# from then on: fix the code, keep the input.
#
#   bash benches/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]     # default 300, every target
#
# Needs the nightly toolchain (rustup toolchain install nightly) and cargo-fuzz (installed from
# crates.io when missing). FUZZ_SANITIZER=address runs under AddressSanitizer (slower; the
# default is none: the targets' code is safe Rust, and libFuzzer still steers by coverage).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(csv_generic csv_sap_pm dates toml crontab api_page)
fi
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "error: cargo fuzz needs the nightly toolchain: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (cargo install)" >&2
  cargo install cargo-fuzz --locked >&2
fi
sanitizer=${FUZZ_SANITIZER:-none}
cargo +nightly fuzz build --sanitizer "$sanitizer" --debug-assertions >&2
bin_dir=fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release
summary=()
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/$t
  rm -rf "$corpus" "fuzz/artifacts/$t"
  mkdir -p "$corpus" "fuzz/regressions/$t"
  # The seeds: each `target directory [extension ...]` line of fuzz/seeds.txt for this target.
  while read -r target dir exts; do
    [ "$target" = "$t" ] || continue
    for f in "$dir"/*; do
      [ -f "$f" ] || continue
      if [ -n "$exts" ]; then
        case " $exts " in *" ${f##*.} "*) ;; *) continue ;; esac
      fi
      cp "$f" "$corpus/"
    done
  done < <(grep -v '^#' fuzz/seeds.txt | grep -v '^[[:space:]]*$')
  cp fuzz/regressions/"$t"/* "$corpus/" 2>/dev/null || true
  seeds=$(ls "$corpus" | wc -l)
  log=fuzz/corpus/$t.log
  mkdir -p "fuzz/artifacts/$t"
  set +e
  started=$(date +%s)
  # The binary built above, run directly: `cargo fuzz run` would build again first.
  "$bin_dir/$t" "$corpus" -artifact_prefix="fuzz/artifacts/$t/" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    >"$log" 2>&1
  status=$?
  took=$(( $(date +%s) - started ))
  [ "$took" -gt 0 ] || took=1
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || echo "?")
  found=0
  for a in fuzz/artifacts/"$t"/*; do
    [ -f "$a" ] || continue
    cp "$a" "fuzz/regressions/$t/"
    found=$((found + 1))
  done
  line="$t: ${took} s, $runs runs ($(( ${runs/\?/0} / took ))/s), $seeds seeds -> $(ls "$corpus" | wc -l) in the corpus, coverage $cov edges, $found crash(es)"
  [ "$status" = 0 ] || line="$line (exit $status; see $log)"
  echo "$line"
  summary+=("$line")
done
echo
echo "== $(date -u +%F) $(nproc) cores"
printf '%s\n' "${summary[@]}"

#!/usr/bin/env bash
# Coverage-guided fuzzing of Restante's parsers with SharpFuzz + AFL++.
#   fuzz/run.sh [TARGET] [SECONDS]     TARGET: pop3 (default); SECONDS: 60 by default
# Exits non-zero when AFL++ found a crash; the inputs are in fuzz/findings/TARGET/default/crashes/.
# Replay one with: dotnet fuzz/out/Restante.Fuzz.dll TARGET --replay FILE
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-pop3}
seconds=${2:-60}

if ! command -v afl-fuzz >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++
fi
if [ ! -x fuzz/.tools/sharpfuzz ]; then
  dotnet tool install --tool-path fuzz/.tools SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi

rm -rf fuzz/out
dotnet publish fuzz/Restante.Fuzz -c Release -o fuzz/out --nologo -v quiet
# Instrument only our library: coverage of the framework would drown the signal.
fuzz/.tools/sharpfuzz fuzz/out/Restante.dll

rm -rf "fuzz/findings/$target"
mkdir -p "fuzz/findings/$target"
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
afl-fuzz -V "$seconds" -t 10000 -m none -i "fuzz/corpus/$target" -o "fuzz/findings/$target" \
  -- dotnet fuzz/out/Restante.Fuzz.dll "$target" > "fuzz/findings/$target.log" 2>&1 || {
  echo "afl-fuzz failed to run:"; tail -40 "fuzz/findings/$target.log"; exit 2; }

stats="fuzz/findings/$target/default/fuzzer_stats"
grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg)' "$stats" || true
crashes=$(find "fuzz/findings/$target/default/crashes" -type f ! -name README.txt | wc -l)
if [ "$crashes" -gt 0 ]; then
  echo "fuzz target $target: $crashes crashing input(s) in fuzz/findings/$target/default/crashes"
  exit 1
fi
echo "fuzz target $target: no crashes in ${seconds}s"

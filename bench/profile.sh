#!/usr/bin/env bash
# bench/profile.sh MODE [SECONDS]: profiles Restante (Release) under one load generator mode
# (login or retr) on the quick corpus, in three passes so the tools do not disturb each other:
#   1. perf record -e cpu-clock (software event: this VM has no hardware counters), with
#      DOTNET_PerfMapEnabled=1 so JIT-compiled frames have names; prints the top self and inclusive frames;
#   2. dotnet-counters: GC and allocation counters -> bytes allocated per session;
#   3. dotnet-trace (dotnet-sampled-thread-time): managed top frames by inclusive time.
# Loopback only, bounded in time. Output and raw files stay in the printed work directory.
set -eu   # no pipefail: report pipelines end in head
MODE=${1:-login}
SECONDS_PER_PASS=${2:-10}
[[ $MODE == login || $MODE == retr ]] || { echo "usage: bench/profile.sh login|retr [seconds]" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${BENCH_PORT_BASE:-21110}
PORT=$((PORT + 10))
export PATH="$PATH:$HOME/.dotnet/tools"
for t in dotnet-trace dotnet-counters; do
  command -v $t >/dev/null || dotnet tool install -g $t >/dev/null
done
command -v perf >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf >/dev/null; }

for p in src/Restante.Cli bench/Restante.LoadGen bench/Restante.Corpus; do
  dotnet build "$ROOT/$p" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
done
LOADGEN="$ROOT/bench/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen"
RESTANTE="$ROOT/src/Restante.Cli/bin/Release/net10.0/Restante.Cli"

CORPUS_ARGS=(--users 80 --messages 20 --size 51200 --big-count 10000 --big-size 2048 --large-count 20 --large-size 1048576 --huge-mb 50 --idle-users 200)
CACHE=${RESTANTE_BENCH_CACHE:-/tmp/restante-bench-corpus}
CORPUS="$CACHE/$(echo "${CORPUS_ARGS[*]}" | sha1sum | cut -c1-12)"
if [[ ! -f $CORPUS/corpus.txt ]]; then
  rm -rf "$CORPUS"; mkdir -p "$CORPUS"
  "$ROOT/bench/Restante.Corpus/bin/Release/net10.0/Restante.Corpus" --out "$CORPUS" "${CORPUS_ARGS[@]}" >&2
fi
WORK=$(mktemp -d /tmp/restante-profile.XXXXXX)
cp -a "$CORPUS" "$WORK/data"
echo "== work directory $WORK" >&2

SERVER=""
cleanup() { [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null; cp "/tmp/perf-$SERVER.map" "$WORK/" 2>/dev/null; rm -f "/tmp/perf-$SERVER.map"; true; }
trap cleanup EXIT
# W^X off: with it on, JIT code runs from a memfd double mapping that perf cannot match to the perf map.
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 "$RESTANTE" serve --data "$WORK/data" --pop3 "127.0.0.1:$PORT" >"$WORK/restante.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

if [[ $MODE == login ]]; then LOAD=(login -c 16); else LOAD=(retr -c 8); fi
load() {   # load SECONDS TAG
  "$LOADGEN" "${LOAD[@]}" --port "$PORT" --users "$WORK/data/users.txt" -d "$1" --warmup 0.5 --case "$2" --out "$WORK/load.jsonl" | grep '^#' >&2
}
echo "== warm-up" >&2
load 3 warmup

echo "== pass 1: perf (cpu-clock, ${SECONDS_PER_PASS} s)" >&2
load $((SECONDS_PER_PASS + 2)) perf &
LOAD_PID=$!
sleep 1
perf record -e cpu-clock -F 499 -g -p "$SERVER" -o "$WORK/perf.data" -- sleep "$SECONDS_PER_PASS" 2>"$WORK/perf-record.log" >/dev/null
wait "$LOAD_PID"   # not a bare wait: the server is a background job too
perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio --percent-limit 0.5 -g none </dev/null 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | head -45 >"$WORK/perf-self.txt" || true
perf report -i "$WORK/perf.data" --children --sort symbol --stdio --percent-limit 3 -g none </dev/null 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | head -45 >"$WORK/perf-inclusive.txt" || true
perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none </dev/null 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | head -12 >"$WORK/perf-dso.txt" || true

echo "== pass 2: dotnet-counters (${SECONDS_PER_PASS} s)" >&2
load $((SECONDS_PER_PASS + 2)) counters &
LOAD_PID=$!
sleep 1
dotnet-counters collect -p "$SERVER" --counters System.Runtime --format csv -o "$WORK/counters.csv" </dev/null \
  --refresh-interval 1 --duration "00:00:00:$(printf %02d "$SECONDS_PER_PASS")" >/dev/null 2>&1 || true
wait "$LOAD_PID"   # not a bare wait: the server is a background job too

echo "== pass 3: dotnet-trace (sampled thread time, ${SECONDS_PER_PASS} s)" >&2
load $((SECONDS_PER_PASS + 2)) trace &
LOAD_PID=$!
sleep 1
dotnet-trace collect -p "$SERVER" --profile dotnet-sampled-thread-time -o "$WORK/trace.nettrace" \
  --duration "00:00:00:$(printf %02d "$SECONDS_PER_PASS")" </dev/null >/dev/null 2>&1 || true
wait "$LOAD_PID"   # not a bare wait: the server is a background job too
dotnet-trace report "$WORK/trace.nettrace" topN -n 25 --inclusive </dev/null >"$WORK/trace-inclusive.txt" 2>&1 || true
dotnet-trace report "$WORK/trace.nettrace" topN -n 25 </dev/null >"$WORK/trace-exclusive.txt" 2>&1 || true

echo
echo "### Restante under '${LOAD[*]}' — perf cpu-clock, top frames by self time"
cat "$WORK/perf-self.txt"
echo
echo "### by shared object"
cat "$WORK/perf-dso.txt"
echo
echo "### top frames by inclusive time (≥ 3%)"
cat "$WORK/perf-inclusive.txt"
echo
echo "### dotnet-counters (System.Runtime, per-second samples during load; last values)"
if [[ -s $WORK/counters.csv ]]; then
  # Keep the last sample of each counter.
  awk -F, 'NR>1 {last[$3]=$0} END {for (k in last) print last[k]}' "$WORK/counters.csv" | sort -t, -k3 | cut -d, -f3- | head -40
fi
echo
echo "### dotnet-trace topN (managed, inclusive, wall-clock samples of all threads)"
head -40 "$WORK/trace-inclusive.txt"
echo
echo "### load during each pass"
grep -o '"case":"[a-z]*".*"sessions_per_s":[0-9.]*' "$WORK/load.jsonl" | sed 's/,"endpoint[^}]*"sessions_per_s"/ sessions_per_s/' || true
grep -o '"case":"[a-z]*".*"mb_per_s":[0-9.]*' "$WORK/load.jsonl" | sed 's/,"endpoint[^}]*"mb_per_s"/ mb_per_s/' || true
echo "(raw files in $WORK)"

#!/usr/bin/env bash
# bench/metrics-overhead.sh: what `restante serve --metrics` costs. Two Restante processes on copies of one small
# corpus, one without metrics and one with the Prometheus endpoint (scraped every second meanwhile, harsher than
# Prometheus' usual 15 s); login -c 16 runs against each in turn, alternating, for several rounds. Then the scrape
# itself: its latency and the server CPU time per scrape. Loopback only; every run is bounded.
#
#   bench/metrics-overhead.sh [--rounds N] [--duration S]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=5 DURATION=5
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    *) echo "metrics-overhead.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for p in src/Restante.Cli bench/Restante.LoadGen bench/Restante.Corpus; do
  dotnet build "$ROOT/$p" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
done
BIN=net10.0
LOADGEN="$ROOT/bench/Restante.LoadGen/bin/Release/$BIN/Restante.LoadGen"
RESTANTE="$ROOT/src/Restante.Cli/bin/Release/$BIN/Restante.Cli"
WORK=$(mktemp -d /tmp/restante-metrics.XXXXXX)
trap 'kill ${PIDS[@]:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$ROOT/bench/Restante.Corpus/bin/Release/$BIN/Restante.Corpus" --out "$WORK/corpus" --users 40 --messages 5 --size 4096 \
  --big-count 1 --big-size 100 --large-count 1 --large-size 1000 --huge-mb 1 --idle-users 1 >/dev/null
cp -a "$WORK/corpus" "$WORK/plain"; cp -a "$WORK/corpus" "$WORK/metrics"
BASE=${BENCH_PORT_BASE:-21310}
PIDS=()
start() {   # name port extra...
  local name=$1 port=$2; shift 2
  "$RESTANTE" serve --data "$WORK/$name" --pop3 127.0.0.1:$port --lmtp "" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q "POP3 listening" "$WORK/$name.log" && return; sleep 0.2; done
  echo "$name did not start" >&2; cat "$WORK/$name.log" >&2; exit 1
}
start plain $BASE
start metrics $((BASE + 1)) --metrics 127.0.0.1:$((BASE + 2))
METRICS_PID=${PIDS[1]}
( while sleep 1; do curl -s -o /dev/null "http://127.0.0.1:$((BASE + 2))/metrics" || true; done ) &
SCRAPER=$!
PIDS+=($SCRAPER)
echo "uptime before: $(uptime)"
rate() {   # port -> sessions/s
  "$LOADGEN" login -c 16 -d "$DURATION" --warmup 1 --port "$1" --users "$WORK/corpus/users.txt" \
    | grep -oE '[0-9.]+ sessions/s' | head -1 | cut -d' ' -f1
}
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then a=$(rate $BASE); b=$(rate $((BASE + 1))); else b=$(rate $((BASE + 1))); a=$(rate $BASE); fi
  echo "round $r: without metrics $a sessions/s, with --metrics $b sessions/s"
done
echo "uptime after: $(uptime)"
kill $SCRAPER 2>/dev/null || true
# The scrape: latency, and the server's CPU time (utime+stime, clock ticks) over 100 scrapes spaced past the
# exporter's 300 ms response cache, against the same idle spell without scrapes.
ticks() { awk '{print $14 + $15}' /proc/$METRICS_PID/stat; }
HZ=$(getconf CLK_TCK)
t0=$(ticks); sleep 35; t1=$(ticks)
lat=()
for _ in $(seq 100); do lat+=($(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$((BASE + 2))/metrics")); sleep 0.35; done
t2=$(ticks)
echo "scrape size: $(curl -s "http://127.0.0.1:$((BASE + 2))/metrics" | wc -c) bytes"
printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {printf "scrape latency: median %.1f ms, p90 %.1f ms, max %.1f ms\n", a[int(NR/2)]*1000, a[int(NR*0.9)]*1000, a[NR]*1000}'
awk -v idle=$((t1 - t0)) -v busy=$((t2 - t1)) -v hz="$HZ" \
  'BEGIN {printf "server CPU: idle %.0f ms per 35 s; 100 scrapes in ~35 s %.0f ms, so ~%.2f ms per scrape\n", idle*1000/hz, busy*1000/hz, (busy-idle)*1000/hz/100}'

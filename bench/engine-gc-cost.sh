#!/usr/bin/env bash
# bench/engine-gc-cost.sh CLI_DIR [GEN0SIZE] [ROUNDS]: login+STAT+QUIT at -c 16 against one Restante build with the
# default gen0 budget and with DOTNET_GCgen0size=GEN0SIZE (default 0x100000, 1 MiB), interleaved for ROUNDS (default 3):
# the server's CPU (utime+stime) per session over 15 s after a 5 s warm-up, each on a fresh server. Needs a corpus with
# users.txt (Restante.Corpus --users 16 --messages 20) in ENGINE_CORPUS or RESTANTE_BENCH_CACHE/ab/c1;
# port BENCH_PORT_BASE+22 (default 28132).
set -u
CLI=$1 GEN0=${2:-0x100000} ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LG=$ROOT/bench/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen
CORPUS=${ENGINE_CORPUS:-${RESTANTE_BENCH_CACHE:-/tmp/restante-bench-corpus}/ab/c1}
PORT=$((${BENCH_PORT_BASE:-28110} + 22))
HZ=$(getconf CLK_TCK)
one() {
  local g=$1 W PID t0 t1 n l0
  W=$(mktemp -d -t restante-gc-cost.XXXX); cp -a "$CORPUS/." "$W/"
  if [[ $g == default ]]; then env -u DOTNET_GCgen0size "$CLI/Restante.Cli" serve --data "$W" --pop3 "127.0.0.1:$PORT" --lmtp '' >"$W/log" 2>&1 &
  else DOTNET_GCgen0size=$g "$CLI/Restante.Cli" serve --data "$W" --pop3 "127.0.0.1:$PORT" --lmtp '' >"$W/log" 2>&1 & fi
  PID=$!
  for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
  "$LG" login -c 16 -d 5 --warmup 0 --port "$PORT" --users "$W/users.txt" --out "$W/w.jsonl" >/dev/null
  l0=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(awk '{print $14+$15}' "/proc/$PID/stat")
  "$LG" login -c 16 -d 15 --warmup 0 --port "$PORT" --users "$W/users.txt" --out "$W/r.jsonl" >/dev/null
  t1=$(awk '{print $14+$15}' "/proc/$PID/stat")
  n=$(tail -1 "$W/r.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"])')
  python3 -c "print(f'gen0 $g: {$n} sessions, {($t1-$t0)/$HZ/$n*1e6:.1f} us server CPU per session, load $l0 -> $(cut -d' ' -f1 /proc/loadavg)')"
  kill "$PID"; wait "$PID" 2>/dev/null; rm -rf "$W"
}
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then one default; one "$GEN0"; else one "$GEN0"; one default; fi
done

#!/usr/bin/env bash
# bench/engine-idle.sh CLI_DIR N [GCDUMP_PREFIX]: N authenticated idle POP3 sessions (no NOOPs) against a fresh server
# of one Restante build; prints the server's private (and RSS) KB per held session as LoadGen's idle mode samples it
# (2 s after the last login), and with GCDUMP_PREFIX writes PREFIX-0.gcdump (before) and PREFIX-N.gcdump (held) and
# their type reports (dotnet-gcdump). Needs a corpus with N idle users (Restante.Corpus --idle-users N: idle00000…)
# in ENGINE_IDLE_CORPUS or RESTANTE_BENCH_CACHE/idle5k; ports BENCH_PORT_BASE+21 (default 28131); N + 100 descriptors.
set -u
CLI=$1 N=$2 DUMP=${3:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LG=$ROOT/bench/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen
GCDUMP=${GCDUMP:-$(command -v dotnet-gcdump || echo "$HOME/.dotnet/tools/dotnet-gcdump")}
CORPUS=${ENGINE_IDLE_CORPUS:-${RESTANTE_BENCH_CACHE:-/tmp/restante-bench-corpus}/idle5k}
PORT=$((${BENCH_PORT_BASE:-28110} + 21))
W=$(mktemp -d -t restante-engine-idle.XXXX)
cp -a "$CORPUS/." "$W/"
export RESTANTE_MaxConnections=$((N + 1000))
"$CLI/Restante.Cli" serve --data "$W" --pop3 "127.0.0.1:$PORT" --lmtp '' >"$W/log" 2>&1 &
PID=$!
LGPID=""
trap 'kill $PID $LGPID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
sleep 2
# The server's own private pages (clean + dirty), absolute: with two N, (held(N2) - held(N1)) / (N2 - N1) is what one more
# session costs, without what the process pays once however many it holds (the GC's gen0 budget, pools, code).
private_kb() { awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' "/proc/$PID/smaps_rollup"; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
P0=$(private_kb)
[[ -n $DUMP ]] && "$GCDUMP" collect -p "$PID" -o "$DUMP-0.gcdump" >/dev/null 2>&1
"$LG" idle -c "$N" -d 30 --noop-interval 0 --user-prefix idle --user-digits 5 --user-count "$N" --password bench \
  --timeout 120 --server-pid "$PID" --port "$PORT" --ready-file "$W/ready" --out "$W/r.jsonl" >"$W/lg.out" 2>&1 &
LGPID=$!
while [[ ! -f $W/ready ]] && kill -0 $LGPID 2>/dev/null; do sleep 0.5; done
P1=$(private_kb)
if [[ -n $DUMP ]]; then
  "$GCDUMP" collect -p "$PID" -o "$DUMP-$N.gcdump" >/dev/null 2>&1
  for f in "$DUMP-0" "$DUMP-$N"; do "$GCDUMP" report "$f.gcdump" > "$f.types" 2>&1; done
fi
touch "$W/ready.done"; wait $LGPID
python3 - "$W/r.jsonl" <<'PY'
import json,sys
r=[json.loads(l) for l in open(sys.argv[1])][-1]
print(f"held {r['held']}  private {r['private_per_session_kb']:.2f} KB/session  rss {r['rss_per_session_kb']:.2f} KB/session  pss {r.get('pss_per_session_kb',0):.2f}")
PY
echo "private before $P0 KB, held $P1 KB (smaps_rollup at the ready point)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# bench/engine-cost.sh CLI_DIR [SECONDS]: the connection engine's cost per login+STAT+QUIT at -c 1 on one Restante
# build (a bin/Release/net10.0 directory copied aside): after a warm-up, the server's CPU per session
# (/proc/PID/stat utime+stime over a timed run), then its syscalls per session (strace -f -c attached for a second
# timed run: strace slows the server, so the CPU figure comes from the run without it). Needs a corpus with users.txt
# (compare.sh --quick's, or Restante.Corpus --users 16 --messages 20) in ENGINE_CORPUS or RESTANTE_BENCH_CACHE/ab/c1;
# port BENCH_PORT_BASE+20 (default 28130).
set -u
CLI=$1 DUR=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LG=$ROOT/bench/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen
CORPUS=${ENGINE_CORPUS:-${RESTANTE_BENCH_CACHE:-/tmp/restante-bench-corpus}/ab/c1}
PORT=$((${BENCH_PORT_BASE:-28110} + 20))
W=$(mktemp -d -t restante-engine-cost.XXXX)
cp -a "$CORPUS/." "$W/"
"$CLI/Restante.Cli" serve --data "$W" --pop3 "127.0.0.1:$PORT" --lmtp '' >"$W/log" 2>&1 &
PID=$!
ST=""
trap 'kill $PID $ST 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || { echo "server did not listen on $PORT:" >&2; cat "$W/log" >&2; exit 1; }
HZ=$(getconf CLK_TCK)
login() { "$LG" login -c 1 -d "$1" --warmup 0 --port "$PORT" --users "$W/users.txt" --out "$W/r.jsonl" >/dev/null; tail -1 "$W/r.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"])'; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
login 5 >/dev/null   # warm-up: JIT tiers, pools, page cache
t0=$(awk '{print $14+$15}' /proc/$PID/stat)
n=$(login "$DUR")
t1=$(awk '{print $14+$15}' /proc/$PID/stat)
python3 -c "print(f'cpu: {$n} sessions, {($t1-$t0)/$HZ/$n*1e6:.1f} us server CPU per session ({$t1-$t0} ticks)')"
strace -f -C -o "$W/strace.txt" -p "$PID" 2>/dev/null &
ST=$!
sleep 2
n=$(login "$DUR")
sleep 0.5
kill -INT $ST; wait $ST 2>/dev/null
echo "syscalls during $n sessions (per session):"
awk -v n="$n" '$1 ~ /^[0-9]+[.][0-9]+$/ && NF >= 5 && $NF != "total" { name=$NF; calls=$4; if (NF == 5) calls=$4; printf "  %-16s %8.2f\n", name, calls / n }' "$W/strace.txt" | sort -k2 -rn | head -15
awk -v n="$n" '$NF == "total" { printf "  %-16s %8.2f\n", "total", $4 / n }' "$W/strace.txt"
echo "  recvfrom with MSG_PEEK: $(grep -c 'recvfrom(.*MSG_PEEK' "$W/strace.txt" | awk -v n="$n" '{printf "%.2f", $1 / n}') per session"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

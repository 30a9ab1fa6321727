#!/usr/bin/env bash
# bench/retr-cpu.sh ROUNDS LABEL=BINDIR... [ceiling=CEILINGDIR]: server CPU per RETR of ~50 KB LF messages, interleaved.
# Every server runs on its own copy of the corpus at once; each round runs the same fixed load against each in turn
# (order rotated) and reads the server's utime+stime from /proc/PID/stat before and after. CPU per operation, not
# MB/s: on a loaded machine the time a load takes says little, the CPU the server spent on it says much more.
# Load per server and round: Restante.LoadGen retr -c 8 --rounds $SESSIONS (8 × SESSIONS sessions of login, LIST,
# RETR of 20 messages verified against LIST, QUIT: 160 × SESSIONS RETRs), as compare.sh's retr-c8 case.
# Environment: BENCH_PORT_BASE (default 26400), RESTANTE_BENCH_CACHE (the corpus: a Restante.Corpus output with
# users 16×20×51200 in $RESTANTE_BENCH_CACHE/base), LOADGEN (Restante.LoadGen executable), SESSIONS (default 20).
set -eu
ROUNDS=$1; shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${BENCH_PORT_BASE:-26400}
CACHE=${RESTANTE_BENCH_CACHE:-/tmp/restante-bench-corpus}
CORPUS=${CORPUS:-$CACHE/base}
LOADGEN=${LOADGEN:-$ROOT/bench/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen}
SESSIONS=${SESSIONS:-20}
WORK=$(mktemp -d /tmp/retr-cpu.XXXXXX)
declare -a LABELS PIDS PORTS
cleanup() { for p in "${PIDS[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK/data-"*; }
trap cleanup EXIT
n=0
for spec in "$@"; do
  label=${spec%%=*} dir=${spec#*=}
  port=$((PORT + 10 * n))
  if [[ $label == ceiling ]]; then
    "$dir/Restante.Ceiling" --pop3 "127.0.0.1:$port" --mailbox "user*=20x51200" >"$WORK/$label.log" 2>&1 &
  else
    mkdir -p "$WORK/data-$label"; cp -r "$CORPUS/." "$WORK/data-$label/"
    "$dir/Restante.Cli" serve --data "$WORK/data-$label" --pop3 "127.0.0.1:$port" --log-level Warning >"$WORK/$label.log" 2>&1 &
  fi
  PIDS[n]=$!; LABELS[n]=$label; PORTS[n]=$port
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  n=$((n + 1))
done
USERS=$CORPUS/users.txt
TCK=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "# $(date -u +%FT%TZ) uptime: $(uptime)"
for i in $(seq 0 $((n - 1))); do   # prime: every mailbox read once, JIT warm
  "$LOADGEN" retr -c 8 --users "$USERS" --rounds "${PRIME:-20}" -d 300 --port "${PORTS[i]}" >/dev/null
done
for r in $(seq 1 "$ROUNDS"); do
  line="round $r:"
  for k in $(seq 0 $((n - 1))); do
    i=$(( (k + r) % n ))
    c0=$(cpu "${PIDS[i]}")
    out=$("$LOADGEN" retr -c 8 --users "$USERS" --rounds "$SESSIONS" -d 300 --port "${PORTS[i]}")
    c1=$(cpu "${PIDS[i]}")
    msgs=$(echo "$out" | grep -o '([0-9]* messages' | tr -dc '0-9')
    mbs=$(echo "$out" | grep -o '[0-9.]* MB/s' | head -1 | cut -d' ' -f1)
    line+=" ${LABELS[i]} $(awk -v c="$((c1 - c0))" -v t="$TCK" -v m="$msgs" 'BEGIN{printf "%.1f", c * 1e6 / t / m}') µs/RETR ($msgs, $mbs MB/s);"
  done
  echo "$line"
done
echo "# $(date -u +%FT%TZ) uptime: $(uptime)"

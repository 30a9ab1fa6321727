#!/usr/bin/env bash
# bench/latency-c1.sh ROUNDS SECONDS VARIANT... : Restante builds and/or runtime settings side by side with the ceiling,
# interleaved with rotating order: login -c 1, login -c 16 and (with LATENCY_TLS=1) login over implicit TLS -c 16.
# VARIANT is NAME=CLI_DIR or NAME=CLI_DIR,VAR=VALUE[,VAR=VALUE...] (environment of that server only), e.g.
#   bench/latency-c1.sh 3 3 main=/tmp/main-cli inline=/tmp/main-cli,DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
# Prints sessions/s per round, each variant's median ratio to the ceiling, and the server CPU per session
# (utime+stime over the run). Corpus: RESTANTE_BENCH_CACHE/ab/c1 (Restante.Corpus --users 16 --messages 20, see
# bench/NOTES-c1.md); ports BENCH_PORT_BASE+30 and up (default 28140 and up).
set -u
ROUNDS=$1 DUR=$2; shift 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LG=$ROOT/bench/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen
CEIL=$ROOT/bench/ceiling/bin/Release/net10.0/Restante.Ceiling
CORPUS=${RESTANTE_BENCH_CACHE:-/tmp/restante-bench-corpus}/ab/c1
BASE=$((${BENCH_PORT_BASE:-28110} + 30))
W=$(mktemp -d /tmp/restante-latency-c1.XXXX)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/key.pem" -out "$W/cert.pem" -days 30 -subj /CN=localhost 2>/dev/null
declare -A PORT=() TPORT=() PID=()
NAMES=()
cleanup() { for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "no listener on $1" >&2; return 1; }
i=0
for v in "$@"; do
  name=${v%%=*} rest=${v#*=}
  IFS=, read -r -a parts <<<"$rest"
  cli=${parts[0]} envs=("${parts[@]:1}")
  PORT[$name]=$((BASE + 2 * i)) TPORT[$name]=$((BASE + 2 * i + 1)); i=$((i + 1))
  cp -a "$CORPUS" "$W/$name"
  env "${envs[@]}" "$cli/Restante.Cli" serve --data "$W/$name" --pop3 "127.0.0.1:${PORT[$name]}" --lmtp '' \
    --pop3s "127.0.0.1:${TPORT[$name]}" --tls-cert "$W/cert.pem" --tls-key "$W/key.pem" >"$W/$name.log" 2>&1 &
  PID[$name]=$!
  NAMES+=("$name")
done
PORT[ceiling]=$((BASE + 2 * i)) TPORT[ceiling]=$((BASE + 2 * i + 1))
"$CEIL" --pop3 "127.0.0.1:${PORT[ceiling]}" --pop3s "127.0.0.1:${TPORT[ceiling]}" --cert "$W/cert.pem" --key "$W/key.pem" \
  --mailbox "user*=20x51200" >"$W/ceiling.log" 2>&1 &
PID[ceiling]=$!
NAMES+=(ceiling)
for s in "${NAMES[@]}"; do wait_port "${PORT[$s]}" || exit 1; done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
CASES=("login-c1|login -c 1" "login-c16|login -c 16")
[[ ${LATENCY_TLS:-0} == 1 ]] && CASES+=("login-tls-c16|--tls login -c 16")
for s in "${NAMES[@]}"; do "$LG" login -c 16 -d "${LATENCY_WARMUP:-2}" --warmup 0.5 --port "${PORT[$s]}" --users "$W/${NAMES[0]}/users.txt" >/dev/null || true; done
n=${#NAMES[@]}
for r in $(seq "$ROUNDS"); do
  order=(); for k in $(seq 0 $((n - 1))); do order+=("${NAMES[$(((k + r - 1) % n))]}"); done
  for c in "${CASES[@]}"; do
    case=${c%%|*} args=${c#*|}
    for s in "${order[@]}"; do
      port=${PORT[$s]}
      [[ $args == --tls* ]] && port="${TPORT[$s]} --tls" && a=${args#--tls } || a=$args
      t0=$(awk '{print $14+$15}' "/proc/${PID[$s]}/stat")
      # shellcheck disable=SC2086
      "$LG" $a -d "$DUR" --warmup 0.3 --port $port --users "$W/${NAMES[0]}/users.txt" --server "$s" --case "$case" --round "$r" --out "$W/results.jsonl" >/dev/null
      t1=$(awk '{print $14+$15}' "/proc/${PID[$s]}/stat")
      echo "$s $case $r $((t1 - t0))" >>"$W/cpu.txt"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$W/results.jsonl" "$W/cpu.txt" "$(getconf CLK_TCK)" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1])]
hz = int(sys.argv[3])
rate = {(r['server'], r['case'], r['round']): r['sessions_per_s'] for r in rows}
count = {(r['server'], r['case'], r['round']): r['sessions'] for r in rows}
servers = list(dict.fromkeys(r['server'] for r in rows))
for case in dict.fromkeys(r['case'] for r in rows):
    print(f"{case}:")
    rounds = sorted({r['round'] for r in rows if r['case'] == case})
    for rnd in rounds:
        print(f"  round {rnd}: " + "  ".join(f"{s} {rate.get((s, case, rnd), 0):.0f}" for s in servers))
    for s in servers:
        if s == 'ceiling': continue
        ratios = [rate[(s, case, rnd)] / rate[('ceiling', case, rnd)] for rnd in rounds if rate.get((s, case, rnd)) and rate.get(('ceiling', case, rnd))]
        rates = [rate[(s, case, rnd)] for rnd in rounds if rate.get((s, case, rnd))]
        if ratios: print(f"  {s}: median {statistics.median(rates):.0f}/s, ÷ ceiling median {statistics.median(ratios):.2f} [{min(ratios):.2f}–{max(ratios):.2f}]")
per = {}
for line in open(sys.argv[2]):
    s, case, rnd, ticks = line.split()
    n = count.get((s, case, int(rnd)), 0)
    if n: per.setdefault((case, s), []).append(int(ticks) / hz * 1e6 / n)
for (case, s), v in sorted(per.items()):
    print(f"server CPU per session {case} {s}: median {statistics.median(v):.0f} us [{min(v):.0f}–{max(v):.0f}]")
PY
echo "(raw: $W)"

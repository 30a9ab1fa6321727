#!/usr/bin/env bash
# bench/login-state-ab.sh ROUNDS SECONDS CLI_DIR: does the state of the data directory or of the server process change
# what a login costs? One Restante build (a bin/Release/net10.0 directory) serving three copies, and the ceiling, with
# login -c 16 interleaved in rotating order; prints the server CPU per session (utime+stime / sessions) of each:
#   quick   the --quick corpus (80 users; what bench/login-ab.sh serves)
#   full    the full run's corpus (200 users, big100k, large1mb, huge50m, 6,900 idle users: a 7,100-line passwd), fresh
#   primed  the same, primed as compare.sh primes (retr of every user, large1mb, huge50m, big100k's first login)
# Needs both corpora in RESTANTE_BENCH_CACHE (bench/compare.sh --prepare and --quick --prepare; QUICK_CORPUS and
# FULL_CORPUS name them when the cache holds several) and the LoadGen and ceiling builds; ports BENCH_PORT_BASE+10..+13.
# WARM seconds of login -c 16 per server first (default 5). bench/NOTES-login.md, round seven.
set -u
ROUNDS=${1:-4} DUR=${2:-4} CLI=$3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LG=$ROOT/bench/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen
CEIL=$ROOT/bench/ceiling/bin/Release/net10.0/Restante.Ceiling
CACHE=${RESTANTE_BENCH_CACHE:-/tmp/restante-bench-corpus}
QC=${QUICK_CORPUS:-$(grep -l 'users=80x' "$CACHE"/*/corpus.txt | head -1 | xargs dirname)}
FC=${FULL_CORPUS:-$(grep -l 'users=200x' "$CACHE"/*/corpus.txt | head -1 | xargs dirname)}
W=$(mktemp -d /tmp/restante-login-state.XXXX); echo "work $W (quick: $QC, full: $FC)"
BASE=${BENCH_PORT_BASE:-28110}
declare -A PORT=([quick]=$((BASE+10)) [full]=$((BASE+11)) [primed]=$((BASE+12)) [ceiling]=$((BASE+13)))
declare -A PID=()
cleanup() { for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null || true; done; sleep 1; rm -rf "$W"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
cp -a $QC "$W/quick"; cp -a $FC "$W/full"; cp -a $FC "$W/primed"
for s in quick full primed; do
  "$CLI/Restante.Cli" serve --data "$W/$s" --pop3 "127.0.0.1:${PORT[$s]}" --lmtp '' >"$W/$s.log" 2>&1 &
  PID[$s]=$!
done
"$CEIL" --pop3 "127.0.0.1:${PORT[ceiling]}" --mailbox "user*=20x51200" --mailbox "idle*=0x1" >"$W/ceiling.log" 2>&1 &
PID[ceiling]=$!
for s in quick full primed ceiling; do wait_port ${PORT[$s]}; done
echo "pids: $(for s in "${!PID[@]}"; do echo -n "$s=${PID[$s]} "; done)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
U="$W/full/users.txt"
# Prime "primed" as compare.sh does: retr of every user, large1mb, huge50m, big100k's first login.
P=${PORT[primed]}
$LG retr -c 8 --rounds 25 --users $U -d 300 --port $P >/dev/null
$LG retr -c 1 --user large1mb --password bench --rounds 1 -d 300 --port $P >/dev/null
$LG retr -c 1 --user huge50m --password bench --rounds 1 -d 300 --port $P >/dev/null
$LG big --user big100k --password bench --timeout 300 -d 900 --rounds 1 --port $P | grep -E '^#' | head -3
echo "primed done $(date -u +%T); rss: $(for s in quick full primed; do echo -n "$s=$(awk '/VmRSS/{print $2}' /proc/${PID[$s]}/status) "; done)"
for s in quick full primed ceiling; do $LG login -c 16 -d ${WARM:-5} --warmup 0.5 --port ${PORT[$s]} --users $W/$([[ $s == quick ]] && echo quick || echo full)/users.txt >/dev/null || true; done
SERVERS=(quick full primed ceiling)
for r in $(seq $ROUNDS); do
  order=(); for i in 0 1 2 3; do order+=("${SERVERS[$(((i + r - 1) % 4))]}"); done
  for s in "${order[@]}"; do
    t0=$(awk '{print $14+$15}' /proc/${PID[$s]}/stat)
    $LG login -c 16 -d $DUR --warmup 0 --port ${PORT[$s]} --users $W/$([[ $s == quick ]] && echo quick || echo full)/users.txt --server $s --case login-c16 --round $r --out "$W/results.jsonl" | grep -E 'sessions/s' | sed "s/^/$s r$r /"
    t1=$(awk '{print $14+$15}' /proc/${PID[$s]}/stat)
    echo "$s login-c16 $r $((t1 - t0))" >> "$W/cpu.txt"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
echo "rss: $(for s in quick full primed; do echo -n "$s=$(awk '/VmRSS/{print $2}' /proc/${PID[$s]}/status) "; done)"
python3 - "$W/results.jsonl" "$W/cpu.txt" <<'PY'
import json,sys,statistics
rows=[json.loads(l) for l in open(sys.argv[1])]
n={(r['server'],r['round']):r['sessions'] for r in rows}
per={}
for l in open(sys.argv[2]):
  s,c,rnd,ticks=l.split()
  if n.get((s,int(rnd)),0)>0: per.setdefault(s,[]).append(round(int(ticks)*10000/n[(s,int(rnd))]))
for k in sorted(per): print(f"CPU/session {k}: median {statistics.median(per[k]):.0f} us  all {per[k]}")
PY

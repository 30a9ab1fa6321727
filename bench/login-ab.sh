#!/usr/bin/env bash
# bench/login-ab.sh ROUNDS SECONDS BEFORE_CLI_DIR AFTER_CLI_DIR: two Restante builds (bin/Release/net10.0 directories
# copied aside) and the ceiling, interleaved with rotating order, login -c 1 and -c 16; prints each round's ratio to
# the ceiling and the server CPU per session. Needs a corpus from compare.sh --quick (RESTANTE_BENCH_CACHE) and the
# LoadGen and ceiling builds; ports BENCH_PORT_BASE+10 to +12 (default 28120-28122).
set -u
ROUNDS=${1:-3} DUR=${2:-3} BEFORE=$3 AFTER=$4
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LG=$ROOT/bench/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen
CEIL=$ROOT/bench/ceiling/bin/Release/net10.0/Restante.Ceiling
CORPUS=$(ls -d "${RESTANTE_BENCH_CACHE:-/tmp/restante-bench-corpus}"/*/ | head -1)
W=$(mktemp -d /tmp/restante-login-ab.XXXX)
BASE=${BENCH_PORT_BASE:-28110}
declare -A PORT=([before]=$((BASE + 10)) [after]=$((BASE + 11)) [ceiling]=$((BASE + 12)))
declare -A PID=()
cleanup() { for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
for s in before after; do
  cp -a "$CORPUS" "$W/$s"
  cli=$BEFORE; [[ $s == after ]] && cli=$AFTER
  "$cli/Restante.Cli" serve --data "$W/$s" --pop3 "127.0.0.1:${PORT[$s]}" --lmtp '' >"$W/$s.log" 2>&1 &
  PID[$s]=$!
done
"$CEIL" --pop3 "127.0.0.1:${PORT[ceiling]}" --mailbox "user*=20x51200" >"$W/ceiling.log" 2>&1 &
PID[ceiling]=$!
for s in before after ceiling; do wait_port ${PORT[$s]}; done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
SERVERS=(before after ceiling)
# LOGIN_AB_WARMUP seconds of login -c 16 per server first (default 1): on a loaded machine the JIT needs longer to
# reach its final tier, and its compile time would count as CPU per session.
for s in "${SERVERS[@]}"; do "$LG" login -c 16 -d "${LOGIN_AB_WARMUP:-1}" --warmup 0.5 --port ${PORT[$s]} --users "$W/before/users.txt" >/dev/null || true; done
for r in $(seq $ROUNDS); do
  order=(); for i in 0 1 2; do order+=("${SERVERS[$(((i + r - 1) % 3))]}"); done
  for c in 1 16; do
    for s in "${order[@]}"; do
      t0=$(awk '{print $14+$15}' /proc/${PID[$s]}/stat)
      "$LG" login -c $c -d $DUR --warmup 0 --port ${PORT[$s]} --users "$W/before/users.txt" --server $s --case login-c$c --round $r --out "$W/results.jsonl" | grep -E 'sessions/s' | sed "s/^/$s c$c r$r /"
      t1=$(awk '{print $14+$15}' /proc/${PID[$s]}/stat)
      echo "$s login-c$c $r $((t1 - t0))" >> "$W/cpu.txt"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$W/results.jsonl" <<'PY'
import json,sys,statistics
rows=[json.loads(l) for l in open(sys.argv[1])]
by={}
for r in rows: by[(r['case'],r['round'],r['server'])]=r['sessions_per_s']
for case in sorted({r['case'] for r in rows}):
  rb=[];ra=[]
  for rnd in sorted({r['round'] for r in rows}):
    c=by.get((case,rnd,'ceiling'));b=by.get((case,rnd,'before'));a=by.get((case,rnd,'after'))
    if not (c and b and a): print(f"{case} round {rnd}: a server completed no session (machine overloaded?), round left out"); continue
    print(f"{case} round {rnd}: before {b:.0f} after {a:.0f} ceiling {c:.0f}  before/ceil {b/c:.2f} after/ceil {a/c:.2f}")
    rb.append(b/c);ra.append(a/c)
  if not rb: continue
  print(f"{case} median ratio to ceiling: before {statistics.median(rb):.2f} [{min(rb):.2f}-{max(rb):.2f}]  after {statistics.median(ra):.2f} [{min(ra):.2f}-{max(ra):.2f}]")
PY
python3 - "$W/results.jsonl" "$W/cpu.txt" <<'PY'
import json,sys,statistics
rows=[json.loads(l) for l in open(sys.argv[1])]
n={(r['server'],r['case'],r['round']):r['sessions'] for r in rows}
per={}
for l in open(sys.argv[2]):
  s,c,rnd,ticks=l.split()
  if n.get((s,c,int(rnd)),0) > 0: per.setdefault((s,c),[]).append(int(ticks)*10000/n[(s,c,int(rnd))])
for k in sorted(per): print(f"server CPU per session {k[0]} {k[1]}: median {statistics.median(per[k]):.0f} us [{min(per[k]):.0f}-{max(per[k]):.0f}]")
PY
echo "(raw: $W)"

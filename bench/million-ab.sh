#!/usr/bin/env bash
# bench/million-ab.sh LABEL EXE PORT: (needs bench/index-bench.sh --count 1000000 --no-copy run once: the first run
# of this script saves the index files it left to $MILLION_SAVE, default $DATA/million-save) restore the 1M Maildir's
# index files, start EXE, one priming login, 3 measured logins each after one foreign drop (LoadGen big --deliver),
# server CPU time over the run, RSS peak/private. Logs and results go to $MILLION_OUT (default: a new temporary folder).
set -euo pipefail
LABEL=$1 EXE=$2 PORT=$3
DATA=${RESTANTE_BENCH_CACHE:-/tmp/bench-cache-index}/c1000000; MD=$DATA/mail/big100k
LOADGEN=$(cd "$(dirname "$0")" && pwd)/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen
SAVE=${MILLION_SAVE:-$DATA/million-save} OUT=${MILLION_OUT:-$(mktemp -d)}
if [ ! -f "$SAVE/restante-listing" ]; then
  [ -f "$MD/restante-listing" ] || { echo "no index files in $MD: run bench/index-bench.sh --count 1000000 --no-copy first" >&2; exit 2; }
  mkdir -p "$SAVE"; cp -p "$MD/restante-listing" "$MD/restante-index" "$SAVE/"
fi
find "$MD/new" "$MD/tmp" -name '*bench-delivery*' -delete
rm -f "$MD/restante-listing" "$MD/restante-index"; cp -p "$SAVE/restante-listing" "$SAVE/restante-index" "$MD/"
sleep 2.5   # new/ settles
"$EXE" serve --data "$DATA" --pop3 "127.0.0.1:$PORT" --lmtp '' >>"$OUT/million-$LABEL.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
up=0; for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && { up=1; break; }; sleep 0.1; done
[ "$up" = 1 ] || { echo "$EXE did not listen on $PORT within 30 s (see $OUT/million-$LABEL.log)" >&2; exit 1; }
sleep 1
cpu() { awk '{print $14+$15}' /proc/$PID/stat; }
c0=$(cpu)
"$LOADGEN" big --port "$PORT" --user big100k --password bench --timeout 300 -d 900 --skip-list --prime-logins 1 --rounds 3 \
  --deliver "$MD" --server-pid "$PID" --server "$LABEL" --case big1m --round 1 --out "$OUT/million-results.jsonl" | grep -E "PASS|memory|messages" || true
sleep 3   # the background re-check of new/ (settle rule) runs after ~2.25 s
c1=$(cpu)
echo "$LABEL server CPU over run (prime + 3 logins + rechecks): $(( (c1 - c0) * 10 )) ms; load: $(cut -d' ' -f1-3 /proc/loadavg)"
kill $PID; wait $PID 2>/dev/null || true
find "$MD/new" "$MD/tmp" -name '*bench-delivery*' -delete

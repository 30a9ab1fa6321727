#!/usr/bin/env bash
# LMTP deliveries/s, Restante against Dovecot's LMTP, fsync on in both, same client (LmtpBench).
# Equal log levels: both log one line per delivery (Restante at Information, its default; Dovecot's
# default "saved mail to INBOX" info line). compare.sh runs the same measurement as its lmtp case.
#   bench/lmtp-compare.sh [--rounds N] [--seconds S] [--clients 8] [--sizes 4k]
# Loopback only; each server on its own port and scratch directory; rounds alternate the order.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=3 SECONDS_PER_RUN=10 CLIENTS=8 SIZES=4k
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECONDS_PER_RUN=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --sizes) SIZES=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 64 ;;
  esac
  shift
done

command -v dovecot >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-lmtpd dovecot-pop3d; }
dotnet build -c Release src/Restante.Cli --nologo -v quiet >/dev/null
dotnet build -c Release bench/LmtpBench --nologo -v quiet >/dev/null
BENCH=bench/LmtpBench/bin/Release/net10.0/LmtpBench.dll
WORK=$(mktemp -d /tmp/restante-lmtp-compare.XXXXXX)
chmod 755 "$WORK"   # Dovecot delivers as the mail user, who must get through to its Maildirs
R_PORT=22424 D_PORT=22425
trap 'tail -3 "$WORK/dovecot.log" 2>/dev/null; kill ${RPID:-} 2>/dev/null || true; [[ -f $WORK/run/master.pid ]] && kill "$(cat "$WORK/run/master.pid")" 2>/dev/null || true; rm -rf "$WORK"' EXIT

wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "no listener on $1" >&2; return 1; }

mkdir -p "$WORK/restante" "$WORK/dovecot/mail"
echo 'bench:{PLAIN}x' > "$WORK/restante/passwd"
dotnet src/Restante.Cli/bin/Release/net10.0/Restante.Cli.dll serve --data "$WORK/restante" \
  --pop3 127.0.0.1:22110 --lmtp "127.0.0.1:$R_PORT" --log-level Information >"$WORK/restante.log" 2>&1 &
RPID=$!
chown -R mail:mail "$WORK/dovecot"
cat >"$WORK/dovecot.conf" <<CONF
instance_name = restante-lmtp-bench
base_dir = $WORK/run
state_dir = $WORK/state
protocols = lmtp
listen = 127.0.0.1
log_path = $WORK/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 0
mail_location = maildir:$WORK/dovecot/mail/%u
mail_fsync = always
lmtp_save_to_detail_mailbox = no
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$WORK/dovecot/home/%u allow_all_users=yes
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $D_PORT
  }
}
CONF
dovecot -c "$WORK/dovecot.conf"
wait_port $R_PORT; wait_port $D_PORT

run() { # server port clean-dir
  dotnet "$BENCH" --server "127.0.0.1:$2" --to bench --seconds "$SECONDS_PER_RUN" --warmup 2 \
    --clients "$CLIENTS" --sizes "$SIZES" --clean "$3" | grep '^{' | sed "s/^{/{\"server\":\"$1\",/"
}
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then order="restante dovecot"; else order="dovecot restante"; fi
  for s in $order; do
    if [[ $s == restante ]]; then run restante $R_PORT "$WORK/restante/mail/bench/new"
    else run dovecot $D_PORT "$WORK/dovecot/mail/bench/new"; fi
  done
done | tee "$WORK/results.jsonl"
python3 - "$WORK/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
key = next(k for k in rows[0] if 'per_s' in k and 'deliver' in k)
med = {}
for server in ('restante', 'dovecot'):
    values = sorted(r[key] for r in rows if r['server'] == server)
    med[server] = statistics.median(values)
    print(f"{server}: median {med[server]:.0f} deliveries/s  [{values[0]:.0f}-{values[-1]:.0f}] over {len(values)} rounds")
print(f"Restante/Dovecot: {med['restante'] / med['dovecot']:.2f}x")
PY

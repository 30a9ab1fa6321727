#!/usr/bin/env bash
# Regenerates the Dovecot fixtures next to this script: a small Maildir, the dovecot-uidlist that a
# real Dovecot 2.3 (Debian's dovecot-pop3d) wrote or read for it, and the UIDL and LIST lines that
# Dovecot served for it over POP3 under several pop3_uidl_format settings. The tests then check that
# Restante, configured with UidlSource=dovecot and the same format, serves exactly those lines.
#
# Runs an isolated Dovecot (its own base_dir, config and a free loopback port; the package's system
# instance is not used) with mail processes as the unprivileged user "mail". Needs root (Dovecot's
# master switches users) and python3 (poplib is the POP3 client). Usage: sudo ./make-dovecot-fixtures.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v dovecot >/dev/null || { echo "dovecot is not installed: apt-get install dovecot-pop3d" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run as root (Dovecot's master switches to the user mail)" >&2; exit 1; }
work="$(mktemp -d /tmp/restante-dovecot-fixtures.XXXXXX)"
chmod 0755 "$work"
trap 'kill "$(cat "$work/run/master.pid" 2>/dev/null)" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The messages: names with and without ,S=/,W=, one already seen (cur/, :2,S), bare LF line ends.
make_maildir() {
  local m="$1"
  mkdir -p "$m/new" "$m/cur" "$m/tmp"
  printf 'From: a@example.com\nSubject: one\n\nfirst\n' > "$m/tmp/1"
  printf 'From: b@example.com\nSubject: two\n\nsecond message\n.leading dot\n' > "$m/new/1700000002.M101P200.fixture"
  printf 'From: c@example.com\nSubject: three\n\nthird\n' > "$m/cur/1700000003.M102P200.fixture:2,S"
  printf 'From: d@example.com\nSubject: four\n\nfourth\n' > "$m/tmp/4"
  printf 'From: e@example.com\nSubject: five\n\nfifth\n' > "$m/new/1700000005.M104P200.fixture"
  # S= is the file's length, W= the length with CRLF line ends (each message has 4 lines).
  local s1 s4
  s1=$(stat -c %s "$m/tmp/1"); s4=$(stat -c %s "$m/tmp/4")
  mv "$m/tmp/1" "$m/new/1700000001.M100P200.fixture,S=$s1,W=$((s1 + 4))"
  mv "$m/tmp/4" "$m/new/1700000004.M103P200.fixture,S=$s4"
}

# serve NAME FORMAT: starts Dovecot over $work/mail/alice with pop3_uidl_format FORMAT, fetches
# UIDL and LIST as alice (no DELE), writes $out/served-NAME.txt, stops Dovecot.
serve() {
  local name="$1" format="$2"
  mkdir -p "$work/run"
  cat > "$work/dovecot.conf" <<CONF
instance_name = restante-fixtures-$port
base_dir = $work/run
state_dir = $work/state
protocols = pop3
listen = 127.0.0.1
log_path = $work/dovecot.log
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:$work/mail/%u
pop3_uidl_format = $format
auth_mechanisms = plain
disable_plaintext_auth = no
ssl = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $work/passwd
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$work/home/%u
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $port
  }
}
CONF
  dovecot -c "$work/dovecot.conf"
  python3 - "$port" "$out/served-$name.txt" <<'PY'
import poplib, sys, time
port, target = int(sys.argv[1]), sys.argv[2]
for _ in range(100):
    try:
        p = poplib.POP3("127.0.0.1", port); break
    except OSError:
        time.sleep(0.1)
p.user("alice"); p.pass_("secret")
uidl = [l.decode() for l in p.uidl()[1]]
sizes = [l.decode() for l in p.list()[1]]
p.quit()
with open(target, "w") as f:
    f.write("# UIDL\n" + "\n".join(uidl) + "\n# LIST\n" + "\n".join(sizes) + "\n")
PY
  kill "$(cat "$work/run/master.pid")"
  while [ -e "$work/run/master.pid" ] && kill -0 "$(cat "$work/run/master.pid")" 2>/dev/null; do sleep 0.1; done
}

echo 'alice:{PLAIN}secret' > "$work/passwd"
mkdir -p "$work/home/alice"
chown -R mail:mail "$work/home"

# 1. Dovecot writes dovecot-uidlist itself (version 3) at the first login; served under several formats.
out="$here/dovecot-v3"
rm -rf "$out"; mkdir -p "$out"
make_maildir "$work/mail/alice"
chown -R mail:mail "$work/mail"
serve default '%08Xu%08Xv'
serve uid-dot-validity '%v.%u'
serve hex-upper-width '%Xv-%4Xu'
serve filename '%f'
serve guid '%g'
serve literal-text 'UID%u-%v'
cp -a "$work/mail/alice" "$out/Maildir"

# 2. A version 3 list with P (POP3 UIDL) fields, as migration scripts write them: the P value is served
#    as is, an empty P means the file name; records without P use the format.
out="$here/dovecot-v3-pop3-field"
rm -rf "$out"; mkdir -p "$out"
awk 'NR==1 {print; next} $1==1 {sub(/ :/, " Pold-server-0001 :")} $1==2 {sub(/ :/, " P :")} $1==4 {sub(/ :/, " POLD.UIDL.four :")} {print}' \
  "$here/dovecot-v3/Maildir/dovecot-uidlist" > "$work/mail/alice/dovecot-uidlist"
cp "$work/mail/alice/dovecot-uidlist" "$out/dovecot-uidlist.input"
chown mail:mail "$work/mail/alice/dovecot-uidlist"
serve default '%08Xu%08Xv'
cp -a "$work/mail/alice" "$out/Maildir"
cp "$out/dovecot-uidlist.input" "$out/Maildir/dovecot-uidlist"

# 3. A version 1 list (Dovecot 1.0, Courier's courierimapuiddb): Dovecot 2.3 reads it and serves from it.
out="$here/dovecot-v1"
rm -rf "$out"; mkdir -p "$out"
rm -rf "$work/mail/alice"; make_maildir "$work/mail/alice"
{
  echo '1 1234567890 40'
  echo "7 $(basename "$work"/mail/alice/new/1700000001.*)"
  echo '9 1700000002.M101P200.fixture'
  echo '12 1700000003.M102P200.fixture:2,S'
  echo "30 $(basename "$work"/mail/alice/new/1700000004.*)"
} > "$work/mail/alice/dovecot-uidlist"
cp "$work/mail/alice/dovecot-uidlist" "$out/dovecot-uidlist.input"
chown -R mail:mail "$work/mail"
serve default '%08Xu%08Xv'
cp -a "$work/mail/alice" "$out/Maildir"
cp "$out/dovecot-uidlist.input" "$out/Maildir/dovecot-uidlist"

chown -R --reference="$here" "$here"
# Only the messages and dovecot-uidlist matter; Dovecot's own indexes are left out.
find "$here" \( -name 'dovecot.index*' -o -name 'dovecot.list.index*' -o -name 'dovecot-uidvalidity*' \) -delete
dovecot --version > "$here/dovecot-version.txt"
echo "fixtures written under $here"

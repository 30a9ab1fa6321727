#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the real clients the tests drive
# (curl, Python's poplib and smtplib, openssl s_client, swaks for LMTP, fail2ban-regex for the README's
# fail2ban filter, HAProxy for the PROXY protocol, Dovecot for the migration tests) and the PostgreSQL server the PostgreSQL store's tests start for themselves,
# restores NuGet packages, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v flock >/dev/null 2>&1 || need+=(util-linux)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v swaks >/dev/null 2>&1 || need+=(swaks)
# The mbox store's locking tests deliver with real procmail and hold dotlocks with lockfile/dotlockfile.
command -v procmail >/dev/null 2>&1 || need+=(procmail)
command -v dotlockfile >/dev/null 2>&1 || need+=(liblockfile-bin)
command -v fail2ban-regex >/dev/null 2>&1 || need+=(fail2ban)
# kill(1) as a program, not the shell builtin: the tests signal `restante serve` and Dovecot with it (procps,
# which minimal images leave out).
{ [ -x /bin/kill ] || [ -x /usr/bin/kill ]; } || need+=(procps)
# ip(8) adds the dummy interface below for the plaintext-policy tests (minimal images lack iproute2).
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# ICU: the CLI and the tests run with globalization on (PRECIS normalisation of UTF-8 names and passwords,
# RFC 6856). The SDK normally brings it; say so explicitly rather than rely on another package's dependency.
ldconfig -p 2>/dev/null | grep -q 'libicuuc\.so' || need+=(libicu-dev)
# A real Dovecot 2.3 (started by the migration tests on its own loopback port, never the system instance)
# serves the UIDLs Restante must keep serving after the move.
[ -x /usr/sbin/dovecot ] || need+=(dovecot-pop3d)
# systemd-analyze verifies packaging/restante.service (the package is not started inside a container).
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# HAProxy in TCP mode (send-proxy, send-proxy-v2) in front of a real server: the PROXY protocol tests.
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
# The tests run initdb/pg_ctl from /usr/lib/postgresql/<version>/bin in a temporary directory; no
# system cluster is used (the package may start one; it is left alone).
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || need+=(postgresql)
# Native AOT (packaging/test-published.sh, which CI runs after this script) links with clang and zlib.
command -v clang >/dev/null 2>&1 || need+=(clang)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  fi
fi

# The plaintext-login policy tests connect from a non-loopback address. As root, give them one on a
# dummy interface; elsewhere (or if the kernel has no dummy driver) they use another address of this
# host, or are skipped with the reason.
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1 && ! ip link show restante0 >/dev/null 2>&1; then
  { ip link add restante0 type dummy && ip addr add 10.77.0.1/32 dev restante0 && ip link set restante0 up; } >/dev/null 2>&1 \
    || echo "note: could not add the dummy interface restante0; the plaintext-policy tests use another local address or are skipped"
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet restore Restante.slnx
dotnet build Restante.slnx --no-restore -c Release
dotnet test Restante.slnx --no-build -c Release "$@"

# The test kit's packages (Restante.Testing depends on the Restante package, so that is packed too), and
# the `restante` command as a .NET tool (`dotnet tool install --add-source artifacts Restante.Cli`).
for project in src/Restante src/Restante.Testing src/Restante.Testing.Xunit src/Restante.Cli; do
  dotnet pack "$project" --no-build -c Release -o artifacts
done

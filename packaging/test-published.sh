#!/usr/bin/env bash
# Runs the tests that start the `restante` program as a process against a published executable instead
# of `dotnet Restante.Cli.dll`: proof that the Native AOT (or ReadyToRun) build lost no feature.
# Usage: packaging/test-published.sh [--aot | --r2r] [dotnet test options...]   (default --aot)
# Publishes for this machine's RID with packaging/publish.sh, builds the tests, and runs the process
# test classes with RESTANTE_TEST_CLI set (tests/Restante.Tests/Infrastructure/CliUnderTest.cs).
# Needs what test.sh installs (PostgreSQL, Dovecot, HAProxy, ...), and for --aot clang and zlib1g-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=--aot
if [[ ${1:-} == --aot || ${1:-} == --r2r ]]; then mode=$1; shift; fi
case $(uname -m) in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) echo "unsupported machine $(uname -m)" >&2; exit 69 ;; esac
packaging/publish.sh "$mode" "$rid"
executable=$PWD/artifacts/publish/$rid/restante
[[ $mode == --aot ]] && executable=$PWD/artifacts/publish-aot/$rid/restante

# Every test class that starts the program (serve with Maildir, mbox and PostgreSQL, TLS and resumption,
# LMTP, deliver, user and db commands, reload on SIGHUP, the control socket, config check, metrics,
# systemd notify, migrations), and the checks that the executable is the one under test.
classes=(
  PublishedExecutableTests ProcessTests ConfigCheckTests ReloadProcessTests ControlSocketTests
  TlsProcessTests TlsResumptionTests LmtpProcessTests DeliverCommandTests JsonLogFormatTests
  MetricsEndpointTests SystemdUnitTests PasswdFileOwnershipTests MboxServeTests HaproxyTests
  PostgresCliTests PostgresStartupTests PostgresUserTests PostgresStoreTests MultiNodeTests
  Postgres.MaildirMigrationTests MaildirPolicyTests PostgresPolicyTests
  ImportUidlsCommandTests MaildirToMaildirTests UidlGuardTests DovecotFixtureTests MboxMigrationTests
  CrashConsistencyTests DescriptorExhaustionTests HashingFloodTests LogInjectionTests
)
filter=""
for c in "${classes[@]}"; do filter+="${filter:+|}FullyQualifiedName~.$c."; done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build tests/Restante.Tests -c Release
RESTANTE_TEST_CLI=$executable dotnet test tests/Restante.Tests --no-build -c Release --filter "$filter" "$@"

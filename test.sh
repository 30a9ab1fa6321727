#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the real clients the tests drive
# (curl, Python's poplib and smtplib, swaks for LMTP), restores NuGet packages, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v flock >/dev/null 2>&1 || need+=(util-linux)
command -v swaks >/dev/null 2>&1 || need+=(swaks)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet restore Restante.slnx
dotnet build Restante.slnx --no-restore -c Release
dotnet test Restante.slnx --no-build -c Release "$@"

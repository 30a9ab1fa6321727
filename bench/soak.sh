#!/usr/bin/env bash
# Soak test (issue: survives abuse and faults). Builds the server and the soak driver in Release,
# then runs: bench/soak.sh [--duration SECONDS] [--concurrency N] [--users N] [--seed N]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Restante.Cli -c Release --nologo -v quiet
dotnet build bench/Restante.Soak -c Release --nologo -v quiet
exec dotnet bench/Restante.Soak/bin/Release/net10.0/Restante.Soak.dll \
  --server src/Restante.Cli/bin/Release/net10.0/Restante.Cli.dll "$@"

#!/usr/bin/env bash
# Builds `restante` as self-contained single-file executables (no .NET runtime needed on the target):
#   artifacts/publish/linux-x64/restante  and  artifacts/publish/linux-arm64/restante
# Usage: packaging/publish.sh [RID...]   (default: linux-x64 linux-arm64)
set -euo pipefail
cd "$(dirname "$0")/.."

rids=("$@")
[ ${#rids[@]} -gt 0 ] || rids=(linux-x64 linux-arm64)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
for rid in "${rids[@]}"; do
  out="artifacts/publish/$rid"
  # ReadyToRun: our assemblies and the NuGet ones (Npgsql, OpenTelemetry, System.CommandLine,
  # Microsoft.Extensions.*) are compiled ahead of time as the runtime's own already are, so `serve`
  # does not JIT its start-up path (bench/startup.sh). The IL stays in the file: nothing is lost.
  dotnet publish src/Restante.Cli -c Release -r "$rid" --self-contained \
    -p:PublishSingleFile=true -p:PublishReadyToRun=true -o "$out"
  # The assembly keeps its project name (a global AssemblyName would rename the libraries too);
  # the command people type is `restante`.
  mv -f "$out/Restante.Cli" "$out/restante"
  echo "published $out/restante"
done

#!/usr/bin/env bash
# Builds `restante` as a self-contained executable (no .NET runtime needed on the target):
#   artifacts/publish/linux-x64/restante  and  artifacts/publish/linux-arm64/restante
# Usage: packaging/publish.sh [--aot | --r2r] [RID...]   (default: --r2r, linux-x64 linux-arm64)
#   --r2r  single file with ReadyToRun code (the default; see bench/RESULTS-aot.md for why)
#   --aot  Native AOT: one native executable, no JIT at all. Needs clang and zlib1g-dev, and builds only
#          for the machine's own architecture (cross-compiling needs that target's sysroot and linker).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=r2r
rids=()
for arg in "$@"; do
  case $arg in
    --aot) mode=aot ;;
    --r2r) mode=r2r ;;
    -*) echo "unknown option $arg" >&2; exit 64 ;;
    *) rids+=("$arg") ;;
  esac
done
[ ${#rids[@]} -gt 0 ] || rids=(linux-x64 linux-arm64)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
for rid in "${rids[@]}"; do
  out="artifacts/publish/$rid"
  if [ "$mode" = aot ]; then
    out="artifacts/publish-aot/$rid"
    # Native AOT: the whole program compiled to machine code and trimmed; the libraries are marked
    # IsAotCompatible and configuration is bound by generated code, so the build has no trim or AOT
    # warning (warnings are errors). The process tests run against the result with
    # packaging/test-published.sh. Restante.Cli.dbg beside it holds the symbols for gdb/perf
    # (found by the name recorded in the executable: keep the two names).
    dotnet publish src/Restante.Cli -c Release -r "$rid" -p:PublishAot=true -o "$out"
  else
    # ReadyToRun: our assemblies and the NuGet ones (Npgsql, OpenTelemetry, System.CommandLine,
    # Microsoft.Extensions.*) are compiled ahead of time as the runtime's own already are, so `serve`
    # does not JIT its start-up path (bench/startup.sh). The IL stays in the file, and tiered
    # compilation still re-JITs hot code with the profile it gathers.
    dotnet publish src/Restante.Cli -c Release -r "$rid" --self-contained \
      -p:PublishSingleFile=true -p:PublishReadyToRun=true -o "$out"
  fi
  # The assembly keeps its project name (a global AssemblyName would rename the libraries too);
  # the command people type is `restante`.
  mv -f "$out/Restante.Cli" "$out/restante"
  echo "published $out/restante"
done

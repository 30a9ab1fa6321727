#!/usr/bin/env bash
# Start-up of `restante serve`: time from exec to the first accepted connection (its +OK greeting
# read), to the first completed login (USER/PASS answered +OK), the CPU time the server used up to
# that login (the figure to trust on a loaded machine), and the idle RSS/PSS/private memory 2 s after it.
#   bench/startup.sh [--runs N] [NAME=COMMAND ...]
# COMMAND is how to start restante (the serve arguments are appended), e.g.
#   fdd="dotnet src/Restante.Cli/bin/Release/net10.0/Restante.Cli.dll"
#   r2r=artifacts/publish/linux-x64/restante   aot=artifacts/publish-aot/linux-x64/restante
# Default: this tree's framework-dependent build, plus artifacts/publish/linux-x64/restante when
# packaging/publish.sh has made it, and artifacts/publish-aot/linux-x64/restante (publish.sh --aot). Runs alternate between the commands; medians are reported.
# Environment: BENCH_PORT_BASE  the loopback POP3 port used, LMTP on the next (default 22610).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=5
COMMANDS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=$2; shift ;;
    *=*) COMMANDS+=("$1") ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
  shift
done
if [[ ${#COMMANDS[@]} -eq 0 ]]; then
  dotnet build -c Release src/Restante.Cli --nologo -v quiet >/dev/null
  COMMANDS=("framework-dependent=dotnet src/Restante.Cli/bin/Release/net10.0/Restante.Cli.dll")
  [[ -x artifacts/publish/linux-x64/restante ]] && COMMANDS+=("published=artifacts/publish/linux-x64/restante")
  [[ -x artifacts/publish-aot/linux-x64/restante ]] && COMMANDS+=("native-aot=artifacts/publish-aot/linux-x64/restante")
fi
echo "load before: $(uptime)" >&2
python3 - "$RUNS" "${BENCH_PORT_BASE:-22610}" "${COMMANDS[@]}" <<'PY'
import os, shlex, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

runs, port = int(sys.argv[1]), int(sys.argv[2])
commands = [c.split('=', 1) for c in sys.argv[3:]]

def read_line(sock, deadline):
    data = b''
    while not data.endswith(b'\r\n'):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(512)
        if not chunk: raise IOError('connection closed')
        data += chunk
    return data.decode()

def memory(pid):
    # Private (clean + dirty): the pages only this process maps, what a second server would add.
    rss = pss = private = 0
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmRSS:'): rss = int(line.split()[1])
    for line in open(f'/proc/{pid}/smaps_rollup'):
        if line.startswith('Pss:'): pss = int(line.split()[1])
        if line.startswith(('Private_Clean:', 'Private_Dirty:')): private += int(line.split()[1])
    return rss, pss, private

def cpu_ms(pid):
    # utime + stime (fields 14 and 15 of /proc/PID/stat, after the parenthesised name), in ms:
    # unlike wall time, barely moved by other processes on a loaded machine.
    fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf('SC_CLK_TCK')

def once(command):
    data = tempfile.mkdtemp(prefix='restante-startup.')
    try:
        with open(os.path.join(data, 'passwd'), 'w') as f: f.write('bench:{PLAIN}x\n')
        argv = shlex.split(command) + ['serve', '--data', data, '--pop3', f'127.0.0.1:{port}',
                                       '--lmtp', f'127.0.0.1:{port + 1}', '--log-level', 'Warning']
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = started + 60
        try:
            while True:
                if proc.poll() is not None: raise RuntimeError(f'{command} exited: {proc.stderr.read().decode()[-500:]}')
                if time.monotonic() > deadline: raise RuntimeError(f'{command}: no listener after 60 s')
                try:
                    sock = socket.create_connection(('127.0.0.1', port), timeout=1)
                    break
                except OSError:
                    time.sleep(0.002)
            greeting = read_line(sock, deadline)
            accepted = time.monotonic() - started
            assert greeting.startswith('+OK'), greeting
            sock.sendall(b'USER bench\r\n'); assert read_line(sock, deadline).startswith('+OK')
            sock.sendall(b'PASS x\r\n'); reply = read_line(sock, deadline)
            assert reply.startswith('+OK'), reply
            login = time.monotonic() - started
            cpu = cpu_ms(proc.pid)
            sock.sendall(b'QUIT\r\n'); read_line(sock, deadline); sock.close()
            time.sleep(2)   # idle: what a server that has served one session keeps
            rss, pss, private = memory(proc.pid)
            return accepted * 1000, login * 1000, cpu, rss / 1024, pss / 1024, private / 1024
        finally:
            proc.send_signal(signal.SIGTERM)
            try: proc.wait(10)
            except subprocess.TimeoutExpired: proc.kill(); proc.wait()
    finally:
        shutil.rmtree(data, ignore_errors=True)

results = {name: [] for name, _ in commands}
for _ in range(runs):
    for name, command in commands:
        results[name].append(once(command))
print(f"{'build':<22} {'first connection ms':>20} {'first login ms':>20} {'CPU to login ms':>18} {'idle RSS MB':>12} {'idle PSS MB':>12} {'idle private MB':>16}   (median of {runs}; [min-max])")
for name, rows in results.items():
    cols = list(zip(*rows))
    cell = lambda v, f: f"{statistics.median(v):{f}} [{min(v):.0f}-{max(v):.0f}]"
    print(f"{name:<22} {cell(cols[0], '.0f'):>20} {cell(cols[1], '.0f'):>20} {cell(cols[2], '.0f'):>18} {cell(cols[3], '.1f'):>12} {cell(cols[4], '.1f'):>12} {cell(cols[5], '.1f'):>16}")
PY
echo "load after: $(uptime)" >&2

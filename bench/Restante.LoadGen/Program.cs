using Restante.LoadGen;

// Restante.LoadGen: a lean POP3 load generator for loopback benchmarks. See bench/README.md.
try
{
    var options = Options.Parse(args);
    return options.Mode switch
    {
        "login" => await SessionModes.RunAsync(options, SessionModes.LoginAsync),
        "retr" => await SessionModes.RunAsync(options, SessionModes.RetrAsync),
        "big" => await BigMode.RunAsync(options),
        "idle" => await IdleMode.RunAsync(options),
        "memory" => MemoryMode.Run(options),
        "report" => Report.Run(options),
        _ => throw new ArgumentException($"unknown mode '{options.Mode}' (login, retr, big, idle, memory, report)"),
    };
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync($"loadgen: {ex.Message}");
    await Console.Error.WriteLineAsync("""
        usage: Restante.LoadGen MODE [options]
          modes: login | retr | big | idle | memory | report RESULTS.jsonl... [--out FILE.md]
          --host 127.0.0.1 --port 1110 [--tls | --tls-resume]   implicit TLS, any certificate accepted;
                 --tls: a full handshake per connection; --tls-resume: each worker resumes its last session
          --concurrency N  --duration S  --warmup S | --warmup-sessions N  --timeout S (per session)
          --rounds N (sessions per worker; big: measured logins)
          --prime-logins N --deliver MAILDIR [--deliver-size 2048] --skip-list   (big)
          --users FILE | --user NAME --password PW | --user-prefix P --user-count N [--user-digits 4] --password PW
          --server-pid PID[,PID]   sample the server's memory (descendants included)
          --noop-interval S (0: none while held) --ramp N --source-addresses N --ready-file F   (idle)
          --server NAME --case NAME --round N --metric KEY=NUMBER --out FILE.jsonl (tags, append)
        """);
    return 2;
}

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
        "report" => Report.Run(options),
        _ => throw new ArgumentException($"unknown mode '{options.Mode}' (login, retr, big, idle, report)"),
    };
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync($"loadgen: {ex.Message}");
    await Console.Error.WriteLineAsync("""
        usage: Restante.LoadGen MODE [options]
          modes: login | retr | big | idle | report RESULTS.jsonl... [--out FILE.md]
          --host 127.0.0.1 --port 1110 [--tls | --tls-resume]   implicit TLS, any certificate accepted;
                 --tls: a full handshake per connection; --tls-resume: each worker resumes its last session
          --concurrency N  --duration S  --warmup S  --timeout S (per session)  --rounds N (sessions per worker; big: logins)
          --users FILE | --user NAME --password PW | --user-prefix P --user-count N [--user-digits 4] --password PW
          --server-pid PID[,PID]   sample the server's memory (descendants included)
          --noop-interval S --ramp N   (idle)     --server NAME --case NAME --round N --out FILE.jsonl (tags, append)
        """);
    return 2;
}

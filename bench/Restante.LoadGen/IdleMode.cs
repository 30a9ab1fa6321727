namespace Restante.LoadGen;

/// <summary>
/// idle: opens C authenticated sessions (one user each), holds them for --duration with a NOOP
/// from each every --noop-interval seconds, and reports the server's memory per held session:
/// (RSS or PSS with the sessions held − before any) / sessions, summed over the server's processes.
/// </summary>
internal static class IdleMode
{
    private static readonly byte[] Noop = "NOOP\r\n"u8.ToArray();
    private static readonly byte[] Quit = "QUIT\r\n"u8.ToArray();

    public static async Task<int> RunAsync(Options o)
    {
        if (o.Concurrency > o.Users.Count)
            throw new ArgumentException($"idle needs one user per session: --concurrency {o.Concurrency}, {o.Users.Count} users");
        var before = ServerMemory.Read(o.ServerPids);
        var stats = new WorkerStats();
        var sessions = new Pop3Connection?[o.Concurrency];
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(o.DurationSeconds + o.TimeoutSeconds + 60));

        // Ramp up, at most --ramp logins in flight.
        var t0 = Clock.Now;
        using (var gate = new SemaphoreSlim(o.RampConcurrency))
        {
            var opening = new Task[o.Concurrency];
            for (var i = 0; i < o.Concurrency; i++)
            {
                var n = i;
                await gate.WaitAsync(stop.Token);
                opening[i] = Task.Run(async () =>
                {
                    try { sessions[n] = await OpenAsync(o, o.Users[n], stats, stop.Token); }
                    finally { gate.Release(); }
                });
            }
            await Task.WhenAll(opening);
        }
        var rampSeconds = Clock.Ms(Clock.Now - t0) / 1000;
        var held = sessions.Count(s => s is not null);

        // Hold: each session NOOPs on its own timer, offset so they do not all fire together.
        var holdUntil = Clock.Now + Clock.Ticks(o.DurationSeconds);
        var latencies = new Latencies();
        var noopLock = new Lock();
        var noopErrors = 0;
        var loops = new List<Task>();
        for (var i = 0; i < sessions.Length; i++)
        {
            if (sessions[i] is not { } c) continue;
            var offset = TimeSpan.FromSeconds(o.NoopIntervalSeconds * i / sessions.Length);
            loops.Add(Task.Run(async () =>
            {
                await Task.Delay(offset, stop.Token);
                while (Clock.Now < holdUntil)
                {
                    var t = Clock.Now;
                    try
                    {
                        await c.SendAsync(Noop, stop.Token);
                        await c.ExpectOkAsync("NOOP", stop.Token);
                    }
                    catch (Exception ex) when (ex is Pop3ProtocolException or IOException or OperationCanceledException)
                    {
                        Interlocked.Increment(ref noopErrors);
                        return;
                    }
                    lock (noopLock) latencies.Add(Clock.Now - t);
                    var left = holdUntil - Clock.Now;
                    if (left <= 0) break;
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(o.NoopIntervalSeconds, left / (double)System.Diagnostics.Stopwatch.Frequency)), stop.Token);
                }
            }));
        }
        // Sample once everything is established and has answered at least one NOOP.
        var sampleAt = TimeSpan.FromSeconds(Math.Min(o.DurationSeconds, o.NoopIntervalSeconds + 1));
        await Task.Delay(sampleAt, stop.Token);
        var during = ServerMemory.Read(o.ServerPids);
        await Task.WhenAll(loops);
        var atEnd = ServerMemory.Read(o.ServerPids);

        foreach (var c in sessions)
        {
            if (c is null) continue;
            try
            {
                await c.SendAsync(Quit, stop.Token);
                await c.ExpectOkAsync("QUIT", stop.Token);
            }
            catch (Exception ex) when (ex is Pop3ProtocolException or IOException or OperationCanceledException)
            {
                // Counted as NOOP failures already if the session was gone.
            }
            await c.DisposeAsync();
        }

        var r = new Result(o);
        if (noopErrors > 0) stats.Fail("noop", $"{noopErrors} sessions failed a NOOP");
        r.AddErrors(stats.Errors, stats.FirstError);
        var pct = Latencies.Percentiles([latencies], 0.5, 0.99, 1.0);
        var mem = during.RssKb >= atEnd.RssKb ? during : atEnd;
        var perRss = held > 0 ? (mem.RssKb - before.RssKb) / (double)held : 0;
        var perPss = held > 0 ? (mem.PssKb - before.PssKb) / (double)held : 0;
        // Private pages (clean + dirty) are the cleanest figure for a .NET server: its PSS also moves
        // when other processes mapping the same runtime files (this load generator, builds) come and go.
        var perPrivate = held > 0 ? (mem.PrivateKb - before.PrivateKb) / (double)held : 0;
        r.Set("held", held);
        r.Set("ramp_s", rampSeconds);
        r.Set("hold_s", o.DurationSeconds);
        r.Set("p50_ms", pct[0]);
        r.Set("p99_ms", pct[1]);
        r.Set("noops", latencies.Count);
        r.Set("server_processes", mem.Processes);
        r.Set("rss_before_kb", before.RssKb);
        r.Set("pss_before_kb", before.PssKb);
        r.Set("rss_held_kb", mem.RssKb);
        r.Set("pss_held_kb", mem.PssKb);
        r.Set("rss_per_session_kb", perRss);
        r.Set("pss_per_session_kb", perPss);
        r.Set("private_per_session_kb", perPrivate);
        r.Set("rss_total_per_session_kb", held > 0 ? mem.RssKb / (double)held : 0);
        r.Set("pss_total_per_session_kb", held > 0 ? mem.PssKb / (double)held : 0);
        r.Say($"{held} of {o.Concurrency} sessions held for {o.DurationSeconds:F0} s (ramp {rampSeconds:F1} s), {latencies.Count} NOOPs p50 {pct[0]:F2} ms p99 {pct[1]:F2} ms");
        if (o.ServerPids.Count > 0)
            r.Say($"server ({mem.Processes} processes): RSS {before.RssKb / 1024.0:F1} → {mem.RssKb / 1024.0:F1} MB, PSS {before.PssKb / 1024.0:F1} → {mem.PssKb / 1024.0:F1} MB; per session +{perRss:F1} KB RSS, +{perPss:F1} KB PSS, +{perPrivate:F1} KB private");
        else
            r.Say("no --server-pid given: memory not measured");
        r.Print();
        return r.ErrorCount == 0 && held > 0 ? 0 : 1;
    }

    private static async Task<Pop3Connection?> OpenAsync(Options o, (string Name, byte[] User, byte[] Pass) user, WorkerStats stats, CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(o.TimeoutSeconds));
        Pop3Connection? c = null;
        try
        {
            c = await Pop3Connection.ConnectAsync(o.EndPoint, TlsClient.For(o, worker: 0), 1024, timeout.Token);
            await c.ExpectOkAsync("greeting", timeout.Token);
            await c.SendAsync(user.User, timeout.Token);
            await c.ExpectOkAsync("USER", timeout.Token);
            await c.SendAsync(user.Pass, timeout.Token);
            await c.ExpectOkAsync("PASS for " + user.Name, timeout.Token);
            return c;
        }
        catch (Exception ex) when (ex is Pop3ProtocolException or IOException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            lock (stats) stats.Fail(ex is Pop3ProtocolException p ? p.Kind : ex is OperationCanceledException ? "timeout" : "io", ex.Message);
            if (c is not null) await c.DisposeAsync();
            return null;
        }
    }
}

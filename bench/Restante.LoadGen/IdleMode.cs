namespace Restante.LoadGen;

/// <summary>
/// idle: opens C authenticated sessions (one user each), holds them for --duration with a NOOP
/// from each every --noop-interval seconds, and reports the server's memory per held session:
/// (RSS or PSS with the sessions held − before any) / sessions, summed over the server's processes.
/// --noop-interval 0: no NOOPs while holding (the sessions are truly idle, so other load measured
/// meanwhile is not mixed with NOOP traffic), then one NOOP from every session at the end to prove
/// it is still there. --ready-file is written once all are logged in and memory is sampled.
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
                    try { sessions[n] = await OpenAsync(o, o.Users[n], o.SourceFor(n), stats, stop.Token); }
                    finally { gate.Release(); }
                });
            }
            await Task.WhenAll(opening);
        }
        var rampSeconds = Clock.Ms(Clock.Now - t0) / 1000;
        var held = sessions.Count(s => s is not null);

        // Hold: each session NOOPs on its own timer, offset so they do not all fire together.
        var holdFrom = Clock.Now;
        var holdUntil = holdFrom + Clock.Ticks(o.DurationSeconds);
        var latencies = new Latencies();
        var noopLock = new Lock();
        var noopErrors = 0;
        var loops = new List<Task>();
        for (var i = 0; i < sessions.Length && o.NoopIntervalSeconds > 0; i++)
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
        // Sample once everything is established and has answered at least one NOOP (or, without
        // NOOPs, after two seconds of quiet).
        var sampleAt = TimeSpan.FromSeconds(Math.Min(o.DurationSeconds, o.NoopIntervalSeconds > 0 ? o.NoopIntervalSeconds + 1 : 2));
        await Task.Delay(sampleAt, stop.Token);
        var during = ServerMemory.Read(o.ServerPids);
        if (o.ReadyFile is not null) await File.WriteAllTextAsync(o.ReadyFile, $"{held}\n", stop.Token);
        if (o.NoopIntervalSeconds > 0) await Task.WhenAll(loops);
        else
        {
            // Hold until the end, or until the script says the load it ran meanwhile is done (READY.done).
            var done = o.ReadyFile is null ? null : o.ReadyFile + ".done";
            while (Clock.Now < holdUntil && !(done is not null && File.Exists(done)))
                await Task.Delay(100, stop.Token);
            noopErrors += await NoopEachAsync(sessions, o.RampConcurrency, latencies, noopLock, stop.Token);
        }
        var atEnd = ServerMemory.Read(o.ServerPids);
        var heldSeconds = Clock.Ms(Clock.Now - holdFrom) / 1000;

        await Parallel.ForEachAsync(sessions, new ParallelOptions { MaxDegreeOfParallelism = o.RampConcurrency }, async (c, _) =>
        {
            if (c is null) return;
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
        });

        var r = new Result(o);
        if (noopErrors > 0) stats.Fail("noop", $"{noopErrors} sessions failed a NOOP");
        r.AddErrors(stats.Errors, stats.FirstError);
        var pct = Latencies.Percentiles([latencies], 0.5, 0.99, 1.0);
        // With a ready file, other load runs after the first sample: only that sample is the idle figure.
        var mem = o.ReadyFile is not null || during.RssKb >= atEnd.RssKb ? during : atEnd;
        var perRss = held > 0 ? (mem.RssKb - before.RssKb) / (double)held : 0;
        var perPss = held > 0 ? (mem.PssKb - before.PssKb) / (double)held : 0;
        // Private pages (clean + dirty) are the cleanest figure for a .NET server: its PSS also moves
        // when other processes mapping the same runtime files (this load generator, builds) come and go.
        var perPrivate = held > 0 ? (mem.PrivateKb - before.PrivateKb) / (double)held : 0;
        r.Set("held", held);
        r.Set("ramp_s", rampSeconds);
        r.Set("hold_s", heldSeconds);
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
        r.Say($"{held} of {o.Concurrency} sessions held for {heldSeconds:F0} s (ramp {rampSeconds:F1} s), {latencies.Count} NOOPs p50 {pct[0]:F2} ms p99 {pct[1]:F2} ms");
        if (o.ServerPids.Count > 0)
            r.Say($"server ({mem.Processes} processes): RSS {before.RssKb / 1024.0:F1} → {mem.RssKb / 1024.0:F1} MB, PSS {before.PssKb / 1024.0:F1} → {mem.PssKb / 1024.0:F1} MB; per session +{perRss:F1} KB RSS, +{perPss:F1} KB PSS, +{perPrivate:F1} KB private");
        else
            r.Say("no --server-pid given: memory not measured");
        r.Print();
        return r.ErrorCount == 0 && held > 0 ? 0 : 1;
    }

    /// <summary>One NOOP from every held session, at most <paramref name="parallel"/> at a time; returns the failures.</summary>
    private static async Task<int> NoopEachAsync(Pop3Connection?[] sessions, int parallel, Latencies latencies, Lock latencyLock, CancellationToken stop)
    {
        var failures = 0;
        await Parallel.ForEachAsync(sessions, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (c, _) =>
        {
            if (c is null) return;
            var t = Clock.Now;
            try
            {
                await c.SendAsync(Noop, stop);
                await c.ExpectOkAsync("NOOP", stop);
                lock (latencyLock) latencies.Add(Clock.Now - t);
            }
            catch (Exception ex) when (ex is Pop3ProtocolException or IOException or OperationCanceledException)
            {
                Interlocked.Increment(ref failures);
            }
        });
        return failures;
    }

    private static async Task<Pop3Connection?> OpenAsync(Options o, (string Name, byte[] User, byte[] Pass) user, System.Net.IPEndPoint? source, WorkerStats stats, CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(o.TimeoutSeconds));
        Pop3Connection? c = null;
        try
        {
            c = await Pop3Connection.ConnectAsync(o.EndPoint, TlsClient.For(o, worker: 0), 1024, timeout.Token, source);
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

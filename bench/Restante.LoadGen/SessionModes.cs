namespace Restante.LoadGen;

/// <summary>
/// The closed-loop modes: each of C workers runs one session after another until the deadline.
/// Worker w only uses users w, w+C, w+2C…, so no two sessions ever contend for one mailbox lock.
/// </summary>
internal static class SessionModes
{
    public delegate ValueTask SessionAsync(Context context, Pop3Connection connection, (string Name, byte[] User, byte[] Pass) user, CancellationToken ct);

    public sealed class Context(Options options, WorkerStats stats, MeasureWindow window)
    {
        public Options Options { get; } = options;
        public WorkerStats Stats { get; } = stats;
        public MeasureWindow Window { get; } = window;
        public long Deadline => Window.Deadline;
        public MessageSizes Sizes { get; } = new();

        public bool InWindow(long t) => Window.Contains(t);
    }

    public static async Task<int> RunAsync(Options o, SessionAsync session)
    {
        if (o.Concurrency > o.Users.Count)
            throw new ArgumentException($"--concurrency {o.Concurrency} needs at least as many users (have {o.Users.Count}): one session per mailbox");
        var window = o.WarmupSessions > 0 && o.Rounds == 0
            ? MeasureWindow.AfterSessions(o.WarmupSessions, o.DurationSeconds)
            : MeasureWindow.AfterSeconds(o.Rounds > 0 ? 0 : o.WarmupSeconds, o.DurationSeconds);
        var bufferSize = o.Mode == "retr" ? 64 * 1024 : 8 * 1024;
        var stats = new WorkerStats[o.Concurrency];
        await using var rss = new RssSampler(o.ServerPids);
        var workers = new Task[o.Concurrency];
        for (var w = 0; w < o.Concurrency; w++)
        {
            var ctx = new Context(o, stats[w] = new WorkerStats(), window);
            var first = w;
            workers[w] = Task.Run(() => WorkerAsync(ctx, first, session, bufferSize));
        }
        await Task.WhenAll(workers);
        var measureFrom = window.MeasureFrom;
        var end = Math.Min(window.Deadline, stats.Max(s => s.LastEventTicks));
        if (end <= measureFrom) end = Clock.Now;
        await rss.DisposeAsync();

        var seconds = (end - measureFrom) / (double)System.Diagnostics.Stopwatch.Frequency;
        var r = new Result(o);
        foreach (var s in stats) r.AddErrors(s.Errors, s.FirstError);
        var sessions = stats.Sum(s => s.Sessions);
        var sessionPct = Latencies.Percentiles(stats.Select(s => s.SessionLatency), 0.5, 0.99, 1.0);
        r.Set("duration_s", seconds);
        if (o.WarmupSessions > 0) r.Set("warmup_sessions", window.WarmupSessionsDone);
        else r.Set("warmup_s", o.Rounds > 0 ? 0 : o.WarmupSeconds);
        r.Set("sessions", sessions);
        r.Set("sessions_per_s", sessions / seconds);
        if (o.Tls)
        {
            var full = stats.Sum(s => s.TlsFull);
            var resumed = stats.Sum(s => s.TlsResumed);
            r.Set("tls_full_handshakes", full);
            r.Set("tls_resumed_handshakes", resumed);
            r.Say($"TLS handshakes in the window: {full} full, {resumed} resumed");
        }
        if (o.Mode == "retr")
        {
            var bytes = stats.Sum(s => s.Bytes);
            var messages = stats.Sum(s => s.Messages);
            var pct = Latencies.Percentiles(stats.Select(s => s.Latency), 0.5, 0.99, 1.0);
            r.Set("messages", messages);
            r.Set("payload_bytes", bytes);
            r.Set("mb_per_s", bytes / seconds / 1e6);
            r.Set("p50_ms", pct[0]);
            r.Set("p99_ms", pct[1]);
            r.Set("max_ms", pct[2]);
            r.Set("session_p50_ms", sessionPct[0]);
            r.Say($"{bytes / seconds / 1e6:F1} MB/s payload ({messages} messages, {bytes / 1e6:F1} MB, all sizes verified against LIST) in {seconds:F2} s");
            r.Say($"RETR latency p50 {pct[0]:F2} ms, p99 {pct[1]:F2} ms, max {pct[2]:F2} ms; {sessions / seconds:F1} sessions/s");
        }
        else
        {
            r.Set("p50_ms", sessionPct[0]);
            r.Set("p99_ms", sessionPct[1]);
            r.Set("max_ms", sessionPct[2]);
            r.Say($"{sessions / seconds:F1} sessions/s ({sessions} sessions in {seconds:F2} s)");
            r.Say($"session latency (connect … QUIT +OK) p50 {sessionPct[0]:F2} ms, p99 {sessionPct[1]:F2} ms, max {sessionPct[2]:F2} ms");
        }
        if (o.ServerPids.Count > 0)
        {
            r.Set("server_rss_before_kb", rss.BeforeKb);
            r.Set("server_rss_peak_kb", rss.PeakKb);
            r.Set("server_rss_after_kb", rss.AfterKb);
            r.Set("rss_growth_kb", rss.PeakKb - rss.BeforeKb);
            r.Say($"server RSS {rss.BeforeKb / 1024.0:F1} MB before, {rss.PeakKb / 1024.0:F1} MB peak (+{(rss.PeakKb - rss.BeforeKb) / 1024.0:F1} MB), {rss.AfterKb / 1024.0:F1} MB after");
        }
        r.Print();
        return r.ErrorCount == 0 && sessions > 0 ? 0 : 1;
    }

    private static async Task WorkerAsync(Context ctx, int first, SessionAsync session, int bufferSize)
    {
        var o = ctx.Options;
        var s = ctx.Stats;
        using var timeout = new CancellationTokenSource();
        var userIndex = first;
        var tls = TlsClient.For(o, first);
        var done = 0;
        while (Clock.Now < ctx.Deadline && (o.Rounds == 0 || done < o.Rounds))
        {
            var user = o.Users[userIndex];
            userIndex += o.Concurrency;
            if (userIndex >= o.Users.Count) userIndex = first;
            timeout.CancelAfter(TimeSpan.FromSeconds(o.TimeoutSeconds));
            var t0 = Clock.Now;
            try
            {
                await using (var connection = await Pop3Connection.ConnectAsync(o.EndPoint, tls, bufferSize, timeout.Token))
                {
                    await session(ctx, connection, user, timeout.Token);
                    var t1 = Clock.Now;
                    if (ctx.InWindow(t1))
                    {
                        s.Sessions++;
                        if (connection.ResumedHandshake == true) s.TlsResumed++;
                        else if (connection.ResumedHandshake == false) s.TlsFull++;
                        s.SessionLatency.Add(t1 - t0);
                        s.LastEventTicks = t1;
                    }
                    await connection.WaitForCloseAsync(timeout.Token);
                }
            }
            catch (Pop3ProtocolException ex)
            {
                s.Fail(ex.Kind, ex.Message);
                await Task.Delay(10);
            }
            catch (OperationCanceledException)
            {
                s.Fail("timeout", $"session not finished within {o.TimeoutSeconds} s");
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
            {
                s.Fail("io", ex.Message);
                await Task.Delay(10);
            }
            done++;
            ctx.Window.SessionDone();
            if (!timeout.TryReset()) break;
        }
    }

    private static async ValueTask LogInAsync(Pop3Connection c, (string Name, byte[] User, byte[] Pass) user, CancellationToken ct)
    {
        await c.ExpectOkAsync("greeting", ct);
        await c.SendAsync(user.User, ct);
        await c.ExpectOkAsync("USER " + user.Name, ct);
        await c.SendAsync(user.Pass, ct);
        await c.ExpectOkAsync("PASS for " + user.Name, ct);
    }

    /// <summary>login: connect, USER/PASS, STAT, QUIT.</summary>
    public static async ValueTask LoginAsync(Context ctx, Pop3Connection c, (string Name, byte[] User, byte[] Pass) user, CancellationToken ct)
    {
        await LogInAsync(c, user, ct);
        await c.SendAsync(Stat, ct);
        await c.ExpectStatAsync(ct);
        await c.SendAsync(Quit, ct);
        await c.ExpectOkAsync("QUIT", ct);
    }

    private static readonly byte[] Stat = "STAT\r\n"u8.ToArray();
    private static readonly byte[] List = "LIST\r\n"u8.ToArray();
    private static readonly byte[] Quit = "QUIT\r\n"u8.ToArray();

    /// <summary>retr: login, LIST, RETR every message (verified against LIST), QUIT without deleting.</summary>
    public static async ValueTask RetrAsync(Context ctx, Pop3Connection c, (string Name, byte[] User, byte[] Pass) user, CancellationToken ct)
    {
        await LogInAsync(c, user, ct);
        await c.SendAsync(List, ct);
        await c.ExpectOkAsync("LIST", ct);
        var sizes = ctx.Sizes;
        sizes.Clear();
        await c.ReadListingAsync(sizes, ct);
        var s = ctx.Stats;
        for (var i = 0; i < sizes.Count; i++)
        {
            if (Clock.Now >= ctx.Deadline) break;
            var t0 = Clock.Now;
            await c.SendAsync("RETR"u8, i + 1, ct);
            await c.ExpectOkAsync("RETR", ct);
            var octets = await c.ReadMessageAsync(ct);
            var t1 = Clock.Now;
            if (octets != sizes[i])
                throw new Pop3ProtocolException("size-mismatch", $"{user.Name} message {i + 1}: LIST said {sizes[i]} octets, RETR sent {octets}");
            if (ctx.InWindow(t1))
            {
                s.Messages++;
                s.Bytes += octets;
                s.Latency.Add(t1 - t0);
                s.LastEventTicks = t1;
            }
        }
        await c.SendAsync(Quit, ct);
        await c.ExpectOkAsync("QUIT", ct);
    }
}

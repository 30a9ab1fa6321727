namespace Restante.LoadGen;

/// <summary>
/// big: on one (huge) mailbox, time the login (where a server builds or reads its index), then
/// STAT, LIST (unless --skip-list) and a full UIDL, each to its last line. --prime-logins unmeasured
/// logins first, then --rounds measured ones; with --deliver, one message is dropped into the Maildir
/// before each measured login and STAT must count exactly one more message than the login before.
/// With --server-pid, the server's memory growth over the run is reported per message.
/// </summary>
internal static class BigMode
{
    private static readonly byte[] Stat = "STAT\r\n"u8.ToArray();
    private static readonly byte[] List = "LIST\r\n"u8.ToArray();
    private static readonly byte[] Uidl = "UIDL\r\n"u8.ToArray();
    private static readonly byte[] Quit = "QUIT\r\n"u8.ToArray();

    private sealed record Timing(double Login, double Stat, double List, double Uidl, double Total, double All, long Count);

    public static async Task<int> RunAsync(Options o)
    {
        var rounds = o.Rounds > 0 ? o.Rounds : 3;
        var user = o.Users[0];
        var deadline = Clock.Now + Clock.Ticks(o.DurationSeconds);
        var stats = new WorkerStats();
        var measured = new List<Timing>();
        Timing? first = null;
        var before = ServerMemory.Read(o.ServerPids);
        await using var rss = new RssSampler(o.ServerPids);
        long previous = -1;
        var refusals = 0;
        long? firstRefusedAt = null;
        double servedAfterMs = 0;
        for (var round = 0; round < o.PrimeLogins + rounds && Clock.Now < deadline; round++)
        {
            var priming = round < o.PrimeLogins;
            try
            {
                if (!priming && o.DeliverTo is not null) Delivery.Deliver(o.DeliverTo, o.DeliverSize, round);
                var t = await LoginOnceAsync(o, user, stats, retryTemporary: priming);
                if (ReferenceEquals(t, TemporarilyRefused))
                {
                    // A server may answer the first login on a huge never-seen Maildir with -ERR [SYS/TEMP] while it
                    // sizes the messages in the background (Restante does): a priming login is retried, as a
                    // client would, and the time until it got in is reported.
                    refusals++;
                    firstRefusedAt ??= Clock.Now;
                    round--;
                    await Task.Delay(TimeSpan.FromSeconds(2));
                    continue;
                }
                if (t is null) continue;
                if (round == 0 && firstRefusedAt is { } since) servedAfterMs = Clock.Ms(Clock.Now - since);
                if (!priming && o.DeliverTo is not null && previous >= 0 && t.Count != previous + 1)
                    stats.Fail("count-not-plus-one", $"one message delivered, but STAT went from {previous} to {t.Count} (a stale or partial listing)");
                previous = t.Count;
                if (round == 0) first = t;
                if (!priming) measured.Add(t);
            }
            catch (IOException ex) { stats.Fail("deliver", ex.Message); }
        }
        await rss.DisposeAsync();
        var after = ServerMemory.Read(o.ServerPids);

        var r = new Result(o);
        r.AddErrors(stats.Errors, stats.FirstError);
        var messages = measured.Count > 0 ? measured[^1].Count : first?.Count ?? 0;
        r.Set("user", user.Name);
        r.Set("messages", messages);
        r.Set("logins", measured.Count);
        r.Set("delivered_between_logins", o.DeliverTo is not null);
        r.Set("login_ms", Median(measured.Select(x => x.Login)));
        r.Set("stat_ms", Median(measured.Select(x => x.Stat)));
        if (!o.SkipList) r.Set("list_ms", Median(measured.Select(x => x.List)));
        r.Set("uidl_ms", Median(measured.Select(x => x.Uidl)));
        r.Set("total_ms", Median(measured.Select(x => x.Total)));
        r.Set("all_ms", Median(measured.Select(x => x.All)));
        r.Set("login_ms_each", measured.Select(x => x.Login).ToArray());
        r.Set("all_ms_each", measured.Select(x => x.All).ToArray());
        if (first is not null && o.PrimeLogins > 0)
        {
            r.Set("first_all_ms", first.All);
            r.Set("first_login_ms", first.Login);
            r.Set("first_temporary_refusals", refusals);
            r.Set("first_served_after_ms", servedAfterMs);
        }
        if (o.ServerPids.Count > 0 && messages > 0)
        {
            // Growth over the run, as bytes per message in the mailbox: the peak RSS (a Dovecot pop3
            // process lives only for its session) and the private memory still held after the last QUIT.
            r.Set("server_rss_before_kb", before.RssKb);
            r.Set("rss_peak_growth_kb", rss.PeakKb - before.RssKb);
            r.Set("private_growth_kb", after.PrivateKb - before.PrivateKb);
            r.Set("rss_peak_bytes_per_message", (rss.PeakKb - before.RssKb) * 1024.0 / messages);
            r.Set("private_bytes_per_message", (after.PrivateKb - before.PrivateKb) * 1024.0 / messages);
            r.Say($"server memory: RSS peak +{(rss.PeakKb - before.RssKb) / 1024.0:F1} MB ({(rss.PeakKb - before.RssKb) * 1024.0 / messages:F1} B/message), private after +{(after.PrivateKb - before.PrivateKb) / 1024.0:F1} MB ({(after.PrivateKb - before.PrivateKb) * 1024.0 / messages:F1} B/message)");
        }
        r.Say($"{user.Name}: {messages} messages, {measured.Count} measured logins (medians){(o.DeliverTo is not null ? ", one delivery before each" : "")}");
        r.Say($"PASS {Median(measured.Select(x => x.Login)):F1} ms  STAT {Median(measured.Select(x => x.Stat)):F1} ms  LIST {Median(measured.Select(x => x.List)):F1} ms  UIDL {Median(measured.Select(x => x.Uidl)):F1} ms");
        r.Say($"PASS…UIDL end {Median(measured.Select(x => x.All)):F1} ms" + (first is not null && o.PrimeLogins > 0 ? $"; first (priming) login: PASS…UIDL {first.All:F1} ms" : ""));
        r.Print();
        return r.ErrorCount == 0 && measured.Count > 0 ? 0 : 1;
    }

    /// <summary>What LoginOnceAsync returns for a login answered -ERR [SYS/TEMP] when it was asked to retry those.</summary>
    private static readonly Timing TemporarilyRefused = new(0, 0, 0, 0, 0, 0, -1);

    private static async Task<Timing?> LoginOnceAsync(Options o, (string Name, byte[] User, byte[] Pass) user, WorkerStats stats, bool retryTemporary = false)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(o.TimeoutSeconds));
        var ct = timeout.Token;
        try
        {
            await using var c = await Pop3Connection.ConnectAsync(o.EndPoint, TlsClient.For(o, worker: 0), 16 * 1024, ct);
            await c.ExpectOkAsync("greeting", ct);
            await c.SendAsync(user.User, ct);
            await c.ExpectOkAsync("USER", ct);
            var t0 = Clock.Now;
            await c.SendAsync(user.Pass, ct);
            await c.ExpectOkAsync("PASS", ct);
            var t1 = Clock.Now;
            await c.SendAsync(Stat, ct);
            var count = await c.ExpectStatAsync(ct);
            var t2 = Clock.Now;
            var listed = count;
            if (!o.SkipList)
            {
                await c.SendAsync(List, ct);
                await c.ExpectOkAsync("LIST", ct);
                listed = await c.ReadListingAsync(null, ct);
            }
            var t3 = Clock.Now;
            await c.SendAsync(Uidl, ct);
            await c.ExpectOkAsync("UIDL", ct);
            var uids = await c.ReadListingAsync(null, ct);
            var t4 = Clock.Now;
            if (listed != count || uids != count)
                throw new Pop3ProtocolException("count-mismatch", $"STAT {count}, LIST {listed} lines, UIDL {uids} lines");
            await c.SendAsync(Quit, ct);
            await c.ExpectOkAsync("QUIT", ct);
            await c.WaitForCloseAsync(ct);
            return new Timing(Clock.Ms(t1 - t0), Clock.Ms(t2 - t1), Clock.Ms(t3 - t2), Clock.Ms(t4 - t3), Clock.Ms(t4 - t1), Clock.Ms(t4 - t0), count);
        }
        catch (Pop3ProtocolException ex) when (retryTemporary && ex.Message.StartsWith("PASS: -ERR [SYS/TEMP]", StringComparison.Ordinal)) { return TemporarilyRefused; }
        catch (Pop3ProtocolException ex) { stats.Fail(ex.Kind, ex.Message); }
        catch (OperationCanceledException) { stats.Fail("timeout", $"login not finished within {o.TimeoutSeconds} s"); }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException) { stats.Fail("io", ex.Message); }
        return null;
    }

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return 0;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

namespace Restante.LoadGen;

/// <summary>
/// big: on one (huge) mailbox, time the login (where a server builds or reads its index), then
/// STAT, LIST and a full UIDL, each to its last line. --rounds logins, one after another; the
/// caller removes the servers' index files beforehand to measure a cold first login.
/// </summary>
internal static class BigMode
{
    private static readonly byte[] Stat = "STAT\r\n"u8.ToArray();
    private static readonly byte[] List = "LIST\r\n"u8.ToArray();
    private static readonly byte[] Uidl = "UIDL\r\n"u8.ToArray();
    private static readonly byte[] Quit = "QUIT\r\n"u8.ToArray();

    public static async Task<int> RunAsync(Options o)
    {
        var rounds = o.Rounds > 0 ? o.Rounds : 3;
        var user = o.Users[0];
        var deadline = Clock.Now + Clock.Ticks(o.DurationSeconds);
        var stats = new WorkerStats();
        var login = new List<double>();
        var stat = new List<double>();
        var list = new List<double>();
        var uidl = new List<double>();
        var total = new List<double>();
        var all = new List<double>();
        long messages = 0;
        var tls = TlsClient.For(o, worker: 0);
        for (var round = 0; round < rounds && Clock.Now < deadline; round++)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(o.TimeoutSeconds));
            var ct = timeout.Token;
            try
            {
                await using var c = await Pop3Connection.ConnectAsync(o.EndPoint, tls, 16 * 1024, ct);
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
                await c.SendAsync(List, ct);
                await c.ExpectOkAsync("LIST", ct);
                var listed = await c.ReadListingAsync(null, ct);
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
                messages = count;
                login.Add(Clock.Ms(t1 - t0));
                stat.Add(Clock.Ms(t2 - t1));
                list.Add(Clock.Ms(t3 - t2));
                uidl.Add(Clock.Ms(t4 - t3));
                total.Add(Clock.Ms(t4 - t1));
                all.Add(Clock.Ms(t4 - t0));
            }
            catch (Pop3ProtocolException ex) { stats.Fail(ex.Kind, ex.Message); }
            catch (OperationCanceledException) { stats.Fail("timeout", $"round not finished within {o.TimeoutSeconds} s"); }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException) { stats.Fail("io", ex.Message); }
        }

        var r = new Result(o);
        r.AddErrors(stats.Errors, stats.FirstError);
        r.Set("user", user.Name);
        r.Set("messages", messages);
        r.Set("logins", login.Count);
        r.Set("login_ms", Median(login));
        r.Set("stat_ms", Median(stat));
        r.Set("list_ms", Median(list));
        r.Set("uidl_ms", Median(uidl));
        r.Set("total_ms", Median(total));
        r.Set("all_ms", Median(all));
        r.Set("login_ms_each", login.ToArray());
        r.Set("total_ms_each", total.ToArray());
        r.Say($"{user.Name}: {messages} messages, {login.Count} logins (medians)");
        r.Say($"PASS {Median(login):F1} ms  STAT {Median(stat):F1} ms  LIST {Median(list):F1} ms  UIDL {Median(uidl):F1} ms");
        r.Say($"PASS…UIDL end {Median(all):F1} ms; first login: PASS {(login.Count > 0 ? login[0] : 0):F1} ms, STAT+LIST+UIDL {(total.Count > 0 ? total[0] : 0):F1} ms");
        r.Print();
        return r.ErrorCount == 0 && login.Count > 0 ? 0 : 1;
    }

    internal static double Median(List<double> xs)
    {
        if (xs.Count == 0) return 0;
        var sorted = xs.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

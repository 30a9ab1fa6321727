using System.Net;
using System.Text;

namespace Restante.Soak;

/// <summary>The two kinds of client the soak test runs: a POP3 user misbehaving at random, and an MTA delivering by LMTP.</summary>
internal sealed class Workers(IPEndPoint pop3, IPEndPoint lmtp, string[] users, string password, Dictionary<string, Ledger> ledgers, Counters counters)
{
    private static long s_nextId;

    public async Task Pop3SessionAsync(Random random, CancellationToken ct)
    {
        var user = users[random.Next(users.Length)];
        var ledger = ledgers[user];
        Interlocked.Increment(ref counters.Sessions);
        await using var c = await LineClient.ConnectAsync(pop3, ct);
        Expect(await c.ReadLineAsync(ct), "+OK");

        if (random.Next(100) < 15)
        {
            await c.SendAsync($"USER {user}", ct);
            Expect(await c.ReadLineAsync(ct), "+OK");
            await c.SendAsync("PASS not-the-password", ct);
            Expect(await c.ReadLineAsync(ct), "-ERR [AUTH]");
            Interlocked.Increment(ref counters.BadPasswords);
        }
        await c.SendAsync($"USER {user}", ct);
        Expect(await c.ReadLineAsync(ct), "+OK");
        await c.SendAsync($"PASS {password}", ct);
        var login = await c.ReadLineAsync(ct);
        if (login.StartsWith("-ERR [IN-USE]", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref counters.InUse);
            await c.SendAsync("QUIT", ct);
            return;
        }
        Expect(login, "+OK");
        Interlocked.Increment(ref counters.Logins);

        await c.SendAsync("LIST", ct);
        Expect(await c.ReadLineAsync(ct), "+OK");
        var sizes = (await c.ReadMultiLineAsync(ct)).Select(l => long.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var count = sizes.Count;

        // Read some messages whole and check each against its LIST size.
        for (var i = 0; i < Math.Min(count, random.Next(0, 3)); i++)
        {
            var n = random.Next(1, count + 1);
            await c.SendAsync($"RETR {n}", ct);
            Expect(await c.ReadLineAsync(ct), "+OK");
            if (random.Next(100) < 5)
            {
                // Hang up halfway through a download.
                Interlocked.Increment(ref counters.MidRetrDisconnects);
                c.Abort();
                return;
            }
            var body = await c.ReadMultiLineAsync(ct);
            var octets = body.Sum(l => (long)l.Length + 2);
            if (octets != sizes[n - 1]) Interlocked.Increment(ref counters.SizeMismatches);
            Interlocked.Increment(ref counters.Retrieved);
        }

        // Pick messages to delete and learn their ids from the header.
        var doomed = new List<string>();
        foreach (var n in Enumerable.Range(1, count).OrderBy(_ => random.Next()).Take(random.Next(0, 4)))
        {
            await c.SendAsync($"TOP {n} 0", ct);
            Expect(await c.ReadLineAsync(ct), "+OK");
            var id = SoakId(await c.ReadMultiLineAsync(ct));
            await c.SendAsync($"DELE {n}", ct);
            Expect(await c.ReadLineAsync(ct), "+OK");
            doomed.Add(id);
        }

        var ending = random.Next(100);
        if (ending < 20)
        {
            Interlocked.Increment(ref counters.AbruptDisconnects);
            c.Abort();
            return;
        }
        if (ending < 35)
        {
            await c.SendAsync("RSET", ct);
            Expect(await c.ReadLineAsync(ct), "+OK");
            doomed.Clear();
            Interlocked.Increment(ref counters.Rsets);
        }
        if (ending < 40) await c.SendAsync("GARBAGE \u00ff\0", ct);
        await c.SendAsync("QUIT", ct);
        ledger.Record(l => l.DeletionInDoubt.UnionWith(doomed));
        string? reply = null;
        try
        {
            if (ending < 40) Expect(await c.ReadLineAsync(ct), "-ERR");
            reply = await c.ReadLineAsync(ct);
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException)
        {
        }
        if (reply?.StartsWith("+OK", StringComparison.Ordinal) == true)
        {
            ledger.Record(l =>
            {
                l.DeletionInDoubt.ExceptWith(doomed);
                l.Deleted.UnionWith(doomed);
            });
            Interlocked.Increment(ref counters.QuitsConfirmed);
        }
        else
        {
            Interlocked.Increment(ref counters.QuitsInDoubt);
        }
    }

    public async Task DeliverAsync(Random random, CancellationToken ct)
    {
        var user = users[random.Next(users.Length)];
        var ledger = ledgers[user];
        var id = $"soak-{Interlocked.Increment(ref s_nextId)}";
        await using var c = await LineClient.ConnectAsync(lmtp, ct);
        Expect(await c.ReadLineAsync(ct), "220");
        await c.SendAsync("LHLO soak.test", ct);
        while (true)
        {
            var line = await c.ReadLineAsync(ct);
            if (line.StartsWith("250 ", StringComparison.Ordinal)) break;
            Expect(line, "250-");
        }
        await c.SendAsync("MAIL FROM:<soak@soak.test>", ct);
        Expect(await c.ReadLineAsync(ct), "250");
        await c.SendAsync($"RCPT TO:<{user}@soak.test>", ct);
        Expect(await c.ReadLineAsync(ct), "250");
        await c.SendAsync("DATA", ct);
        Expect(await c.ReadLineAsync(ct), "354");

        var message = new StringBuilder();
        message.Append($"X-Soak-Id: {id}\r\nSubject: soak {id}\r\n\r\n");
        var lines = random.Next(1, 400);
        for (var i = 0; i < lines; i++)
            message.Append(i % 7 == 0 ? "..leading dot line\r\n" : $"line {i} of {id} {new string('x', random.Next(0, 120))}\r\n");
        var bytes = Encoding.ASCII.GetBytes(message.ToString());

        if (random.Next(100) < 10)
        {
            // Drop the connection mid-DATA: nothing of this message may ever appear.
            await c.SendRawAsync(bytes.AsMemory(0, bytes.Length / 2), ct);
            Interlocked.Increment(ref counters.AbortedDeliveries);
            c.Abort();
            return;
        }
        ledger.Record(l => l.DeliveryInDoubt.Add(id));
        await c.SendRawAsync(bytes, ct);
        await c.SendAsync(".", ct);
        string? reply = null;
        try
        {
            reply = await c.ReadLineAsync(ct);
            await c.SendAsync("QUIT", ct);
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException)
        {
        }
        if (reply?.StartsWith("250", StringComparison.Ordinal) == true)
        {
            ledger.Record(l =>
            {
                l.DeliveryInDoubt.Remove(id);
                l.Delivered.Add(id);
            });
            Interlocked.Increment(ref counters.Deliveries);
        }
        else
        {
            Interlocked.Increment(ref counters.DeliveriesInDoubt);
        }
    }

    internal static string SoakId(IEnumerable<string> header)
        => header.First(l => l.StartsWith("X-Soak-Id: ", StringComparison.Ordinal))["X-Soak-Id: ".Length..];

    private void Expect(string line, string prefix)
    {
        if (line.StartsWith(prefix, StringComparison.Ordinal)) return;
        Interlocked.Increment(ref counters.UnexpectedReplies);
        throw new UnexpectedReplyException($"expected {prefix}, got {line}");
    }
}

internal sealed class UnexpectedReplyException(string message) : Exception(message);

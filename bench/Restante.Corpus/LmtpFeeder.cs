using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Restante.Corpus;

/// <summary>
/// Delivers the wire-form mailboxes over LMTP (RFC 2033), so each server stores them the way its own delivery does:
/// Restante with CRLF line ends, marked for sendfile (base,S=n,W=n,P=n, mode 0400); Dovecot as it saves any delivery.
/// The messages come from the same generator and seed as the Maildir corpus, but with no line starting with '.'
/// (nothing to byte-stuff: a message a POP3 server may send as stored). Users: wire0000… (COUNT messages of SIZE
/// each) and wire1mb (LARGE-COUNT messages of LARGE-SIZE).
/// </summary>
internal static class LmtpFeeder
{
    public static async Task<(long Messages, long Bytes)> DeliverAsync(CorpusOptions o)
    {
        var jobs = new List<(string User, int Count, int Size, int Salt)>();
        for (var u = 0; u < o.WireUsers; u++) jobs.Add((WireUser(u), o.Messages, o.Size, 400_000 + u));
        if (o.WireLargeCount > 0) jobs.Add(("wire1mb", o.WireLargeCount, o.LargeSize, 400_999));
        long messages = 0, bytes = 0;
        await Parallel.ForEachAsync(jobs, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (job, ct) =>
        {
            var (m, b) = await DeliverMailboxAsync(o.Lmtp!, job.User, job.Count, job.Size, o.Seed * 1_000_003 + job.Salt, ct);
            Interlocked.Add(ref messages, m);
            Interlocked.Add(ref bytes, b);
        });
        return (messages, bytes);
    }

    public static string WireUser(int u) => "wire" + u.ToString("D4", CultureInfo.InvariantCulture);

    private static async Task<(long, long)> DeliverMailboxAsync(IPEndPoint server, string user, int count, int size, int seed, CancellationToken ct)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        await socket.ConnectAsync(server, timeout.Token);
        await using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream, Encoding.ASCII, false, 4096, leaveOpen: true);
        await ExpectAsync(reader, "220", "greeting");
        await stream.WriteAsync("LHLO corpus.example\r\n"u8.ToArray(), timeout.Token);
        await ExpectAsync(reader, "250", "LHLO");
        var random = new Random(seed);
        var builder = new MessageBuilder(random);
        var time = 1_700_000_000L + random.Next(0, 86_400);
        long bytes = 0;
        for (var i = 0; i < count; i++)
        {
            time += random.Next(1, 40);
            var size1 = size <= 4096 ? size / 2 + random.Next(0, size) : size * 8 / 10 + random.Next(0, size * 4 / 10);
            var message = builder.Build(user, time, random.Next(0, 1_000_000), size1, dotLines: false);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"MAIL FROM:<sender@example.net>\r\nRCPT TO:<{user}>\r\nDATA\r\n"), timeout.Token);
            await ExpectAsync(reader, "250", "MAIL");
            await ExpectAsync(reader, "250", "RCPT");
            await ExpectAsync(reader, "354", "DATA");
            var wire = Wire(message);
            await stream.WriteAsync(wire, timeout.Token);
            await ExpectAsync(reader, "250", $"{user} message {i + 1}");   // LMTP: one reply per recipient (RFC 2033 §4.2)
            bytes += wire.Length - 3;
        }
        await stream.WriteAsync("QUIT\r\n"u8.ToArray(), timeout.Token);
        await ExpectAsync(reader, "221", "QUIT");
        return (count, bytes);
    }

    /// <summary>The DATA body: CRLF line ends, a leading '.' doubled (RFC 5321 §4.5.2; none here, but a client must), ".".</summary>
    private static byte[] Wire(byte[] message)
    {
        var output = new MemoryStream(message.Length + message.Length / 32 + 8);
        var atLineStart = true;
        foreach (var b in message)
        {
            if (atLineStart && b == '.') output.WriteByte((byte)'.');
            if (b == '\n') output.WriteByte((byte)'\r');
            output.WriteByte(b);
            atLineStart = b == '\n';
        }
        if (!atLineStart) output.Write("\r\n"u8);
        output.Write(".\r\n"u8);
        return output.ToArray();
    }

    private static async Task ExpectAsync(StreamReader reader, string code, string what)
    {
        while (true)
        {
            var line = await reader.ReadLineAsync() ?? throw new IOException($"LMTP {what}: connection closed");
            if (!line.StartsWith(code, StringComparison.Ordinal)) throw new IOException($"LMTP {what}: {line}");
            if (line.Length < 4 || line[3] != '-') return;   // the last line of a multi-line reply
        }
    }
}

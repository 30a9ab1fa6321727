using System.Globalization;
using System.Text;

namespace Restante.Corpus;

/// <summary>
/// One user's Maildir as Postfix's local(8) leaves it: messages in new/ with LF line ends, named
/// <c>TIME.VdevIinodeMmicro.host</c> (Postfix's "%lu.V%lxI%lxM%lu.%s") with no <c>,S=</c>/<c>,W=</c>,
/// so a server must read each message once to learn its POP3 size. Deterministic for a seed.
/// </summary>
internal static class MaildirWriter
{
    private const long BaseTime = 1_700_000_000;   // 2023-11-14, so names sort by time as they would

    public static (long Files, long Bytes) Write(string maildir, int count, int targetSize, int seed)
    {
        foreach (var sub in (string[])["new", "cur", "tmp"]) Directory.CreateDirectory(Path.Combine(maildir, sub));
        var random = new Random(seed);
        var message = new MessageBuilder(random);
        var time = BaseTime + random.Next(0, 86_400);
        var inode = 0x40000L + (long)random.Next(0, 0x10000) * 0x100;
        long bytes = 0;
        for (var i = 0; i < count; i++)
        {
            // Several deliveries a minute; a few in the same second, as on a busy host.
            time += random.Next(0, 4) == 0 ? 0 : random.Next(1, 40);
            inode += random.Next(1, 9);
            var micro = random.Next(0, 1_000_000);
            var name = string.Create(CultureInfo.InvariantCulture, $"{time}.V801I{inode:x}M{micro}.mx1");
            // ±20% around the target size, so sizes differ (and so do LIST lines).
            var size = targetSize <= 4096 ? targetSize / 2 + random.Next(0, targetSize) : targetSize * 8 / 10 + random.Next(0, targetSize * 4 / 10);
            var body = message.Build(Path.GetFileName(maildir), time, micro, size);
            File.WriteAllBytes(Path.Combine(maildir, "new", name), body);
            bytes += body.Length;
        }
        return (count, bytes);
    }
}

/// <summary>Plausible mail text: headers an MTA writes, then body lines, some starting with '.'.</summary>
internal sealed class MessageBuilder(Random random)
{
    private static readonly string[] Words =
    [
        "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not",
        "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were",
        "mailbox", "server", "delivery", "message", "queue", "invoice", "meeting", "report", "quarterly", "budget",
        "attached", "please", "review", "schedule", "tomorrow", "regards", "thanks", "project", "release", "draft",
        "résumé", "naïve", "Grüße", "café", "über", "déjà", "coöperation", "façade",
    ];

    private static readonly string[] Names = ["Alice Martin", "Bob Dupont", "Carol Weber", "Dan Okafor", "Eve Rossi", "Frank Novak", "Grace Lee", "Hiro Tanaka"];
    private static readonly string[] Domains = ["example.com", "example.org", "example.net", "mail.example.com"];
    private static readonly string[] Subjects = ["Quarterly report", "Re: meeting tomorrow", "Invoice 2023-114", "Fwd: release notes", "Lunch?", "Re: Re: budget draft", "Build failed on main", "Your order has shipped"];

    private readonly StringBuilder _text = new();

    /// <param name="dotLines">False: no line starts with '.', as in most real mail (a quoted-printable encoder never
    /// starts a line with one), so the message needs no byte-stuffing; the random sequence stays the same.</param>
    public byte[] Build(string user, long time, int micro, int size, bool dotLines = true)
    {
        var sb = _text.Clear();
        var from = Names[random.Next(Names.Length)];
        var fromAddr = from.Split(' ')[0].ToLowerInvariant() + "@" + Domains[random.Next(Domains.Length)];
        var date = DateTimeOffset.FromUnixTimeSeconds(time).ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
        var qid = ((long)random.Next() << 8 | (uint)random.Next(256)).ToString("X10", CultureInfo.InvariantCulture);
        sb.Append(CultureInfo.InvariantCulture, $"Return-Path: <{fromAddr}>\n");
        sb.Append(CultureInfo.InvariantCulture, $"X-Original-To: {user}@example.com\n");
        sb.Append(CultureInfo.InvariantCulture, $"Delivered-To: {user}@example.com\n");
        sb.Append(CultureInfo.InvariantCulture, $"Received: from out.{Domains[random.Next(Domains.Length)]} (out.example.net [192.0.2.{random.Next(1, 255)}])\n\tby mx1.example.com (Postfix) with ESMTPS id {qid}\n\tfor <{user}@example.com>; {date}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Received: by out.example.net (Postfix, from userid 1000)\n\tid {qid[2..]}A; {date}\n");
        sb.Append(CultureInfo.InvariantCulture, $"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=mail;\n\tt={time}; bh={Base64(32)};\n\th=From:To:Subject:Date:Message-ID;\n\tb={Base64(64)}\n\t {Base64(64)}\n\t {Base64(44)}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Message-ID: <{time}.{micro}.{random.Next():x}@example.net>\n");
        sb.Append(CultureInfo.InvariantCulture, $"Date: {date}\n");
        sb.Append(CultureInfo.InvariantCulture, $"From: {from} <{fromAddr}>\n");
        sb.Append(CultureInfo.InvariantCulture, $"To: {user}@example.com\n");
        sb.Append(CultureInfo.InvariantCulture, $"Subject: {Subjects[random.Next(Subjects.Length)]}\n");
        sb.Append("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n");
        while (sb.Length < size)
        {
            var roll = random.Next(60);
            if (!dotLines && roll <= 2) roll = 5;
            if (roll == 0) sb.Append(".\n");                         // a lone dot: must be stuffed or it ends the message
            else if (roll == 1) sb.Append("..double dot\n");
            else if (roll == 2) sb.Append(".leading dot ").Append(Words[random.Next(Words.Length)]).Append('\n');
            else if (roll == 3) sb.Append('\n');
            else if (roll == 4) sb.Append("> ");                    // quoted, continues below
            if (roll <= 3) continue;
            var target = random.Next(40, 77);
            var start = sb.Length;
            while (sb.Length - start < target) sb.Append(Words[random.Next(Words.Length)]).Append(' ');
            sb.Length--;
            sb.Append('\n');
        }
        sb.Append("-- \nSent from the benchmark corpus\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private string Base64(int bytes)
    {
        var b = new byte[bytes];
        random.NextBytes(b);
        return Convert.ToBase64String(b);
    }
}

using System.Globalization;
using System.Text;

namespace Restante.LoadGen;

/// <summary>
/// Drops one message into a Maildir the way an MTA's Maildir delivery does (Postfix's virtual(8) and
/// local(8), maildir(5)): written under tmp/, then renamed into new/, LF line ends, no ,S= in the name.
/// The same for every server, so the "one delivery between logins" case asks each to notice a file
/// it did not write. Names carry ".bench-delivery" so a script can remove them again.
/// </summary>
internal static class Delivery
{
    public const string Marker = "bench-delivery";

    public static string Deliver(string maildir, int size, int sequence)
    {
        var now = DateTimeOffset.UtcNow;
        var name = string.Create(CultureInfo.InvariantCulture,
            $"{now.ToUnixTimeSeconds()}.M{now.Ticks / 10 % 1_000_000}P{Environment.ProcessId}Q{sequence}.{Marker}");
        var tmp = Path.Combine(maildir, "tmp", name);
        File.WriteAllBytes(tmp, Message(now, sequence, size));
        File.Move(tmp, Path.Combine(maildir, "new", name));
        return name;
    }

    private static byte[] Message(DateTimeOffset now, int sequence, int size)
    {
        var sb = new StringBuilder(size + 128);
        sb.Append("Return-Path: <sender@example.net>\n");
        sb.Append("Delivered-To: bench@example.com\n");
        sb.Append(CultureInfo.InvariantCulture, $"Message-ID: <{now.ToUnixTimeMilliseconds()}.{sequence}@bench.example.net>\n");
        sb.Append(CultureInfo.InvariantCulture, $"Date: {now:ddd, dd MMM yyyy HH:mm:ss} +0000\n");
        sb.Append("From: Sender <sender@example.net>\nTo: bench@example.com\n");
        sb.Append(CultureInfo.InvariantCulture, $"Subject: delivery {sequence} between logins\n\n");
        while (sb.Length < size) sb.Append("one more line of a message delivered while the mailbox is polled\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }
}

using System.Globalization;
using System.Text;

namespace Restante.Delivery;

/// <summary>
/// The header lines put in front of each delivered copy: Return-Path (RFC 5321 §4.4: the final
/// delivery records the reverse-path), Delivered-To (RFC 9228: which address this copy was for,
/// also how MTAs detect loops), and a Received line when the message came over the network
/// (RFC 5321 §4.4: a server receiving a message MUST add one). LF line ends, as the message is stored.
/// </summary>
public static class TraceHeaders
{
    public static byte[] Build(DeliveryEnvelope envelope, LocalRecipient recipient, string hostname, DateTimeOffset now)
    {
        var text = new StringBuilder(256);
        text.Append("Return-Path: <").Append(Clean(envelope.Sender)).Append(">\n");
        text.Append("Delivered-To: ").Append(Clean(recipient.Address)).Append('\n');
        if (envelope.Protocol is { } protocol)
        {
            // RFC 5321 §4.4: "from" the name the client gave and its address, "by" us, "with" the
            // protocol (RFC 3848), "id", "for" the recipient of this copy, then the date.
            text.Append("Received: from ").Append(Clean(envelope.ClientName ?? "unknown"));
            if (envelope.Peer is { } peer) text.Append(" (").Append(Clean(peer)).Append(')');
            text.Append("\n\tby ").Append(Clean(hostname)).Append(" (Restante) with ").Append(protocol)
                .Append(" id ").Append(Clean(envelope.QueueId))
                .Append("\n\tfor <").Append(Clean(recipient.Address)).Append(">; ")
                .Append(FormatDate(now)).Append('\n');
        }
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>RFC 5322 §3.3 date-time, e.g. "Tue, 01 Jul 2025 12:00:00 +0000".</summary>
    public static string FormatDate(DateTimeOffset time)
    {
        var offset = time.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        var abs = offset.Duration();
        return string.Create(CultureInfo.InvariantCulture,
            $"{time.ToString("ddd, dd MMM yyyy HH:mm:ss", CultureInfo.InvariantCulture)} {sign}{abs.Hours:00}{abs.Minutes:00}");
    }

    /// <summary>Client-supplied text in a header: printable ASCII only, never a line break, bounded.</summary>
    private static string Clean(string text)
    {
        var limit = Math.Min(text.Length, 256);
        var clean = new StringBuilder(limit);
        for (var i = 0; i < limit; i++)
        {
            var c = text[i];
            clean.Append(c is >= ' ' and <= '~' ? c : '?');
        }
        return clean.ToString();
    }
}

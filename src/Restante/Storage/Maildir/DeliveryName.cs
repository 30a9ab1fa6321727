using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Restante.Storage.Maildir;

/// <summary>
/// Unique Maildir names for new mail, in the modern form of the Maildir spec:
/// <c>&lt;seconds&gt;.M&lt;microseconds&gt;P&lt;pid&gt;Q&lt;counter&gt;R&lt;random&gt;.&lt;host&gt;</c>.
/// Time, pid and a process-wide counter make it unique on one host; the random part covers pid
/// reuse after a crash and clocks that step back; the host covers shared storage.
/// </summary>
internal static class DeliveryName
{
    private static readonly string _host = EscapeHost(System.Net.Dns.GetHostName());
    private static long _counter;

    public static string Create(TimeProvider time)
    {
        var now = time.GetUtcNow();
        var ticks = now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = ticks / TimeSpan.TicksPerSecond;
        var microseconds = ticks % TimeSpan.TicksPerSecond / TimeSpan.TicksPerMicrosecond;
        var counter = Interlocked.Increment(ref _counter);
        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        // Microseconds padded to six digits: arrival order compares base names ordinally after the
        // seconds, and "M99999" would otherwise sort after "M100000" within the same second.
        return string.Create(CultureInfo.InvariantCulture,
            $"{seconds}.M{microseconds:D6}P{Environment.ProcessId}Q{counter}R{Convert.ToHexStringLower(random)}.{_host}");
    }

    /// <summary>
    /// The Maildir spec's escapes: '/' would make a path and ':' starts the info. ',' is escaped
    /// too (as Dovecot does) because it starts the fields that carry S= and W=.
    /// </summary>
    internal static string EscapeHost(string host)
    {
        if (host.Length == 0) return "localhost";
        var escaped = new StringBuilder(host.Length);
        foreach (var c in host)
        {
            _ = c switch
            {
                '/' => escaped.Append(@"\057"),
                ':' => escaped.Append(@"\072"),
                ',' => escaped.Append(@"\054"),
                _ => escaped.Append(c),
            };
        }
        return escaped.ToString();
    }
}

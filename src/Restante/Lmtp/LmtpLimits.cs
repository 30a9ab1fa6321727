namespace Restante.Lmtp;

/// <summary>How delivery sessions behave (configuration section <c>LmtpLimits</c>, for LMTP and SMTP). Every default says where it comes from.</summary>
public sealed class LmtpLimits : ISettingsSection
{
    /// <summary>RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets, CRLF included. Commands get the same ceiling.</summary>
    public const int MaxLine = 1000;

    /// <summary>RFC 5321 §4.5.3.2.7: a server should wait at least 5 minutes for the next command.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A client that stops reading replies for this long is disconnected.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The longest one DATA section may take, from the 354 to the final ".". The idle timeout alone
    /// restarts with every byte, so a client trickling a byte a minute would hold the connection and
    /// its spool forever. 15 minutes carries MaxMessageSize (50 MB) over a 1 Mbit/s link twice over;
    /// RFC 5321 §4.5.3.2.6 has the client wait 10 minutes for the reply after the ".".
    /// </summary>
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>RFC 5321 §4.5.3.1.8: at least 100 recipients per message must be accepted.</summary>
    public int MaxRecipients { get; set; } = 100;

    /// <summary>After this many errors in a row the server says 421 and closes (same as the POP3 side).</summary>
    public int MaxBadCommands { get; set; } = 10;

    /// <summary>The validation errors, naming the key; empty when all is well.</summary>
    public IEnumerable<string> Validate()
    {
        if (IdleTimeout <= TimeSpan.Zero) yield return "LmtpLimits:IdleTimeout must be positive.";
        if (WriteTimeout <= TimeSpan.Zero) yield return "LmtpLimits:WriteTimeout must be positive.";
        if (DataTimeout <= TimeSpan.Zero) yield return "LmtpLimits:DataTimeout must be positive.";
        if (MaxRecipients < 100) yield return "LmtpLimits:MaxRecipients must be at least 100 (RFC 5321 section 4.5.3.1.8).";
        if (MaxBadCommands < 1) yield return "LmtpLimits:MaxBadCommands must be at least 1.";
    }
}

namespace Restante.Lmtp;

/// <summary>How delivery sessions behave. Every default says where it comes from.</summary>
public sealed class LmtpLimits
{
    /// <summary>RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets, CRLF included. Commands get the same ceiling.</summary>
    public const int MaxLine = 1000;

    /// <summary>RFC 5321 §4.5.3.2.7: a server should wait at least 5 minutes for the next command.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A client that stops reading replies for this long is disconnected.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>RFC 5321 §4.5.3.1.8: at least 100 recipients per message must be accepted.</summary>
    public int MaxRecipients { get; set; } = 100;

    /// <summary>After this many errors in a row the server says 421 and closes (same as the POP3 side).</summary>
    public int MaxBadCommands { get; set; } = 10;
}

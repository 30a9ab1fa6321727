namespace Restante.Networking;

/// <summary>
/// How many connections one kind of delivery listener (LMTP or SMTP) holds at once, apart from the
/// POP3 limits so that neither side can take the other's file descriptors. Bound from the sections
/// <c>LmtpConnections</c> and <c>SmtpConnections</c>; loopback and <c>TrustedNetworks</c> are exempt
/// from the per-address limit as on POP3, never from the total.
/// </summary>
public sealed class ListenerConnectionLimits : ISettingsSection
{
    /// <summary>
    /// All connections on all listeners of this kind. Dovecot's default_process_limit (100) is the
    /// number of LMTP deliveries it runs at once; an MTA queues what does not fit and retries.
    /// </summary>
    public int MaxConnections { get; set; } = 100;

    /// <summary>Per client address: 2.5 times Postfix's default of 20 parallel deliveries to one destination.</summary>
    public int MaxConnectionsPerIp { get; set; } = 50;

    /// <param name="section">The configuration section, to name the key in the message.</param>
    public IEnumerable<string> Validate(string section)
    {
        if (MaxConnections < 1) yield return $"{section}:MaxConnections must be at least 1.";
        if (MaxConnectionsPerIp < 1) yield return $"{section}:MaxConnectionsPerIp must be at least 1.";
    }
}

namespace Restante.Networking;

/// <summary>
/// TCP keepalive on POP3 connections (section <c>TcpKeepAlive</c>). A client that vanished without a FIN (a phone
/// that lost its network, a laptop put to sleep) leaves a session waiting for a command, holding the mailbox lock,
/// until the autologout timer fires; RFC 1939 §3 puts that at ten minutes at least. With keepalive the kernel
/// probes the silent peer and the pending read fails after <see cref="Time"/> + <see cref="Interval"/> ×
/// <see cref="RetryCount"/> without an answer (110 s with the defaults), which ends the session without UPDATE and
/// frees the mailbox. A live client answers the probes at the TCP level and is never disturbed.
/// </summary>
public sealed class TcpKeepAliveOptions : ISettingsSection
{
    public bool Enabled { get; set; } = true;

    /// <summary>Silence before the first probe (TCP_KEEPIDLE). Linux's default is two hours, far too long for a lock.</summary>
    public TimeSpan Time { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Between unanswered probes (TCP_KEEPINTVL).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Unanswered probes before the connection is declared dead (TCP_KEEPCNT).</summary>
    public int RetryCount { get; set; } = 5;

    public IEnumerable<string> Validate()
    {
        if (!Enabled) yield break;
        if (Time < TimeSpan.FromSeconds(1)) yield return "TcpKeepAlive:Time must be at least 1 second.";
        if (Interval < TimeSpan.FromSeconds(1)) yield return "TcpKeepAlive:Interval must be at least 1 second.";
        if (RetryCount is < 1 or > 127) yield return "TcpKeepAlive:RetryCount must be between 1 and 127.";
    }
}

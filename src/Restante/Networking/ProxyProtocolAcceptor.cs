using System.Net;
using Microsoft.Extensions.Logging;

namespace Restante.Networking;

/// <summary>
/// The start of a connection on a listener that expects a PROXY protocol header (haproxy
/// doc/proxy-protocol.txt): only a trusted load balancer may send it, and it must arrive whole and
/// well-formed before the server's greeting. Shared by every listener that enables the protocol,
/// whatever it speaks (POP3, POP3S, LMTP, SMTP): in each the server speaks first (RFC 1939 §4,
/// RFC 5321 §3.1), so the header always precedes anything either side says.
/// </summary>
public sealed partial class ProxyProtocolAcceptor
{
    private readonly TrustedNetworks _balancers;
    private readonly ILogger _logger;

    /// <param name="balancers">Who may send a header; loopback only if listed.</param>
    public ProxyProtocolAcceptor(TrustedNetworks balancers, ILogger logger)
    {
        _balancers = balancers;
        _logger = logger;
    }

    /// <summary>A balancer sends the header at once; this only bounds a peer that connects and says nothing.</summary>
    public TimeSpan HeaderTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The client a trusted load balancer names in its header (or the connection's own peer for a
    /// LOCAL/UNKNOWN header, HAProxy's health checks), or null when the connection is to be closed:
    /// an untrusted sender, a malformed header, or none within <see cref="HeaderTimeout"/>.
    /// </summary>
    public async Task<EndPoint?> ReadClientAsync(Stream stream, EndPoint? connectedFrom, CancellationToken stopping)
    {
        if (connectedFrom is not IPEndPoint balancer || !_balancers.Contains(balancer.Address))
        {
            Untrusted(_logger, connectedFrom);
            return null;
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(HeaderTimeout);
        ProxyHeaderResult header;
        try
        {
            header = await ProxyHeaderReader.ReadAsync(stream, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            header = ProxyHeaderResult.Invalid("no PROXY header in time");
        }
        catch (IOException ex)
        {
            header = ProxyHeaderResult.Invalid(ex.GetBaseException().Message);
        }
        if (!header.IsValid)
        {
            Rejected(_logger, connectedFrom, header.Error);
            return null;
        }
        return header.Source ?? connectedFrom;
    }

    [LoggerMessage(26, LogLevel.Warning, "Closed a connection from {Peer}: PROXY protocol is on and the peer is not in ProxyTrustedNetworks", EventName = "ProxyHeaderUntrusted")]
    private static partial void Untrusted(ILogger logger, EndPoint? peer);

    [LoggerMessage(27, LogLevel.Warning, "Closed a connection from {Peer}: {Reason}", EventName = "ProxyHeaderRejected")]
    private static partial void Rejected(ILogger logger, EndPoint? peer, string? reason);
}

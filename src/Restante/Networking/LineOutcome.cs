namespace Restante.Networking;

/// <summary>What a <see cref="LineConnection"/> does after a protocol has handled a line.</summary>
internal enum LineOutcome
{
    Continue,
    Close,
    /// <summary>Flush, drop whatever the client pipelined in the clear, and hand over to <see cref="ILineProtocol.StartTlsAsync"/>.</summary>
    StartTls,
}

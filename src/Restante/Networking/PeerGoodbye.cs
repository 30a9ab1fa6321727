namespace Restante.Networking;

/// <summary>The last line to a peer that is leaving or being sent away: best effort, never blocking for long.</summary>
internal static class PeerGoodbye
{
    public static async ValueTask TrySendAsync(Stream transport, byte[] line)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await transport.WriteAsync(line, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or NotSupportedException)
        {
            // The peer is gone or not reading; there is nobody left to tell.
        }
    }
}

using System.IO.Pipelines;

namespace Restante.Networking;

/// <summary>
/// How much reply a session may hold unsent before it stops running pipelined commands. Sessions
/// flush once per batch of input (STYLE §3); a client that pipelines thousands of cheap commands
/// (CAPA, LHLO: a few octets in, a few hundred out) and never reads would otherwise make the server
/// buffer a whole batch's replies. Past the mark the session flushes at once and runs the next
/// command only when the client has taken the replies: the flush is where the write timeout
/// drops a client that never reads.
/// </summary>
internal static class PendingOutput
{
    /// <summary>One output segment's worth (the POP3 writer's minimum buffer).</summary>
    public const long Limit = 16 * 1024;

    public static bool IsOverLimit(PipeWriter output) => output.CanGetUnflushedBytes && output.UnflushedBytes >= Limit;

    /// <summary>
    /// Completes a session's writer without writing what is still in it. Every normal path has
    /// flushed already; what is left belongs to a client that stopped reading (the write timeout
    /// fired) or vanished, and PipeWriter.CompleteAsync() would flush it with no deadline at all,
    /// holding the session, its descriptor and its mailbox lock until that client reads.
    /// </summary>
    public static ValueTask DiscardAsync(PipeWriter output) => output.CompleteAsync(s_discarded);

    private static readonly OperationCanceledException s_discarded = new("The session ended; unsent replies were dropped.");
}

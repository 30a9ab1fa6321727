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
}

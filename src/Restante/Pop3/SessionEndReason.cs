namespace Restante.Pop3;

/// <summary>
/// The few kinds a session's end falls into, for the end-of-session log line and the
/// <c>restante.pop3.sessions.ended</c> metric's "reason" tag. The session keeps its own words for
/// the detail ("TLS handshake timed out"); this says which of a fixed set it belongs to, so the
/// tag has a handful of values whatever is added later.
/// </summary>
internal static class SessionEndReason
{
    public const string Quit = "quit";
    public const string Timeout = "timeout";
    public const string PeerClosed = "peer-closed";
    public const string Kicked = "kicked";
    public const string TakenOver = "taken-over";
    public const string Shutdown = "shutdown";
    public const string Error = "error";

    public static string Classify(string detail) => detail switch
    {
        "quit" => Quit,
        "timed out" or "TLS handshake timed out" or "too slow reading a message" => Timeout,
        "client disconnected" or "connection lost" or "client disconnected during AUTH" => PeerClosed,
        "server shutting down" => Shutdown,
        // A stranded session ended so a new login could have the mailbox (Pop3/Takeover).
        "taken over by a new login" => TakenOver,
        // The admin socket's kick: any detail that starts so ("kicked by admin", "kicked: …").
        _ when detail.StartsWith("kicked", StringComparison.Ordinal) => Kicked,
        // Too many bad commands, a TLS handshake that failed, a message that could not be read, a bug.
        _ => Error,
    };
}

namespace Restante.Admin;

/// <summary>
/// The answer to one request, a JSON object on one line: <c>{"ok":true,…}</c> with the fields the
/// command fills, or <c>{"ok":false,"error":"…"}</c>.
/// </summary>
internal sealed class AdminReply
{
    public bool Ok { get; set; }

    public string? Error { get; set; }

    public IReadOnlyList<SessionRow>? Sessions { get; set; }

    public IReadOnlyList<SessionRow>? Kicked { get; set; }

    public string? User { get; set; }

    public IReadOnlyList<MessageRow>? Messages { get; set; }

    public IReadOnlyList<ThrottleRow>? Throttle { get; set; }

    public bool? Cleared { get; set; }

    public static AdminReply Failure(string error) => new() { Ok = false, Error = error };
}

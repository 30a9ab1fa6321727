namespace Restante.Admin;

/// <summary>
/// One request on the control socket: a JSON object on one line, e.g. <c>{"command":"kick","user":"alice"}</c>.
/// Commands: sessions; kick (user or session); uidl (user); throttle-list; throttle-clear (address).
/// </summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
internal sealed class AdminRequest
{
    public string? Command { get; set; }

    public string? User { get; set; }

    public long? Session { get; set; }

    public string? Address { get; set; }
}

namespace Restante.Admin;

/// <summary>The local control socket (`restante sessions`, `kick`, `uidl`, `throttle`). Bound from the configuration section "Admin".</summary>
public sealed class AdminOptions
{
    /// <summary>The file name `restante serve` uses in the data directory when <see cref="Socket"/> is not set.</summary>
    public const string DefaultFileName = "restante.ctl";

    /// <summary>
    /// The Unix-domain socket's path. Null or empty: no control socket (a library host has none unless
    /// it sets one); `restante serve` supplies DATA/restante.ctl, and "" turns it off there.
    /// </summary>
    public string? Socket { get; set; }

    /// <summary>Administrative connections held at once; more are told so and closed. A person types these commands.</summary>
    public int MaxConnections { get; set; } = 4;

    /// <summary>How long a connection may wait with a request unfinished, or idle between requests, before it is closed.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest request line, line end included: every request is a small JSON object.</summary>
    public const int MaxRequestLine = 4096;

    /// <summary>How long a reply may take to be read before the connection is dropped.</summary>
    public static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long `kick` waits for the sessions to end and release their mailboxes before it answers anyway.</summary>
    public static readonly TimeSpan KickWait = TimeSpan.FromSeconds(10);

    public bool IsEnabled => !string.IsNullOrWhiteSpace(Socket);

    public IEnumerable<string> Validate()
    {
        if (MaxConnections < 1) yield return "Admin:MaxConnections must be at least 1.";
        if (IdleTimeout <= TimeSpan.Zero) yield return "Admin:IdleTimeout must be positive.";
        // sockaddr_un.sun_path holds 108 bytes on Linux, the terminating NUL included.
        if (IsEnabled && ControlSocketFile.LongestBoundPath(Socket!) > 107)
            yield return $"Admin:Socket {Path.GetFullPath(Socket!)} is longer than a Unix socket path may be (107 bytes); set a shorter path, or \"\" for no control socket.";
    }
}

namespace Restante.Networking;

/// <summary>
/// Socket options set once on a listening socket rather than on every connection it accepts.
/// </summary>
internal static class ListenerSocketOptions
{
    /// <summary>
    /// Whether a socket accept(2) returns starts with the listening socket's TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE,
    /// TCP_KEEPINTVL and TCP_KEEPCNT. Linux builds the new socket as a copy of the listener's (sk_clone_lock; then
    /// tcp_create_openreq_child arms the keepalive timer when SO_KEEPALIVE is on), so options set on the listener cost
    /// no system call per connection (five setsockopt per POP3 login before). Elsewhere each accepted socket gets them.
    /// </summary>
    public static bool Inherited { get; } = OperatingSystem.IsLinux();
}

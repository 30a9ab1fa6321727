namespace Restante.Admin;

/// <summary>An address in a throttle-list reply (for IPv6, its block): failures in the window, and the end of its block if blocked.</summary>
internal sealed record ThrottleRow(string Address, int Failures, DateTimeOffset? BlockedUntil);

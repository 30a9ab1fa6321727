using System.Net;

namespace Restante.Auth;

/// <summary>One address as <see cref="LoginThrottle"/> sees it now.</summary>
/// <param name="Address">The address, or for IPv6 the first address of its block (<see cref="LoginThrottleOptions.Ipv6PrefixLength"/>).</param>
/// <param name="Failures">Failed logins inside the window.</param>
/// <param name="BlockedUntil">When the cooling-off period ends; null when not blocked.</param>
public sealed record ThrottledAddress(IPAddress Address, int Failures, DateTimeOffset? BlockedUntil);

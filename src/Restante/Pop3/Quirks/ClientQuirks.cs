using System.Net;
using Restante.Networking;

namespace Restante.Pop3.Quirks;

/// <summary>What the quirk profiles that apply to one session switch on; resolved at connect and again at login.</summary>
internal sealed record ClientQuirks(bool Last, EmptyAuthReply EmptyAuth, bool MarkSeenOnQuit)
{
    public static ClientQuirks Resolve(QuirkOptions options, IPAddress? address, string? user)
    {
        var last = false;
        var markSeen = false;
        var emptyAuth = options.EmptyAuth;
        foreach (var profile in options.Profiles)
        {
            if (!Applies(profile, address, user)) continue;
            last |= profile.Last;
            markSeen |= profile.MarkSeenOnQuit;
            if (profile.EmptyAuth is { } reply) emptyAuth = reply;
        }
        return new ClientQuirks(last, emptyAuth, markSeen);
    }

    private static bool Applies(QuirkProfile profile, IPAddress? address, string? user)
    {
        if (profile.Networks.Count > 0)
        {
            if (address is null) return false;
            var mapped = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
            if (!profile.Networks.Any(n => NetworkRange.TryParse(n, out var range) && range.Contains(mapped))) return false;
        }
        if (profile.Users.Count > 0)
        {
            if (user is null || !profile.Users.Contains(user, StringComparer.Ordinal)) return false;
        }
        return profile.Networks.Count > 0 || profile.Users.Count > 0;
    }
}

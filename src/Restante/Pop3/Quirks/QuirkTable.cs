using System.Net;
using Restante.Networking;

namespace Restante.Pop3.Quirks;

/// <summary>
/// The configured quirk profiles with their networks parsed, made once per server (POP3 options are fixed at start: a
/// reload leaves them alone), so a connect and a login only compare addresses and names.
/// </summary>
internal sealed class QuirkTable
{
    private readonly Entry[] _entries;
    private readonly EmptyAuthReply _emptyAuth;

    public QuirkTable(QuirkOptions options)
    {
        _emptyAuth = options.EmptyAuth;
        // A network that does not parse (validation refuses it at start) matches no address.
        _entries = options.Profiles.Select(p => new Entry(
            p.Networks.Count > 0, p.Networks.Select(Parse).OfType<NetworkRange>().ToArray(),
            p.Users.ToHashSet(StringComparer.Ordinal), p.Last, p.EmptyAuth, p.MarkSeenOnQuit)).ToArray();
    }

    private static NetworkRange? Parse(string network) => NetworkRange.TryParse(network, out var range) ? range : null;

    /// <summary>What the profiles that apply switch on, at connect (no user yet) and again at login.</summary>
    public ClientQuirks Resolve(IPAddress? address, string? user)
    {
        var last = false;
        var markSeen = false;
        var emptyAuth = _emptyAuth;
        foreach (var entry in _entries)
        {
            if (!entry.Applies(address, user)) continue;
            last |= entry.Last;
            markSeen |= entry.MarkSeenOnQuit;
            if (entry.EmptyAuth is { } reply) emptyAuth = reply;
        }
        return new ClientQuirks(last, emptyAuth, markSeen);
    }

    private sealed record Entry(bool HasNetworks, NetworkRange[] Networks, HashSet<string> Users, bool Last, EmptyAuthReply? EmptyAuth, bool MarkSeenOnQuit)
    {
        /// <summary>In one of the networks (when any are given) and one of the users (when any are given); a profile with neither applies to no one.</summary>
        public bool Applies(IPAddress? address, string? user)
        {
            if (HasNetworks)
            {
                if (address is null) return false;
                if (!Networks.Any(n => n.Contains(address))) return false;
            }
            if (Users.Count > 0 && (user is null || !Users.Contains(user))) return false;
            return HasNetworks || Users.Count > 0;
        }
    }
}

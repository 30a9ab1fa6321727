using System.Net;
using Restante.Pop3.Quirks;

namespace Restante.Tests.Pop3;

/// <summary>The quirk profiles as the server resolves them: parsed once, matched at connect and at login.</summary>
public class QuirkTableTests
{
    private static readonly QuirkTable s_table = new(new QuirkOptions
    {
        Profiles =
        [
            new QuirkProfile { Networks = ["192.0.2.0/24"], Last = true },
            new QuirkProfile { Networks = ["198.51.100.7"], Users = ["carol"], EmptyAuth = EmptyAuthReply.Error },
            new QuirkProfile { Users = ["dave"], MarkSeenOnQuit = true },
            new QuirkProfile { Networks = ["not-a-network"], Last = true },   // refused at start; here it matches no one
        ],
    });

    [Theory]
    [InlineData("192.0.2.10", null, true, EmptyAuthReply.List, false)]
    [InlineData("::ffff:192.0.2.10", null, true, EmptyAuthReply.List, false)]   // IPv4-mapped, as a dual-stack listener sees it
    [InlineData("198.51.100.7", null, false, EmptyAuthReply.List, false)]      // its user is not known before login
    [InlineData("198.51.100.7", "carol", false, EmptyAuthReply.Error, false)]
    [InlineData("198.51.100.8", "carol", false, EmptyAuthReply.List, false)]
    [InlineData("203.0.113.1", "dave", false, EmptyAuthReply.List, true)]
    [InlineData(null, "dave", false, EmptyAuthReply.List, true)]                // a Unix-socket peer has no address
    [InlineData(null, null, false, EmptyAuthReply.List, false)]
    public void Profiles_apply_by_network_and_user_and_add_up(string? address, string? user, bool last, EmptyAuthReply emptyAuth, bool markSeen)
        => Assert.Equal(new ClientQuirks(last, emptyAuth, markSeen), s_table.Resolve(address is null ? null : IPAddress.Parse(address), user));
}

using System.Net;
using Restante.Hosting;
using Restante.Networking;
using Restante.Pop3;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Networking;

/// <summary>TrustedNetworks exempt peers from the per-address limit, as configured at start and as a reload sets them.</summary>
public class TrustedNetworksTests
{
    [Fact]
    public void Parsed_ranges_and_added_balancers_match_what_they_name_and_loopback_follows_the_first()
    {
        var trusted = TrustedNetworks.Parse(["10.0.0.0/8", " 192.0.2.7 "], trustLoopback: false);
        Assert.True(trusted.Contains(IPAddress.Parse("10.1.2.3")));
        Assert.True(trusted.Contains(IPAddress.Parse("::ffff:192.0.2.7")));
        Assert.False(trusted.Contains(IPAddress.Parse("192.0.2.8")));
        Assert.False(trusted.Contains(IPAddress.Loopback));

        var withBalancers = trusted.With(TrustedNetworks.Parse(["2001:db8::/32"], trustLoopback: true));
        Assert.True(withBalancers.Contains(IPAddress.Parse("2001:db8::1")));
        Assert.True(withBalancers.Contains(IPAddress.Parse("10.1.2.3")));
        Assert.False(withBalancers.Contains(IPAddress.Loopback));
        Assert.Throws<FormatException>(() => TrustedNetworks.Parse(["10.0.0.0/33"], trustLoopback: false));
    }

    [Fact]
    public async Task A_configured_range_is_exempt_from_the_per_address_limit_until_a_reload_takes_it_away()
    {
        var limits = new ConnectionLimitOptions { MaxConnectionsPerIp = 1, TrustLoopback = false, TrustedNetworks = ["127.0.0.0/8"] };
        await using var server = await TestServer.StartAsync(limits: limits);
        await using var first = await server.ConnectAsync();
        await first.ExpectAsync("+OK Restante");
        await using var second = await server.ConnectAsync();
        await second.ExpectAsync("+OK Restante");

        var reload = server.Server.Reload(new RestanteSettings
        {
            Server = new RestanteOptions { DataDirectory = server.Data.Path, Pop3 = ["127.0.0.1:0"], Lmtp = ["127.0.0.1:0"], Smtp = ["127.0.0.1:0"], Fsync = false },
            Pop3 = new Pop3Options { AuthFailureDelay = TimeSpan.FromMilliseconds(50), Hostname = "test.example" },
            Connections = new ConnectionLimitOptions { MaxConnectionsPerIp = 1, TrustLoopback = false },
        });
        Assert.True(reload.Succeeded, string.Join(" ", reload.Problems));
        Assert.Contains("TrustedNetworks", reload.Applied);

        // A trusted peer's connections were never counted against its address: the first one counted now is let in.
        await using var third = await server.ConnectAsync();
        await third.ExpectAsync("+OK Restante");
        await using var fourth = await server.ConnectAsync();
        Assert.Equal("-ERR [SYS/TEMP] Too many connections, try again later.", await fourth.ReadLineAsync());
    }
}

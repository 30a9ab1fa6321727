using System.Text;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Auth.Sasl;

/// <summary>
/// A failed token login is counted (and logged) under the user a valid token names, not under an empty name the
/// client left out: nameless failures from everywhere must not add up to somebody's per-user limit.
/// </summary>
public class OAuthFailureUserTests
{
    [Fact]
    public async Task A_valid_token_for_an_unknown_user_without_a_is_counted_under_the_tokens_user()
    {
        using var data = new Infrastructure.TempDirectory();
        using var tokens = new TestTokens(data.Path);
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Sasl.Mechanisms = ["OAUTHBEARER", "PLAIN"];
            o.OAuth.Issuer = TestTokens.Issuer;
            o.OAuth.Audience = TestTokens.Audience;
            o.OAuth.JwksFile = tokens.JwksFile;
        }, data: data);
        server.AddUser("carol", "pa55word");

        await using var c = await server.ConnectAsync();
        await c.ExpectAsync("+OK");
        var token = tokens.Create(email: "ghost@example.com");
        await c.SendAsync("AUTH OAUTHBEARER " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"n,,\u0001auth=Bearer {token}\u0001\u0001")));
        Assert.StartsWith("+ ", await c.ReadLineAsync(), StringComparison.Ordinal);
        await c.SendAsync("AQ==");
        Assert.Equal("-ERR [AUTH] Authentication failed.", await c.ReadLineAsync());

        Assert.Contains(server.Logs.Lines, l => l.Contains("for user ghost@example.com with", StringComparison.Ordinal));
    }
}

using Microsoft.Extensions.Configuration;
using Restante.Auth.Sasl;
using Restante.Pop3;

namespace Restante.Tests.Auth.Sasl;

public class SaslOptionsTests
{
    [Fact]
    public void Sasl_and_oauth_keys_bind_from_the_configuration_root()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sasl:Mechanisms:0"] = "scram-sha-256",
            ["Sasl:Mechanisms:1"] = "PLAIN",
            ["OAuth:Issuer"] = "https://issuer.example",
            ["OAuth:Audience"] = "pop3",
            ["OAuth:JwksFile"] = "/nonexistent/jwks.json",
            ["OAuth:UserClaim"] = "preferred_username",
        }).Build();
        var options = new Pop3Options();
        configuration.Bind(options);
        Assert.Equal(["SCRAM-SHA-256", "PLAIN"], options.Sasl.EffectiveMechanisms);
        Assert.Equal("preferred_username", options.OAuth.UserClaim);
        Assert.Contains("OAuth:JwksFile /nonexistent/jwks.json does not exist.", options.Validate());
    }

    [Fact]
    public void Defaults_keep_clients_working_with_bcrypt_users()
    {
        // Binding must replace the default list, not append to it (the binder appends to pre-filled lists).
        Assert.Equal(["PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2"], new Pop3Options().Sasl.EffectiveMechanisms);
        Assert.Empty(new Pop3Options().Validate());
    }

    [Fact]
    public void Unknown_mechanisms_and_half_configured_oauth_are_reported_by_key()
    {
        var options = new Pop3Options();
        options.Sasl.Mechanisms = ["PLAIN", "DIGEST-MD5"];
        options.OAuth.Issuer = "https://issuer.example";
        var problems = options.Validate().ToList();
        Assert.Contains(problems, p => p.StartsWith("Sasl:Mechanisms: unknown mechanism DIGEST-MD5", StringComparison.Ordinal));
        Assert.Contains("OAuth:Audience must be set when OAuth is configured.", problems);
        Assert.Contains("OAuth:JwksFile must be set when OAuth is configured.", problems);
    }
}

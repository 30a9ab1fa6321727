using Microsoft.Extensions.Logging;
using Restante.Pop3;

namespace Restante.Testing;

/// <summary>How <see cref="Pop3TestServer.StartAsync(Action{Pop3TestServerOptions}?, CancellationToken)"/> sets a server up.</summary>
public sealed class Pop3TestServerOptions
{
    internal List<(string User, string Password, object[] Messages)> Users { get; } = [];

    /// <summary>Store mail in a temporary Maildir (deleted with the server) instead of memory.</summary>
    public bool Maildir { get; set; }

    /// <summary>Offer STLS and a POP3S listener with a certificate generated for this server (default on).</summary>
    public bool Tls { get; set; } = true;

    /// <summary>Listen for SMTP so the application under test can send mail to the users (default on).</summary>
    public bool Smtp { get; set; } = true;

    /// <summary>Domains SMTP accepts mail for; empty (the default): any domain, the local part names the user.</summary>
    public IList<string> LocalDomains { get; } = new List<string>();

    /// <summary>
    /// The server's POP3 settings. The kit's defaults differ from a production server's in one way: a failed
    /// login is answered at once (<see cref="Pop3Options.AuthFailureDelay"/> zero) so that tests of wrong passwords are fast.
    /// </summary>
    public Pop3Options Pop3 { get; } = new() { AuthFailureDelay = TimeSpan.Zero, Hostname = "restante.test" };

    /// <summary>Where the server's log goes; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Adds a user with a plaintext password and, optionally, messages already in the mailbox (each a <see cref="string"/> or <see cref="byte"/> array).</summary>
    public Pop3TestServerOptions AddUser(string user, string password, params object[] messages)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        ArgumentNullException.ThrowIfNull(password);
        foreach (var message in messages)
        {
            if (message is not (string or byte[]))
                throw new ArgumentException("A message is a string or a byte array.", nameof(messages));
        }
        Users.Add((user, password, messages));
        return this;
    }

    /// <summary>Stores mail in a temporary Maildir, the on-disk format of the production server.</summary>
    public Pop3TestServerOptions UseMaildir()
    {
        Maildir = true;
        return this;
    }
}

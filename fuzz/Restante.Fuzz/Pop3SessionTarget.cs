using System.Net;
using Microsoft.Extensions.Logging;
using Restante.Auth;
using Restante.Pop3;
using Restante.Storage.InMemory;

namespace Restante.Fuzz;

/// <summary>
/// Feeds arbitrary client bytes to a whole POP3 session — line reader, parser, state table and
/// every command — over an in-memory mailbox. A crash is any exception the session could not
/// turn into an -ERR, or a broken mailbox invariant afterwards.
/// </summary>
internal static class Pop3SessionTarget
{
    private static readonly byte[][] s_messages =
    [
        "Subject: one\n\nhello\n.dot\n"u8.ToArray(),
        "Subject: two\r\n\r\nbody\r\n"u8.ToArray(),
        [0, 255, 10, 46, 13, 10, 46],
    ];

    // Unknown users are checked against a dummy hash to hide that they are unknown; at the
    // production cost that would make the fuzzer spend its time in bcrypt.
    private static readonly IPasswordScheme s_cheapDummy = new BlfCryptScheme(4);

    public static void Run(Stream input)
    {
        var store = new InMemoryMailStore();
        foreach (var message in s_messages) store.Add("alice", message);
        var options = new Pop3Options { AuthFailureDelay = TimeSpan.Zero, Hostname = "fuzz" };
        var failures = new FailureLogger("SessionFailed");
        var context = new Pop3ServerContext(options, store, new Authenticator(new OneUser(), s_cheapDummy), failures);
        using var transport = new FuzzTransport(input);
        // A loopback peer: plaintext logins are allowed, so USER/PASS, PLAIN and LOGIN (and their log lines) are reached.
        var session = new Pop3Session(context, transport, new IPEndPoint(IPAddress.Loopback, 1110));
        session.RunAsync(CancellationToken.None).GetAwaiter().GetResult();

        failures.ThrowIfFailed();
        if (store.MessagesOf("alice").Count > s_messages.Length) throw new InvalidOperationException("messages appeared from nowhere");
        transport.CheckEndsWithCrlf();
    }
}

using Restante.Delivery;
using Restante.Lmtp;
using Restante.Storage.InMemory;

namespace Restante.Fuzz;

/// <summary>
/// Feeds arbitrary bytes to a whole LMTP session (the SMTP dialect on odd first bytes): command
/// parsing, the state table, address parsing and DATA un-stuffing, delivering into memory. A
/// crash is an exception the session could not answer with a reply code, or a delivered message
/// that does not carry the trace headers.
/// </summary>
internal static class LmtpSessionTarget
{
    private static readonly string s_spool = Directory.CreateTempSubdirectory("restante-fuzz-spool").FullName;

    public static void Run(Stream input)
    {
        var first = input.ReadByte();
        if (first < 0) return;
        var dialect = (first & 1) == 0 ? DeliveryDialect.Lmtp : DeliveryDialect.Smtp;

        var store = new InMemoryMailStore();
        var failures = new FailureLogger("LmtpSessionFailed");
        var delivery = new LocalDelivery(new OneUser(), store, usage: null, new LocalDeliveryOptions
        {
            MaxMessageSize = 64 * 1024,
            SpoolDirectory = s_spool,
            Hostname = "fuzz",
        }, failures.CreateLogger("delivery"));
        var context = new LmtpServerContext(delivery, new LmtpLimits(), failures);
        using var transport = new FuzzTransport(input);
        new LmtpSession(context, dialect, transport, null).RunAsync(CancellationToken.None).GetAwaiter().GetResult();

        failures.ThrowIfFailed();
        transport.CheckEndsWithCrlf();
        foreach (var message in store.MessagesOf("alice"))
            if (!message.AsSpan().StartsWith("Return-Path: <"u8))
                throw new InvalidOperationException("a delivered message lacks its Return-Path line");
    }
}

using System.Globalization;
using Restante.Networking;
using Restante.Protocol;

namespace Restante.Lmtp.Commands;

/// <summary>
/// LHLO (RFC 2033 §4.1), EHLO and HELO (RFC 5321 §4.1.1.1): names the client, resets any
/// transaction, and (but for HELO) lists the extensions.
/// </summary>
internal sealed class HelloCommand(SmtpVerb verb) : ISmtpCommand
{
    public SmtpVerb Verb => verb;

    public ValueTask<LineOutcome> ExecuteAsync(LmtpSession session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var name = arguments.Span;
        if (name.IsEmpty || name.IndexOf((byte)' ') >= 0)
            return session.RejectAsync(new SmtpReply(501, "5.5.4", $"Syntax: {Verb.ToString().ToUpperInvariant()} hostname"));
        session.Greet(PrintableText.From(name, 255));

        var output = session.Output;
        var host = session.Server.Hostname;
        if (Verb == SmtpVerb.Helo)
        {
            session.Reply(new SmtpReply(250, "", host));
            return ValueTask.FromResult(LineOutcome.Continue);
        }
        // RFC 5321 §4.1.1.1: the first line names us, each further line is one extension.
        SmtpReply.Write(output, 250, "", host, last: false);
        SmtpReply.Write(output, 250, "", "PIPELINING", last: false);          // RFC 2920
        SmtpReply.Write(output, 250, "", "ENHANCEDSTATUSCODES", last: false); // RFC 2034
        SmtpReply.Write(output, 250, "", "8BITMIME", last: false);            // RFC 6152
        var max = session.Server.Delivery.Options.MaxMessageSize;
        // RFC 1870 §4: "SIZE" with the fixed maximum, or alone when there is none.
        session.Reply(new SmtpReply(250, "", max > 0 ? "SIZE " + max.ToString(CultureInfo.InvariantCulture) : "SIZE"));
        return ValueTask.FromResult(LineOutcome.Continue);
    }
}

using Restante.Networking;
using Restante.Protocol;

namespace Restante.Lmtp.Commands;

/// <summary>HELP (RFC 5321 §4.1.1.8).</summary>
internal sealed class HelpCommand : ISmtpCommand
{
    public SmtpVerb Verb => SmtpVerb.Help;

    public ValueTask<LineOutcome> ExecuteAsync(LmtpSession session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var hello = session.Dialect == DeliveryDialect.Lmtp ? "LHLO" : "EHLO HELO";
        session.Reply(new SmtpReply(214, "2.0.0", $"Commands: {hello} MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"));
        return ValueTask.FromResult(LineOutcome.Continue);
    }
}

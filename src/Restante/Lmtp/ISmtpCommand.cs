using Restante.Networking;
using Restante.Protocol;

namespace Restante.Lmtp;

/// <summary>One LMTP/SMTP command. Handlers are stateless; the session holds the state. Replies are written, never flushed.</summary>
internal interface ISmtpCommand
{
    SmtpVerb Verb { get; }

    // Continue or Close: LMTP has no STARTTLS here, so a command never asks the engine for it.
    ValueTask<LineOutcome> ExecuteAsync(LmtpSession session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken);
}

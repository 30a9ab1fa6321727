using System.Buffers;
using System.Buffers.Text;
using Restante.Auth.Sasl;
using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>
/// RFC 5034 AUTH mechanism [initial-response], and AUTH alone, which lists the mechanisms in the RFC 1734 form that
/// clients still probe with (+OK, one name a line, "."). Challenges go out as "+ base64"; the client answers each with a
/// base64 line (up to <see cref="Pop3Options.MaxAuthLine"/>, an OAuth token does not fit in 255 octets) or "*" to
/// cancel. "=" as the initial response means "empty" (RFC 5034 §4). Success enters TRANSACTION; every failure of the
/// exchange itself goes through the same failed-login answer as PASS.
/// <code>
/// C: AUTH PLAIN
/// S: +
/// C: AHRpbQB0YW5zdGFhZnRhbnN0YWFm
/// S: +OK Logged in, 2 messages (320 octets).
/// </code>
/// </summary>
internal sealed class AuthCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Auth;

    public async ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var context = session.CreateSaslContext();
        var services = context.Services;
        if (arguments.IsEmpty && session.Quirks.EmptyAuth == Quirks.EmptyAuthReply.Error)
            return session.Reject("AUTH needs a mechanism name.");
        if (arguments.IsEmpty)
        {
            session.WriteOk("Methods supported:");
            foreach (var offered in services.Offered(context)) Pop3Reply.Line(session.Output, offered.Name);
            Pop3Reply.End(session.Output);
            return CommandOutcome.Continue;
        }

        var rest = arguments.Span;
        var nameBytes = CommandParser.NextArgument(ref rest);
        var initialBytes = CommandParser.NextArgument(ref rest);
        if (!rest.IsEmpty) return session.Reject("AUTH takes a mechanism and at most one initial response.");
        if (!PrintableText.TryDecodeAscii(nameBytes, out var name) || services.FindEnabled(name) is not { } mechanism)
            return session.Reject("Unsupported authentication mechanism.");
        if (!context.Allows(mechanism))
        {
            // The mechanism exists but this connection may not use it: the plaintext policy, or no TLS binding for -PLUS.
            return mechanism.Security.HasFlag(SaslSecurity.Plaintext)
                ? session.RejectPlaintext()
                : session.Reject("Unsupported authentication mechanism.");
        }

        ReadOnlyMemory<byte>? response = null;
        if (!initialBytes.IsEmpty)
        {
            if (!TryDecodeResponse(initialBytes, allowEqualsSign: true, out var decoded))
                return session.Reject("Invalid base64 data in initial response.");
            response = decoded;
        }

        var exchange = mechanism.Start(context);
        while (true)
        {
            var step = await exchange.StepAsync(response, cancellationToken).ConfigureAwait(false);
            switch (step.Kind)
            {
                case SaslStepKind.Succeeded:
                    return await session.EnterTransactionAsync(step.User, mechanism.Name, cancellationToken).ConfigureAwait(false);
                case SaslStepKind.Failed:
                    return await session.FailLoginAsync(exchange.AttemptedUser, mechanism.Name, cancellationToken).ConfigureAwait(false);
            }

            WriteChallenge(session.Output, step.Challenge);
            var line = await session.ReadContinuationLineAsync(session.Server.Options.MaxAuthLine, cancellationToken).ConfigureAwait(false);
            switch (line.Status)
            {
                case ContinuationStatus.Closed:
                    session.SetEndReason("client disconnected during AUTH");
                    return CommandOutcome.Close;
                case ContinuationStatus.TooLong:
                    return session.Reject("Line too long.");
            }
            // RFC 5034 §4: "*" cancels, and the server MUST answer -ERR.
            if (line.Bytes.AsSpan().SequenceEqual("*"u8))
                return session.Reject("Authentication cancelled.");
            if (!TryDecodeResponse(line.Bytes, allowEqualsSign: false, out var next))
                return session.Reject("Invalid base64 data in response.");
            response = next;
        }
    }

    private static void WriteChallenge(IBufferWriter<byte> output, byte[] challenge)
    {
        // "+ " then base64; an empty challenge is "+ " alone (RFC 5034 §4).
        var length = Base64.GetMaxEncodedToUtf8Length(challenge.Length);
        var span = output.GetSpan(length + 4);
        span[0] = (byte)'+';
        span[1] = (byte)' ';
        Base64.EncodeToUtf8(challenge, span[2..], out _, out var written);
        span[2 + written] = (byte)'\r';
        span[3 + written] = (byte)'\n';
        output.Advance(written + 4);
    }

    private static bool TryDecodeResponse(ReadOnlySpan<byte> text, bool allowEqualsSign, out ReadOnlyMemory<byte> decoded)
    {
        decoded = ReadOnlyMemory<byte>.Empty;
        if (allowEqualsSign && text.SequenceEqual("="u8)) return true;   // RFC 5034 §4: an empty initial response
        if (text.IsEmpty) return true;                                     // an empty continuation response
        var buffer = new byte[Base64.GetMaxDecodedFromUtf8Length(text.Length)];
        if (Base64.DecodeFromUtf8(text, buffer, out var consumed, out var written) != OperationStatus.Done || consumed != text.Length)
            return false;
        decoded = buffer.AsMemory(0, written);
        return true;
    }
}

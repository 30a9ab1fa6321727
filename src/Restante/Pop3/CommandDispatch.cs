using Microsoft.Extensions.Logging;
using Restante.Diagnostics;
using Restante.Protocol;

namespace Restante.Pop3;

/// <summary>
/// One POP3 command line from bytes to reply: parse, the checks every command shares (line and argument ceilings,
/// <see cref="StateTable"/>, the login throttle), the hook, the command itself, and its log line.
/// </summary>
internal static class CommandDispatch
{
    public static async ValueTask<CommandOutcome> RunAsync(Pop3Session session, byte[] bytes, CancellationToken stopping)
    {
        var server = session.Server;
        var verb = CommandParser.Parse(bytes, out var argumentSpan);
        // Where the arguments start, found by position: they need not run to the end of the line (trailing spaces).
        var argumentOffset = argumentSpan.IsEmpty || !bytes.AsSpan().Overlaps(argumentSpan, out var offset) ? bytes.Length : offset;
        var arguments = new ReadOnlyMemory<byte>(bytes, argumentOffset, argumentSpan.Length);

        if (verb != Pop3Verb.Auth && bytes.Length + 2 > server.Options.MaxCommandLine)
            return session.Reject("Line too long.");

        if (verb == Pop3Verb.Unknown)
        {
            // Neither echoed nor logged: a mistyped verb may carry a credential ("AUTH PLAN <base64>").
            Pop3Log.UnknownCommand(session.Logger, bytes.Length);
            return session.Reject(bytes.Length == 0 ? "Empty command." : "Unknown command.");
        }

        if (!StateTable.Allows(session.State, verb))
        {
            LogCommand(session, verb, default, "-ERR");
            return session.Reject(session.State == Pop3State.Authorization
                ? "Command not valid before login."
                : "Command not valid after login.");
        }

        if (verb is Pop3Verb.Pass or Pop3Verb.Apop or Pop3Verb.Auth && server.Throttle.IsBlocked(session.RemoteAddress))
        {
            // Refused before any password is looked at: a blocked guesser costs the server nothing.
            LogCommand(session, verb, default, "-ERR");
            server.Metrics.Login(MetricTags.MechanismOf(verb), MetricTags.Throttled);
            session.PendingUser = null;
            return session.Reject("Too many failed logins from your address, try again later.", ResponseCode.SysTemp);
        }

        if (verb is not (Pop3Verb.Pass or Pop3Verb.Auth) && HasOverlongArgument(argumentSpan, server.Options.MaxArgumentLength))
        {
            LogCommand(session, verb, default, "-ERR");
            return session.Reject("Argument too long.");
        }

        if (server.Hooks is { } hooks)
            await hooks.BeforeCommandAsync(session, verb.ToString().ToUpperInvariant(), session.User ?? session.PendingUser, stopping).ConfigureAwait(false);
        var command = Pop3Commands.For(verb);
        if (verb is Pop3Verb.Pass or Pop3Verb.Apop or Pop3Verb.Auth) session.BeginLoginAttempt();
        CommandOutcome outcome;
        try
        {
            outcome = await command.ExecuteAsync(session, arguments, stopping).ConfigureAwait(false);
        }
        catch (Auth.PasswordHashingBusyException)
        {
            // Nothing was checked, so nothing is counted; answered at once (a temporary condition, RFC 3206 §4).
            Pop3Log.HashingSaturated(session.Logger, server.Authenticator.Hashing.QueueDepth, verb.ToString().ToUpperInvariant(), session.RemoteEndPoint);
            server.Metrics.Login(MetricTags.MechanismOf(verb), MetricTags.Busy);
            session.PendingUser = null;
            outcome = session.RejectBusy("Server busy, please try again later.");
        }
        catch (Auth.UserDirectoryUnavailableException ex)
        {
            // The directory could not say yes or no: a temporary failure (RFC 3206 §4), not a failed login.
            Pop3Log.StoreFailure(session.Logger, ex, session.PendingUser ?? "");
            session.PendingUser = null;
            outcome = session.Reject("Temporary authentication failure, please try again later.", ResponseCode.SysTemp);
        }
        LogCommand(session, verb, arguments.Span, session.CommandRejected ? "-ERR" : "+OK");
        return outcome;
    }

    private static bool HasOverlongArgument(ReadOnlySpan<byte> arguments, int maxLength)
    {
        while (!arguments.IsEmpty)
        {
            if (CommandParser.NextArgument(ref arguments).Length > maxLength) return true;
        }
        return false;
    }

    private static void LogCommand(Pop3Session session, Pop3Verb verb, ReadOnlySpan<byte> arguments, string status)
    {
        if (!session.Logger.IsEnabled(LogLevel.Debug)) return;
        // Secrets never reach the log: PASS, APOP and AUTH arguments are redacted whole. The rest is
        // client text, escaped as one token (LogText).
        var shown = verb switch
        {
            Pop3Verb.Pass or Pop3Verb.Auth => arguments.IsEmpty ? string.Empty : "<redacted>",
            Pop3Verb.Apop => LogText.Of(arguments[..Math.Max(0, arguments.IndexOf((byte)' '))]) + " <redacted>",
            _ => arguments.IsEmpty ? string.Empty : LogText.Of(arguments),
        };
        Pop3Log.Command(session.Logger, verb.ToString().ToUpperInvariant(), shown, status);
    }
}

using System.Net;
using Microsoft.Extensions.Logging;
using Restante.Auth;
using Restante.Storage;

namespace Restante.Admin;

/// <summary>What each control socket request does, against the running server's sessions, throttle and store.</summary>
internal sealed class AdminCommands(SessionRegistry sessions, LoginThrottle throttle, IMailStore store, ILogger logger)
{
    public async Task<AdminReply> ExecuteAsync(AdminRequest request, PeerCredentials caller, CancellationToken cancellationToken)
    {
        switch (request.Command)
        {
            case "sessions":
                return new AdminReply { Ok = true, Sessions = sessions.List().Select(SessionRow.Of).ToList() };
            case "kick":
                return await KickAsync(request, caller, cancellationToken).ConfigureAwait(false);
            case "uidl":
                return await UidlAsync(request, cancellationToken).ConfigureAwait(false);
            case "throttle-list":
                return new AdminReply
                {
                    Ok = true,
                    Throttle = throttle.List().Select(t => new ThrottleRow(t.Address.ToString(), t.Failures, t.BlockedUntil)).ToList(),
                };
            case "throttle-clear":
                if (!IPAddress.TryParse(request.Address, out var address)) return AdminReply.Failure("throttle-clear needs \"address\": an IPv4 or IPv6 address.");
                var cleared = throttle.Clear(address);
                AdminLog.ThrottleCleared(logger, address.ToString(), caller.Uid, caller.Pid);
                return new AdminReply { Ok = true, Cleared = cleared };
            case null:
                return AdminReply.Failure("The request has no \"command\".");
            default:
                return AdminReply.Failure($"Unknown command \"{Protocol.LogText.Of(request.Command)}\"; known: sessions, kick, uidl, throttle-list, throttle-clear.");
        }
    }

    /// <summary>
    /// Ends the sessions and waits (up to <see cref="AdminOptions.KickWait"/>) until they have released their
    /// mailboxes, so the user can log in again the moment the reply arrives.
    /// </summary>
    private async Task<AdminReply> KickAsync(AdminRequest request, PeerCredentials caller, CancellationToken cancellationToken)
    {
        IReadOnlyList<LiveSession> targets;
        if (request.Session is { } id && request.User is null)
            targets = sessions.Find(id) is { } one ? [one] : [];
        else if (request.User is { Length: > 0 } user && request.Session is null)
            targets = sessions.OfUser(user);
        else
            return AdminReply.Failure("kick needs either \"user\" or \"session\".");
        if (targets.Count == 0)
            return AdminReply.Failure(request.Session is { } missing ? $"No session {missing}." : $"No session of {request.User}.");

        // Rows first: once ended, a session forgets nothing, but its state reads UPDATE or stays as it was.
        var rows = targets.Select(SessionRow.Of).ToList();
        foreach (var session in targets)
        {
            AdminLog.Kicked(logger, session.Id, session.User ?? "-", session.Peer?.ToString(), caller.Uid, caller.Pid);
            session.Kick();
        }
        try
        {
            await Task.WhenAll(targets.Select(s => s.Ended)).WaitAsync(AdminOptions.KickWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return new AdminReply { Ok = false, Error = "Kicked, but not every session has ended yet.", Kicked = rows };
        }
        return new AdminReply { Ok = true, Kicked = rows };
    }

    private async Task<AdminReply> UidlAsync(AdminRequest request, CancellationToken cancellationToken)
    {
        if (request.User is not { Length: > 0 } user) return AdminReply.Failure("uidl needs \"user\".");
        IReadOnlyList<StoredMessage> messages;
        try
        {
            messages = await store.ListAsync(user, cancellationToken).ConfigureAwait(false);
        }
        catch (MailStoreException ex)
        {
            return AdminReply.Failure($"Cannot list the mailbox of {user}: {ex.Message}");
        }
        return new AdminReply { Ok = true, User = user, Messages = messages.Select((m, i) => new MessageRow(i + 1, m.Uid, m.Size)).ToList() };
    }
}

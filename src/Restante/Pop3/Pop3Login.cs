using Restante.Diagnostics;
using Restante.Protocol;
using Restante.Storage;

namespace Restante.Pop3;

/// <summary>
/// The two ends of a login attempt: the failure answer, and the only way into TRANSACTION (opening and locking the
/// maildrop, RFC 1939 §4) — the pre-auth / post-auth split of dovecot's src/pop3-login/ and src/pop3/.
/// </summary>
internal static class Pop3Login
{
    /// <summary>
    /// The failed-login answer: the same text at the same time whatever went wrong, so a client cannot tell an unknown
    /// user from a wrong password, nor one password scheme from another. The time is <see cref="Pop3Options.AuthFailureDelay"/>
    /// after the attempt began, with the password check inside it (a delay added after the check would let the
    /// check's cost show: bcrypt, Argon2id and an unknown user's dummy hash all differ). A success is answered as soon
    /// as the mailbox is open: it already proves the user exists, and its time shows only that user's own hash.
    /// </summary>
    public static async ValueTask<CommandOutcome> FailAsync(Pop3Session session, string user, string mechanism, CancellationToken cancellationToken)
    {
        var server = session.Server;
        Pop3Log.AuthFailed(session.Logger, session.RemoteEndPoint, LogText.Of(user), LogText.Of(mechanism));
        session.PendingUser = null;
        server.Throttle.RecordFailure(session.RemoteAddress, user);
        var delay = server.Options.AuthFailureDelay;
        if (delay > TimeSpan.Zero)
        {
            var elapsed = server.TimeProvider.GetElapsedTime(session.LoginAttemptStartedAt);
            if (elapsed < delay)
                await Task.Delay(delay - elapsed, server.TimeProvider, cancellationToken).ConfigureAwait(false);
            else
                Pop3Log.FailureDelayExceeded(session.Logger, mechanism, elapsed, delay);
        }
        server.Metrics.Login(mechanism, MetricTags.Failure, server.TimeProvider.GetElapsedTime(session.LoginAttemptStartedAt));
        return session.Reject("Authentication failed.", ResponseCode.Auth);
    }

    /// <summary>Opens and locks the maildrop and enters TRANSACTION; on failure the session stays in AUTHORIZATION with an -ERR written.</summary>
    public static async ValueTask<CommandOutcome> EnterTransactionAsync(Pop3Session session, string user, string mechanism, CancellationToken cancellationToken,
        Auth.UserRecord? record = null)
    {
        var server = session.Server;
        session.PendingUser = null;
        if (server.Hooks?.OnLogin(session, user) is { } refusal)
        {
            server.Metrics.Login(mechanism, MetricTags.Refused);
            return session.Reject(RefusalText(refusal), refusal);
        }
        // The credentials were right: this address's earlier failures for this user were the owner's own (a client
        // trying APOP first, a mistyped password), not guessing; Dovecot's auth penalty is cleared the same way.
        server.Throttle.RecordSuccess(session.RemoteAddress, user);
        var policy = await server.PolicyForAsync(user, record, cancellationToken).ConfigureAwait(false);

        // The lock, the listing's folders and the policy state file: a slot until the session is idle (or refused, unlocked).
        using var descriptors = await server.CommandDescriptors.EnterAsync("login", cancellationToken).ConfigureAwait(false);
        if (descriptors is null)
        {
            server.Metrics.Login(mechanism, MetricTags.Unavailable);
            return session.RejectBusy("Server busy, please try again later.");
        }
        IMaildrop maildrop;
        try
        {
            maildrop = await server.Takeover.OpenAsync(server.Store, user, session, cancellationToken).ConfigureAwait(false);
        }
        catch (MailStoreException ex) when (ex.Kind == MailStoreErrorKind.InUse)
        {
            Pop3Log.InUse(session.Logger, user);
            server.Metrics.LockRefused();
            server.Metrics.Login(mechanism, MetricTags.InUse);
            return session.Reject("Mailbox is locked by another POP3 session.", ResponseCode.InUse);
        }
        catch (MailStoreException ex)
        {
            Pop3Log.StoreFailure(session.Logger, ex, user);
            server.Metrics.Login(mechanism, MetricTags.Unavailable);
            return ex.Kind == MailStoreErrorKind.Transient
                ? session.Reject("Mailbox is temporarily unavailable, please try again later.", ResponseCode.SysTemp)
                : session.Reject("Mailbox cannot be opened.", ResponseCode.SysPerm);
        }

        // RFC 2449 §6.5 LOGIN-DELAY, checked only now that the password was right (a refusal tells nothing to someone
        // without it) and against the last login the store recorded, so it holds across restarts and nodes.
        if (await IsLoginTooSoonAsync(session, maildrop, policy, user).ConfigureAwait(false))
        {
            server.Metrics.Login(mechanism, MetricTags.LoginDelay);
            return session.Reject("Minimum time between logins not reached, try again later.", ResponseCode.LoginDelay);
        }
        var transaction = new TransactionMaildrop(await PolicyMaildrop.StartAsync(maildrop, policy, server.TimeProvider, session.Logger, user, cancellationToken).ConfigureAwait(false));
        session.Enter(transaction, user, mechanism);
        server.Metrics.Login(mechanism, MetricTags.Success, server.TimeProvider.GetElapsedTime(session.LoginAttemptStartedAt));
        Pop3Log.LoggedIn(session.Logger, user, mechanism, transaction.Count, transaction.LiveSize);
        session.WriteOk($"Logged in, {transaction.Count} messages ({transaction.LiveSize} octets).");
        return CommandOutcome.Continue;
    }

    /// <summary>
    /// Whether the user's LOGIN-DELAY refuses this login; if so the maildrop is released at once, untouched. A store
    /// that keeps no policy state (<see cref="IPolicyMaildrop"/>) falls back to this process's memory of logins.
    /// </summary>
    private static async ValueTask<bool> IsLoginTooSoonAsync(Pop3Session session, IMaildrop maildrop, Policies.MailboxPolicy policy, string user)
    {
        if (policy.LoginDelay <= TimeSpan.Zero) return false;
        var server = session.Server;
        var tooSoon = maildrop is IPolicyMaildrop state
            ? PolicyMaildrop.IsTooSoon(state, policy, server.TimeProvider.GetUtcNow())
            : !server.LoginHistory.TryRecordLogin(user, policy.LoginDelay);
        if (!tooSoon) return false;
        Pop3Log.LoginDelayed(session.Logger, LogText.Of(user), policy.LoginDelay);
        await maildrop.DisposeAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>The texts this server uses for each refusal of a login, for a refusal an <see cref="IPop3SessionHooks"/> asked for.</summary>
    private static string RefusalText(ResponseCode code) => code switch
    {
        ResponseCode.InUse => "Mailbox is locked by another POP3 session.",
        ResponseCode.LoginDelay => "Minimum time between logins not reached, try again later.",
        ResponseCode.SysTemp => "Mailbox is temporarily unavailable, please try again later.",
        ResponseCode.SysPerm => "Mailbox cannot be opened.",
        _ => "Authentication failed.",
    };
}

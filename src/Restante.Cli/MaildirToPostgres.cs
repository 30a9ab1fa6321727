using Restante.Postgres;
using Restante.Storage;
using Restante.Storage.Maildir;

namespace Restante.Cli;

/// <summary>
/// One user's Maildir copied into the PostgreSQL store, under the Maildir's lock: the messages (<see cref="MailboxCopy"/>),
/// the policy state of restante-policy (last login, first retrievals: RFC 2449 LOGIN-DELAY and EXPIRE would otherwise
/// start over, and a LOGIN-DELAY user could log in at once) and the messages kept in restante-retained (Retention:Days,
/// so `restante restore` still finds them after the move). Every step is idempotent: a run that stopped half-way is
/// finished by running it again.
/// </summary>
internal static class MaildirToPostgres
{
    /// <param name="Messages">Messages in the mailbox.</param>
    /// <param name="Retained">Retained messages (deleted, kept for Retention:Days).</param>
    public readonly record struct Result(int Messages, int Retained);

    public static async Task<Result> CopyAsync(MaildirStore source, PostgresMailStore target, string user, CancellationToken cancellationToken)
    {
        var drop = await source.OpenAsync(user, cancellationToken).ConfigureAwait(false);
        await using (drop.ConfigureAwait(false))
        {
            var copied = await MailboxCopy.CopyAsync(drop, target, user, cancellationToken).ConfigureAwait(false);
            if (drop is IPolicyMaildrop policy)
            {
                var retrieved = new List<(string, DateTimeOffset)>();
                for (var i = 0; i < drop.Messages.Count; i++)
                    if (policy.FirstRetrieved(i) is { } at) retrieved.Add((drop.Messages[i].Uid, at));
                await target.CopyPolicyStateAsync(user, policy.LastLogin, retrieved, cancellationToken).ConfigureAwait(false);
            }
            var retained = drop is MaildirMaildrop maildir ? await CopyRetainedAsync(maildir, target, user, cancellationToken).ConfigureAwait(false) : 0;
            return new Result(copied.Messages, retained);
        }
    }

    private static async Task<int> CopyRetainedAsync(MaildirMaildrop drop, PostgresMailStore target, string user, CancellationToken cancellationToken)
    {
        var count = 0;
        foreach (var (day, fileName) in RetainedMessages.List(drop.Maildir))
        {
            // Retained files keep their names, so the unique-id is the one the mailbox served (Restante's own, from the
            // base name; a store serving another server's UIDLs looks those up by the files in the mailbox, which a
            // retained file is not in: such a message comes back under its native unique-id if restored).
            var uid = MaildirName.ToUid(MaildirName.Base(fileName).ToString());
            // The day's folder says only which UTC day it was deleted on: take the day's end, so the message is kept
            // here at least as long as the Maildir store would keep it (it purges a day once the whole day has run out).
            var deletedAt = day.AddDays(1).AddTicks(-TimeSpan.TicksPerMicrosecond);
            var file = RetainedMessages.Open(drop.Maildir, day, fileName);
            if (file is null) continue;   // restored or purged meanwhile
            await using (file.ConfigureAwait(false))
            {
                var stored = await target.DeliverOnceAsync(user, MailboxCopy.DeliveryIdOf(uid), file, uid, deletedAt, cancellationToken).ConfigureAwait(false);
                if (!string.Equals(stored, uid, StringComparison.Ordinal))
                    throw new MailStoreException(MailStoreErrorKind.Permanent, $"{user}: retained message {uid} is stored as {stored}; refusing to change a unique-id.");
            }
            // Copied by an earlier run while it was still in the mailbox: deleted there since, so retained here too.
            await target.MarkRetainedAsync(user, uid, deletedAt, cancellationToken).ConfigureAwait(false);
            count++;
        }
        return count;
    }
}

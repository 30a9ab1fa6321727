using Microsoft.Extensions.Logging.Abstractions;
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
    // A run reads every message anyway, so the source may take as long as it needs to learn the sizes of a Maildir it
    // has never seen (a server's login stops after 20 s and leaves the rest to a background sizing: see OpenSourceAsync).
    private static readonly TimeSpan SizingBudget = TimeSpan.FromDays(1);

    /// <param name="Messages">Messages in the mailbox.</param>
    /// <param name="Retained">Retained messages (deleted, kept for Retention:Days).</param>
    /// <param name="Restored">Messages a previous run had copied as retained and that are back in the mailbox since (`retention restore`).</param>
    public readonly record struct Result(int Messages, int Retained, int Restored = 0)
    {
        public string Describe(string user)
            => $"{user}: {Messages} messages" + (Retained > 0 ? $", {Retained} retained" : "") + (Restored > 0 ? $", {Restored} restored" : "");
    }

    /// <summary>
    /// The Maildirs under <paramref name="pathTemplate"/> as the migration reads them, with the UIDLs serve gives them
    /// (<paramref name="uidlSource"/>, UidlSource in the configuration: a Maildir served with a previous server's UIDLs
    /// must keep those, or every client would download everything again after the move).
    /// </summary>
    public static MaildirStore CreateSource(string pathTemplate, UidlSource? uidlSource = null)
        => new(pathTemplate, NullLogger<MaildirStore>.Instance, fsync: true, TimeProvider.System, SizingBudget, uidlSource: uidlSource);

    public static async Task<Result> CopyAsync(MaildirStore source, PostgresMailStore target, string user, CancellationToken cancellationToken)
    {
        var drop = await OpenSourceAsync(source, user, cancellationToken).ConfigureAwait(false);
        await using (drop.ConfigureAwait(false))
        {
            var copied = await MailboxCopy.CopyAsync(drop, target, user, cancellationToken).ConfigureAwait(false);
            // Before the policy state: a message restored here starts as never retrieved, then takes the Maildir's record.
            var restored = await target.RestoreCopiedAsync(user, drop.Messages.Select(m => m.Uid).ToArray(), cancellationToken).ConfigureAwait(false);
            if (drop is IPolicyMaildrop policy)
            {
                var retrieved = new List<(string, DateTimeOffset)>();
                for (var i = 0; i < drop.Messages.Count; i++)
                    if (policy.FirstRetrieved(i) is { } at) retrieved.Add((drop.Messages[i].Uid, at));
                await target.CopyPolicyStateAsync(user, policy.LastLogin, retrieved, cancellationToken).ConfigureAwait(false);
            }
            var retained = drop is MaildirMaildrop maildir ? await CopyRetainedAsync(maildir, target, user, cancellationToken).ConfigureAwait(false) : 0;
            return new Result(copied.Messages, retained, restored);
        }
    }

    /// <summary>
    /// Opens the Maildir like a login, except that a huge Maildir seen for the first time is waited for: a login is
    /// refused while the store sizes it in the background (MaildirIndex), and a command that exited then would kill
    /// that sizing, so every run would start it over and copy nothing. A source made by <see cref="CreateSource"/>
    /// sizes in the foreground and rarely gets there; any other store's background sizing is awaited here.
    /// </summary>
    private static async Task<IMaildrop> OpenSourceAsync(MaildirStore source, string user, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await source.OpenAsync(user, cancellationToken).ConfigureAwait(false);
            }
            catch (MailStoreException ex) when (ex.Kind == MailStoreErrorKind.Transient && attempt < 3)
            {
                // Completes at once when no sizing runs (another transient failure): then one more try, and the error.
                await source.Index.SizedAsync(source.GetMaildirPath(user)).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
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
            var deletedAt = PostgresMailStore.CopiedDeletionTime(day);
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

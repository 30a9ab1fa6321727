using System.Collections.Concurrent;

namespace Restante.Storage.Maildir;

/// <summary>
/// The last listing of each large Maildir, reused while neither <c>new/</c> nor <c>cur/</c> has
/// changed since: any delivery, removal or rename changes a folder's modification time. Listing
/// and sorting 100,000 names is most of a login to such a mailbox; a stat of two folders is not.
/// </summary>
internal sealed class ListingCache
{
    // Small mailboxes list in microseconds; keeping them would only cost memory.
    public const int MinimumEntries = 256;

    // A change within the clock's resolution of our listing could leave the time unchanged, so a
    // folder touched this recently is always listed again (the same rule Dovecot follows).
    private static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, Entry> _byMaildir = new(StringComparer.Ordinal);

    public bool TryGet(string maildir, Stamp stamp, out MaildirEntry[] entries, out StoredMessage[] messages)
    {
        if (stamp.Settled && _byMaildir.TryGetValue(maildir, out var cached) && cached.Stamp.SameTimes(stamp))
        {
            // Each session gets its own entries: they are updated when files move under it.
            entries = (MaildirEntry[])cached.Entries.Clone();
            messages = cached.Messages;
            return true;
        }
        entries = [];
        messages = [];
        return false;
    }

    public void Store(string maildir, Stamp stamp, MaildirEntry[] entries, StoredMessage[] messages)
    {
        if (!stamp.Settled || entries.Length < MinimumEntries)
        {
            _byMaildir.TryRemove(maildir, out _);
            return;
        }
        _byMaildir[maildir] = new Entry(stamp, (MaildirEntry[])entries.Clone(), messages);
    }

    private sealed record Entry(Stamp Stamp, MaildirEntry[] Entries, StoredMessage[] Messages);

    /// <summary>The modification times of new/ and cur/, and whether both are old enough to trust.</summary>
    public readonly record struct Stamp(DateTime New, DateTime Cur, bool Settled)
    {
        public static Stamp Read(VerifiedMaildir maildir, TimeProvider time)
        {
            // The folders opened at login, not the paths: those may have been swapped since.
            var newTime = Posix.Stat(maildir.New).LastWriteUtc;
            var curTime = Posix.Stat(maildir.Cur).LastWriteUtc;
            var now = time.GetUtcNow().UtcDateTime;
            return new Stamp(newTime, curTime, now - newTime > SettleTime && now - curTime > SettleTime);
        }

        public bool SameTimes(Stamp other) => New == other.New && Cur == other.Cur;
    }
}

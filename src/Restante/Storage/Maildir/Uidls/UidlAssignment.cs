using Microsoft.Extensions.Logging;
using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>
/// Gives each message of a snapshot the UIDL its previous server served, where that one is usable,
/// and Restante's own otherwise. RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21–0x7E and
/// unique within the maildrop. An imported UIDL that breaks the first rule is not served (the
/// message gets its native UIDL, logged); one given to two messages stays with the first in arrival
/// order and the others get their native UIDL (logged): a client then downloads those few again,
/// which is better than one message hiding another.
/// </summary>
internal static class UidlAssignment
{
    public static StoredMessage[] Apply(MaildirEntry[] entries, StoredMessage[] native, IImportedUidls? imported, ILogger logger, string maildir, string fileName)
    {
        if (imported is null || imported.Count == 0) return native;
        var assigned = new string?[entries.Length];
        var taken = new HashSet<string>(entries.Length, StringComparer.Ordinal);
        int invalid = 0, duplicate = 0, used = 0;
        string? invalidExample = null, duplicateExample = null;
        for (var i = 0; i < entries.Length; i++)
        {
            var uidl = imported.Find(entries[i].BaseName, entries[i].FileName);
            if (uidl is null) continue;
            if (!IsUniqueId(uidl))
            {
                invalid++;
                invalidExample ??= uidl;
                continue;
            }
            if (!taken.Add(uidl))
            {
                duplicate++;
                duplicateExample ??= uidl;
                continue;
            }
            assigned[i] = uidl;
            used++;
        }
        var result = new StoredMessage[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            var uidl = assigned[i];
            if (uidl is null)
            {
                uidl = native[i].Uid;
                // A native UIDL some imported one already took (it would take a remarkable old server):
                // the hashed form, which no plain name and no other base name can have.
                if (!taken.Add(uidl)) taken.Add(uidl = MaildirName.HashedUid(entries[i].BaseName));
            }
            result[i] = new StoredMessage(uidl, native[i].Size);
        }
        if (invalid > 0) UidlLog.InvalidUidls(logger, invalid, fileName, maildir, LogText.Of(invalidExample));
        if (duplicate > 0) UidlLog.DuplicateUidls(logger, duplicate, fileName, maildir, LogText.Of(duplicateExample));
        UidlLog.Assigned(logger, used, entries.Length, maildir, fileName);
        return result;
    }

    /// <summary>RFC 1939 §7: 1 to 70 characters in the range 0x21 to 0x7E.</summary>
    public static bool IsUniqueId(string uidl)
    {
        if (uidl.Length is 0 or > 70) return false;
        foreach (var c in uidl)
            if (c is < '!' or > '~') return false;
        return true;
    }
}

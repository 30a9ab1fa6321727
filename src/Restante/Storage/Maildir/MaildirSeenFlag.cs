namespace Restante.Storage.Maildir;

/// <summary>
/// The Maildir S flag: a message is seen when it sits in <c>cur/</c> with "S" among the flags after <c>:2,</c>
/// (Maildir: "info starting with "2,": Each character after the comma is an independent flag", kept in ASCII order).
/// Flagging renames the file into <c>cur/</c> with S added. The base name (before ':' and ',') is untouched, and the
/// POP3 unique-id and the size index are keyed on it (<see cref="MaildirName.ToUid"/>), so UIDL stays the same.
/// </summary>
internal static class MaildirSeenFlag
{
    public static bool IsSeen(in MaildirEntry entry)
        => entry.Folder == MaildirFolder.Cur && Flags(entry.FileName) is { } flags && flags.Contains('S', StringComparison.Ordinal);

    /// <summary>The file's name with S among its flags; null for an info this code does not understand (":1,...").</summary>
    public static string? SeenName(string fileName)
    {
        var colon = fileName.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0) return fileName + ":2,S";
        if (Flags(fileName) is not { } flags) return null;
        if (flags.Contains('S', StringComparison.Ordinal)) return fileName;
        var sorted = (flags + "S").ToCharArray();
        Array.Sort(sorted);
        return string.Concat(fileName.AsSpan(0, colon), ":2,", new string(sorted));
    }

    private static string? Flags(string fileName)
    {
        var colon = fileName.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0) return string.Empty;
        return fileName.AsSpan(colon).StartsWith(":2,", StringComparison.Ordinal) ? fileName[(colon + 3)..] : null;
    }

    /// <summary>
    /// Renames the entry into <c>cur/</c> with S, following a rename by another client once. Not synced to disk: a
    /// flag lost to a crash costs a message shown unread, and a sync per QUIT would cost every session.
    /// </summary>
    public static void Mark(VerifiedMaildir maildir, ref MaildirEntry entry)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (IsSeen(entry)) return;
            if (SeenName(entry.FileName) is not { } target) return;
            try
            {
                Posix.RenameAt(maildir.Folder(entry.Folder), entry.FileName, maildir.Cur, target, replace: false,
                    maildir.PathOf(entry.Folder, entry.FileName));
                entry.Folder = MaildirFolder.Cur;
                entry.FileName = target;
                return;
            }
            catch (IOException) when (attempt == 0 && Snapshot.TryRelocate(maildir, ref entry))
            {
                // Another client renamed it meanwhile (new flags, or into cur/): try again under its new name.
            }
        }
    }
}

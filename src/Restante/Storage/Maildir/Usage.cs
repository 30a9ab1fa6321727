namespace Restante.Storage.Maildir;

/// <summary>
/// Adds up a Maildir's message sizes for quota: new/ and cur/ (tmp/ holds nothing delivered).
/// The size comes from <c>,S=</c> in the name (the file's length, as every delivery of ours and
/// Dovecot's writes it); only names without it cost a stat. One directory listing, no file opened.
/// Only regular files count: a symlink's target is never looked at.
/// </summary>
internal static class Usage
{
    // REVIEW: a listing per quota check is fine up to tens of thousands of messages; beyond that,
    // keep a running total the way Dovecot's maildirsize file does.
    public static long Measure(VerifiedMaildir maildir)
    {
        long total = 0;
        foreach (var folder in (ReadOnlySpan<MaildirFolder>)[MaildirFolder.New, MaildirFolder.Cur])
        {
            var directory = maildir.Folder(folder);
            foreach (var entry in Posix.ReadDirectory(directory, Path.Join(maildir.Path, VerifiedMaildir.FolderName(folder))))
            {
                if (entry.Name[0] == '.' || (entry.KindKnown && entry.Kind != Posix.FileKind.Regular)) continue;
                if (MaildirName.TryGetField(entry.Name, 'S', out var size))
                {
                    total += size;
                    continue;
                }
                if (Posix.TryStatAt(directory, entry.Name, out var status) == 0 && status.Kind == Posix.FileKind.Regular) total += status.Length;
            }
        }
        return total;
    }
}

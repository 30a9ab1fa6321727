using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>
/// Deleted messages kept for <c>Retention:Days</c>: moved (renamed, never copied) into
/// <c>restante-retained/YYYYMMDD/</c> in the Maildir root, under their own file names, so the base name and with it
/// the UIDL stay the same. The folder has no leading dot, so Maildir++ readers (Dovecot, Courier) do not take it
/// for an IMAP folder, and it is neither new/ nor cur/, so no mail client sees the messages. Days are UTC; a day's
/// folder goes once its last possible deletion is older than the retention period. Every folder is opened
/// O_NOFOLLOW relative to the verified root: a symlink planted there refuses the operation.
/// </summary>
internal static class RetainedMessages
{
    public const string FolderName = "restante-retained";

    public static string DayName(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    private static bool TryParseDay(string name, out DateTimeOffset start)
    {
        var ok = DateTime.TryParseExact(name, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var day);
        start = ok ? new DateTimeOffset(day, TimeSpan.Zero) : default;
        return ok;
    }

    /// <summary>Opens (creating) the folder of the day <paramref name="time"/> falls in.</summary>
    public static SafeFileHandle OpenDay(VerifiedMaildir maildir, DateTimeOffset time)
    {
        using var retained = OpenFolder(maildir, maildir.Root, maildir.Path, FolderName, create: true)!;
        return OpenFolder(maildir, retained, Path.Join(maildir.Path, FolderName), DayName(time), create: true)!;
    }

    /// <summary>Moves the retained messages of the days that may hold deletions at or after <paramref name="since"/> back to new/ or cur/.</summary>
    public static int Restore(VerifiedMaildir maildir, DateTimeOffset? since, bool fsync)
    {
        var restored = new int[2];
        var count = ForEachDay(maildir, day => since is null || day.AddDays(1) > since, (folder, path, _, name) =>
        {
            // Flags (":2,") mean the message had been seen in cur/; without them it was still new.
            var target = name.Contains(":2,", StringComparison.Ordinal) ? MaildirFolder.Cur : MaildirFolder.New;
            try
            {
                Posix.RenameAt(folder, name, maildir.Folder(target), name, replace: false, Path.Join(path, name));
                restored[(int)target]++;
                return true;
            }
            catch (IOException)
            {
                return false;   // the name is taken (the message is back already) or gone: leave it
            }
        }, tidy: true, fsync);
        if (fsync)
        {
            if (restored[(int)MaildirFolder.New] > 0) Posix.FsyncDirectory(maildir.New, Path.Join(maildir.Path, "new"));
            if (restored[(int)MaildirFolder.Cur] > 0) Posix.FsyncDirectory(maildir.Cur, Path.Join(maildir.Path, "cur"));
        }
        return count;
    }

    /// <summary>Removes the days whose every deletion happened before <paramref name="deletedBefore"/>.</summary>
    public static int Purge(VerifiedMaildir maildir, DateTimeOffset deletedBefore, bool fsync)
        => ForEachDay(maildir, day => day.AddDays(1) <= deletedBefore, (folder, _, _, name) => Posix.UnlinkAt(folder, name) == 0, tidy: true, fsync);

    /// <summary>Every retained message, by day and file name (what `restante migrate maildir-to-postgres` copies), oldest day first.</summary>
    public static List<(DateTimeOffset Day, string FileName)> List(VerifiedMaildir maildir)
    {
        var found = new List<(DateTimeOffset, string)>();
        ForEachDay(maildir, _ => true, (_, _, day, name) =>
        {
            found.Add((day, name));
            return true;
        }, tidy: false, fsync: false);
        return found;
    }

    /// <summary>Opens a retained message for reading, never through a symlink; null when it is gone.</summary>
    public static FileStream? Open(VerifiedMaildir maildir, DateTimeOffset day, string fileName)
    {
        using var retained = OpenFolder(maildir, maildir.Root, maildir.Path, FolderName, create: false);
        if (retained is null) return null;
        using var folder = OpenFolder(maildir, retained, Path.Join(maildir.Path, FolderName), DayName(day), create: false);
        if (folder is null) return null;
        var errno = Posix.TryOpenReadAt(folder, fileName, out var handle);
        if (errno == Posix.ENoEnt) return null;
        if (errno != 0) throw Posix.ErrnoException("open", Path.Join(maildir.Path, FolderName, DayName(day), fileName), errno);
        return new FileStream(handle!, FileAccess.Read, bufferSize: 0);
    }

    /// <summary>
    /// Runs <paramref name="act"/> (day folder, its path, the day, file name) on each regular file of the chosen days,
    /// oldest day first; counts the files it returned true for. With <paramref name="tidy"/> (a restore or a purge that
    /// moved files out) each day folder is synced when <paramref name="fsync"/> asks, and removed once empty.
    /// </summary>
    private static int ForEachDay(VerifiedMaildir maildir, Func<DateTimeOffset, bool> chosen, Func<SafeFileHandle, string, DateTimeOffset, string, bool> act,
        bool tidy, bool fsync)
    {
        using var retained = OpenFolder(maildir, maildir.Root, maildir.Path, FolderName, create: false);
        if (retained is null) return 0;
        var retainedPath = Path.Join(maildir.Path, FolderName);
        var count = 0;
        foreach (var dayEntry in Posix.ReadDirectory(retained, retainedPath).OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (!TryParseDay(dayEntry.Name, out var day) || !chosen(day)) continue;
            var dayPath = Path.Join(retainedPath, dayEntry.Name);
            using (var folder = OpenFolder(maildir, retained, retainedPath, dayEntry.Name, create: false))
            {
                if (folder is null) continue;
                foreach (var file in Posix.ReadDirectory(folder, dayPath))
                {
                    if (file.Name[0] == '.' || file.Name == Posix.UndecodableName) continue;
                    if (Posix.TryStatAt(folder, file.Name, out var status) != 0 || status.Kind != Posix.FileKind.Regular) continue;
                    if (act(folder, dayPath, day, file.Name)) count++;
                }
                if (fsync) Posix.FsyncDirectory(folder, dayPath);
            }
            // Fails harmlessly (ENOTEMPTY) when something stayed behind.
            if (tidy) _ = Posix.RemoveDirectoryAt(retained, dayEntry.Name);
        }
        return count;
    }

    /// <summary>A folder under a verified one, never through a symlink; null when missing and not to be created.</summary>
    private static SafeFileHandle? OpenFolder(VerifiedMaildir maildir, SafeFileHandle parent, string parentPath, string name, bool create)
    {
        var errno = Posix.TryOpenDirectoryAt(parent, name, out var handle);
        if (errno == Posix.ENoEnt && create)
        {
            var made = Posix.MakeDirectoryAt(parent, name);
            if (made != 0 && made != Posix.EExist) throw Posix.ErrnoException("mkdir", Path.Join(parentPath, name), made);
            errno = Posix.TryOpenDirectoryAt(parent, name, out handle);
        }
        if (errno == Posix.ENoEnt) return null;
        if (errno is Posix.ELoop or Posix.ENotDir)
            throw new RefusedMaildirException(maildir.Path, $"{LogText.Of(Path.Join(parentPath, name)[(maildir.Path.Length + 1)..], LogText.PathLimit)} is a symlink or not a directory");
        if (errno != 0) throw Posix.ErrnoException("open", Path.Join(parentPath, name), errno);
        return handle;
    }
}

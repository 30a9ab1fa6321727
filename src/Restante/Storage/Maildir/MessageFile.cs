namespace Restante.Storage.Maildir;

/// <summary>Opens a message file for reading, refusing anything that is not a regular file.</summary>
internal static class MessageFile
{
    public enum Outcome
    {
        Opened,
        Missing,
        NotRegularFile,
    }

    /// <summary>
    /// Opens <paramref name="name"/> in a verified folder, read-only and unbuffered (callers read in
    /// large chunks; <see cref="MessageFileStream"/> reads with pread up to this length): O_NOFOLLOW, so a symlink is refused rather than followed (to /etc/shadow or
    /// /dev/zero), O_NONBLOCK so a FIFO cannot hang the open, then fstat: only a regular file is
    /// a message. <paramref name="length"/> is the file's size at open. I/O and permission errors
    /// are thrown as .NET reports them.
    /// </summary>
    public static Outcome TryOpenRead(VerifiedMaildir maildir, MaildirFolder folder, string name, out MessageFileStream? stream, out long length)
    {
        stream = null;
        length = 0;
        var errno = Posix.TryOpenReadAt(maildir.Folder(folder), name, out var handle);
        if (errno is Posix.ENoEnt or Posix.ENotDir) return Outcome.Missing;
        if (errno == Posix.ELoop) return Outcome.NotRegularFile;
        if (errno != 0) throw Posix.ErrnoException("open", maildir.PathOf(folder, name), errno);
        try
        {
            var status = Posix.Stat(handle!);
            if (status.Kind != Posix.FileKind.Regular)
            {
                handle!.Dispose();
                return Outcome.NotRegularFile;
            }
            length = status.Length;
            stream = new MessageFileStream(handle!, status);
            return Outcome.Opened;
        }
        catch
        {
            handle!.Dispose();
            throw;
        }
    }
}

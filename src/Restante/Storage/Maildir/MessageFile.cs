using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>Opens a message file for reading, refusing anything that is not a regular file.</summary>
internal static class MessageFile
{
    private const long SequentialHintFrom = 128 * 1024;

    public enum Outcome
    {
        Opened,
        Missing,
        NotRegularFile,
    }

    /// <summary>
    /// Opens <paramref name="name"/> in a verified folder, read-only and unbuffered (callers read in
    /// large chunks; <see cref="MessageFileStream"/> reads with pread up to this length): no symlink in the folder or
    /// the name is followed (to /etc/shadow or /dev/zero; see <see cref="MessageOpenBeneath"/>), O_NONBLOCK so a FIFO cannot hang the open, then fstat: only a regular file is
    /// a message. <paramref name="length"/> is the file's size at open. I/O and permission errors
    /// are thrown as .NET reports them.
    /// </summary>
    public static Outcome TryOpenRead(VerifiedMaildir maildir, MaildirFolder folder, string name, out MessageFileStream? stream, out long length)
    {
        stream = null;
        length = 0;
        // One openat2 from the root when the kernel has it; any failure is looked at again the long way, which opens the
        // folder (when this command has not yet) and tells a missing file from a refused one exactly.
        var handle = MessageOpenBeneath.TryOpenRead(maildir.Root, folder, name);
        var advised = handle is null;   // the long way's open asks for sequential read-ahead itself
        if (handle is null)
        {
            var errno = Posix.TryOpenReadAt(maildir.Folder(folder), name, out handle);
            if (errno is Posix.ENoEnt or Posix.ENotDir) return Outcome.Missing;
            if (errno == Posix.ELoop) return Outcome.NotRegularFile;
            if (errno != 0) throw Posix.ErrnoException("open", maildir.PathOf(folder, name), errno);
        }
        try
        {
            var status = Posix.Stat(handle!);
            if (status.Kind != Posix.FileKind.Regular)
            {
                handle!.Dispose();
                return Outcome.NotRegularFile;
            }
            length = status.Length;
            // The default read-ahead (128 KiB) already takes in a typical message with its first read: the hint, a system
            // call of its own, is worth it only for a larger one. A hint; failure changes nothing.
            if (!advised && length > SequentialHintFrom) Posix.AdviseSequential(handle!);
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

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
    /// Opens <paramref name="path"/> read-only, unbuffered (callers read in large chunks), with a
    /// sequential-read hint. I/O and permission errors are thrown as .NET reports them.
    /// </summary>
    public static Outcome TryOpenRead(string path, out FileStream? stream)
    {
        stream = null;
        if (!Posix.IsLinux) return TryOpenReadPortable(path, out stream);

        var handle = Posix.OpenReadNonBlocking(path);
        if (handle is null) return Outcome.Missing;
        try
        {
            var file = new FileStream(handle, FileAccess.Read, bufferSize: 0, isAsync: false);
            // A regular file is seekable; a FIFO, socket or character device is not. (Directories
            // are left out when listing; a read from one fails with EISDIR anyway.)
            if (!file.CanSeek)
            {
                file.Dispose();
                return Outcome.NotRegularFile;
            }
            stream = file;
            return Outcome.Opened;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static Outcome TryOpenReadPortable(string path, out FileStream? stream)
    {
        stream = null;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
                bufferSize: 0, FileOptions.SequentialScan | FileOptions.Asynchronous);
            return Outcome.Opened;
        }
        catch (FileNotFoundException)
        {
            return Outcome.Missing;
        }
        catch (DirectoryNotFoundException)
        {
            return Outcome.Missing;
        }
    }
}

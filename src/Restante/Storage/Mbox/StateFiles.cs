using Restante.Storage.Maildir;

namespace Restante.Storage.Mbox;

/// <summary>Files in the store's own state directory, which only this server writes.</summary>
internal static class StateFiles
{
    /// <summary>Temporary file, fsync, rename over <paramref name="path"/>, fsync of the directory.</summary>
    public static void WriteAtomically(string path, byte[] content, bool fsync) => WriteAtomically(path, file => file.Write(content), fsync);

    /// <summary>
    /// <paramref name="write"/> fills a temporary file (unbuffered: write in large pieces), which is synced and renamed
    /// over <paramref name="path"/>; then the directory is synced. A crash leaves the old file or the new one, whole.
    /// </summary>
    public static void WriteAtomically(string path, Action<FileStream> write, bool fsync)
    {
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            write(file);
            if (fsync) file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        if (fsync) SyncDirectory(Path.GetDirectoryName(path)!);
    }

    public static void SyncDirectory(string directory)
    {
        var errno = Posix.TryOpenTrustedDirectory(directory, out var handle);
        if (errno != 0) throw Posix.ErrnoException("open", directory, errno);
        using (handle) Posix.FsyncDirectory(handle!, directory);
    }
}

using Restante.Storage.Maildir;

namespace Restante.Storage.Mbox;

/// <summary>Files in the store's own state directory, which only this server writes.</summary>
internal static class StateFiles
{
    /// <summary>Temporary file, fsync, rename over <paramref name="path"/>, fsync of the directory.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content, bool fsync)
    {
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            file.Write(content);
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

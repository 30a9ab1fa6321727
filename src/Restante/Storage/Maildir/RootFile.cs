using System.Security.Cryptography;
using System.Text;

namespace Restante.Storage.Maildir;

/// <summary>
/// Replaces one of our files in a Maildir's root (the size index, the policy state, a uidl-map) as a whole. The
/// user may write to the Maildir, so the temporary file gets a random name and is created O_EXCL|O_NOFOLLOW in the
/// verified root: a name planted in advance (a symlink to someone else's file) can neither be guessed nor written
/// through. rename(2) then replaces whatever has the name, a symlink included, without following it.
/// </summary>
internal static class RootFile
{
    /// <summary>As <see cref="Replace(VerifiedMaildir, string, Action{TextWriter}, bool, bool)"/>, for a file written as bytes.</summary>
    public static void ReplaceBytes(VerifiedMaildir maildir, string name, Action<Stream> write, bool fsyncFile, bool fsyncDirectory)
        => Replace(maildir, name, writer =>
        {
            writer.Flush();
            var buffered = new BufferedStream(((StreamWriter)writer).BaseStream, 256 * 1024);
            write(buffered);
            buffered.Flush();
        }, fsyncFile, fsyncDirectory);

    /// <param name="fsyncFile">Flush the new file to disk before the rename (not for a cache the next open rebuilds).</param>
    /// <param name="fsyncDirectory">Also flush the root, so the rename itself survives a crash.</param>
    public static void Replace(VerifiedMaildir maildir, string name, Action<TextWriter> write, bool fsyncFile, bool fsyncDirectory)
    {
        var temporary = $"{name}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp";
        var errno = Posix.TryCreateExclusiveAt(maildir.Root, temporary, out var handle);
        if (errno != 0) throw Posix.ErrnoException("open", Path.Join(maildir.Path, temporary), errno);
        try
        {
            using (var stream = new FileStream(handle!, FileAccess.Write, bufferSize: 0))
            using (var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 64 * 1024))
            {
                write(writer);
                writer.Flush();
                if (fsyncFile) stream.Flush(flushToDisk: true);
            }
            Posix.RenameAt(maildir.Root, temporary, maildir.Root, name, replace: true, Path.Join(maildir.Path, name));
            if (fsyncDirectory) Posix.FsyncDirectory(maildir.Root, maildir.Path);
        }
        catch
        {
            handle!.Dispose();
            _ = Posix.UnlinkAt(maildir.Root, temporary);   // best effort: the next write replaces it
            throw;
        }
    }
}

using System.Buffers;

namespace Restante.Storage.Maildir;

/// <param name="Copied">Messages copied by this run.</param>
/// <param name="AlreadyThere">Messages the target already had (an earlier, interrupted run).</param>
public readonly record struct MaildirCopyResult(int Copied, int AlreadyThere);

/// <summary>
/// <c>restante migrate maildir-to-maildir</c>: copies one user's Maildir into another, keeping every
/// message's UIDL. The source is read with its configured <see cref="UidlSource"/> (native, Dovecot's,
/// Courier's, a map) and locked like a POP3 session. Each message keeps its folder and file name, is
/// written to the target's tmp/, fsynced and renamed into place, so a crash never leaves half a
/// message; a message whose base name the target already has is skipped, so running the command
/// again after an interruption copies only what is missing. At the end the target's uidl-map names
/// every copied message's UIDL: serve the target with UidlSource "map" (for a native source the map
/// says what native would, so either works).
/// </summary>
public static class MaildirCopy
{
    /// <param name="target">The target Maildir's path (created if missing).</param>
    /// <param name="copied">Called after each message is durably in the target (tests use it to interrupt a run).</param>
    public static async Task<MaildirCopyResult> CopyAsync(MaildirStore source, string user, string target, Action<int>? copied, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(target);
        var full = Path.GetFullPath(target).TrimEnd('/');
        using var destination = VerifiedMaildir.Open(full, Math.Max(full.LastIndexOf('/'), 1), create: true);
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var folder in (ReadOnlySpan<MaildirFolder>)[MaildirFolder.New, MaildirFolder.Cur])
            foreach (var entry in Posix.ReadDirectory(destination.Folder(folder), destination.PathOf(folder, "")))
                present.Add(MaildirName.Base(entry.Name).ToString());

        var drop = (MaildirMaildrop)await source.OpenAsync(user, cancellationToken).ConfigureAwait(false);
        await using (drop.ConfigureAwait(false))
        {
            int done = 0, skipped = 0;
            var pairs = new List<KeyValuePair<string, string>>(drop.Messages.Count);
            var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                for (var i = 0; i < drop.Messages.Count; i++)
                {
                    var (folder, name) = drop.FileOf(i);
                    var baseName = drop.BaseNameOf(i);
                    pairs.Add(KeyValuePair.Create(baseName, drop.Messages[i].Uid));
                    if (present.Contains(baseName)) { skipped++; continue; }
                    cancellationToken.ThrowIfCancellationRequested();
                    await CopyOneAsync(drop, i, destination, folder, name, buffer, cancellationToken).ConfigureAwait(false);
                    done++;
                    copied?.Invoke(done);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            Posix.FsyncDirectory(destination.New, destination.PathOf(MaildirFolder.New, ""));
            Posix.FsyncDirectory(destination.Cur, destination.PathOf(MaildirFolder.Cur, ""));
            UidlImport.WriteRootFile(destination, UidlMap.FileName, UidlMap.Format(pairs,
                $"Written by restante migrate maildir-to-maildir from {drop.Maildir.Path} (UidlSource {source.UidlSource.Fingerprint}).\nServed with \"UidlSource\": \"map\". One line per message: file base name, UIDL."));
            return new MaildirCopyResult(done, skipped);
        }
    }

    private static async Task CopyOneAsync(MaildirMaildrop drop, int index, VerifiedMaildir destination, MaildirFolder folder, string name, byte[] buffer, CancellationToken cancellationToken)
    {
        var temporary = DeliveryName.Create(TimeProvider.System);
        var errno = Posix.TryCreateExclusiveAt(destination.Tmp, temporary, out var handle);
        if (errno != 0) throw Posix.ErrnoException("open", Path.Join(destination.Path, "tmp", temporary), errno);
        try
        {
            var input = await drop.OpenMessageAsync(index, cancellationToken).ConfigureAwait(false);
            await using (input.ConfigureAwait(false))
            {
                var output = new FileStream(handle!, FileAccess.Write, bufferSize: 0);
                await using (output.ConfigureAwait(false))
                {
                    int read;
                    while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                        await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    output.Flush(flushToDisk: true);
                }
            }
            // The rename is the moment the message exists in the target: whole, or not at all.
            Posix.RenameAt(destination.Tmp, temporary, destination.Folder(folder), name, replace: false, destination.PathOf(folder, name));
        }
        catch
        {
            handle!.Dispose();
            _ = Posix.UnlinkAt(destination.Tmp, temporary);
            throw;
        }
    }
}

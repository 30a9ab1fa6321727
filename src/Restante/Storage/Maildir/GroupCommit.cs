using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// Makes renames into a directory durable with one fsync for all deliveries that arrive together
/// (group commit, as databases do for their log). A rename is durable once an fsync of its
/// directory has <em>started after</em> it and completed; any descriptor of the same directory
/// inode will do, since fsync(2) syncs the inode, not the descriptor.
/// <para>
/// Batching: a delivery whose directory has no fsync in flight syncs at once, on its own thread,
/// so a lone delivery waits no longer than before. One that finishes its rename while an fsync is
/// in flight cannot be covered by it (that fsync may have started before the rename) and joins
/// the next one, which starts as soon as the one in flight completes. A directory therefore has at
/// most one fsync running and one batch waiting; everything that arrives meanwhile shares it.
/// </para>
/// Directories are told apart by device and inode, not by path: a Maildir deleted and made again
/// under the same name is another directory, and an fsync of one does not cover the other.
/// </summary>
internal sealed class GroupCommit
{
    /// <summary>The fsync itself: <see cref="Posix.FsyncDirectory"/>, or a test's recorder.</summary>
    public delegate void DirectorySync(SafeFileHandle directory, string pathForErrors);

    private readonly DirectorySync _sync;
    private readonly Lock _gate = new();
    // Only directories with an fsync in flight are here; an idle one costs nothing.
    private readonly Dictionary<(ulong Device, ulong Inode), InFlight> _busy = [];

    public GroupCommit(DirectorySync? sync = null) => _sync = sync ?? Posix.FsyncDirectory;

    /// <summary>Deliveries waiting for a batch that has not started its fsync yet (for tests).</summary>
    internal int Waiting
    {
        get
        {
            lock (_gate)
            {
                var waiting = 0;
                foreach (var inFlight in _busy.Values) waiting += inFlight.Next?.Members ?? 0;
                return waiting;
            }
        }
    }

    /// <summary>
    /// Returns once an fsync of <paramref name="directory"/> that started after this call has
    /// completed; throws what that fsync threw. Call it after the rename, before acknowledging.
    /// </summary>
    public ValueTask SyncAsync(SafeFileHandle directory, string pathForErrors)
    {
        var key = Posix.Identity(directory);
        Batch? joined;
        lock (_gate)
        {
            if (_busy.TryGetValue(key, out var busy))
            {
                joined = busy.Next ??= new Batch(directory, pathForErrors);
                joined.Members++;
            }
            else
            {
                _busy.Add(key, new InFlight());
                joined = null;
            }
        }
        if (joined is not null) return new ValueTask(joined.Done.Task);

        // Nothing in flight: sync now, on this thread, as a delivery without company always did.
        try
        {
            _sync(directory, pathForErrors);
        }
        finally
        {
            HandOver(key);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>The fsync in flight for <paramref name="key"/> is done: start the waiting batch, or mark the directory idle.</summary>
    private void HandOver((ulong Device, ulong Inode) key)
    {
        Batch? next;
        lock (_gate)
        {
            var busy = _busy[key];
            next = busy.Next;
            busy.Next = null;
            if (next is null) _busy.Remove(key);
        }
        // Not on this thread: the delivery that finished its fsync replies now, not after the next batch's.
        if (next is not null) ThreadPool.UnsafeQueueUserWorkItem(static state => state.Commit.Run(state.Key, state.Batch), (Commit: this, Key: key, Batch: next), preferLocal: false);
    }

    private void Run((ulong Device, ulong Inode) key, Batch batch)
    {
        try
        {
            // The first member's descriptor: it stays open, since that member is waiting on this batch.
            _sync(batch.Directory, batch.PathForErrors);
            batch.Done.SetResult();
        }
        catch (Exception ex)
        {
            // Every member learns of the failure and withdraws its message, as a lone delivery would.
            batch.Done.SetException(ex);
        }
        finally
        {
            HandOver(key);
        }
    }

    /// <summary>A directory with an fsync in flight, and the batch that will sync after it.</summary>
    private sealed class InFlight
    {
        public Batch? Next;
    }

    private sealed class Batch(SafeFileHandle directory, string pathForErrors)
    {
        public SafeFileHandle Directory { get; } = directory;
        public string PathForErrors { get; } = pathForErrors;
        public int Members;
        // Run asynchronously: completing must not run a member's reply on the syncing thread.
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

using System.Collections.ObjectModel;
using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Mbox;

/// <summary>
/// One POP3 session on a spool: the snapshot read at login, read afterwards through a descriptor of
/// its own without the spool locks (positions in an mbox only move when a rewrite removes messages,
/// and rewrites by this store wait for the session lock this drop holds).
/// </summary>
internal sealed class MboxMaildrop : IMaildrop
{
    private readonly MboxStore _store;
    private readonly MboxStore.Paths _paths;
    private readonly SafeFileHandle? _reader;
    private readonly List<SpoolMessage> _snapshot;
    private readonly string[] _uidls;
    private SafeFileHandle? _session;

    public MboxMaildrop(MboxStore store, MboxStore.Paths paths, SafeFileHandle session, SafeFileHandle? reader, List<SpoolMessage> snapshot, string[] uidls)
    {
        _store = store;
        _paths = paths;
        _session = session;
        _reader = reader;
        _snapshot = snapshot;
        _uidls = uidls;
        var messages = new StoredMessage[snapshot.Count];
        for (var i = 0; i < messages.Length; i++) messages[i] = new StoredMessage(uidls[i], snapshot[i].Size);
        Messages = new ReadOnlyCollection<StoredMessage>(messages);
    }

    public IReadOnlyList<StoredMessage> Messages { get; }

    public ValueTask<Stream> OpenMessageAsync(int index, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_session is null, this);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _snapshot.Count);
        var message = _snapshot[index];
        return ValueTask.FromResult<Stream>(new SpoolMessageStream(_reader!, message.BodyStart, message.BodyEnd, _store.Variant));
    }

    public async ValueTask<ExpungeResult> ExpungeAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_session is null, this);
        var removed = await _store.ExpungeAsync(_paths, _snapshot, _uidls, indexes, cancellationToken).ConfigureAwait(false);
        return new ExpungeResult(removed, 0);
    }

    public ValueTask DisposeAsync()
    {
        _reader?.Dispose();
        _session?.Dispose();
        _session = null;
        return ValueTask.CompletedTask;
    }
}

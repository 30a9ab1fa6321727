using Restante.Storage;
using Restante.Storage.InMemory;

namespace Restante.Tests.Networking;

/// <summary>The in-memory store, whose maildrops release the mailbox and then throw.</summary>
internal sealed class ReleaseFailingStore : IMailBackend
{
    private int _releases;

    public InMemoryMailStore Inner { get; } = new();

    public int Releases => Volatile.Read(ref _releases);

    public async ValueTask<IMaildrop> OpenAsync(string user, CancellationToken cancellationToken)
        => new FailingRelease(await Inner.OpenAsync(user, cancellationToken), this);

    public ValueTask<IReadOnlyList<StoredMessage>> ListAsync(string user, CancellationToken cancellationToken) => Inner.ListAsync(user, cancellationToken);

    public ValueTask<string> DeliverAsync(string user, Stream message, CancellationToken cancellationToken) => Inner.DeliverAsync(user, message, cancellationToken);

    public ValueTask<long> GetUsageAsync(string user, CancellationToken cancellationToken) => Inner.GetUsageAsync(user, cancellationToken);

    private sealed class FailingRelease(IMaildrop inner, ReleaseFailingStore store) : IMaildrop
    {
        public IReadOnlyList<StoredMessage> Messages => inner.Messages;

        public ValueTask<Stream> OpenMessageAsync(int index, CancellationToken cancellationToken) => inner.OpenMessageAsync(index, cancellationToken);

        public ValueTask<ExpungeResult> ExpungeAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
            => inner.ExpungeAsync(indexes, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            Interlocked.Increment(ref store._releases);
            throw new InvalidOperationException("the store's connection broke while releasing the mailbox");
        }
    }
}

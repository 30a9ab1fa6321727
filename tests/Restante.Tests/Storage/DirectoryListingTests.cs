using Restante.Storage.Maildir;

namespace Restante.Tests.Storage;

/// <summary>
/// <see cref="Posix.ReadDirectory(Microsoft.Win32.SafeHandles.SafeFileHandle, string)"/> lists the descriptor it is
/// given (no openat of "." per listing), so a second listing of the same descriptor must start again from the first
/// name: a login lists new/ and cur/, and whatever lists them again on the same handle (a quota check after a
/// listing, a retry) must see every message, not the end of the previous listing.
/// </summary>
public sealed class DirectoryListingTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "restante-listing-" + Guid.NewGuid().ToString("N"));

    public DirectoryListingTests()
    {
        Directory.CreateDirectory(_directory);
        for (var i = 0; i < 5; i++) File.WriteAllText(Path.Combine(_directory, $"message-{i}"), "x");
    }

    [Fact]
    public void A_descriptor_listed_twice_gives_every_name_both_times()
    {
        Assert.Equal(0, Posix.TryOpenTrustedDirectory(_directory, out var handle));
        using (handle)
        {
            var first = Names(Posix.ReadDirectory(handle!, _directory));
            var second = Names(Posix.ReadDirectory(handle!, _directory));
            Assert.Equal(Enumerable.Range(0, 5).Select(i => $"message-{i}"), first);
            Assert.Equal(first, second);
        }
    }

    [Fact]
    public void A_listing_cut_short_leaves_the_next_one_complete()
    {
        Assert.Equal(0, Posix.TryOpenTrustedDirectory(_directory, out var handle));
        using (handle)
        {
            Assert.Throws<InvalidOperationException>(() => Posix.ReadDirectory(handle!, _directory, new ThrowingVisitor()));
            Assert.Equal(5, Posix.ReadDirectory(handle!, _directory).Count);
        }
    }

    [Fact]
    public void A_name_added_between_two_listings_of_one_descriptor_is_in_the_second()
    {
        Assert.Equal(0, Posix.TryOpenTrustedDirectory(_directory, out var handle));
        using (handle)
        {
            Assert.Equal(5, Posix.ReadDirectory(handle!, _directory).Count);
            File.WriteAllText(Path.Combine(_directory, "message-5"), "x");
            Assert.Contains("message-5", Names(Posix.ReadDirectory(handle!, _directory)));
        }
    }

    private static string[] Names(List<Posix.DirectoryEntry> entries) => entries.Select(e => e.Name).Order(StringComparer.Ordinal).ToArray();

    private sealed class ThrowingVisitor : Posix.IDirectoryVisitor
    {
        public void Visit(ReadOnlySpan<byte> name, Posix.FileKind kind, bool kindKnown) => throw new InvalidOperationException("stop");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

using Microsoft.Extensions.Time.Testing;
using Restante.Storage.Maildir;

using static Restante.Tests.Storage.BigMaildir;

namespace Restante.Tests.Storage;

/// <summary>
/// The background re-check of a folder listed before it settled (<see cref="MaildirIndex"/>) runs without the
/// Maildir's lock, so a login, a delivery of ours or a session's QUIT may land while it lists. It must publish only
/// over the state it started from (a login or a delivery in between wins), and a listing it took before a QUIT
/// expunged messages must never bring those messages back. Real Maildirs; the re-check is held at a known point by
/// the clock the store is given (<see cref="HeldTimeProvider"/>): after it has listed the folders, when it starts the
/// sizing budget for a file it has to read.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class MaildirRecheckRaceTests
{
    // A file without its size in the name: the re-check has to read it, so it starts a sizing budget (a timer) once
    // its listing of the folders is done. That is where the test holds it.
    private static void DropUnsized(TempMaildirs dirs, string name) => dirs.Put("big", "new", name, "dropped by another agent\n");

    /// <summary>
    /// Lets the clock move on so the scheduled re-check runs, and returns once it is held after its listing. The clock
    /// moves on another thread: the re-check may run inline in the timer callback, and it blocks there.
    /// </summary>
    private static async Task<Task> RunRecheckUntilHeldAsync(HeldTimeProvider time)
    {
        time.HoldNextTimer();
        var advancing = Task.Run(() => time.Fake.Advance(TimeSpan.FromMinutes(1)));
        await time.Held.WaitAsync(TimeSpan.FromMinutes(1));
        return advancing;
    }

    private static async Task FinishRecheckAsync(MaildirStore store, TempMaildirs dirs, HeldTimeProvider time, Task advancing)
    {
        time.Release();
        await advancing.WaitAsync(TimeSpan.FromMinutes(1));
        await store.Index.RecheckedAsync(dirs.MaildirOf("big")).WaitAsync(TimeSpan.FromMinutes(1));
    }

    // Folder times have the kernel's clock-tick resolution: a change made right after the re-check read them could
    // leave them as they were. Waiting a few ticks makes the change below one the times show, so what the test
    // checks is which state the index keeps, not whether a same-tick change is seen.
    private static Task PastOneClockTickAsync() => Task.Delay(50);

    [Fact]
    public async Task A_login_while_the_recheck_lists_wins_and_the_recheck_publishes_nothing()
    {
        using var dirs = Unsized();
        using var time = new HeldTimeProvider();
        var store = StoreOf(dirs, time);
        var before = await UidsAsync(store);
        DropUnsized(dirs, "1790000001.V801Ia001.mx1");

        var advancing = await RunRecheckUntilHeldAsync(time);
        // Meanwhile another agent drops one more file and a login lists it (the clock has moved on, so the login
        // records both folders as settled and writes the listing file).
        await PastOneClockTickAsync();
        DropUnsized(dirs, "1790000002.V801Ia002.mx1");
        var atLogin = await UidsAsync(store);
        await FinishRecheckAsync(store, dirs, time, advancing);

        var listed = store.Index.FoldersListed;
        var next = await UidsAsync(store);
        var restarted = StoreOf(dirs, time);
        var afterRestart = await UidsAsync(restarted);

        Assert.Equal([.. before, "1790000001.V801Ia001.mx1", "1790000002.V801Ia002.mx1"], atLogin);
        // The index still holds the login's settled listing: the next login lists nothing. Had the re-check replaced
        // it with its own (taken before the second file), new/ would be listed again.
        Assert.Equal(listed, store.Index.FoldersListed);
        Assert.Equal(atLogin, next);
        // And the listing file is the login's: had the re-check written its older listing over it, a restart would
        // find new/'s times differ from the file's and list it.
        Assert.Equal(0, restarted.Index.FoldersListed);
        Assert.Equal(atLogin, afterRestart);
    }

    [Fact]
    public async Task A_delivery_while_the_recheck_lists_wins_and_the_recheck_publishes_nothing()
    {
        using var dirs = Unsized();
        using var time = new HeldTimeProvider();
        // cur/ changed "now" by the test's clock however long the setup took, so the login records both folders as not
        // settled (what the index's state looks like is what this test checks).
        Directory.SetLastWriteTimeUtc(Path.Combine(dirs.MaildirOf("big"), "cur"), time.Fake.GetUtcNow().UtcDateTime);
        var store = StoreOf(dirs, time);
        var before = await UidsAsync(store);
        DropUnsized(dirs, "1790000001.V801Ia001.mx1");

        var advancing = await RunRecheckUntilHeldAsync(time);
        await PastOneClockTickAsync();
        var delivered = await store.DeliverAsync("big", new MemoryStream("Subject: ours\n\nhello\n"u8.ToArray()), default);
        await FinishRecheckAsync(store, dirs, time, advancing);

        var listed = store.Index.FoldersListed;
        var next = await UidsAsync(store);
        var afterRestart = await UidsAsync(StoreOf(dirs, time));

        Assert.Equal([.. before, "1790000001.V801Ia001.mx1", delivered], next);
        Assert.Equal(next, afterRestart);
        // The index kept the delivery's state: the login's from before the re-check, still unsettled in both folders,
        // with the delivery recorded; so the next login lists both. Had the re-check's listing (both folders settled,
        // taken before the delivery) replaced it, only new/ would be listed, because its times moved; and a delivery
        // within the same clock tick as the re-check's reading of the times would have been hidden until new/ changed
        // again.
        Assert.Equal(listed + 2, store.Index.FoldersListed);
    }

    [Fact]
    public async Task A_quit_that_expunges_while_the_recheck_lists_brings_no_message_back_and_changes_no_uidl()
    {
        using var dirs = Unsized();
        using var time = new HeldTimeProvider();
        var store = StoreOf(dirs, time);
        var drop = await store.OpenAsync("big", default);
        var before = drop.Messages.Select(m => m.Uid).ToList();
        DropUnsized(dirs, "1790000001.V801Ia001.mx1");

        // The session is still open (holding the lock) while the re-check lists: it takes no lock.
        var advancing = await RunRecheckUntilHeldAsync(time);
        await PastOneClockTickAsync();
        int[] deleted = [0, 7, 100, Count - 1];
        var expunged = await drop.ExpungeAsync(deleted, default);
        await drop.DisposeAsync();
        await FinishRecheckAsync(store, dirs, time, advancing);

        var next = await UidsAsync(store);
        var afterRestart = await UidsAsync(StoreOf(dirs, time));

        Assert.Equal(deleted.Length, expunged.Removed);
        var expected = before.Where((_, i) => !deleted.Contains(i)).Append("1790000001.V801Ia001.mx1").ToList();
        // No expunged message is back, and every other keeps its UIDL and its place.
        Assert.Equal(expected, next);
        Assert.Equal(expected, afterRestart);
    }

    /// <summary>
    /// A fake clock that can hold the next timer made on it: the thread making it waits until <see cref="Release"/>.
    /// The re-check makes a timer for its sizing budget right after it has listed the folders.
    /// </summary>
    private sealed class HeldTimeProvider : TimeProvider, IDisposable
    {
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _release = new();
        private int _armed;

        // The clock as the files were just written: their folders have not settled yet.
        public FakeTimeProvider Fake { get; } = new(DateTimeOffset.UtcNow);

        public Task Held => _held.Task;

        public void HoldNextTimer() => Volatile.Write(ref _armed, 1);

        public void Release() => _release.Set();

        // A test that fails between holding and releasing must not leave the re-check's thread waiting for a minute.
        public void Dispose() => _release.Set();

        public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

        public override long GetTimestamp() => Fake.GetTimestamp();

        public override long TimestampFrequency => Fake.TimestampFrequency;

        public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (Interlocked.Exchange(ref _armed, 0) == 1)
            {
                _held.TrySetResult();
                if (!_release.Wait(TimeSpan.FromMinutes(1))) throw new TimeoutException("the held timer was never released");
            }
            return Fake.CreateTimer(callback, state, dueTime, period);
        }
    }
}

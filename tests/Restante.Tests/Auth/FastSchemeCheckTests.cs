using Restante.Auth;

namespace Restante.Tests.Auth;

/// <summary>
/// A "{PLAIN}" or "{SSHA*}" check runs on the caller's thread (no hand-off to the hashing threads and back, two thread
/// switches per login), yet is refused "busy" exactly when a hashed check would be, so a flood cannot tell cheaply
/// stored accounts from unknown names.
/// </summary>
public sealed class FastSchemeCheckTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly PasswdFile _users;

    public FastSchemeCheckTests()
    {
        File.WriteAllText(_dir.File("passwd"),
            "plain:{PLAIN}secret\n" +
            $"ssha:{{SSHA256}}{SaltedShaScheme.Ssha256.Hash("secret")}\n" +
            $"blf:{{BLF-CRYPT}}{new BlfCryptScheme(cost: 4).Hash("secret")}\n");
        _users = new PasswdFile(_dir.File("passwd"));
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>One hashing thread held busy until released, with <c>queued</c> checks waiting behind it.</summary>
    private sealed class BusyHashing : IDisposable
    {
        private readonly ManualResetEventSlim _release = new();
        private readonly Task _blocker;
        private readonly Task[] _queued;

        public BusyHashing(int queueCapacity, int queued = 0)
        {
            Hashing = new PasswordHashing(workers: 1, queueCapacity);
            _blocker = Hashing.RunAsync(() => _release.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None);
            SpinWait.SpinUntil(() => Hashing.Running == 1, TimeSpan.FromSeconds(10));
            _queued = Enumerable.Range(0, queued).Select(_ => (Task)Hashing.RunAsync(() => true, CancellationToken.None)).ToArray();
            Assert.Equal(queued, Hashing.QueueDepth);
        }

        public PasswordHashing Hashing { get; }

        /// <summary>Lets the busy thread go; done when it and the queued checks have run.</summary>
        public async Task ReleaseAsync()
        {
            _release.Set();
            await _blocker;
            await Task.WhenAll(_queued);
        }

        public void Dispose()
        {
            _release.Set();
            Hashing.Dispose();
            _release.Dispose();
        }
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("ssha")]
    public async Task A_fast_scheme_is_checked_while_every_hashing_thread_is_busy(string user)
    {
        using var busy = new BusyHashing(queueCapacity: 4);
        var authenticator = new Authenticator(_users, busy.Hashing);

        // Queued behind the blocked worker this would not complete until the release.
        var check = authenticator.VerifyPasswordAsync(user, "secret", CancellationToken.None).AsTask();
        Assert.True(check.IsCompleted, "the fast check waited for a hashing thread");
        Assert.Equal(user, await check);
        Assert.Null(await authenticator.VerifyPasswordAsync(user, "wrong", CancellationToken.None));

        await busy.ReleaseAsync();
    }

    [Fact]
    public async Task A_slow_scheme_still_goes_to_the_hashing_threads()
    {
        using var busy = new BusyHashing(queueCapacity: 4);
        var authenticator = new Authenticator(_users, busy.Hashing);

        var check = authenticator.VerifyPasswordAsync("blf", "secret", CancellationToken.None).AsTask();
        await Task.Delay(200);
        Assert.False(check.IsCompleted);
        await busy.ReleaseAsync();
        Assert.Equal("blf", await check);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("ssha")]
    public async Task With_checks_queued_a_fast_scheme_waits_its_turn_like_an_unknown_names_dummy_hash(string user)
    {
        // Answered inline while unknown names' dummy hashes wait behind the queue, a wrong password for a cheaply
        // stored account would come back sooner than one for a name that does not exist, whatever the failure delay.
        using var busy = new BusyHashing(queueCapacity: 4, queued: 1);
        var authenticator = new Authenticator(_users, busy.Hashing);

        var fast = authenticator.VerifyPasswordAsync(user, "wrong", CancellationToken.None).AsTask();
        var unknown = authenticator.VerifyPasswordAsync("nobody", "wrong", CancellationToken.None).AsTask();
        await Task.Delay(200);
        Assert.False(fast.IsCompleted, "a fast check was answered while other checks were queued");
        Assert.False(unknown.IsCompleted);

        await busy.ReleaseAsync();
        Assert.Null(await fast);
        Assert.Null(await unknown);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("ssha")]
    [InlineData("nobody")]
    [InlineData("blf")]
    public async Task While_the_queue_is_full_every_login_is_refused_busy_whatever_its_scheme(string user)
    {
        using var busy = new BusyHashing(queueCapacity: 1, queued: 1);
        var authenticator = new Authenticator(_users, busy.Hashing);

        await Assert.ThrowsAsync<PasswordHashingBusyException>(async () => await authenticator.VerifyPasswordAsync(user, "secret", CancellationToken.None));

        await busy.ReleaseAsync();
        // Room again: the same login is checked.
        Assert.Equal(user is "nobody" ? null : user, await authenticator.VerifyPasswordAsync(user, "secret", CancellationToken.None));
    }
}

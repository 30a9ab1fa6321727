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

    [Theory]
    [InlineData("plain")]
    [InlineData("ssha")]
    public async Task A_fast_scheme_is_checked_while_every_hashing_thread_is_busy(string user)
    {
        using var hashing = new PasswordHashing(workers: 1, queueCapacity: 4);
        using var release = new ManualResetEventSlim();
        var blocker = hashing.RunAsync(() => release.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None);
        SpinWait.SpinUntil(() => hashing.Running == 1, TimeSpan.FromSeconds(10));
        var authenticator = new Authenticator(_users, hashing);

        // Queued behind the blocked worker this would not complete until release.Set().
        var check = authenticator.VerifyPasswordAsync(user, "secret", CancellationToken.None).AsTask();
        Assert.True(check.IsCompleted, "the fast check waited for a hashing thread");
        Assert.Equal(user, await check);
        Assert.Null(await authenticator.VerifyPasswordAsync(user, "wrong", CancellationToken.None));

        release.Set();
        await blocker;
    }

    [Fact]
    public async Task A_slow_scheme_still_goes_to_the_hashing_threads()
    {
        using var hashing = new PasswordHashing(workers: 1, queueCapacity: 4);
        using var release = new ManualResetEventSlim();
        var blocker = hashing.RunAsync(() => release.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None);
        SpinWait.SpinUntil(() => hashing.Running == 1, TimeSpan.FromSeconds(10));
        var authenticator = new Authenticator(_users, hashing);

        var check = authenticator.VerifyPasswordAsync("blf", "secret", CancellationToken.None).AsTask();
        await Task.Delay(200);
        Assert.False(check.IsCompleted);
        release.Set();
        Assert.Equal("blf", await check);
        await blocker;
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("ssha")]
    public async Task With_checks_queued_a_fast_scheme_waits_its_turn_like_an_unknown_names_dummy_hash(string user)
    {
        // Answered inline while unknown names' dummy hashes wait behind the queue, a wrong password for a cheaply
        // stored account would come back sooner than one for a name that does not exist, whatever the failure delay.
        using var hashing = new PasswordHashing(workers: 1, queueCapacity: 4);
        using var release = new ManualResetEventSlim();
        var blocker = hashing.RunAsync(() => release.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None);
        SpinWait.SpinUntil(() => hashing.Running == 1, TimeSpan.FromSeconds(10));
        var queued = hashing.RunAsync(() => true, CancellationToken.None);
        Assert.Equal(1, hashing.QueueDepth);
        var authenticator = new Authenticator(_users, hashing);

        var fast = authenticator.VerifyPasswordAsync(user, "wrong", CancellationToken.None).AsTask();
        var unknown = authenticator.VerifyPasswordAsync("nobody", "wrong", CancellationToken.None).AsTask();
        await Task.Delay(200);
        Assert.False(fast.IsCompleted, "a fast check was answered while other checks were queued");
        Assert.False(unknown.IsCompleted);

        release.Set();
        Assert.Null(await fast);
        Assert.Null(await unknown);
        await blocker;
        await queued;
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("ssha")]
    [InlineData("nobody")]
    [InlineData("blf")]
    public async Task While_the_queue_is_full_every_login_is_refused_busy_whatever_its_scheme(string user)
    {
        using var hashing = new PasswordHashing(workers: 1, queueCapacity: 1);
        using var release = new ManualResetEventSlim();
        var blocker = hashing.RunAsync(() => release.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None);
        SpinWait.SpinUntil(() => hashing.Running == 1, TimeSpan.FromSeconds(10));
        var queued = hashing.RunAsync(() => true, CancellationToken.None);
        Assert.Equal(1, hashing.QueueDepth);
        var authenticator = new Authenticator(_users, hashing);

        await Assert.ThrowsAsync<PasswordHashingBusyException>(async () => await authenticator.VerifyPasswordAsync(user, "secret", CancellationToken.None));

        release.Set();
        await blocker;
        await queued;
        // Room again: the same login is checked.
        Assert.Equal(user is "nobody" ? null : user, await authenticator.VerifyPasswordAsync(user, "secret", CancellationToken.None));
    }
}

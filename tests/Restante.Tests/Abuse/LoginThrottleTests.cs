using System.Net;
using Microsoft.Extensions.Time.Testing;
using Restante.Auth;

namespace Restante.Tests.Abuse;

public class LoginThrottleTests
{
    private static readonly IPAddress s_attacker = IPAddress.Parse("192.0.2.10");
    private static readonly IPAddress s_other = IPAddress.Parse("198.51.100.7");

    [Fact]
    public void Failures_spread_wider_than_the_window_never_block()
    {
        var time = new FakeTimeProvider();
        var throttle = new LoginThrottle(new LoginThrottleOptions { MaxFailuresPerIp = 3, Window = TimeSpan.FromMinutes(10) }, _ => false, time);
        for (var i = 0; i < 10; i++)
        {
            throttle.RecordFailure(s_attacker, "alice");
            time.Advance(TimeSpan.FromMinutes(6));
        }
        Assert.False(throttle.IsBlocked(s_attacker));
    }

    [Fact]
    public void A_block_ends_after_the_cooling_off_period()
    {
        var time = new FakeTimeProvider();
        var throttle = new LoginThrottle(new LoginThrottleOptions { MaxFailuresPerIp = 2, BlockDuration = TimeSpan.FromMinutes(15) }, _ => false, time);
        throttle.RecordFailure(s_attacker, "a");
        Assert.False(throttle.IsBlocked(s_attacker));
        throttle.RecordFailure(s_attacker, "b");
        Assert.True(throttle.IsBlocked(s_attacker));
        Assert.False(throttle.IsBlocked(s_other));
        time.Advance(TimeSpan.FromMinutes(14));
        Assert.True(throttle.IsBlocked(s_attacker));
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.False(throttle.IsBlocked(s_attacker));
    }

    [Fact]
    public void A_user_under_attack_from_many_addresses_gets_those_addresses_blocked_not_the_user()
    {
        var time = new FakeTimeProvider();
        var throttle = new LoginThrottle(new LoginThrottleOptions { MaxFailuresPerIp = 100, MaxFailuresPerUser = 5 }, _ => false, time);
        for (var i = 1; i <= 5; i++) throttle.RecordFailure(IPAddress.Parse($"203.0.113.{i}"), "alice");
        Assert.True(throttle.IsBlocked(IPAddress.Parse("203.0.113.5")));
        Assert.False(throttle.IsBlocked(IPAddress.Parse("203.0.113.1")));
        Assert.False(throttle.IsBlocked(s_other));
    }

    [Fact]
    public void Exempt_addresses_are_never_counted()
    {
        var throttle = new LoginThrottle(new LoginThrottleOptions { MaxFailuresPerIp = 1 }, a => a!.Equals(s_other), new FakeTimeProvider());
        throttle.RecordFailure(s_other, "x");
        throttle.RecordFailure(s_other, "x");
        Assert.False(throttle.IsBlocked(s_other));
    }

    [Fact]
    public void Ipv4_mapped_addresses_count_as_their_ipv4_address()
    {
        var throttle = new LoginThrottle(new LoginThrottleOptions { MaxFailuresPerIp = 2 }, _ => false, new FakeTimeProvider());
        throttle.RecordFailure(s_attacker, "x");
        throttle.RecordFailure(s_attacker.MapToIPv6(), "x");
        Assert.True(throttle.IsBlocked(s_attacker));
    }

    [Fact]
    public void Memory_stays_bounded_under_a_wide_attack()
    {
        var throttle = new LoginThrottle(new LoginThrottleOptions { MaxFailuresPerIp = 50, MaxFailuresPerUser = 1_000_000, MaxTrackedKeys = 1000 }, _ => false, new FakeTimeProvider());
        for (var i = 0; i < 20_000; i++)
            throttle.RecordFailure(new IPAddress(BitConverter.GetBytes(0x0A000000 + i)), "user" + (i % 7));
        Assert.InRange(throttle.TrackedKeys, 1, 1000 + 7);
    }
}

public class LoginThrottleFairnessTests
{
    private static readonly IPAddress s_home = IPAddress.Parse("192.0.2.10");

    [Fact]
    public void A_successful_login_takes_back_its_own_users_failures_from_that_address_only()
    {
        var throttle = new LoginThrottle(new LoginThrottleOptions { MaxFailuresPerIp = 6 }, _ => false, new FakeTimeProvider());
        for (var i = 0; i < 4; i++) throttle.RecordFailure(s_home, "carol");
        throttle.RecordFailure(s_home, "mallory-guess");
        throttle.RecordFailure(IPAddress.Parse("198.51.100.7"), "carol");
        Assert.Equal(5, throttle.FailuresOf(s_home));

        throttle.RecordSuccess(s_home, "carol");

        // carol's four are gone; the guess at another user stays, and so does the other address's failure.
        Assert.Equal(1, throttle.FailuresOf(s_home));
        Assert.Equal(1, throttle.FailuresOf(IPAddress.Parse("198.51.100.7")));
        for (var i = 0; i < 4; i++) throttle.RecordFailure(s_home, "carol");
        Assert.False(throttle.IsBlocked(s_home));
        throttle.RecordFailure(s_home, "carol");
        Assert.True(throttle.IsBlocked(s_home));
    }

    [Fact]
    public void Failures_without_a_user_name_count_for_their_address_only()
    {
        // Any number of nameless failures from many addresses must not push a stranger over the per-user limit.
        var throttle = new LoginThrottle(new LoginThrottleOptions { MaxFailuresPerIp = 100, MaxFailuresPerUser = 3 }, _ => false, new FakeTimeProvider());
        for (var i = 1; i <= 20; i++) throttle.RecordFailure(IPAddress.Parse($"203.0.113.{i}"), "");
        var stranger = IPAddress.Parse("198.51.100.99");
        throttle.RecordFailure(stranger, "");
        Assert.False(throttle.IsBlocked(stranger));
        Assert.Equal(1, throttle.FailuresOf(stranger));
    }

    [Fact]
    public void Ipv6_addresses_are_counted_per_64_by_default_and_per_configured_prefix()
    {
        var throttle = new LoginThrottle(new LoginThrottleOptions { MaxFailuresPerIp = 3 }, _ => false, new FakeTimeProvider());
        throttle.RecordFailure(IPAddress.Parse("2001:db8:1:2::1"), "a");
        throttle.RecordFailure(IPAddress.Parse("2001:db8:1:2:ffff::9"), "b");
        throttle.RecordFailure(IPAddress.Parse("2001:db8:1:2:1234:5678:9abc:def0"), "c");
        // A fresh address in the same /64 is blocked; the neighbouring /64 is not.
        Assert.True(throttle.IsBlocked(IPAddress.Parse("2001:db8:1:2::77")));
        Assert.False(throttle.IsBlocked(IPAddress.Parse("2001:db8:1:3::1")));

        var per128 = new LoginThrottle(new LoginThrottleOptions { MaxFailuresPerIp = 2, Ipv6PrefixLength = 128 }, _ => false, new FakeTimeProvider());
        per128.RecordFailure(IPAddress.Parse("2001:db8::1"), "a");
        per128.RecordFailure(IPAddress.Parse("2001:db8::2"), "a");
        Assert.False(per128.IsBlocked(IPAddress.Parse("2001:db8::2")));
    }

    [Fact]
    public void The_connection_gate_counts_ipv6_per_64_too()
    {
        var limits = new Restante.Networking.ConnectionLimitOptions { MaxConnectionsPerIp = 2, TrustLoopback = false };
        var gate = new Restante.Networking.ConnectionGate(limits, limits.BuildTrustedNetworks());
        Assert.True(gate.TryEnter(IPAddress.Parse("2001:db8:1:2::1"), out var first));
        Assert.True(gate.TryEnter(IPAddress.Parse("2001:db8:1:2::2"), out var second));
        Assert.False(gate.TryEnter(IPAddress.Parse("2001:db8:1:2::3"), out _));
        Assert.True(gate.TryEnter(IPAddress.Parse("2001:db8:1:3::1"), out var elsewhere));
        first.Dispose();
        Assert.True(gate.TryEnter(IPAddress.Parse("2001:db8:1:2::3"), out var third));
        second.Dispose();
        third.Dispose();
        elsewhere.Dispose();
        Assert.Equal(0, gate.Total);
    }
}

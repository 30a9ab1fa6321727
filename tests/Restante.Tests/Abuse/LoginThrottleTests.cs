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

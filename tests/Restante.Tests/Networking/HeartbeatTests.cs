using Microsoft.Extensions.Time.Testing;
using Restante.Networking;

namespace Restante.Tests.Networking;

/// <summary>I/O deadlines own no timer: the one heartbeat per clock fires those that have passed while armed.</summary>
public class HeartbeatTests
{
    [Fact]
    public void An_armed_deadline_fires_at_the_first_beat_after_it_passes_and_a_disarmed_one_never()
    {
        var time = new FakeTimeProvider();
        using var armed = new IoDeadline(time);
        using var disarmed = new IoDeadline(time);
        var token = armed.Arm(TimeSpan.FromSeconds(10));
        disarmed.Arm(TimeSpan.FromSeconds(5));
        disarmed.Disarm();

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(token.IsCancellationRequested);
        time.Advance(TimeSpan.FromSeconds(1) + Heartbeat.Interval);
        Assert.True(token.IsCancellationRequested);
        Assert.Throws<OperationCanceledException>(armed.Disarm);

        time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(disarmed.Fired);
    }

    [Fact]
    public void Rearming_moves_the_deadline()
    {
        var time = new FakeTimeProvider();
        using var deadline = new IoDeadline(time);
        for (var i = 0; i < 5; i++)
        {
            deadline.Arm(TimeSpan.FromSeconds(3));
            time.Advance(TimeSpan.FromSeconds(2));
            deadline.Disarm();
        }
        Assert.False(deadline.Fired);
    }
}

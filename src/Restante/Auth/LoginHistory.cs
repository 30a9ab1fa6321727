using System.Collections.Concurrent;

namespace Restante.Auth;

/// <summary>
/// When each user last logged in, for LOGIN-DELAY (RFC 2449 §6.5). Kept in memory: after a
/// restart every user may log in at once, which errs on the side of the user.
/// </summary>
public sealed class LoginHistory(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, long> _last = new(StringComparer.Ordinal);

    /// <summary>Records a login now unless the previous one was less than <paramref name="delay"/> ago.</summary>
    public bool TryRecordLogin(string user, TimeSpan delay)
    {
        var now = time.GetTimestamp();
        while (true)
        {
            if (_last.TryGetValue(user, out var previous))
            {
                if (time.GetElapsedTime(previous, now) < delay) return false;
                if (_last.TryUpdate(user, now, previous)) return true;
            }
            else if (_last.TryAdd(user, now))
            {
                return true;
            }
        }
    }
}

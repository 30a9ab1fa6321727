using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Protocol;

namespace Restante.Auth;

/// <summary>
/// Counts failed logins per client address and per user name in sliding windows and blocks
/// addresses that go past a threshold. A blocked address is refused before any password is
/// checked, so guessing costs the server nothing. Exempt addresses (loopback, trusted networks)
/// are never counted.
/// </summary>
public sealed partial class LoginThrottle
{
    private readonly LoginThrottleOptions _options;
    private readonly Predicate<IPAddress?> _exempt;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<IPAddress, FailureWindow> _byAddress = new();
    private readonly ConcurrentDictionary<string, FailureWindow> _byUser = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<IPAddress, long> _blockedUntil = new();

    public LoginThrottle(LoginThrottleOptions options, Predicate<IPAddress?> exempt, TimeProvider? time = null, ILogger? logger = null)
    {
        _options = options;
        _exempt = exempt;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    internal int TrackedKeys => _byAddress.Count + _byUser.Count;

    /// <summary>True while the address is in its cooling-off period.</summary>
    public bool IsBlocked(IPAddress? address)
    {
        if (address is null || _exempt(address)) return false;
        address = Normalise(address);
        if (!_blockedUntil.TryGetValue(address, out var until)) return false;
        if (_time.GetTimestamp() < until) return true;
        _blockedUntil.TryRemove(new KeyValuePair<IPAddress, long>(address, until));
        return false;
    }

    /// <summary>Records one failed login; blocks the address when it, or the user name, is past its threshold.</summary>
    public void RecordFailure(IPAddress? address, string user)
    {
        if (address is null || _exempt(address)) return;
        address = Normalise(address);
        var now = _time.GetTimestamp();
        var windowTicks = ToTimestampTicks(_options.Window);
        var addressFailures = Count(_byAddress, address, now, windowTicks);
        var userFailures = Count(_byUser, user, now, windowTicks);
        if (addressFailures < _options.MaxFailuresPerIp && userFailures < _options.MaxFailuresPerUser) return;

        var until = now + ToTimestampTicks(_options.BlockDuration);
        var fresh = true;
        _blockedUntil.AddOrUpdate(address, until, (_, previous) =>
        {
            fresh = previous <= now;
            return Math.Max(previous, until);
        });
        // One line per block, in a shape fail2ban can match: "Blocked login attempts from <HOST>", the
        // address before the (escaped) user name the client chose.
        if (fresh) Blocked(_logger, address, addressFailures, LogText.Of(user), userFailures, _options.BlockDuration);
    }

    private int Count<TKey>(ConcurrentDictionary<TKey, FailureWindow> table, TKey key, long now, long windowTicks) where TKey : notnull
    {
        if (table.Count >= _options.MaxTrackedKeys && !table.ContainsKey(key)) Prune(table, now, windowTicks, _options.MaxTrackedKeys);
        var window = table.GetOrAdd(key, static _ => new FailureWindow());
        return window.Add(now, windowTicks);
    }

    private static void Prune<TKey>(ConcurrentDictionary<TKey, FailureWindow> table, long now, long windowTicks, int capacity) where TKey : notnull
    {
        foreach (var (key, window) in table)
            if (window.IsStale(now, windowTicks)) table.TryRemove(key, out _);
        // Still nearly full of live entries (a wide attack): forget half, oldest activity first.
        if (table.Count < capacity * 9 / 10) return;
        foreach (var (key, _) in table.OrderBy(e => e.Value.Latest).Take(table.Count / 2).ToList())
            table.TryRemove(key, out _);
    }

    private long ToTimestampTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private static IPAddress Normalise(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    [LoggerMessage(300 + 10, LogLevel.Warning, "Blocked login attempts from {Address} after {AddressFailures} failures ({User}: {UserFailures}) for {Duration}", EventName = "LoginBlocked")]
    private static partial void Blocked(ILogger logger, IPAddress address, int addressFailures, string user, int userFailures, TimeSpan duration);

    /// <summary>The failure times inside the window, oldest first.</summary>
    private sealed class FailureWindow
    {
        private readonly Queue<long> _times = new();

        public long Latest { get; private set; }

        public int Add(long now, long windowTicks)
        {
            lock (_times)
            {
                while (_times.Count > 0 && now - _times.Peek() >= windowTicks) _times.Dequeue();
                _times.Enqueue(now);
                // A window never needs to remember more failures than any threshold could count.
                if (_times.Count > 1000) _times.Dequeue();
                Latest = now;
                return _times.Count;
            }
        }

        public bool IsStale(long now, long windowTicks)
        {
            lock (_times) return _times.Count == 0 || now - Latest >= windowTicks;
        }
    }
}

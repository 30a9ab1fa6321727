using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Networking;
using Restante.Protocol;

namespace Restante.Auth;

/// <summary>
/// Counts failed logins per client address and per user name in sliding windows and blocks
/// addresses that go past a threshold. A blocked address is refused before any password is
/// checked, so guessing costs the server nothing. Exempt addresses (loopback, trusted networks)
/// are never counted. An IPv6 "address" here is its /64 (<see cref="LoginThrottleOptions.Ipv6PrefixLength"/>).
/// A failure without a user name (malformed SASL, a token naming nobody) counts for the address only: lumping all
/// of them under one empty name would let garbage from a few addresses get an unrelated address blocked.
/// A successful login forgets the failures its address had for that user (<see cref="RecordSuccess"/>).
/// </summary>
public sealed partial class LoginThrottle
{
    // Not readonly: a configuration reload replaces both (Update); a reader takes whichever it sees whole.
    private volatile LoginThrottleOptions _options;
    private volatile Predicate<IPAddress?> _exempt;
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

    /// <summary>
    /// New thresholds and exemptions from now on (a configuration reload). Failures counted so far and
    /// blocks in force stay; a block ends at the time it was given.
    /// </summary>
    public void Update(LoginThrottleOptions options, Predicate<IPAddress?> exempt)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(exempt);
        _exempt = exempt;
        _options = options;
    }

    internal int TrackedKeys => _byAddress.Count + _byUser.Count;

    /// <summary>True while the address is in its cooling-off period.</summary>
    public bool IsBlocked(IPAddress? address)
    {
        if (address is null || _exempt(address)) return false;
        address = Key(address);
        if (!_blockedUntil.TryGetValue(address, out var until)) return false;
        if (_time.GetTimestamp() < until) return true;
        _blockedUntil.TryRemove(new KeyValuePair<IPAddress, long>(address, until));
        return false;
    }

    /// <summary>Records one failed login; blocks the address when it, or the user name, is past its threshold.</summary>
    public void RecordFailure(IPAddress? address, string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (address is null || _exempt(address)) return;
        address = Key(address);
        var now = _time.GetTimestamp();
        var windowTicks = ToTimestampTicks(_options.Window);
        var addressFailures = Count(_byAddress, address, user, now, windowTicks);
        var userFailures = user.Length == 0 ? 0 : Count(_byUser, user, address.ToString(), now, windowTicks);
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

    /// <summary>
    /// The user logged in from this address: its earlier failures there for that user were the owner's (a client
    /// that tries APOP before USER/PASS, a mistyped password), so they no longer count, for the address nor for the
    /// user. Failures for other users stay: one good account must not wash away guesses at the others.
    /// </summary>
    public void RecordSuccess(IPAddress? address, string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (address is null || _exempt(address)) return;
        address = Key(address);
        if (_byAddress.TryGetValue(address, out var forAddress)) forAddress.Forget(user);
        if (user.Length > 0 && _byUser.TryGetValue(user, out var forUser)) forUser.Forget(address.ToString());
    }

    /// <summary>
    /// Every address (an IPv6 one as its block) with failures inside the window or a block in force, for the
    /// administrator (`restante throttle list`). A moment's picture: entries come and go as this is read.
    /// </summary>
    public IReadOnlyList<ThrottledAddress> List()
    {
        var now = _time.GetTimestamp();
        var wallNow = _time.GetUtcNow();
        var windowTicks = ToTimestampTicks(_options.Window);
        var result = new List<ThrottledAddress>();
        foreach (var address in _byAddress.Keys.Union(_blockedUntil.Keys))
        {
            var failures = _byAddress.TryGetValue(address, out var window) ? window.Live(now, windowTicks) : 0;
            DateTimeOffset? blockedUntil = _blockedUntil.TryGetValue(address, out var until) && until > now
                ? wallNow + _time.GetElapsedTime(now, until)
                : null;
            if (failures > 0 || blockedUntil is not null) result.Add(new ThrottledAddress(address, failures, blockedUntil));
        }
        result.Sort(static (a, b) => string.CompareOrdinal(a.Address.ToString(), b.Address.ToString()));
        return result;
    }

    /// <summary>
    /// Forgets the address's block and failures (an IPv6 address: its whole block), also as counted against user
    /// names, so its next failure starts from nothing. True when there was something to forget.
    /// </summary>
    public bool Clear(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        address = Key(address);
        var cleared = _blockedUntil.TryRemove(address, out _) | _byAddress.TryRemove(address, out _);
        var name = address.ToString();
        foreach (var (_, window) in _byUser) window.Forget(name);
        return cleared;
    }

    /// <summary>Addresses (IPv6: blocks) blocked right now, for metrics; expired entries are not counted.</summary>
    public int BlockedCount
    {
        get
        {
            var now = _time.GetTimestamp();
            var count = 0;
            foreach (var (_, until) in _blockedUntil)
                if (now < until) count++;
            return count;
        }
    }

    /// <summary>Failures inside the window for <paramref name="address"/> (its block), for tests and metrics.</summary>
    internal int FailuresOf(IPAddress address)
        => _byAddress.TryGetValue(Key(address), out var window) ? window.Live(_time.GetTimestamp(), ToTimestampTicks(_options.Window)) : 0;

    private int Count<TKey>(ConcurrentDictionary<TKey, FailureWindow> table, TKey key, string other, long now, long windowTicks) where TKey : notnull
    {
        if (table.Count >= _options.MaxTrackedKeys && !table.ContainsKey(key)) Prune(table, now, windowTicks, _options.MaxTrackedKeys);
        var window = table.GetOrAdd(key, static _ => new FailureWindow());
        return window.Add(now, other, windowTicks);
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

    private IPAddress Key(IPAddress address) => AddressBlock.Of(address, _options.Ipv6PrefixLength);

    [LoggerMessage(300 + 10, LogLevel.Warning, "Blocked login attempts from {Address} after {AddressFailures} failures ({User}: {UserFailures}) for {Duration}", EventName = "LoginBlocked")]
    private static partial void Blocked(ILogger logger, IPAddress address, int addressFailures, string user, int userFailures, TimeSpan duration);

    /// <summary>
    /// The failures inside the window, oldest first, each with the other side of the pair (the user name in an
    /// address's window, the address in a user's), so a success can take back exactly its own pair's failures.
    /// </summary>
    private sealed class FailureWindow
    {
        private readonly LinkedList<(long Time, string Other)> _failures = new();

        public long Latest { get; private set; }

        public int Add(long now, string other, long windowTicks)
        {
            lock (_failures)
            {
                Expire(now, windowTicks);
                _failures.AddLast((now, other));
                // A window never needs to remember more failures than any threshold could count.
                if (_failures.Count > 1000) _failures.RemoveFirst();
                Latest = now;
                return _failures.Count;
            }
        }

        public void Forget(string other)
        {
            lock (_failures)
            {
                for (var node = _failures.First; node is not null;)
                {
                    var next = node.Next;
                    if (string.Equals(node.Value.Other, other, StringComparison.Ordinal)) _failures.Remove(node);
                    node = next;
                }
            }
        }

        public int Live(long now, long windowTicks)
        {
            lock (_failures)
            {
                Expire(now, windowTicks);
                return _failures.Count;
            }
        }

        public bool IsStale(long now, long windowTicks)
        {
            lock (_failures) return _failures.Count == 0 || now - Latest >= windowTicks;
        }

        private void Expire(long now, long windowTicks)
        {
            while (_failures.First is { } first && now - first.Value.Time >= windowTicks) _failures.RemoveFirst();
        }
    }
}

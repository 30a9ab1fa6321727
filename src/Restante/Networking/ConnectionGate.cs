using System.Collections.Concurrent;
using System.Net;

namespace Restante.Networking;

/// <summary>
/// Admits a connection only while the total and the per-address counts are under their limits.
/// Established connections are never affected: a refusal only ever concerns the newcomer.
/// </summary>
public sealed class ConnectionGate
{
    // Not readonly: a configuration reload changes them under running connections (Update).
    private volatile Limits _limits;
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
    private int _total;

    public ConnectionGate(ConnectionLimitOptions options, TrustedNetworks trusted)
        : this(options.MaxConnections, options.MaxConnectionsPerIp, trusted, options.Ipv6PrefixLength)
    {
    }

    public ConnectionGate(ListenerConnectionLimits limits, TrustedNetworks trusted)
        : this(limits.MaxConnections, limits.MaxConnectionsPerIp, trusted)
    {
    }

    internal ConnectionGate(int maxConnections, int maxPerAddress, TrustedNetworks trusted, int ipv6PrefixLength = 64)
    {
        _limits = new Limits(maxConnections, maxPerAddress, trusted, ipv6PrefixLength);
    }

    /// <summary>
    /// New limits for connections accepted from now on (a configuration reload). Connections already
    /// admitted keep their slots even when they are now over a lowered limit: the limits only ever refuse newcomers.
    /// </summary>
    public void Update(int maxConnections, int maxPerAddress, TrustedNetworks trusted, int ipv6PrefixLength)
        => _limits = new Limits(maxConnections, maxPerAddress, trusted, ipv6PrefixLength);

    private sealed record Limits(int MaxConnections, int MaxPerAddress, TrustedNetworks Trusted, int Ipv6PrefixLength);

    public int Total => Volatile.Read(ref _total);

    /// <summary>Takes a slot; the returned lease gives it back. False when a limit is reached.</summary>
    public bool TryEnter(IPAddress? address, out Lease lease)
    {
        lease = default;
        var limits = _limits;
        if (Interlocked.Increment(ref _total) > limits.MaxConnections)
        {
            Interlocked.Decrement(ref _total);
            return false;
        }
        if (address is null || limits.Trusted.Contains(address))
        {
            lease = new Lease(this, null);
            return true;
        }
        address = AddressBlock.Of(address, limits.Ipv6PrefixLength);   // an IPv6 host has a /64 to pick from
        var count = _perAddress.AddOrUpdate(address, 1, static (_, n) => n + 1);
        if (count > limits.MaxPerAddress)
        {
            Release(address);
            Interlocked.Decrement(ref _total);
            return false;
        }
        lease = new Lease(this, address);
        return true;
    }

    private void Release(IPAddress address)
    {
        while (true)
        {
            if (!_perAddress.TryGetValue(address, out var n)) return;
            if (n <= 1)
            {
                // Drop the entry at zero so the table only ever holds addresses that are connected now.
                if (_perAddress.TryRemove(new KeyValuePair<IPAddress, int>(address, n))) return;
            }
            else if (_perAddress.TryUpdate(address, n - 1, n))
            {
                return;
            }
        }
    }

    public readonly struct Lease : IDisposable
    {
        private readonly ConnectionGate? _gate;
        private readonly IPAddress? _address;

        internal Lease(ConnectionGate gate, IPAddress? address)
        {
            _gate = gate;
            _address = address;
        }

        public void Dispose()
        {
            if (_gate is null) return;
            if (_address is not null) _gate.Release(_address);
            Interlocked.Decrement(ref _gate._total);
        }
    }
}

using System.Security.Cryptography;

namespace Restante.Pop3;

/// <summary>
/// The greeting's msg-id (RFC 1939 §7). It must differ for every connection ever made, so it joins
/// the process id, the start time of this process, a per-process counter and 64 random bits.
/// </summary>
internal static class ApopTimestamp
{
    private static readonly long s_processStart = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    private static readonly int s_processId = Environment.ProcessId;
    private static long s_counter;

    // The random bits come from the system CSPRNG as before, but fetched for 64 greetings at a time per thread: one
    // call into OpenSSL per greeting was a measurable part of a login. Each slice is handed out once.
    private const int RandomBytes = 8;
    private const int BatchBytes = 64 * RandomBytes;

    [ThreadStatic] private static byte[]? t_batch;
    [ThreadStatic] private static int t_used;

    /// <summary>The timestamp for a new greeting, or null when the greeting offers no APOP (see <see cref="Pop3Options.Apop"/>).</summary>
    public static string? ForGreeting(Pop3ServerContext server) => server.Options.Apop switch
    {
        ApopMode.On => Create(server.Hostname),
        ApopMode.Off => null,
        _ => server.Authenticator.HasApopSecrets ? Create(server.Hostname) : null,
    };

    public static string Create(string hostname)
    {
        var counter = Interlocked.Increment(ref s_counter);
        var random = Convert.ToHexStringLower(NextRandom());
        return $"<{s_processId}.{s_processStart}.{counter}.{random}@{hostname}>";
    }

    private static ReadOnlySpan<byte> NextRandom()
    {
        var batch = t_batch ??= new byte[BatchBytes];
        if (t_used == 0 || t_used == BatchBytes)
        {
            RandomNumberGenerator.Fill(batch);
            t_used = 0;
        }
        var slice = batch.AsSpan(t_used, RandomBytes);
        t_used += RandomBytes;
        return slice;
    }
}

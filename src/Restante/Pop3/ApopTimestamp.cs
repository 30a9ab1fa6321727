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

    public static string Create(string hostname)
    {
        var counter = Interlocked.Increment(ref s_counter);
        var random = RandomNumberGenerator.GetHexString(16, lowercase: true);
        return $"<{s_processId}.{s_processStart}.{counter}.{random}@{hostname}>";
    }

}

using System.Globalization;

namespace Restante.Delivery;

/// <summary>
/// Sizes as operators write them: "100M", "512k", "1G", "2048" — 1024-based, like Dovecot's
/// size settings, so a quota copied from a Dovecot setup means the same here.
/// </summary>
public static class ByteSize
{
    /// <param name="text">Digits and an optional unit: B, k/K/KB, M/MB, G/GB, T/TB (case-insensitive).</param>
    /// <param name="unitless">What a bare number counts in (1 for bytes, 1024 for Dovecot's storage=).</param>
    public static bool TryParse(string text, long unitless, out long bytes)
    {
        bytes = 0;
        var s = text.Trim();
        var digits = 0;
        while (digits < s.Length && char.IsAsciiDigit(s[digits])) digits++;
        if (digits == 0 || !long.TryParse(s.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var number)) return false;
        long multiplier = s[digits..].Trim().ToUpperInvariant() switch
        {
            "" => unitless,
            "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => -1,
        };
        if (multiplier < 0) return false;
        try
        {
            bytes = checked(number * multiplier);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }
}

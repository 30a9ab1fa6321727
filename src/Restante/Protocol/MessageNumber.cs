using System.Buffers.Text;

namespace Restante.Protocol;

/// <summary>Parses the msg argument of LIST, RETR, DELE, TOP and UIDL (RFC 1939 §5).</summary>
public static class MessageNumber
{
    /// <summary>
    /// Parses a decimal message number at the start of <paramref name="arguments"/>, leaving the rest
    /// (after one space) in it. The error texts name the problem for the user, as Dovecot's do.
    /// </summary>
    public static bool TryParse(ref ReadOnlySpan<byte> arguments, int messageCount, out int index, out string error)
    {
        index = -1;
        var token = CommandParser.NextArgument(ref arguments);
        if (token.IsEmpty || !IsDigits(token) || !Utf8Parser.TryParse(token, out uint number, out var consumed) || consumed != token.Length)
        {
            error = token.IsEmpty ? "Missing message number." : $"Invalid message number: {PrintableText.From(token)}";
            return false;
        }
        if (number == 0 || number > (uint)messageCount)
        {
            error = $"There's no message {number}.";
            return false;
        }
        index = (int)number - 1;
        error = string.Empty;
        return true;
    }

    /// <summary>Parses a non-negative decimal count (TOP's line count).</summary>
    public static bool TryParseCount(ReadOnlySpan<byte> token, out long count)
    {
        count = 0;
        return !token.IsEmpty && IsDigits(token) && Utf8Parser.TryParse(token, out count, out var consumed) && consumed == token.Length;
    }

    private static bool IsDigits(ReadOnlySpan<byte> token)
    {
        foreach (var b in token)
            if (b is < (byte)'0' or > (byte)'9') return false;
        return true;
    }
}

using System.Text;

namespace Restante.Protocol;

/// <summary>
/// Parses the argument of MAIL and RCPT: <c>FROM:&lt;path&gt; [parameters]</c> (RFC 5321 §4.1.1.2,
/// §4.1.1.3, §4.1.2). No I/O; the address comes back as text without the angle brackets, the
/// parameters as the raw rest of the line.
/// </summary>
public static class MailPath
{
    // RFC 5321 §4.5.3.1.3: a path is at most 256 octets, brackets included.
    public const int MaxPathLength = 256;

    /// <param name="arguments">The text after the verb, e.g. <c>FROM:&lt;a@b&gt; SIZE=10</c>.</param>
    /// <param name="keyword">"FROM:" or "TO:" (matched case-insensitively).</param>
    /// <param name="address">The mailbox without brackets and without a source route; "" for the null path &lt;&gt;.</param>
    /// <param name="parameters">What follows the path, spaces trimmed.</param>
    /// <param name="error">Why the argument was refused, for the reply text.</param>
    public static bool TryParse(ReadOnlySpan<byte> arguments, ReadOnlySpan<byte> keyword, out string address, out ReadOnlySpan<byte> parameters, out string error)
    {
        address = string.Empty;
        parameters = default;
        if (arguments.Length < keyword.Length || !Ascii.EqualsIgnoreCase(arguments[..keyword.Length], keyword))
        {
            error = $"Syntax: {(keyword[0] == (byte)'F' ? "MAIL FROM:<address>" : "RCPT TO:<address>")}";
            return false;
        }
        // RFC 5321 has no space after the colon, but deployed clients send one ("MAIL FROM: <a@b>");
        // Postfix and Dovecot accept it, and so do we.
        var rest = arguments[keyword.Length..].TrimStart((byte)' ');
        ReadOnlySpan<byte> path;
        if (rest.Length > 0 && rest[0] == (byte)'<')
        {
            var close = FindClosingBracket(rest);
            if (close < 0)
            {
                error = "Unbalanced '<' in address";
                return false;
            }
            path = rest[1..close];
            parameters = rest[(close + 1)..].Trim((byte)' ');
            // A parameter must be separated from the path by a space.
            if (!parameters.IsEmpty && rest[close + 1] != (byte)' ')
            {
                error = "Missing space after address";
                return false;
            }
        }
        else
        {
            // No brackets: what sendmail-era clients send. Take up to the first space.
            var space = rest.IndexOf((byte)' ');
            path = space < 0 ? rest : rest[..space];
            parameters = space < 0 ? default : rest[(space + 1)..].Trim((byte)' ');
            if (path.IsEmpty)
            {
                error = "Missing address";
                return false;
            }
        }

        if (path.Length + 2 > MaxPathLength)
        {
            error = "Address too long";
            return false;
        }
        // RFC 5321 §4.1.2: an optional source route "@a,@b:" before the mailbox, to be ignored (§3.6.1).
        if (path.Length > 0 && path[0] == (byte)'@')
        {
            var colon = path.IndexOf((byte)':');
            if (colon < 0)
            {
                error = "Bad source route";
                return false;
            }
            path = path[(colon + 1)..];
        }
        // Printable ASCII only: SMTPUTF8 is not offered, and the address ends up in a header line.
        foreach (var b in path)
        {
            if (b is < 0x20 or > 0x7E)
            {
                error = "Address contains characters outside printable ASCII";
                return false;
            }
        }
        address = Encoding.ASCII.GetString(path);
        error = string.Empty;
        return true;
    }

    /// <summary>The index of the '&gt;' that closes the path at index 0, skipping quoted strings; -1 if none.</summary>
    private static int FindClosingBracket(ReadOnlySpan<byte> text)
    {
        var quoted = false;
        for (var i = 1; i < text.Length; i++)
        {
            var b = text[i];
            if (quoted)
            {
                if (b == (byte)'\\') i++;
                else if (b == (byte)'"') quoted = false;
            }
            else if (b == (byte)'"') quoted = true;
            else if (b == (byte)'>') return i;
        }
        return -1;
    }

    /// <summary>
    /// Splits a mailbox at the '@' that separates the local part from the domain (the last one
    /// outside a quoted string). A quoted local part is unquoted. No '@': the domain is empty.
    /// </summary>
    public static bool TrySplit(string mailbox, out string localPart, out string domain)
    {
        var at = -1;
        var quoted = false;
        for (var i = 0; i < mailbox.Length; i++)
        {
            var c = mailbox[i];
            if (quoted)
            {
                if (c == '\\') i++;
                else if (c == '"') quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == '@') at = i;
        }
        var local = at < 0 ? mailbox : mailbox[..at];
        domain = at < 0 ? string.Empty : mailbox[(at + 1)..];
        localPart = Unquote(local);
        return localPart.Length > 0 && (at < 0 || domain.Length > 0);
    }

    private static string Unquote(string local)
    {
        if (local.Length < 2 || local[0] != '"' || local[^1] != '"') return local;
        var text = new StringBuilder(local.Length);
        for (var i = 1; i < local.Length - 1; i++)
        {
            if (local[i] == '\\' && i + 1 < local.Length - 1) i++;
            text.Append(local[i]);
        }
        return text.ToString();
    }
}

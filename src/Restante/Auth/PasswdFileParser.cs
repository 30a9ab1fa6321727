using System.Collections.Frozen;

namespace Restante.Auth;

/// <summary>
/// Reads Dovecot's passwd-file format, one user a line:
/// <code>name:{SCHEME}secret:uid:gid:gecos:home:shell:extra</code>
/// Everything after the secret is optional. Only the extra field is used: space-separated "key=value" pairs that
/// may themselves contain ':' (userdb_quota_rule=*:storage=100M), so the line is split into at most eight fields.
/// Blank lines and lines starting with '#' are skipped.
/// </summary>
internal static class PasswdFileParser
{
    private const int FieldCount = 8;
    private const int ExtraField = 7;

    private static readonly FrozenDictionary<string, string> s_noFields =
        FrozenDictionary<string, string>.Empty;

    /// <summary>Parses a whole file; the first bad line throws, naming <paramref name="path"/> and the line number.</summary>
    public static FrozenDictionary<string, UserRecord> Parse(string path, string text)
    {
        var users = new Dictionary<string, UserRecord>(StringComparer.Ordinal);
        var definedOn = new Dictionary<string, int>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var rawLine in SplitLines(text))
        {
            lineNumber++;
            if (IsBlankOrComment(rawLine))
                continue;
            var fields = rawLine.Split(':', FieldCount);
            var name = fields[0];
            if (!UserName.IsValid(name, out var nameError))
                throw new PasswdFileException(path, lineNumber, nameError);
            if (definedOn.TryGetValue(name, out var firstLine))
            {
                // Two lines for one name is almost always an editing mistake; guessing which one counts would hide it.
                throw new PasswdFileException(path, lineNumber, $"user {name} is already defined on line {firstLine}");
            }

            var password = fields.Length > 1 ? fields[1] : "";
            // An empty password is allowed and means "cannot log in"; we do not implement Dovecot's nopassword.
            if (password.Length > 0 && !PasswordSchemes.TryParse(password, out _, out _, out var schemeError))
                throw new PasswdFileException(path, lineNumber, schemeError);

            var extra = fields.Length > ExtraField ? ParseExtraFields(fields[ExtraField]) : s_noFields;
            users[name] = new UserRecord(name, password, extra);
            definedOn[name] = lineNumber;
        }
        return users.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The lines of a file without their terminators; a final newline does not make an extra line.</summary>
    public static List<string> SplitLines(string text)
    {
        var lines = new List<string>(text.Split('\n'));
        if (lines.Count > 0 && lines[^1].Length == 0)
            lines.RemoveAt(lines.Count - 1);
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].EndsWith('\r'))
                lines[i] = lines[i][..^1];
        }
        return lines;
    }

    public static bool IsBlankOrComment(string line)
    {
        var trimmed = line.AsSpan().TrimStart();
        return trimmed.IsEmpty || trimmed[0] == '#';
    }

    /// <summary>The user name of a non-comment line: the text before the first ':'.</summary>
    public static string NameOf(string line)
    {
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? line : line[..colon];
    }

    private static FrozenDictionary<string, string> ParseExtraFields(string extra)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in extra.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // A bare key is a flag ("nodelay"); when a key repeats, the last one wins.
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
                fields[pair] = "";
            else
                fields[pair[..equals]] = pair[(equals + 1)..];
        }
        return fields.Count == 0 ? s_noFields : fields.ToFrozenDictionary(StringComparer.Ordinal);
    }
}

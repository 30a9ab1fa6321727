namespace Restante.Auth;

/// <summary>
/// Which login names we accept. Names end up as passwd-file keys and, in the stores, as directory names, so the
/// rules keep both safe: a ':' would split the passwd line, a '/' or ".." would escape the mail directory, a
/// leading '#' would turn the line into a comment, and whitespace or control characters cannot be typed after USER
/// (RFC 1939 §7 separates arguments with a single space).
/// </summary>
public static class UserName
{
    /// <summary>The longest accepted name, in UTF-16 code units.</summary>
    public const int MaxLength = 64;

    /// <summary>True when <paramref name="name"/> is acceptable; otherwise <paramref name="error"/> says why.</summary>
    public static bool IsValid(string? name, out string error)
    {
        if (string.IsNullOrEmpty(name))
        {
            error = "user name is empty";
            return false;
        }
        if (name.Length > MaxLength)
        {
            error = $"user name is longer than {MaxLength} characters";
            return false;
        }
        if (name is "." or "..")
        {
            error = "user name cannot be '.' or '..'";
            return false;
        }
        if (name[0] == '#')
        {
            error = "user name cannot start with '#'";
            return false;
        }
        foreach (var c in name)
        {
            if (c is ':' or '/' || char.IsWhiteSpace(c) || char.IsControl(c))
            {
                error = "user name cannot contain ':', '/', whitespace or control characters";
                return false;
            }
        }
        error = "";
        return true;
    }
}

namespace Restante.Auth;

/// <summary>
/// The passwd file cannot be used as written, or an edit is impossible (the user exists, or does not).
/// The message is for the operator and names the file and, where there is one, the line; it never contains a secret.
/// </summary>
public sealed class PasswdFileException : Exception
{
    /// <summary>Creates an exception with a generic message.</summary>
    public PasswdFileException()
        : this("The passwd file cannot be used.")
    {
    }

    /// <summary>Creates an exception with an operator-facing message.</summary>
    public PasswdFileException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with an operator-facing message and its cause.</summary>
    public PasswdFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>A problem on one line: the message reads "{path} line {lineNumber}: {detail}".</summary>
    public PasswdFileException(string path, int lineNumber, string detail)
        : base($"{path} line {lineNumber}: {detail}")
    {
        Path = path;
        LineNumber = lineNumber;
    }

    /// <summary>The file, when the problem is inside one.</summary>
    public string? Path { get; }

    /// <summary>The 1-based line, when the problem is on one.</summary>
    public int? LineNumber { get; }
}

using System.Text;

namespace Restante.Auth;

/// <summary>
/// Edits a passwd file for the <c>restante user</c> commands. Only the edited line changes; other lines, comments
/// and the edited line's uid/gid/home/extra fields are kept as written. Every edit replaces the file atomically
/// (a temporary file in the same directory, flushed to disk, then renamed over the original), so a running server
/// never reads a half-written file. New files get mode 0600: they hold password hashes. A replaced file keeps its
/// owner, group and mode, so the server (often another account than the operator's) can still read it; when that is
/// impossible (not root, and the file belongs to someone else) the edit is refused before anything is written
/// (<see cref="PasswdFileOwnerException"/>), since a file the server cannot read leaves it serving the old users.
/// </summary>
public static class PasswdFileEditor
{
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly TimeSpan s_lockTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Appends a user.</summary>
    /// <exception cref="ArgumentException">Invalid name or stored secret.</exception>
    /// <exception cref="PasswdFileException">The user exists, or the file cannot be read or written.</exception>
    public static void AddUser(string path, string name, string storedSecret)
    {
        ValidateArguments(name, storedSecret);
        Edit(path, lines =>
        {
            if (FindLine(lines, name) >= 0)
                throw new PasswdFileException($"{path}: user {name} already exists");
            lines.Add($"{name}:{storedSecret}");
        });
    }

    /// <summary>Replaces a user's stored secret, keeping the rest of the line.</summary>
    /// <exception cref="ArgumentException">Invalid name or stored secret.</exception>
    /// <exception cref="PasswdFileException">No such user, or the file cannot be read or written.</exception>
    public static void SetPassword(string path, string name, string storedSecret)
    {
        ValidateArguments(name, storedSecret);
        Edit(path, lines =>
        {
            var index = FindExisting(lines, path, name);
            var line = lines[index];
            // name:secret[:rest] — keep ":rest" byte for byte.
            var firstColon = line.IndexOf(':', StringComparison.Ordinal);
            var secondColon = firstColon < 0 ? -1 : line.IndexOf(':', firstColon + 1);
            var rest = secondColon < 0 ? "" : line[secondColon..];
            lines[index] = $"{name}:{storedSecret}{rest}";
        });
    }

    /// <summary>Deletes a user's line.</summary>
    /// <exception cref="ArgumentException">Invalid name.</exception>
    /// <exception cref="PasswdFileException">No such user, or the file cannot be read or written.</exception>
    public static void RemoveUser(string path, string name)
    {
        ValidateName(name);
        Edit(path, lines => lines.RemoveAt(FindExisting(lines, path, name)));
    }

    /// <summary>The user names in file order; a missing file has none.</summary>
    /// <exception cref="PasswdFileException">The file cannot be read.</exception>
    public static IReadOnlyList<string> ListUsers(string path)
        => [.. ReadLines(path).Where(l => !PasswdFileParser.IsBlankOrComment(l)).Select(PasswdFileParser.NameOf)];

    private static void ValidateName(string name)
    {
        if (!UserName.IsValid(name, out var error))
            throw new ArgumentException(error, nameof(name));
    }

    private static void ValidateArguments(string name, string storedSecret)
    {
        ValidateName(name);
        ArgumentNullException.ThrowIfNull(storedSecret);
        // The format has no escaping: a ':' or a line break would corrupt the line (possible only with PLAIN).
        if (storedSecret.Contains(':', StringComparison.Ordinal) || storedSecret.Any(char.IsControl))
            throw new ArgumentException("the password cannot contain ':' or control characters in a passwd file", nameof(storedSecret));
        if (!PasswordSchemes.TryParse(storedSecret, out _, out _, out var error))
            throw new ArgumentException(error, nameof(storedSecret));
    }

    private static int FindLine(List<string> lines, string name)
        => lines.FindIndex(l => !PasswdFileParser.IsBlankOrComment(l) && PasswdFileParser.NameOf(l) == name);

    private static int FindExisting(List<string> lines, string path, string name)
    {
        var index = FindLine(lines, name);
        return index >= 0 ? index : throw new PasswdFileException($"{path}: user {name} does not exist");
    }

    private static void Edit(string path, Action<List<string>> change)
    {
        var fullPath = Path.GetFullPath(path);
        RefuseIfNotOurs(fullPath);
        // Two `restante user` runs at once would each rewrite the file from what they read and lose an edit;
        // an exclusive lock on a side file serialises them (the server only reads, so it never takes it).
        using var editLock = AcquireLock(fullPath + ".lock");
        var lines = ReadLines(fullPath);
        change(lines);
        WriteAtomically(fullPath, lines);
    }

    private static void RefuseIfNotOurs(string path)
    {
        if (!FileOwner.TryRead(path, out var owner)) return;
        var self = FileOwner.EffectiveUid;
        if (self == 0 || self == owner.Uid) return;
        throw new PasswdFileOwnerException(
            $"{path} belongs to uid {owner.Uid}, this command runs as uid {self}: a rewritten file would belong to uid {self} " +
            $"and the server could no longer read it. Run it as uid {owner.Uid} (e.g. sudo -u) or as root. Nothing was changed.");
    }

    private static List<string> ReadLines(string path)
    {
        try
        {
            return File.Exists(path) ? PasswdFileParser.SplitLines(File.ReadAllText(path, s_utf8)) : [];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            throw new PasswdFileException($"{path}: {ex.Message}", ex);
        }
    }

    private static FileStream AcquireLock(string lockPath)
    {
        var deadline = DateTime.UtcNow + s_lockTimeout;
        while (true)
        {
            try
            {
                // On Unix, FileShare.None takes an advisory flock; it goes away with the process.
                return new FileStream(lockPath, PrivateFileOptions(FileMode.OpenOrCreate, FileAccess.ReadWrite));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
            catch (IOException ex)
            {
                throw new PasswdFileException($"{lockPath}: another edit is in progress ({ex.Message})", ex);
            }
        }
    }

    private static void WriteAtomically(string path, List<string> lines)
    {
        var directory = Path.GetDirectoryName(path) ?? ".";
        // A random name created with O_EXCL (FileMode.CreateNew): nothing planted in the directory beforehand, a
        // symlink included, can be written through.
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))}.tmp");
        var keep = FileOwner.TryRead(path, out var owner);
        try
        {
            using (var stream = new FileStream(temp, PrivateFileOptions(FileMode.CreateNew, FileAccess.Write)))
            {
                // Owner, group and mode of the file being replaced, set before the rename so it is never seen otherwise.
                if (keep) owner.ApplyTo(stream.SafeFileHandle, temp);
                var builder = new StringBuilder();
                foreach (var line in lines)
                    builder.Append(line).Append('\n');
                stream.Write(s_utf8.GetBytes(builder.ToString()));
                // fsync before the rename: otherwise a crash can leave the new name pointing at an empty file.
                stream.Flush(flushToDisk: true);
            }
            // REVIEW: the directory is not fsynced after the rename (.NET has no portable way to open a directory);
            // after a power cut the old file may come back, but never a torn one.
            File.Move(temp, path, overwrite: true);
        }
        catch (UnauthorizedAccessException ex) when (keep)
        {
            TryDelete(temp);
            throw new PasswdFileOwnerException($"{path}: cannot keep its owner, group and mode ({ex.Message}). Nothing was changed.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new PasswdFileException($"{path}: cannot write ({ex.Message})", ex);
        }
    }

    // Created 0600 from the start (not chmod-ed afterwards), so the hashes are never readable by others, even briefly.
    private static FileStreamOptions PrivateFileOptions(FileMode mode, FileAccess access)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        return options;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The temporary file is harmless; the original error is the one to report.
        }
    }
}

using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Restante.Auth;

/// <summary>
/// Users from a Dovecot-style passwd file (see <see cref="PasswdFileParser"/> for the format). Edits are picked up
/// without a restart: every lookup stats the file, and a changed file is re-read. A file that does not exist means
/// "no users". A bad first load throws <see cref="PasswdFileException"/>; a bad reload is logged and the previous
/// users stay in force, so a typo cannot lock everybody out.
/// </summary>
public sealed class PasswdFile : IUserDirectory
{
    // Filesystems keep modification times at a granularity (1 s or 2 s on some), so two writes close together can
    // leave the same time and, if the length does not change either, the stat alone cannot tell. While the file's
    // time is this close to when we read it, we re-read and compare contents (the "racy clean" case git handles the
    // same way). The file is small, and this only happens in the seconds right after an edit (or all the time if the
    // file's timestamp is in the future, which costs a read per lookup but stays correct).
    private static readonly TimeSpan s_racyWindow = TimeSpan.FromSeconds(2);

    private readonly string _path;
    private readonly ILogger _logger;
    private readonly Lock _reloadGate = new();
    private volatile Snapshot _current;

    /// <param name="path">The passwd file; it need not exist yet.</param>
    /// <param name="logger">Receives reload results and errors.</param>
    /// <exception cref="PasswdFileException">The file exists but a line is invalid, or it cannot be read.</exception>
    public PasswdFile(string path, ILogger<PasswdFile>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
        _logger = logger ?? NullLogger<PasswdFile>.Instance;
        var stamp = PasswdFileStamp.Read(_path);
        if (!stamp.Exists)
        {
            AuthLog.PasswdMissing(_logger, _path);
            _current = Snapshot.Empty(stamp);
            return;
        }
        byte[] content;
        try
        {
            content = File.ReadAllBytes(_path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PasswdFileException($"{_path}: {ex.Message}", ex);
        }
        _current = new Snapshot(Parse(content), stamp, SHA256.HashData(content), DateTime.UtcNow);
        AuthLog.PasswdLoaded(_logger, _current.Users.Count, _path);
    }

    /// <inheritdoc />
    public ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        cancellationToken.ThrowIfCancellationRequested();
        // One stat per lookup: a lookup happens once per login, a stat costs microseconds, and an admin's edit then
        // takes effect on the very next login rather than after some polling interval.
        RefreshIfChanged();
        return ValueTask.FromResult(_current.Users.GetValueOrDefault(name));
    }

    /// <inheritdoc />
    /// <remarks>Worked out once per load, so it follows the file: a reload that adds or removes the last PLAIN user changes it.</remarks>
    public bool HasApopSecrets
    {
        get
        {
            RefreshIfChanged();
            return _current.HasApopSecrets;
        }
    }

    private void RefreshIfChanged()
    {
        var stamp = PasswdFileStamp.Read(_path);
        if (!_current.NeedsReload(stamp))
            return;
        // One reader at a time; the others keep answering from the snapshot they already have.
        lock (_reloadGate)
        {
            var current = _current;
            stamp = PasswdFileStamp.Read(_path);
            if (!current.NeedsReload(stamp))
                return;
            _current = Reload(current, stamp);
        }
    }

    private Snapshot Reload(Snapshot current, PasswdFileStamp stamp)
    {
        if (!stamp.Exists)
        {
            if (current.Stamp.Exists)
                AuthLog.PasswdMissing(_logger, _path);
            return Snapshot.Empty(stamp);
        }

        byte[] content;
        try
        {
            content = File.ReadAllBytes(_path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Keep the old stamp so the next lookup tries again: this is usually a transient state.
            AuthLog.PasswdReloadFailed(_logger, current.Users.Count, $"{_path}: {ex.Message}", ex);
            return current;
        }

        var now = DateTime.UtcNow;
        var hash = SHA256.HashData(content);
        if (hash.AsSpan().SequenceEqual(current.ContentHash))
            return current with { Stamp = stamp, ReadAtUtc = now };   // touched, or racy re-check: nothing new

        try
        {
            var users = Parse(content);
            AuthLog.PasswdLoaded(_logger, users.Count, _path);
            return new Snapshot(users, stamp, hash, now);
        }
        catch (PasswdFileException ex)
        {
            // Remember the bad content's hash so it is logged once, not on every lookup, until the file changes again.
            AuthLog.PasswdReloadFailed(_logger, current.Users.Count, ex.Message, null);
            return current with { Stamp = stamp, ContentHash = hash, ReadAtUtc = now };
        }
    }

    private FrozenDictionary<string, UserRecord> Parse(byte[] content)
    {
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(content);
        }
        catch (DecoderFallbackException ex)
        {
            throw new PasswdFileException($"{_path}: not valid UTF-8", ex);
        }
        return PasswdFileParser.Parse(_path, text);
    }

    private sealed record Snapshot(FrozenDictionary<string, UserRecord> Users, PasswdFileStamp Stamp, byte[] ContentHash, DateTime ReadAtUtc)
    {
        public bool HasApopSecrets { get; } = Users.Values.Any(ServesApop);

        private static bool ServesApop(UserRecord user)
            => PasswordSchemes.TryParse(user.Password, out var scheme, out var encoded, out _)
               && scheme.TryGetPlaintext(encoded, out var plaintext) && plaintext.Length > 0;

        public static Snapshot Empty(PasswdFileStamp stamp)
            => new(FrozenDictionary<string, UserRecord>.Empty, stamp, [], DateTime.UtcNow);

        public bool NeedsReload(PasswdFileStamp now)
            => now != Stamp || (Stamp.Exists && ReadAtUtc - Stamp.LastWriteUtc < s_racyWindow);
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Restante.Storage.Maildir;

/// <summary>
/// The file <c>restante-policy</c> in the Maildir root: the last login and each retrieved message's first
/// retrieval time, for LOGIN-DELAY and EXPIRE (RFC 2449 §6.5, §6.7). The user may write to the Maildir, so the
/// file is input like any other: opened O_NOFOLLOW|O_NONBLOCK relative to the verified root, only a regular file
/// of bounded size is read, and a damaged file counts as empty, which errs on the user's side (no login delay
/// once, nothing expires until retrieved again). Written whole to a temporary file and renamed over the old one.
/// Format: a header line, <c>L seconds</c>, then <c>R seconds TAB base LF</c> per retrieved message.
/// </summary>
internal static class PolicyStateFile
{
    public const string FileName = "restante-policy";
    private const string Header = "restante-policy 1";

    // 100,000 retrieved messages make about 6 MB; past this the file is not ours to trust.
    private const long MaxLength = 16 * 1024 * 1024;

    public sealed class State
    {
        // Set by ReadWhenNeeded: the file is read at the first use of either property, not before.
        private VerifiedMaildir? _unread;
        private DateTimeOffset? _lastLogin;
        // Made at first use: a session whose policy has no EXPIRE never asks, and every idle session would hold it empty.
        private Dictionary<string, DateTimeOffset>? _firstRetrieved;

        public State()
        {
        }

        internal State(VerifiedMaildir unread) => _unread = unread;

        public DateTimeOffset? LastLogin
        {
            get { Load(); return _lastLogin; }
            set { Load(); _lastLogin = value; }
        }

        public Dictionary<string, DateTimeOffset> FirstRetrieved
        {
            get { Load(); return _firstRetrieved ??= new(StringComparer.Ordinal); }
        }

        /// <summary>What <see cref="FirstRetrieved"/> holds, without making it: null when nothing was ever recorded.</summary>
        public Dictionary<string, DateTimeOffset>? FirstRetrievedIfAny
        {
            get { Load(); return _firstRetrieved; }
        }

        private void Load()
        {
            if (_unread is not { } maildir) return;
            _unread = null;   // first, so that ReadInto's own use of the properties does not come back here
            ReadInto(maildir, this);
        }
    }

    /// <summary>Reads the state; missing, foreign, oversized or damaged gives what could be read (possibly nothing).</summary>
    public static State Read(VerifiedMaildir maildir)
    {
        var state = new State();
        ReadInto(maildir, state);
        return state;
    }

    /// <summary>
    /// The state, read from the file only when a property of it is first used: a login with no LOGIN-DELAY and no EXPIRE
    /// policy never looks at it, so it costs no open(2) (one that fails with ENOENT on a server that has no policies).
    /// Nothing is remembered between sessions: whoever uses it reads the file as it is then, through
    /// <paramref name="maildir"/>'s root, which must stay open (and locked) until then — the session's maildrop holds it.
    /// </summary>
    public static State ReadWhenNeeded(VerifiedMaildir maildir) => new(maildir);

    private static void ReadInto(VerifiedMaildir maildir, State state)
    {
        var errno = Posix.TryOpenReadAt(maildir.Root, FileName, out var handle);
        if (errno != 0) return;
        string text;
        using (handle)
        {
            try
            {
                var status = Posix.Stat(handle!);
                if (status.Kind != Posix.FileKind.Regular || status.Length > MaxLength) return;
                var bytes = new byte[status.Length];
                var length = 0;
                int read;
                while (length < bytes.Length && (read = RandomAccess.Read(handle!, bytes.AsSpan(length), length)) > 0) length += read;
                text = Encoding.UTF8.GetString(bytes, 0, length);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return;
            }
        }
        var lines = text.Split('\n');
        if (lines.Length == 0 || lines[0] != Header) return;
        // The last piece has no LF: empty for a whole file, a torn line otherwise; dropped either way.
        foreach (var line in lines.AsSpan(1, lines.Length - 2))
        {
            if (line.Length > 2 && line[0] == 'L' && line[1] == ' ' && TryParseTime(line.AsSpan(2), out var login))
            {
                state.LastLogin = login;
            }
            else if (line.Length > 2 && line[0] == 'R' && line[1] == ' ')
            {
                var tab = line.IndexOf('\t', StringComparison.Ordinal);
                if (tab > 2 && tab < line.Length - 1 && TryParseTime(line.AsSpan(2, tab - 2), out var retrieved))
                    state.FirstRetrieved[line[(tab + 1)..]] = retrieved;
            }
        }
    }

    private static bool TryParseTime(ReadOnlySpan<char> text, out DateTimeOffset time)
    {
        time = default;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > 253402300799) return false;
        time = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }

    /// <summary>Replaces the file atomically: a new file with an unguessable name (O_EXCL|O_NOFOLLOW), fsync, rename, fsync the root.</summary>
    public static void Write(VerifiedMaildir maildir, State state, bool fsync)
        => RootFile.Replace(maildir, FileName, writer =>
        {
            writer.Write(Header);
            writer.Write('\n');
            if (state.LastLogin is { } login) writer.Write(string.Create(CultureInfo.InvariantCulture, $"L {login.ToUnixTimeSeconds()}\n"));
            if (state.FirstRetrievedIfAny is { } all)
                foreach (var (baseName, retrieved) in all)
                {
                    // Such a name cannot be written as a line: it is simply never expired.
                    if (baseName.AsSpan().IndexOfAny('\t', '\n') >= 0) continue;
                    writer.Write(string.Create(CultureInfo.InvariantCulture, $"R {retrieved.ToUnixTimeSeconds()}\t"));
                    writer.Write(baseName);
                    writer.Write('\n');
                }
        }, fsyncFile: fsync, fsyncDirectory: fsync);
}

using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// A Maildir whose root, <c>tmp/</c>, <c>new/</c> and <c>cur/</c> were each opened as real
/// directories (O_DIRECTORY|O_NOFOLLOW) and are held open. The user may write to the Maildir, so
/// every later name is resolved relative to these descriptors: a symlink or a swapped folder
/// planted after this point can at most point us at the directories we verified, never outside.
/// </summary>
internal sealed class VerifiedMaildir : IDisposable
{
    private VerifiedMaildir(string path, SafeFileHandle root, SafeFileHandle tmp, SafeFileHandle @new, SafeFileHandle cur)
    {
        Path = path;
        Root = root;
        Tmp = tmp;
        New = @new;
        Cur = cur;
    }

    /// <summary>The path it was opened by; for log lines only, never to open anything.</summary>
    public string Path { get; }

    public SafeFileHandle Root { get; }

    public SafeFileHandle Tmp { get; }

    public SafeFileHandle New { get; }

    public SafeFileHandle Cur { get; }

    public SafeFileHandle Folder(MaildirFolder folder) => folder == MaildirFolder.New ? New : Cur;

    public static string FolderName(MaildirFolder folder) => folder == MaildirFolder.New ? "new" : "cur";

    /// <summary>The path of a name in a folder, for log lines.</summary>
    public string PathOf(MaildirFolder folder, string name) => System.IO.Path.Join(Path, FolderName(folder), name);

    /// <summary>
    /// Opens the Maildir at <paramref name="path"/>, creating what is missing (mode 0700). The first
    /// <paramref name="trustedLength"/> characters name the administrator's directory (the path
    /// template up to the user name, e.g. <c>/home</c> of <c>/home/%u/Maildir</c>), opened as it
    /// is; every component below it may be the user's and is opened O_NOFOLLOW, one at a time.
    /// Throws <see cref="RefusedMaildirException"/> when one of them, or tmp/, new/ or cur/, is a
    /// symlink or not a directory; <see cref="DirectoryNotFoundException"/> when something is
    /// missing and <paramref name="create"/> is false; other I/O errors as .NET reports them.
    /// </summary>
    public static VerifiedMaildir Open(string path, int trustedLength, bool create)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("The Maildir store runs on Linux only: it relies on openat(2) and O_NOFOLLOW to keep a user's Maildir from leading elsewhere.");

        var trusted = trustedLength == 0 ? "." : path[..trustedLength];
        var errno = Posix.TryOpenTrustedDirectory(trusted, out var root);
        if (errno == Posix.ENoEnt && create)
        {
            Directory.CreateDirectory(trusted, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            errno = Posix.TryOpenTrustedDirectory(trusted, out root);
        }
        if (errno != 0) throw Posix.ErrnoException("open", trusted, errno);

        SafeFileHandle? tmp = null, @new = null, cur = null;
        try
        {
            foreach (var component in path[trustedLength..].Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                var below = OpenDirectory(root!, path, component, create, $"{component} is a symlink or not a directory");
                root!.Dispose();
                root = below;
            }
            tmp = OpenDirectory(root!, path, "tmp", create, "tmp/ is a symlink or not a directory");
            @new = OpenDirectory(root!, path, "new", create, "new/ is a symlink or not a directory");
            cur = OpenDirectory(root!, path, "cur", create, "cur/ is a symlink or not a directory");
            var verified = new VerifiedMaildir(path, root!, tmp, @new, cur);
            root = tmp = @new = cur = null;
            return verified;
        }
        finally
        {
            root?.Dispose();
            tmp?.Dispose();
            @new?.Dispose();
            cur?.Dispose();
        }
    }

    private static SafeFileHandle OpenDirectory(SafeFileHandle parent, string path, string name, bool create, string refusal)
    {
        var errno = Posix.TryOpenDirectoryAt(parent, name, out var directory);
        if (errno == Posix.ENoEnt && create)
        {
            var made = Posix.MakeDirectoryAt(parent, name);
            if (made != 0 && made != Posix.EExist) throw Posix.ErrnoException("mkdir", System.IO.Path.Join(path, name), made);
            errno = Posix.TryOpenDirectoryAt(parent, name, out directory);
        }
        if (errno is Posix.ELoop or Posix.ENotDir) throw new RefusedMaildirException(path, refusal);
        if (errno != 0) throw Posix.ErrnoException("open", System.IO.Path.Join(path, name), errno);
        return directory!;
    }

    public void Dispose()
    {
        Root.Dispose();
        Tmp.Dispose();
        New.Dispose();
        Cur.Dispose();
    }
}

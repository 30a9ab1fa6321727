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
    /// Opens the Maildir, creating what is missing (mode 0700). Throws <see cref="RefusedMaildirException"/>
    /// when the root or a folder is a symlink or not a directory; I/O errors as .NET reports them.
    /// </summary>
    public static VerifiedMaildir Open(string path, bool create)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("The Maildir store runs on Linux only: it relies on openat(2) and O_NOFOLLOW to keep a user's Maildir from leading elsewhere.");

        var errno = Posix.TryOpenDirectory(path, out var root);
        if (errno == Posix.ENoEnt && create)
        {
            // The path's parents are the operator's (the template); only its last component can be
            // the user's, and it is checked by the O_NOFOLLOW open just below.
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            errno = Posix.TryOpenDirectory(path, out root);
        }
        if (errno is Posix.ELoop or Posix.ENotDir) throw new RefusedMaildirException(path, "the Maildir is a symlink or not a directory");
        if (errno != 0) throw Posix.ErrnoException("open", path, errno);

        SafeFileHandle? tmp = null, @new = null, cur = null;
        try
        {
            tmp = OpenFolder(root!, path, "tmp", create);
            @new = OpenFolder(root!, path, "new", create);
            cur = OpenFolder(root!, path, "cur", create);
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

    private static SafeFileHandle OpenFolder(SafeFileHandle root, string path, string name, bool create)
    {
        var errno = Posix.TryOpenDirectoryAt(root, name, out var folder);
        if (errno == Posix.ENoEnt && create)
        {
            var made = Posix.MakeDirectoryAt(root, name);
            if (made != 0 && made != Posix.EExist) throw Posix.ErrnoException("mkdir", System.IO.Path.Join(path, name), made);
            errno = Posix.TryOpenDirectoryAt(root, name, out folder);
        }
        if (errno is Posix.ELoop or Posix.ENotDir) throw new RefusedMaildirException(path, $"{name}/ is a symlink or not a directory");
        if (errno != 0) throw Posix.ErrnoException("open", System.IO.Path.Join(path, name), errno);
        return folder!;
    }

    public void Dispose()
    {
        Root.Dispose();
        Tmp.Dispose();
        New.Dispose();
        Cur.Dispose();
    }
}

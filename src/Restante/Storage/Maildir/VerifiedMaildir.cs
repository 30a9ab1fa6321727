using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// A Maildir whose root was opened as a real directory (O_DIRECTORY|O_NOFOLLOW, each component
/// below the administrator's part) and is held open. The user may write to the Maildir, so every
/// later name is resolved relative to that descriptor: a symlink planted after this point can at
/// most point us at the directory we verified, never outside. <c>tmp/</c>, <c>new/</c> and
/// <c>cur/</c> are verified (and created) at <see cref="Open"/> too, but a session that only waits
/// should not hold three more descriptors for them (an idle POP3 session would hold six instead of
/// two, and RLIMIT_NOFILE bounds how many sessions one server can hold): the owner
/// <see cref="CloseFolders"/> between operations, and the next use opens the folder again
/// relative to the root, O_DIRECTORY|O_NOFOLLOW. A folder swapped for a symlink or a file since
/// is then refused (<see cref="RefusedMaildirException"/>); one swapped for another directory is
/// still inside the verified root, where the user could have put it before logging in.
/// <c>new/</c> and <c>cur/</c> are only looked at by <see cref="Open"/> (statx without following a
/// link, as <c>tmp/</c>), or for a login by the first reading of their stamps under the lock
/// (<see cref="StampOf"/>), and opened when first used: a login whose folders the index finds
/// unchanged never opens them.
/// </summary>
internal sealed class VerifiedMaildir : IDisposable
{
    private SafeFileHandle? _tmp, _new, _cur;

    // new/ and cur/ not yet checked (see Open's checkByStamp): the first StampOf or opening of each checks it, and makes
    // it when missing if _makeMissing. One bit per folder, cleared once the folder was found a directory.
    private int _unchecked;
    private readonly bool _makeMissing;

    private const int NewUnchecked = 1, CurUnchecked = 2;

    private VerifiedMaildir(string path, SafeFileHandle root, SafeFileHandle? tmp, SafeFileHandle? @new, SafeFileHandle? cur,
        int @unchecked = 0, bool makeMissing = false)
    {
        Path = path;
        Root = root;
        _tmp = tmp;
        _new = @new;
        _cur = cur;
        _unchecked = @unchecked;
        _makeMissing = makeMissing;
    }

    /// <summary>The path it was opened by; for log lines only, never to open anything.</summary>
    public string Path { get; }

    public SafeFileHandle Root { get; }

    public SafeFileHandle Tmp => _tmp ?? Reopen(ref _tmp, "tmp");

    public SafeFileHandle New => _new ?? Reopen(ref _new, "new", NewUnchecked);

    public SafeFileHandle Cur => _cur ?? Reopen(ref _cur, "cur", CurUnchecked);

    /// <summary>
    /// Closes <c>tmp/</c>, <c>new/</c> and <c>cur/</c>, keeping only the root; the next use opens them again. Only
    /// between operations: a handle another thread is using would be closed under it.
    /// </summary>
    public void CloseFolders()
    {
        Interlocked.Exchange(ref _tmp, null)?.Dispose();
        Interlocked.Exchange(ref _new, null)?.Dispose();
        Interlocked.Exchange(ref _cur, null)?.Dispose();
    }

    /// <summary>
    /// The stamp of new/ or cur/: from its descriptor when it is open, otherwise by name in the verified root without
    /// following a link; a name that is no longer a directory (swapped for a symlink or a file) is refused, as opening it
    /// would be. One swapped for another directory shows another inode, which the index never takes for the folder it
    /// listed. A folder <see cref="Open"/> left to be checked here is checked by this same statx (made first when it is
    /// missing and the open was allowed to create): a login reads each folder's stamp with one statx, not a check at
    /// open and a stamp after the lock.
    /// </summary>
    public FolderStamp StampOf(MaildirFolder folder)
    {
        var open = folder == MaildirFolder.New ? _new : _cur;
        if (open is not null) return FolderStamp.Read(open);
        var name = FolderName(folder);
        var bit = folder == MaildirFolder.New ? NewUnchecked : CurUnchecked;
        var errno = FolderStamp.TryReadAt(Root, name, out var stamp, out var directory);
        if (errno == Posix.ENoEnt && _makeMissing && (Volatile.Read(ref _unchecked) & bit) != 0)
        {
            MakeFolder(Root, Path, name);
            errno = FolderStamp.TryReadAt(Root, name, out stamp, out directory);
        }
        if (errno != 0) throw Posix.ErrnoException("statx", System.IO.Path.Join(Path, name), errno);
        if (!directory) throw new RefusedMaildirException(Path, $"{name}/ is a symlink or not a directory");
        Interlocked.And(ref _unchecked, ~bit);
        return stamp;
    }

    /// <summary>
    /// Opens a folder again relative to the verified root; creates it only when <see cref="Open"/> left it unchecked and
    /// was allowed to create (otherwise that was done at <see cref="Open"/>).
    /// </summary>
    private SafeFileHandle Reopen(ref SafeFileHandle? field, string name, int bit = 0)
    {
        var create = _makeMissing && (Volatile.Read(ref _unchecked) & bit) != 0;
        var opened = OpenDirectory(Root, Path, name, create, $"{name}/ is a symlink or not a directory");
        Interlocked.And(ref _unchecked, ~bit);
        // Should two threads race to open it, one handle wins and the other is closed, so none is leaked.
        var won = Interlocked.CompareExchange(ref field, opened, null);
        if (won is null) return opened;
        opened.Dispose();
        return won;
    }

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
    /// <param name="openTmp">Open tmp/ now (delivery writes there at once); otherwise it is only checked and opened when first used.</param>
    /// <param name="checkByStamp">
    /// new/ and cur/ are not checked here but by the first <see cref="StampOf"/> (or opening) of each, which refuses them and
    /// makes them alike: for a caller that reads their stamps next anyway (a login, after taking the lock), so each folder
    /// costs one statx, not two.
    /// </param>
    public static VerifiedMaildir Open(string path, int trustedLength, bool create, bool openTmp = false, bool checkByStamp = false)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("The Maildir store runs on Linux only: it relies on openat(2) and O_NOFOLLOW to keep a user's Maildir from leading elsewhere.");

        if (TryOpenInOne(path, trustedLength) is { } single) return OpenFolders(path, single, create, openTmp, checkByStamp);
        var trusted = trustedLength == 0 ? "." : path[..trustedLength];
        var errno = Posix.TryOpenTrustedDirectory(trusted, out var root);
        if (errno == Posix.ENoEnt && create)
        {
            Directory.CreateDirectory(trusted, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            errno = Posix.TryOpenTrustedDirectory(trusted, out root);
        }
        if (errno != 0) throw Posix.ErrnoException("open", trusted, errno);

        try
        {
            foreach (var component in path[trustedLength..].Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                var below = OpenDirectory(root!, path, component, create, $"{component} is a symlink or not a directory");
                root!.Dispose();
                root = below;
            }
        }
        catch
        {
            root!.Dispose();
            throw;
        }
        return OpenFolders(path, root!, create, openTmp, checkByStamp);
    }

    /// <summary>
    /// The usual template, <c>/srv/mail/%u</c>, puts one component below the administrator's directory: then one
    /// open(2) of the whole path, O_DIRECTORY|O_NOFOLLOW, does what the walk in <see cref="Open"/> does in two opens
    /// and a close. The kernel follows symlinks in every component but the last (the administrator's part, which
    /// <see cref="Posix.TryOpenTrustedDirectory"/> follows too) and refuses a last one that is a symlink. The path is
    /// built here without a trailing slash (which would make the kernel follow a last symlink after all). Null when
    /// the template has more components below, or on any failure: the walk then says what is wrong, or creates it.
    /// </summary>
    private static SafeFileHandle? TryOpenInOne(string path, int trustedLength)
    {
        var below = path.AsSpan(trustedLength).Trim('/');
        if (below.Length == 0 || below.Contains('/') || below is "." or "..") return null;
        var whole = trustedLength == 0 ? below.ToString() : string.Concat(path.AsSpan(0, trustedLength).TrimEnd('/'), "/", below);
        return Posix.TryOpenDirectoryNoFollow(whole, out var root) == 0 ? root : null;
    }

    /// <summary>
    /// Checks (or opens) <c>tmp/</c> and checks <c>new/</c> and <c>cur/</c> in the verified root, creating what is missing.
    /// A login uses tmp/ only for the hourly sweep of leftovers, and lists new/ and cur/ only when the index finds them
    /// changed: each is only looked at (statx without following a link: a directory, not a symlink) and opened when first
    /// used, O_NOFOLLOW like any reopening — one statx instead of an open and a close per folder, with the same refusal
    /// of a folder that is a symlink or a file. Takes ownership of <paramref name="root"/>.
    /// </summary>
    private static VerifiedMaildir OpenFolders(string path, SafeFileHandle root, bool create, bool openTmp, bool checkByStamp)
    {
        SafeFileHandle? tmp = null;
        try
        {
            if (openTmp) tmp = OpenDirectory(root, path, "tmp", create, "tmp/ is a symlink or not a directory");
            else CheckDirectory(root, path, "tmp", create, "tmp/ is a symlink or not a directory");
            if (!checkByStamp)
            {
                CheckDirectory(root, path, "new", create, "new/ is a symlink or not a directory");
                CheckDirectory(root, path, "cur", create, "cur/ is a symlink or not a directory");
            }
            var verified = checkByStamp
                ? new VerifiedMaildir(path, root, tmp, null, null, NewUnchecked | CurUnchecked, create)
                : new VerifiedMaildir(path, root, tmp, null, null);
            root = tmp = null!;
            return verified;
        }
        finally
        {
            root?.Dispose();
            tmp?.Dispose();
        }
    }

    private static void CheckDirectory(SafeFileHandle parent, string path, string name, bool create, string refusal)
    {
        var errno = Posix.TryStatAt(parent, name, out var status);
        if (errno == Posix.ENoEnt && create)
        {
            MakeFolder(parent, path, name);
            errno = Posix.TryStatAt(parent, name, out status);
        }
        if (errno != 0) throw Posix.ErrnoException("stat", System.IO.Path.Join(path, name), errno);
        if (status.Kind != Posix.FileKind.Directory) throw new RefusedMaildirException(path, refusal);
    }

    private static void MakeFolder(SafeFileHandle parent, string path, string name)
    {
        var made = Posix.MakeDirectoryAt(parent, name);
        if (made != 0 && made != Posix.EExist) throw Posix.ErrnoException("mkdir", System.IO.Path.Join(path, name), made);
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
        CloseFolders();
        Root.Dispose();
    }
}

using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// The few Linux system calls .NET does not expose: fsync of a directory (.NET refuses to open
/// directories as files), flock with a precise errno, and a non-blocking open that cannot hang
/// on a FIFO planted in a Maildir. Everything here is Linux-only; callers check <see cref="IsLinux"/>.
/// </summary>
internal static class Posix
{
    public static bool IsLinux => OperatingSystem.IsLinux();

    private const int ORdOnly = 0;
    private const int ORdWr = 2;
    private const int OCreat = 0x40;          // 0100 on every Linux architecture .NET runs on
    private const int ONonBlock = 0x800;      // 04000 on every Linux architecture .NET runs on
    private const int OCloExec = 0x80000;     // 02000000 likewise
    private const int LockEx = 2;
    private const int LockNb = 4;
    private const int EIntr = 4;
    private const int EWouldBlock = 11;       // EAGAIN == EWOULDBLOCK on Linux
    private const int PosixFadvSequential = 2;

    // O_DIRECTORY differs by architecture (asm-generic 0200000, arm/arm64 040000); it only adds a
    // check that the path is a directory, so an unknown architecture simply goes without it.
    private static readonly int OpenDirectoryFlag = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 or Architecture.RiscV64 or Architecture.LoongArch64 or Architecture.S390x => 0x10000,
        Architecture.Arm64 or Architecture.Arm => 0x4000,
        _ => 0,
    };

    /// <summary>
    /// Makes a directory's entries (creations, renames, unlinks) durable: open(O_RDONLY|O_DIRECTORY)
    /// then fsync(2). Renaming or unlinking a file is only on disk once its directory is synced.
    /// </summary>
    public static void FsyncDirectory(string path)
    {
        int fd;
        do fd = Open(path, ORdOnly | OCloExec | OpenDirectoryFlag);
        while (fd < 0 && Marshal.GetLastPInvokeError() == EIntr);
        if (fd < 0) throw ErrnoException("open", path, Marshal.GetLastPInvokeError());
        try
        {
            int rc;
            do rc = Fsync(fd);
            while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
            if (rc < 0) throw ErrnoException("fsync", path, Marshal.GetLastPInvokeError());
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>
    /// Opens (creating, mode 0600) a file to flock. Not through .NET: its FileStream takes its own
    /// flock for every sharing mode, which would fail before ours and hide the errno.
    /// </summary>
    public static SafeFileHandle OpenForLocking(string path)
    {
        int fd;
        do fd = Open(path, ORdWr | OCreat | OCloExec, 0b110_000_000);
        while (fd < 0 && Marshal.GetLastPInvokeError() == EIntr);
        if (fd < 0) throw ErrnoException("open", path, Marshal.GetLastPInvokeError());
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>flock(LOCK_EX|LOCK_NB). False when another open file description holds it.</summary>
    public static bool TryLockExclusive(SafeFileHandle handle, string path)
    {
        int rc;
        do rc = Flock(handle, LockEx | LockNb);
        while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
        if (rc == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == EWouldBlock) return false;
        throw ErrnoException("flock", path, errno);
    }

    /// <summary>
    /// Opens a file read-only without blocking (a FIFO would otherwise hang open(2) until a writer
    /// appears) and hints sequential reading. Returns null when the path does not exist.
    /// </summary>
    public static SafeFileHandle? OpenReadNonBlocking(string path)
    {
        int fd;
        do fd = Open(path, ORdOnly | ONonBlock | OCloExec);
        while (fd < 0 && Marshal.GetLastPInvokeError() == EIntr);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is 2 or 20) return null;   // ENOENT, ENOTDIR
            throw ErrnoException("open", path, errno);
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        _ = PosixFadvise(handle, 0, 0, PosixFadvSequential);   // a hint; failure changes nothing
        return handle;
    }

    private static Exception ErrnoException(string call, string path, int errno)
    {
        var text = $"{call}({path}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
        return errno switch
        {
            1 or 13 => new UnauthorizedAccessException(text),   // EPERM, EACCES
            2 => new DirectoryNotFoundException(text),         // ENOENT: only a missing directory can make O_CREAT fail so
            _ => new IOException(text, errno),
        };
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    // open(2) is variadic; passing the mode as a third int matches the Linux calling conventions.
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int Flock(SafeFileHandle fd, int operation);

    [DllImport("libc", EntryPoint = "posix_fadvise", SetLastError = false)]
    private static extern int PosixFadvise(SafeFileHandle fd, long offset, long length, int advice);
}

using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Restante.Storage.Maildir;

namespace Restante.Storage.Mbox;

/// <summary>The system calls the mbox store needs beyond the Maildir store's: opening a spool for writing, fcntl locks, fsync.</summary>
internal static class SpoolFiles
{
    private const int ORdOnly = 0;
    private const int ORdWr = 2;
    private const int OCreat = 0x40;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;
    private const int FOfdSetLk = 37;     // F_OFD_SETLK (Linux 3.15)
    private const int FGetFl = 3;
    private const int FSetFl = 4;
    private const short FRdLck = 0;
    private const short FWrLck = 1;
    private const int EAgain = 11;
    private const int EAcces = 13;

    // Same values as the Maildir store's Posix: O_NOFOLLOW differs by architecture.
    private static int ONoFollow => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 or Architecture.RiscV64 or Architecture.LoongArch64 or Architecture.S390x => 0x20000,
        Architecture.Arm64 or Architecture.Arm or Architecture.Ppc64le => 0x8000,
        _ => throw new PlatformNotSupportedException($"The mbox store does not know O_NOFOLLOW on {RuntimeInformation.ProcessArchitecture}."),
    };

    /// <summary>
    /// Opens the spool in its directory, never through a symlink (ELOOP), never blocking on a FIFO
    /// (O_NONBLOCK is cleared again once we know it is a regular file). 0 or the errno.
    /// </summary>
    public static int TryOpenSpool(SafeFileHandle directory, string name, bool write, bool create, out SafeFileHandle? handle)
    {
        handle = null;
        var flags = (write ? ORdWr : ORdOnly) | ONoFollow | ONonBlock | OCloExec | (create ? OCreat : 0);
        int fd;
        do fd = OpenAt(directory, name, flags, 0b110_000_000);
        while (fd < 0 && Marshal.GetLastPInvokeError() == Posix.EIntr);
        if (fd < 0) return Marshal.GetLastPInvokeError();
        handle = new SafeFileHandle(fd, ownsHandle: true);
        return 0;
    }

    /// <summary>Clears O_NONBLOCK, set only so that opening a planted FIFO could not hang.</summary>
    public static void MakeBlocking(SafeFileHandle handle)
    {
        var flags = Fcntl(handle, FGetFl, 0);
        if (flags >= 0) _ = Fcntl(handle, FSetFl, flags & ~ONonBlock);
    }

    /// <summary>
    /// An open-file-description fcntl lock on the whole file, without waiting. OFD locks conflict
    /// with the classic F_SETLK locks Postfix local(8), procmail and mutt take, and also between two
    /// descriptors of this process (classic locks would not keep two of our sessions apart).
    /// </summary>
    public static bool TryLock(SafeFileHandle handle, bool exclusive, string path)
    {
        // struct flock { short l_type; short l_whence; [pad] off_t l_start; off_t l_len; pid_t l_pid; }
        var request = new FileLock { Type = exclusive ? FWrLck : FRdLck, Whence = 0, Start = 0, Length = 0, Pid = 0 };
        int rc;
        do rc = FcntlLock(handle, FOfdSetLk, ref request);
        while (rc < 0 && Marshal.GetLastPInvokeError() == Posix.EIntr);
        if (rc == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno is EAgain or EAcces) return false;
        throw Posix.ErrnoException("fcntl(F_OFD_SETLK)", path, errno);
    }

    public static void Fsync(SafeFileHandle handle, string path) => Posix.FsyncDirectory(handle, path);

    [StructLayout(LayoutKind.Sequential)]
    private struct FileLock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static extern int OpenAt(SafeFileHandle directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int FcntlLock(SafeFileHandle fd, int command, ref FileLock request);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(SafeFileHandle fd, int command, int argument);
}

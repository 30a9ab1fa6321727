using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Restante.Storage.Maildir;

namespace Restante.Storage.Mbox;

/// <summary>
/// The system calls the mbox store needs beyond the Maildir store's: fcntl locks, fsync. A spool is opened with
/// <see cref="Posix.TryOpenFileAt"/> (no symlink, no blocking on a FIFO), then <see cref="MakeBlocking"/>.
/// </summary>
internal static class SpoolFiles
{
    private const int ONonBlock = 0x800;
    private const int FOfdSetLk = 37;     // F_OFD_SETLK (Linux 3.15)
    private const int FGetFl = 3;
    private const int FSetFl = 4;
    private const short FRdLck = 0;
    private const short FWrLck = 1;
    private const int EAgain = 11;
    private const int EAcces = 13;

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

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int FcntlLock(SafeFileHandle fd, int command, ref FileLock request);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(SafeFileHandle fd, int command, int argument);
}

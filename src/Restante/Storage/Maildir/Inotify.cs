using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// The inotify(7) calls <see cref="FolderWatch"/> needs. Not <see cref="FileSystemWatcher"/>, which also uses inotify on
/// Linux: it delivers events on a thread of its own, so a login could not tell whether every rename that completed before
/// it began has been seen (we read the descriptor ourselves, non-blocking, until EAGAIN); it watches by path, so a symlink
/// swapped in for new/ would be followed (we watch the directory we opened with O_NOFOLLOW, through /proc/self/fd); and
/// it keeps one inotify instance per watcher, where a user may have only 128 (fs.inotify.max_user_instances).
/// </summary>
internal static class Inotify
{
    // <sys/inotify.h>; the same values on every Linux architecture .NET runs on.
    public const uint InCreate = 0x100;
    public const uint InDelete = 0x200;
    public const uint InDeleteSelf = 0x400;
    public const uint InMoveSelf = 0x800;
    public const uint InMovedFrom = 0x40;
    public const uint InMovedTo = 0x80;
    public const uint InUnmount = 0x2000;
    public const uint InQueueOverflow = 0x4000;
    public const uint InIgnored = 0x8000;
    public const uint InOnlyDir = 0x1000000;
    public const uint InIsDir = 0x40000000;
    private const int InNonBlock = 0x800;     // = O_NONBLOCK
    private const int InCloExec = 0x80000;    // = O_CLOEXEC
    private const int EAgain = 11;

    /// <summary>A new non-blocking instance; null when the kernel refuses one (no inotify, max_user_instances reached).</summary>
    public static SafeFileHandle? TryCreate()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var fd = InotifyInit1(InNonBlock | InCloExec);
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>
    /// Watches the directory open as <paramref name="folder"/>: the name /proc/self/fd/N is resolved to the very descriptor
    /// (the one verified with O_NOFOLLOW at login), so no path the user can swap is looked up. Returns the watch
    /// descriptor, or -errno.
    /// </summary>
    public static int AddWatch(SafeFileHandle instance, SafeFileHandle folder, uint mask)
    {
        var rc = InotifyAddWatch(instance, $"/proc/self/fd/{folder.DangerousGetHandle()}", mask | InOnlyDir);
        return rc < 0 ? -Marshal.GetLastPInvokeError() : rc;
    }

    public static void RemoveWatch(SafeFileHandle instance, int watch) => InotifyRmWatch(instance, watch);

    /// <summary>
    /// Whether the directory open as <paramref name="folder"/> is on a file system whose every change goes through this
    /// kernel, so inotify sees it: a disk file system or tmpfs. On NFS, CIFS, FUSE, 9p, virtiofs or Ceph another host (or
    /// the daemon behind the mount) changes the folder without an event, and on overlayfs a change to a lower layer does
    /// not show either: a watch there would vouch for a folder it cannot see, so none is added.
    /// </summary>
    public static bool IsLocalFileSystem(SafeFileHandle folder)
    {
        // struct statfs begins with f_type (a long, or an int on 32-bit) on every Linux architecture; 256 bytes cover the
        // whole struct (120 on x86-64). The magic numbers are from <linux/magic.h>.
        Span<byte> buffer = stackalloc byte[256];
        if (FStatFs(folder, ref MemoryMarshal.GetReference(buffer)) != 0) return false;
        var type = (uint)MemoryMarshal.Read<nint>(buffer);
        return type is 0xEF53u          // ext2, ext3, ext4
            or 0x58465342u              // xfs
            or 0x9123683Eu              // btrfs
            or 0x01021994u              // tmpfs
            or 0xF2F52010u              // f2fs
            or 0x2FC12FC1u              // zfs
            or 0xCA451A4Eu;             // bcachefs
    }

    /// <summary>Reads queued events into <paramref name="buffer"/>: the byte count, 0 when none is queued, or -errno.</summary>
    public static int Read(SafeFileHandle instance, byte[] buffer)
    {
        while (true)
        {
            var n = ReadCore(instance, buffer, (nuint)buffer.Length);
            if (n >= 0) return (int)n;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EAgain) return 0;
            if (errno != Posix.EIntr) return -errno;
        }
    }

    [DllImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    private static extern int InotifyInit1(int flags);

    [DllImport("libc", EntryPoint = "inotify_add_watch", SetLastError = true)]
    private static extern int InotifyAddWatch(SafeFileHandle instance, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mask);

    [DllImport("libc", EntryPoint = "inotify_rm_watch", SetLastError = true)]
    private static extern int InotifyRmWatch(SafeFileHandle instance, int watch);

    [DllImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static extern int FStatFs(SafeFileHandle fd, ref byte buffer);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint ReadCore(SafeFileHandle fd, byte[] buffer, nuint count);
}

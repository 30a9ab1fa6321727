using System.Runtime.InteropServices;

namespace Restante.Auth;

/// <summary>
/// What tells <see cref="PasswdFile"/> that its file may have changed: whether it exists, its modification time and
/// its length. Read at every lookup, i.e. at every login, and at the greeting when APOP depends on the file: on Linux
/// with one statx(2), where <see cref="FileInfo"/> cost an lstat and a geteuid. As FileInfo, a directory or an
/// unreadable path counts as missing, and a dangling symlink as present (the failed read that follows keeps the users
/// in force). Unlike FileInfo, which gave a symlink's own time and length, a symlink (a passwd file kept elsewhere by
/// configuration management) reads as its target, the file that is read: an edit there is picked up too.
/// </summary>
internal readonly record struct PasswdFileStamp(bool Exists, DateTime LastWriteUtc, long Length)
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxWanted = 0x1 | 0x40 | 0x200;   // STATX_TYPE | STATX_MTIME | STATX_SIZE

    public static PasswdFileStamp Read(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            var info = new FileInfo(path);
            return info.Exists ? new PasswdFileStamp(true, info.LastWriteTimeUtc, info.Length) : default;
        }
        Span<byte> buffer = stackalloc byte[256];
        if (TryStatx(path, 0, buffer)) return FromStatx(buffer);
        // As FileInfo: a symlink whose target cannot be reached (gone, a loop, no permission, an NFS error) still
        // "exists", with the link's own times, so the failed read that follows keeps the users in force rather than the
        // server emptying its user table. A path that is missing itself fails this too.
        if (TryStatx(path, AtSymlinkNoFollow, buffer)) return FromStatx(buffer);
        return default;
    }

    private static bool TryStatx(string path, int flags, Span<byte> buffer)
    {
        int rc;
        do rc = Statx(AtFdCwd, path, flags, StatxWanted, ref MemoryMarshal.GetReference(buffer));
        while (rc < 0 && Marshal.GetLastPInvokeError() == 4);   // EINTR
        return rc == 0;
    }

    private static PasswdFileStamp FromStatx(ReadOnlySpan<byte> buffer)
    {
        // struct statx, in the machine's byte order: stx_mode (u16) at 28, stx_size at 40, stx_mtime at 112 (s64 seconds, u32 ns).
        var mode = MemoryMarshal.Read<ushort>(buffer[28..]);
        if ((mode & 0xF000) == 0x4000) return default;   // a directory: FileInfo says it does not exist
        var length = MemoryMarshal.Read<long>(buffer[40..]);
        var seconds = MemoryMarshal.Read<long>(buffer[112..]);
        var nanoseconds = MemoryMarshal.Read<uint>(buffer[120..]);
        return new PasswdFileStamp(true, DateTime.UnixEpoch.AddTicks(seconds * TimeSpan.TicksPerSecond + nanoseconds / 100), length);
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, ref byte buffer);
}

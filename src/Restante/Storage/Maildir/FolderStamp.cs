using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// What tells whether a Maildir folder (new/ or cur/) may have changed since it was listed: which
/// directory it is (device and inode) and its change and modification times, in nanoseconds.
/// The change time (ctime) is the one that counts: a user can set a directory's mtime back with
/// utime(2), but every change of an entry, and that utime call itself, sets the ctime to the
/// kernel's clock, and nobody but the clock's owner can set it back. The mtime is compared too (a
/// file system that keeps no ctime still keeps it).
/// </summary>
internal readonly record struct FolderStamp(ulong Device, ulong Inode, long ChangeNs, long ModifyNs)
{
    /// <summary>The stamp of an open folder (a descriptor opened with O_NOFOLLOW, not a path that may have been swapped since).</summary>
    public static FolderStamp Read(SafeFileHandle folder)
    {
        Span<byte> buffer = stackalloc byte[Posix.StatxSize];
        var errno = TryStatx(folder, "", AtEmptyPath, buffer);
        if (errno != 0) throw Posix.ErrnoException("statx", "(folder)", errno);
        return Of(buffer);
    }

    /// <summary>
    /// The stamp of <paramref name="name"/> in <paramref name="parent"/>, without following a symlink (a login that finds its
    /// folders unchanged never opens them: see <see cref="VerifiedMaildir.StampOf"/>). Returns 0 or the errno;
    /// <paramref name="directory"/> tells whether the name is a directory (a symlink is not).
    /// </summary>
    public static int TryReadAt(SafeFileHandle parent, string name, out FolderStamp stamp, out bool directory)
    {
        Span<byte> buffer = stackalloc byte[Posix.StatxSize];
        // Forced to the server's attributes: the open of the folder this replaced revalidated them on NFS (close-to-open),
        // a statx by name may otherwise answer from the attribute cache for up to a minute and hide another host's
        // delivery. Local file systems ignore the flag.
        var errno = TryStatx(parent, name, AtSymlinkNoFollow | AtStatxForceSync, buffer);
        stamp = errno == 0 ? Of(buffer) : default;
        // stx_mode at 28: S_IFMT 0xF000, S_IFDIR 0x4000.
        directory = errno == 0 && (MemoryMarshal.Read<ushort>(buffer[28..]) & 0xF000) == 0x4000;
        return errno;
    }

    private static int TryStatx(SafeFileHandle directory, string name, int flags, Span<byte> buffer)
    {
        const uint mask = 0x1 | 0x100 | 0x40 | 0x80;   // STATX_TYPE | STATX_INO | STATX_MTIME | STATX_CTIME
        return Posix.TryStatx(directory, name, flags, mask, buffer);
    }

    private static FolderStamp Of(ReadOnlySpan<byte> buffer)
    {
        // stx_ino at 32, stx_ctime at 96, stx_mtime at 112 (tv_sec int64, tv_nsec uint32), stx_dev_major/minor at 136/140.
        var inode = MemoryMarshal.Read<ulong>(buffer[32..]);
        var device = (ulong)MemoryMarshal.Read<uint>(buffer[136..]) << 32 | MemoryMarshal.Read<uint>(buffer[140..]);
        return new FolderStamp(device, inode, Nanoseconds(buffer[96..]), Nanoseconds(buffer[112..]));
    }

    /// <summary>The later of the two times, as UTC: what the settle rule compares with the clock.</summary>
    public DateTime LatestUtc => DateTime.UnixEpoch.AddTicks(Math.Max(ChangeNs, ModifyNs) / 100);

    /// <summary>True when this is the same directory as <paramref name="other"/>, whatever its times.</summary>
    public bool SameFolder(in FolderStamp other) => Device == other.Device && Inode == other.Inode;

    private static long Nanoseconds(ReadOnlySpan<byte> timestamp)
    {
        // statx fills the buffer in the machine's own byte order, which is what MemoryMarshal reads.
        var seconds = MemoryMarshal.Read<long>(timestamp);
        var nanoseconds = MemoryMarshal.Read<uint>(timestamp[8..]);
        return seconds * 1_000_000_000 + nanoseconds;
    }

    private const int AtEmptyPath = 0x1000;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtStatxForceSync = 0x2000;
}

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Restante.Auth;

/// <summary>
/// A file's owner, group and permission bits, read with statx(2) (its buffer layout is the same on every Linux
/// architecture, unlike struct stat's) and given to another file with fchown(2)/fchmod(2). .NET reads and sets the
/// mode but has no API for the owner. Linux only; elsewhere <see cref="TryRead"/> says nothing is known.
/// </summary>
internal readonly record struct FileOwner(uint Uid, uint Gid, UnixFileMode Mode)
{
    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7FF;
    private const int StatxSize = 256;

    /// <summary>The effective user id of this process (0: root, who may give a file to anyone).</summary>
    public static uint EffectiveUid => OperatingSystem.IsLinux() ? GetEuid() : uint.MaxValue;

    /// <summary>The owner of <paramref name="path"/> (following symlinks), or false when it does not exist or this is not Linux.</summary>
    [System.Runtime.Versioning.SupportedOSPlatformGuard("linux")]
    public static bool TryRead(string path, out FileOwner owner)
    {
        owner = default;
        if (!OperatingSystem.IsLinux()) return false;
        var buffer = new byte[StatxSize];
        if (Statx(AtFdCwd, path, 0, StatxBasicStats, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == 2) return false;   // ENOENT
            throw new IOException($"statx({path}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
        }
        // struct statx: stx_uid at 20, stx_gid at 24, stx_mode (u16) at 28 (linux/stat.h).
        var uid = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(20));
        var gid = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(24));
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(28));
        if (!BitConverter.IsLittleEndian)
        {
            uid = BinaryPrimitives.ReverseEndianness(uid);
            gid = BinaryPrimitives.ReverseEndianness(gid);
            mode = BinaryPrimitives.ReverseEndianness(mode);
        }
        owner = new FileOwner(uid, gid, (UnixFileMode)(mode & 0xFFF));
        return true;
    }

    /// <summary>Gives the open file this owner, group and mode; the error names what could not be done.</summary>
    /// <exception cref="UnauthorizedAccessException">fchown was refused (not root, or not a member of the group).</exception>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void ApplyTo(SafeFileHandle file, string path)
    {
        if (FChown(file, Uid, Gid) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new UnauthorizedAccessException($"cannot give {path} owner {Uid} and group {Gid}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        // After fchown, which may clear set-id bits.
        File.SetUnixFileMode(file, Mode);
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

    [DllImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static extern int FChown(SafeFileHandle fd, uint owner, uint group);

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();
}

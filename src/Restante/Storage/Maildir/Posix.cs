using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Restante.Protocol;

namespace Restante.Storage.Maildir;

/// <summary>
/// The Linux system calls a Maildir the user can write to needs and .NET does not expose: every
/// name is resolved relative to a directory descriptor that was opened with O_NOFOLLOW (openat,
/// statx, unlinkat, renameat2, mkdirat, getdents64), so a symlink planted anywhere in the Maildir
/// can never lead outside it; plus fsync of a directory and flock with a precise errno. Dovecot
/// works the same way (O_NOFOLLOW, then fstat of what was opened). Linux only.
/// </summary>
internal static class Posix
{
    public static bool IsLinux => OperatingSystem.IsLinux();

    internal const int ORdOnly = 0;
    private const int OWrOnly = 1;
    private const int ORdWr = 2;
    private const int OCreat = 0x40;          // 0100 on every Linux architecture .NET runs on
    private const int OExcl = 0x80;           // 0200 likewise
    internal const int ONonBlock = 0x800;      // 04000 likewise
    internal const int OCloExec = 0x80000;     // 02000000 likewise
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const int AtRemoveDir = 0x200;
    private const int RenameNoReplace = 1;
    private const int LockEx = 2;
    private const int LockNb = 4;
    private const int LockUn = 8;
    private const int SeekSet = 0;
    private const int PosixFadvSequential = 2;

    public const int EPerm = 1;
    public const int ENoEnt = 2;
    public const int EIntr = 4;
    public const int EExist = 17;
    public const int ENotDir = 20;
    public const int EInval = 22;
    public const int ELoop = 40;
    public const int E2Big = 7;
    public const int ENoSys = 38;
    private const int EWouldBlock = 11;       // EAGAIN == EWOULDBLOCK on Linux
    public const int EBadF = 9;
    public const int ENoLck = 37;

    // O_DIRECTORY and O_NOFOLLOW differ by architecture (asm-generic 0200000/0400000; arm, arm64
    // and powerpc 040000/0100000). O_NOFOLLOW is what keeps a planted symlink from leading out
    // of the Maildir, so an architecture whose values we do not know is refused, not guessed.
    private static readonly (int Directory, int NoFollow) ArchitectureFlags = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 or Architecture.RiscV64 or Architecture.LoongArch64 or Architecture.S390x => (0x10000, 0x20000),
        Architecture.Arm64 or Architecture.Arm or Architecture.Ppc64le => (0x4000, 0x8000),
        _ => (0, 0),
    };

    private static int ODirectory => ArchitectureFlags.Directory != 0 ? ArchitectureFlags.Directory : throw Unsupported();

    private static int ONoFollow => ArchitectureFlags.NoFollow != 0 ? ArchitectureFlags.NoFollow : throw Unsupported();

    private static PlatformNotSupportedException Unsupported() =>
        new($"The Maildir store does not know O_NOFOLLOW on {RuntimeInformation.ProcessArchitecture}.");

    /// <summary>What statx(2) says about one inode.</summary>
    public readonly record struct FileStatus(FileKind Kind, long Length, DateTime LastWriteUtc, uint OwnerId, int Permissions);

    public enum FileKind
    {
        Regular,
        Directory,
        SymbolicLink,
        /// <summary>A Unix-domain socket (the control socket checks that what it replaces is one).</summary>
        Socket,
        Other,
    }

    /// <summary>One name from a directory listing, with the type the directory entry records.</summary>
    public readonly record struct DirectoryEntry(string Name, FileKind Kind, bool KindKnown);

    /// <summary>
    /// Opens a directory of the administrator's by path, symlinks followed (they are the
    /// administrator's too). Returns 0 and the handle, or the errno.
    /// </summary>
    public static int TryOpenTrustedDirectory(string path, out SafeFileHandle? handle) =>
        TryOpen(AtFdCwd, null, path, ORdOnly | ODirectory | OCloExec, 0, out handle);

    /// <summary>A directory by its path, following symlinks in every component but the last (O_NOFOLLOW): ELOOP for a last one that is.</summary>
    public static int TryOpenDirectoryNoFollow(string path, out SafeFileHandle? handle) =>
        TryOpen(AtFdCwd, null, path, ORdOnly | ODirectory | ONoFollow | OCloExec, 0, out handle);

    /// <summary>
    /// Opens a directory inside one already verified; it must not be a symlink (O_NOFOLLOW).
    /// Returns 0 and the handle, or the errno: ELOOP for a symlink, ENOTDIR for anything else.
    /// </summary>
    public static int TryOpenDirectoryAt(SafeFileHandle directory, string name, out SafeFileHandle? handle) =>
        TryOpen(-1, directory, name, ORdOnly | ODirectory | ONoFollow | OCloExec, 0, out handle);

    /// <summary>
    /// Opens a file for reading: never through a symlink, never blocking on a FIFO, not inherited
    /// by child processes. The caller checks with <see cref="Stat(SafeFileHandle)"/> what it got.
    /// </summary>
    public static int TryOpenReadAt(SafeFileHandle directory, string name, out SafeFileHandle? handle)
    {
        var errno = TryOpen(-1, directory, name, ORdOnly | ONoFollow | ONonBlock | OCloExec, 0, out handle);
        if (errno == 0) AdviseSequential(handle!);
        return errno;
    }

    /// <summary>Asks for sequential read-ahead on the whole file: a hint, whose failure changes nothing.</summary>
    public static void AdviseSequential(SafeFileHandle handle) => _ = PosixFadvise(handle, 0, 0, PosixFadvSequential);

    /// <summary>Opens (creating, mode 0600) a file to flock, never through a symlink.</summary>
    public static int TryOpenForLockingAt(SafeFileHandle directory, string name, out SafeFileHandle? handle) =>
        TryOpenFileAt(directory, name, write: true, create: true, out handle);

    /// <summary>
    /// Opens a file for reading, or reading and writing, creating it (mode 0600) when <paramref name="create"/>: never
    /// through a symlink (ELOOP), never blocking on a FIFO (O_NONBLOCK stays set: the caller clears it once it knows it
    /// has a regular file), not inherited by child processes. 0 and the handle, or the errno.
    /// </summary>
    public static int TryOpenFileAt(SafeFileHandle directory, string name, bool write, bool create, out SafeFileHandle? handle) =>
        TryOpen(-1, directory, name, (write ? ORdWr : ORdOnly) | ONoFollow | ONonBlock | OCloExec | (create ? OCreat : 0), 0b110_000_000, out handle);

    /// <summary>Creates a new file (mode 0600) for writing; fails with EEXIST when the name exists, even as a symlink.</summary>
    public static int TryCreateExclusiveAt(SafeFileHandle directory, string name, out SafeFileHandle? handle) =>
        TryOpen(-1, directory, name, OWrOnly | OCreat | OExcl | ONoFollow | OCloExec, 0b110_000_000, out handle);

    private static int TryOpen(int directoryFd, SafeFileHandle? directory, string name, int flags, int mode, out SafeFileHandle? handle)
    {
        handle = null;
        int fd;
        do fd = directory is null ? OpenAt(directoryFd, name, flags, mode) : OpenAt(directory, name, flags, mode);
        while (fd < 0 && Marshal.GetLastPInvokeError() == EIntr);
        if (fd < 0) return Marshal.GetLastPInvokeError();
        handle = new SafeFileHandle(fd, ownsHandle: true);
        return 0;
    }

    /// <summary>mkdirat(2) with mode 0700; 0 or the errno (EEXIST when something has the name).</summary>
    public static int MakeDirectoryAt(SafeFileHandle directory, string name)
    {
        int rc;
        do rc = MkdirAt(directory, name, 0b111_000_000);
        while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
        return rc < 0 ? Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>fstat of an open descriptor.</summary>
    public static FileStatus Stat(SafeFileHandle handle)
    {
        var errno = StatCore(handle, "", AtEmptyPath, out var status);
        if (errno != 0) throw ErrnoException("fstat", "(descriptor)", errno);
        return status;
    }

    /// <summary>The device and inode of an open descriptor: what tells two directories apart, whatever their paths.</summary>
    public static (ulong Device, ulong Inode) Identity(SafeFileHandle handle)
    {
        const uint mask = 0x100;   // STATX_INO (the device numbers come with every statx)
        Span<byte> buffer = stackalloc byte[StatxSize];
        var errno = TryStatx(handle, "", AtEmptyPath, mask, buffer);
        if (errno != 0) throw ErrnoException("fstat", "(descriptor)", errno);
        // struct statx: stx_ino at 32, stx_dev_major at 136, stx_dev_minor at 140 (native byte order).
        var inode = MemoryMarshal.Read<ulong>(buffer[32..]);
        var device = (ulong)MemoryMarshal.Read<uint>(buffer[136..]) << 32 | MemoryMarshal.Read<uint>(buffer[140..]);
        return (device, inode);
    }

    /// <summary><see cref="Stat(SafeFileHandle)"/> that reports failure as an errno instead of throwing.</summary>
    public static int TryStat(SafeFileHandle handle, out FileStatus status) => StatCore(handle, "", AtEmptyPath, out status);

    /// <summary>lstat of a name in a directory: a symlink is reported as one, never followed. 0 or the errno.</summary>
    public static int TryStatAt(SafeFileHandle directory, string name, out FileStatus status) =>
        StatCore(directory, name, AtSymlinkNoFollow, out status);

    private static int StatCore(SafeFileHandle directory, string name, int flags, out FileStatus status)
    {
        // struct statx has the same layout on every architecture (unlike struct stat): 256 bytes.
        const uint mask = 0x1 | 0x2 | 0x8 | 0x40 | 0x200;   // STATX_TYPE | STATX_MODE | STATX_UID | STATX_MTIME | STATX_SIZE
        Span<byte> buffer = stackalloc byte[StatxSize];
        var errno = TryStatx(directory, name, flags, mask, buffer);
        if (errno != 0)
        {
            status = default;
            return errno;
        }
        var uid = BinaryPrimitives.ReadUInt32LittleEndian(buffer[20..]);
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]);
        var size = BinaryPrimitives.ReadInt64LittleEndian(buffer[40..]);
        var seconds = BinaryPrimitives.ReadInt64LittleEndian(buffer[112..]);
        var nanoseconds = BinaryPrimitives.ReadUInt32LittleEndian(buffer[120..]);
        if (!BitConverter.IsLittleEndian)
        {
            uid = BinaryPrimitives.ReverseEndianness(uid);
            mode = BinaryPrimitives.ReverseEndianness(mode);
            size = BinaryPrimitives.ReverseEndianness(size);
            seconds = BinaryPrimitives.ReverseEndianness(seconds);
            nanoseconds = BinaryPrimitives.ReverseEndianness(nanoseconds);
        }
        var kind = (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.SymbolicLink,
            0xC000 => FileKind.Socket,
            _ => FileKind.Other,
        };
        var time = DateTime.UnixEpoch.AddTicks(seconds * TimeSpan.TicksPerSecond + nanoseconds / 100);
        status = new FileStatus(kind, size, time, uid, mode & 0xFFF);
        return 0;
    }

    /// <summary>The size of struct statx, the same on every architecture.</summary>
    internal const int StatxSize = 256;

    /// <summary>
    /// statx(2) of <paramref name="name"/> in <paramref name="directory"/> ("" with AT_EMPTY_PATH: the descriptor itself)
    /// into <paramref name="buffer"/> (<see cref="StatxSize"/> bytes, filled in the machine's byte order), again after
    /// EINTR: 0, or the errno. The one statx of the Maildir store (<see cref="FolderStamp"/> reads its stamps with it).
    /// </summary>
    internal static int TryStatx(SafeFileHandle directory, string name, int flags, uint mask, Span<byte> buffer)
    {
        if (buffer.Length < StatxSize) throw new ArgumentException($"statx needs {StatxSize} bytes.", nameof(buffer));
        int rc;
        do rc = Statx(directory, name, flags, mask, ref MemoryMarshal.GetReference(buffer));
        while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
        return rc < 0 ? Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>
    /// Every name in a directory (but "." and ".."), from the directory entries themselves: the
    /// type comes without a stat per file, except on file systems that do not record it.
    /// </summary>
    public static List<DirectoryEntry> ReadDirectory(SafeFileHandle directory, string pathForErrors)
    {
        var decoder = new DecodingVisitor();
        ReadDirectory(directory, pathForErrors, decoder);
        return decoder.Entries;
    }

    /// <summary>Receives each name of a listing as the directory holds it: bytes, no string per name.</summary>
    public interface IDirectoryVisitor
    {
        void Visit(ReadOnlySpan<byte> name, FileKind kind, bool kindKnown);
    }

    /// <summary>
    /// Calls <paramref name="visitor"/> for every name in a directory (but "." and ".."), straight
    /// from getdents64's buffer: a Maildir of a million messages is listed without a million strings.
    /// </summary>
    public static void ReadDirectory<T>(SafeFileHandle directory, string pathForErrors, T visitor) where T : IDirectoryVisitor
    {
        // getdents64 reads from the descriptor's position, which an earlier listing left at the end: back to the
        // start, as rewinddir(3) does, rather than an openat(".") and a close per listing (a login lists new/ and
        // cur/). The position belongs to the open file description, so a descriptor is listed by one thread at a
        // time: a VerifiedMaildir serves one operation at a time, and what outlives it (sizing, re-checks) reopens.
        if (Lseek(directory, 0, SeekSet) < 0) throw ErrnoException("lseek", pathForErrors, Marshal.GetLastPInvokeError());
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            while (true)
            {
                nint read;
                do read = GetDents64(directory, buffer, (nuint)buffer.Length);
                while (read < 0 && Marshal.GetLastPInvokeError() == EIntr);
                if (read < 0) throw ErrnoException("getdents64", pathForErrors, Marshal.GetLastPInvokeError());
                if (read == 0) return;
                Parse(buffer.AsSpan(0, (int)read), visitor);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed class DecodingVisitor : IDirectoryVisitor
    {
        public List<DirectoryEntry> Entries { get; } = [];

        public void Visit(ReadOnlySpan<byte> name, FileKind kind, bool kindKnown) => Entries.Add(new DirectoryEntry(DecodeName(name), kind, kindKnown));
    }

    // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
    private static void Parse<T>(ReadOnlySpan<byte> records, T visitor) where T : IDirectoryVisitor
    {
        while (records.Length >= 19)
        {
            var length = BitConverter.IsLittleEndian
                ? BinaryPrimitives.ReadUInt16LittleEndian(records[16..])
                : BinaryPrimitives.ReadUInt16BigEndian(records[16..]);
            if (length < 19 || length > records.Length) break;
            var type = records[18];
            var name = records[19..length];
            var nul = name.IndexOf((byte)0);
            if (nul >= 0) name = name[..nul];
            records = records[length..];
            if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)) continue;
            var (kind, known) = type switch
            {
                8 => (FileKind.Regular, true),        // DT_REG
                4 => (FileKind.Directory, true),      // DT_DIR
                10 => (FileKind.SymbolicLink, true),  // DT_LNK
                0 => (FileKind.Other, false),         // DT_UNKNOWN: the caller must ask statx
                _ => (FileKind.Other, true),
            };
            visitor.Visit(name, kind, known);
        }
    }

    /// <summary>
    /// A file name as .NET sees it. Bytes that are not UTF-8 cannot be named again from a string,
    /// so such names are given a marker the callers recognise and skip.
    /// </summary>
    private static string DecodeName(ReadOnlySpan<byte> name)
    {
        try
        {
            return StrictUtf8.GetString(name);
        }
        catch (DecoderFallbackException)
        {
            return UndecodableName;
        }
    }

    /// <summary>What <see cref="ReadDirectory"/> returns for a name that is not UTF-8 (NUL cannot be in a real name).</summary>
    public const string UndecodableName = "\0";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>unlinkat(2) of a file (a symlink is removed itself, never its target); 0 or the errno.</summary>
    public static int UnlinkAt(SafeFileHandle directory, string name)
    {
        int rc;
        do rc = UnlinkAtCore(directory, name, 0);
        while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
        return rc < 0 ? Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>unlinkat(2) with AT_REMOVEDIR: removes an empty directory; 0 or the errno (ENOTEMPTY when it is not).</summary>
    public static int RemoveDirectoryAt(SafeFileHandle directory, string name)
    {
        int rc;
        do rc = UnlinkAtCore(directory, name, AtRemoveDir);
        while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
        return rc < 0 ? Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>
    /// Renames between two verified directories. <paramref name="replace"/> false refuses an
    /// existing target (RENAME_NOREPLACE; where the file system cannot, a plain rename, as the
    /// names we create are unique anyway). A symlink at the target is replaced, never followed.
    /// </summary>
    public static void RenameAt(SafeFileHandle fromDirectory, string from, SafeFileHandle toDirectory, string to, bool replace, string pathForErrors)
    {
        int rc;
        do rc = RenameAt2(fromDirectory, from, toDirectory, to, replace ? 0 : RenameNoReplace);
        while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
        if (rc < 0 && !replace && Marshal.GetLastPInvokeError() == EInval)
        {
            do rc = RenameAt2(fromDirectory, from, toDirectory, to, 0);
            while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
        }
        if (rc < 0) throw ErrnoException("renameat", pathForErrors, Marshal.GetLastPInvokeError());
    }

    /// <summary>
    /// Makes a directory's entries (creations, renames, unlinks) durable. Renaming or unlinking a
    /// file is only on disk once its directory is synced.
    /// </summary>
    public static void FsyncDirectory(SafeFileHandle directory, string pathForErrors)
    {
        int rc;
        do rc = Fsync(directory);
        while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
        if (rc < 0) throw ErrnoException("fsync", pathForErrors, Marshal.GetLastPInvokeError());
    }

    /// <summary>flock(LOCK_EX|LOCK_NB). False when another open file description holds it.</summary>
    public static bool TryLockExclusive(SafeFileHandle handle, string path)
    {
        var errno = LockExclusive(handle);
        if (errno == 0) return true;
        if (errno == EWouldBlock) return false;
        throw ErrnoException("flock", path, errno);
    }

    /// <summary>flock(LOCK_EX|LOCK_NB): 0, or the errno (EWOULDBLOCK when someone else holds it).</summary>
    public static int LockExclusive(SafeFileHandle handle)
    {
        int rc;
        do rc = Flock(handle, LockEx | LockNb);
        while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
        return rc == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    public static bool IsWouldBlock(int errno) => errno == EWouldBlock;

    /// <summary>flock(LOCK_UN): releases the lock for every descriptor sharing this open file description (a copy a forked child still holds included).</summary>
    public static void Unlock(SafeFileHandle handle)
    {
        int rc;
        do rc = Flock(handle, LockUn);
        while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
        // Nothing to do on failure: closing the descriptor, which follows, releases it too.
    }

    /// <summary>The exception .NET would throw for this errno: access errors apart from I/O errors.</summary>
    public static Exception ErrnoException(string call, string path, int errno)
    {
        // Paths end in names the user chose: escaped before they can reach a log line.
        var text = $"{call}({LogText.Of(path, LogText.PathLimit)}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
        return errno switch
        {
            1 or 13 => new UnauthorizedAccessException(text),   // EPERM, EACCES
            ENoEnt => new DirectoryNotFoundException(text),
            _ => new IOException(text, errno),
        };
    }

    // open(2)/openat(2) are variadic; passing the mode as a further int matches the Linux calling conventions.
    [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static extern int OpenAt(int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static extern int OpenAt(SafeFileHandle directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "mkdirat", SetLastError = true)]
    private static extern int MkdirAt(SafeFileHandle directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(SafeFileHandle directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, ref byte buffer);

    [DllImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    private static extern nint GetDents64(SafeFileHandle directory, byte[] buffer, nuint count);

    [DllImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static extern long Lseek(SafeFileHandle fd, long offset, int whence);

    [DllImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    private static extern int UnlinkAtCore(SafeFileHandle directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    private static extern int RenameAt2(SafeFileHandle fromDirectory, [MarshalAs(UnmanagedType.LPUTF8Str)] string from,
        SafeFileHandle toDirectory, [MarshalAs(UnmanagedType.LPUTF8Str)] string to, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(SafeFileHandle fd);

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int Flock(SafeFileHandle fd, int operation);

    [DllImport("libc", EntryPoint = "posix_fadvise", SetLastError = false)]
    private static extern int PosixFadvise(SafeFileHandle fd, long offset, long length, int advice);
}

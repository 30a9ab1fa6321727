using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// Opens <c>new/name</c> or <c>cur/name</c> for reading straight from the verified Maildir root in one openat2(2)
/// (Linux 5.6) with RESOLVE_NO_SYMLINKS and RESOLVE_BENEATH: the kernel refuses a symlink in any component, the folder
/// as well as the file, and anything that would lead above the root. That is what opening the folder O_NOFOLLOW and
/// then the file O_NOFOLLOW in it proves (see <see cref="VerifiedMaildir"/>), in one call instead of three (open the
/// folder, open the file, close the folder): a RETR of a small message spends more on those than on reading it.
/// </summary>
/// <remarks>
/// Only the success is taken from here. Any failure (a missing file that another client renamed, a folder swapped for a
/// symlink or a file, a kernel or seccomp filter without openat2) sends the caller down the folder-by-folder path,
/// which tells those cases apart exactly as before; a kernel without openat2 is asked once, not on every RETR.
/// </remarks>
internal static class MessageOpenBeneath
{
    // openat2 has the same number on every architecture of the unified syscall table (x86-64, arm64, riscv64, loongarch64).
    private const long SysOpenat2 = 437;
    private const ulong ResolveNoSymlinks = 0x04;
    private const ulong ResolveBeneath = 0x08;

    private static volatile bool s_unavailable = !IsKnownArchitecture();
    private static volatile bool s_worked;

    /// <summary>The file's descriptor, or null: then the caller opens it the long way (and learns why it failed).</summary>
    public static SafeFileHandle? TryOpenRead(SafeFileHandle root, MaildirFolder folder, string name)
    {
        if (s_unavailable || name.Contains('/')) return null;
        // O_NONBLOCK: a FIFO put there cannot hang the open.
        var how = new OpenHow { Flags = Posix.ORdOnly | Posix.ONonBlock | Posix.OCloExec, Resolve = ResolveNoSymlinks | ResolveBeneath };
        var path = folder == MaildirFolder.New ? string.Concat("new/", name) : string.Concat("cur/", name);
        long fd;
        do fd = Openat2(SysOpenat2, root, path, ref how, (nuint)Marshal.SizeOf<OpenHow>());
        while (fd < 0 && Marshal.GetLastPInvokeError() == Posix.EIntr);
        if (fd >= 0)
        {
            s_worked = true;
            return new SafeFileHandle((nint)fd, ownsHandle: true);
        }
        // No openat2 here (an older kernel, or a seccomp filter that answers ENOSYS or EPERM): stop asking. Once it has
        // worked, an EPERM is about one file (a security module's verdict) and costs only that RETR the long way.
        var errno = Marshal.GetLastPInvokeError();
        if (errno is Posix.ENoSys or Posix.E2Big || (errno == Posix.EPerm && !s_worked)) s_unavailable = true;
        return null;
    }

    private static bool IsKnownArchitecture() => OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64 or Architecture.RiscV64 or Architecture.LoongArch64;

    /// <summary>struct open_how (linux/openat2.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    // syscall(2) is variadic; every argument here is passed in a register as for a plain call on these architectures.
    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long Openat2(long number, SafeFileHandle directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref OpenHow how, nuint size);
}

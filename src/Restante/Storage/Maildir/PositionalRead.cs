using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Restante.Storage.Maildir;

/// <summary>
/// pread(2) on a descriptor known to be a regular file. <see cref="RandomAccess.Read(SafeFileHandle, Span{byte}, long)"/>
/// does the same, but on a handle it did not open itself it first asks lseek(2) whether the descriptor can seek: a
/// system call per message file that tells us nothing, since fstat already said the file is a regular one.
/// </summary>
internal static class PositionalRead
{
    /// <summary>Reads up to <paramref name="buffer"/>'s length at <paramref name="offset"/>; 0 at the end. Throws <see cref="IOException"/> on failure.</summary>
    public static int Read(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        if (buffer.IsEmpty) return 0;
        nint read;
        do read = PRead(handle, ref MemoryMarshal.GetReference(buffer), (nuint)buffer.Length, offset);
        while (read < 0 && Marshal.GetLastPInvokeError() == Posix.EIntr);
        if (read < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"pread failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
        }
        return (int)read;
    }

    [DllImport("libc", EntryPoint = "pread64", SetLastError = true)]
    private static extern nint PRead(SafeFileHandle fd, ref byte buffer, nuint count, long offset);
}

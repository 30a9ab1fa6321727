using System.Buffers.Binary;
using System.Net.Sockets;

namespace Restante.Admin;

/// <summary>
/// Who is at the other end of a Unix-domain socket, as the kernel recorded it at connect
/// (SO_PEERCRED, socket(7)): not something the peer can claim, so it can decide what the peer may do.
/// </summary>
internal readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid)
{
    // <asm-generic/socket.h>: SOL_SOCKET 1, SO_PEERCRED 17 on x86-64 and arm64 (the platforms we publish for).
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <summary>The peer's struct ucred { pid_t pid; uid_t uid; gid_t gid; }; false when the kernel cannot say (not Linux, not a Unix socket).</summary>
    public static bool TryRead(Socket socket, out PeerCredentials credentials)
    {
        credentials = default;
        if (!OperatingSystem.IsLinux()) return false;
        Span<byte> ucred = stackalloc byte[12];
        try
        {
            if (socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred) < ucred.Length) return false;
        }
        catch (SocketException)
        {
            return false;
        }
        // Native byte order: the kernel wrote the struct for this machine.
        credentials = BitConverter.IsLittleEndian
            ? new PeerCredentials(BinaryPrimitives.ReadInt32LittleEndian(ucred), BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]), BinaryPrimitives.ReadUInt32LittleEndian(ucred[8..]))
            : new PeerCredentials(BinaryPrimitives.ReadInt32BigEndian(ucred), BinaryPrimitives.ReadUInt32BigEndian(ucred[4..]), BinaryPrimitives.ReadUInt32BigEndian(ucred[8..]));
        return true;
    }
}

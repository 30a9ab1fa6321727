using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Restante.Storage.Maildir;

namespace Restante.Admin;

/// <summary>
/// The control socket's file, owned by one server at a time. A lock file next to it
/// (<c>restante.ctl.lock</c>, flock(2)) says whether a server is alive: the kernel drops the lock
/// when the process dies, even by SIGKILL, so a socket file found without a lock holder is stale
/// and is replaced, while one whose holder lives is left alone and this server refuses to start.
/// The socket is bound inside a fresh mode-0700 directory, made mode 0600 there and only then
/// renamed into place, so at no moment can another user connect to it; umask, the other way to
/// get there, is process-wide and would change the mode of files other threads create meanwhile.
/// </summary>
internal sealed class ControlSocketFile : IDisposable
{
    private const string LockSuffix = ".lock";
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly SafeFileHandle _lock;
    private int _disposed;

    private ControlSocketFile(string path, Socket listening, SafeFileHandle heldLock)
    {
        Path = path;
        Listening = listening;
        _lock = heldLock;
    }

    /// <summary>The socket's absolute path.</summary>
    public string Path { get; }

    /// <summary>The bound, listening socket.</summary>
    public Socket Listening { get; }

    /// <summary>The longest path this needs to bind at: the socket's own, or the scratch one (DIR/.12345678/s).</summary>
    public static int LongestBoundPath(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(full) ?? "/";
        return Math.Max(System.Text.Encoding.UTF8.GetByteCount(full), System.Text.Encoding.UTF8.GetByteCount(directory) + "/.12345678/s".Length);
    }

    /// <summary>
    /// Claims the path and listens on it. Throws <see cref="InvalidOperationException"/> when a running server owns
    /// it, <see cref="IOException"/> when something that is not a socket is in the way.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static ControlSocketFile Create(string path, int backlog, ILogger logger)
    {
        var full = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(full) ?? "/";
        var name = System.IO.Path.GetFileName(full);
        Directory.CreateDirectory(directory);
        var errno = Posix.TryOpenTrustedDirectory(directory, out var folder);
        if (errno != 0) throw Posix.ErrnoException("open", directory, errno);
        using (folder)
        {
            errno = Posix.TryOpenForLockingAt(folder!, name + LockSuffix, out var heldLock);
            if (errno != 0) throw Posix.ErrnoException("open", full + LockSuffix, errno);
            try
            {
                if (!Posix.TryLockExclusive(heldLock!, full + LockSuffix)) throw OwnedByRunningServer(full);
                var stale = false;
                errno = Posix.TryStatAt(folder!, name, out var status);
                if (errno == 0)
                {
                    if (status.Kind != Posix.FileKind.Socket) throw new IOException($"{full} exists and is not a socket; not replacing it.");
                    // Locked by nobody, yet someone may answer: a server that does not take the lock. Not ours to take over.
                    if (Answers(full)) throw OwnedByRunningServer(full);
                    stale = true;
                }
                else if (errno != Posix.ENoEnt)
                {
                    throw Posix.ErrnoException("stat", full, errno);
                }
                var listening = BindPrivately(folder!, directory, name, full, backlog);
                if (stale) AdminLog.StaleSocketReplaced(logger, full);
                return new ControlSocketFile(full, listening, heldLock!);
            }
            catch
            {
                heldLock!.Dispose();
                throw;
            }
        }
    }

    private static InvalidOperationException OwnedByRunningServer(string path)
    {
        var owner = OwnerPid(path) is { } pid ? $" (pid {pid})" : "";
        return new InvalidOperationException(
            $"another Restante server{owner} is running with the control socket {path}. Stop it first, or give this one its own DataDirectory or Admin:Socket.");
    }

    /// <summary>Binds in a new 0700 directory beside the target, sets 0600, listens, renames into place (replacing a stale file).</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static Socket BindPrivately(SafeFileHandle folder, string directory, string name, string full, int backlog)
    {
        var scratchName = "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var errno = Posix.MakeDirectoryAt(folder, scratchName);
        if (errno != 0) throw Posix.ErrnoException("mkdir", System.IO.Path.Join(directory, scratchName), errno);
        var scratchPath = System.IO.Path.Join(directory, scratchName);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            errno = Posix.TryOpenDirectoryAt(folder, scratchName, out var scratch);
            if (errno != 0) throw Posix.ErrnoException("open", scratchPath, errno);
            using (scratch)
            {
                var temporary = System.IO.Path.Join(scratchPath, "s");
                socket.Bind(new UnixDomainSocketEndPoint(temporary));
                File.SetUnixFileMode(temporary, OwnerOnly);
                socket.Listen(backlog);
                Posix.RenameAt(scratch!, "s", folder, name, replace: true, full);
            }
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        finally
        {
            TryDelete(() => Directory.Delete(scratchPath, recursive: true));
        }
    }

    /// <summary>True when a server accepts connections on the socket (a stale file refuses them: ECONNREFUSED).</summary>
    private static bool Answers(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            probe.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The pid of the process listening on the socket, for the refusal message; null when it cannot be told.</summary>
    private static int? OwnerPid(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            probe.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token).AsTask().GetAwaiter().GetResult();
            return PeerCredentials.TryRead(probe, out var owner) ? owner.Pid : null;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    private static void TryDelete(Action delete)
    {
        try
        {
            delete();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left behind: harmless (a dot-directory or a dead socket the next start replaces).
        }
    }

    /// <summary>Stops listening and removes the socket file, then lets go of the lock: under the lock, the file is still ours to remove.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Listening.Dispose();
        TryDelete(() => File.Delete(Path));
        // The lock file stays: removing it would let a starting server lock a new inode while another holds the old one.
        _lock.Dispose();
    }
}

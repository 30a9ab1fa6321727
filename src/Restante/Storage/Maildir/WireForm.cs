using System.Globalization;

namespace Restante.Storage.Maildir;

/// <summary>
/// Which message files are already in POP3 wire form, so a plain connection may send them with sendfile(2) instead of
/// copying them through the converter. Our own deliveries name such a file <c>base,S=n,W=n,P=n</c>: stored with CRLF
/// line ends (S = W), no bare CR or LF, no line starting with '.', an ASCII header, n octets (see
/// <see cref="Protocol.WireFormConverter"/>). The name alone is never trusted: anyone who can write to the Maildir can
/// rename a file to carry it, and a raw "\r\n.\r\n" inside a file would end the reply early and make the rest look like
/// server replies. So the file must also be one the mailbox's user cannot have written or chosen: owned by the server's
/// own account, mode exactly 0400 (the delivery sets it only on a file it found in wire form; every other delivery is
/// 0600, and a user who may rename files cannot chmod the server's; no group or other bit also rules out ACLs, whose
/// mask shows there), and exactly n octets long, n being the LIST size. Where owner and mode are mount options (CIFS,
/// vfat, NFS with all_squash) they prove nothing, and such a Maildir must not be writable by its users.
/// A file that fails any of this goes through the converter, which
/// is always correct, only slower.
/// </summary>
internal static class WireForm
{
    private const char Key = 'P';

    /// <summary>The name in new/ for a delivered file: sizes always, the wire-form mark when it is one (an empty file has nothing to send).</summary>
    public static string Name(string baseName, long length, bool wireForm) => wireForm && length > 0
        ? string.Create(CultureInfo.InvariantCulture, $"{baseName},S={length},W={length},{Key}={length}")
        : string.Create(CultureInfo.InvariantCulture, $"{baseName},S={length},W={length}");

    /// <summary>
    /// True when <paramref name="fileName"/> carries the mark for <paramref name="listSize"/> octets and the open file,
    /// as fstat saw it when it was opened (<paramref name="status"/>), is a regular file of that length, the server's own
    /// and marked read-only by its delivery.
    /// </summary>
    public static bool IsTrusted(string fileName, in Posix.FileStatus status, long listSize)
    {
        if (!MaildirName.TryGetField(fileName, Key, out var marked) || marked != listSize || marked is <= 0 or > int.MaxValue) return false;
        return status.Kind == Posix.FileKind.Regular && status.Length == marked && status.OwnerId == s_serverId
            && (status.Permissions & 0x1FF) == OwnerReadOnly;
    }

    private const int OwnerReadOnly = 0b100_000_000;   // 0400

    private static readonly uint s_serverId = Auth.FileOwner.EffectiveUid;
}

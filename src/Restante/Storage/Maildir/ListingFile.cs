using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Unicode;

namespace Restante.Storage.Maildir;

/// <summary>
/// The file <c>restante-listing</c> in the Maildir root: the last <see cref="MaildirListing"/> of a
/// large Maildir and the <see cref="FolderStamp"/>s of new/ and cur/ it reflects, so a restarted
/// server opens an unchanged Maildir by reading one file instead of listing both folders, and a
/// changed folder is listed against it (a delta: no sort, no size read for what it already knew).
///
/// The Maildir is writable by its user, so the file is hostile input, and it is trusted only as far
/// as it proves itself:
/// <list type="bullet">
/// <item>it must be ours: a regular file owned by the server's account with mode exactly 0400, as the
/// write leaves it. A user who can rename files in the Maildir can replace it, but not with a file the
/// server owns, and cannot chmod or write the server's (the rule <see cref="WireForm"/> relies on;
/// where owner and mode are mount options they prove nothing, and such a Maildir must not be writable
/// by its users);</item>
/// <item>it must be whole: exact length for its counts, a SHA-256 of its content at the end (a torn
/// or truncated write after a crash is thrown away);</item>
/// <item>every record must be one a listing of ours can hold: names that are valid UTF-8 without '/',
/// NUL or a leading dot, base lengths as the names give them, sizes never negative and equal to W=
/// where the record says the size came from the name, bases strictly in arrival order (so no message
/// twice);</item>
/// <item>a folder is taken as listed only when the directory is the same one (device, inode) and its
/// change and modification times are exactly those recorded, and were already older than the settle
/// time when the listing was made (see <see cref="MaildirIndex"/>); any other folder is listed again,
/// and the file's records only spare reading the sizes of names the listing finds again.</item>
/// </list>
/// A file that fails any of this is ignored (and replaced by the next write): it never fails an
/// open, and it can neither add a message, nor hide one, nor give a size other than the one that
/// was counted, read from W= or from the <see cref="SizeIndex"/> when the listing was made.
/// </summary>
internal static class ListingFile
{
    public const string FileName = "restante-listing";

    private static ReadOnlySpan<byte> Magic => "RSTLIST\n"u8;
    private const uint Version = 1;
    private const int HeaderLength = 88;
    private const int RecordLength = 12;
    private const int HashLength = 32;
    // Far beyond any mailbox a POP3 client can download, and small enough that the arrays fit.
    public const int MaxMessages = 20_000_000;
    private const int OwnerReadOnly = 0b100_000_000;   // 0400

    private static readonly uint s_serverId = Auth.FileOwner.EffectiveUid;

    /// <summary>What the file holds once it passed every check.</summary>
    public readonly record struct Content(MaildirListing Listing, MaildirIndex.Stamp Stamp);

    /// <summary>Why a file present was not used (for the log and the tests); None when it was.</summary>
    public enum Rejection { None, Missing, NotOurs, Damaged }

    /// <summary>
    /// Replaces the file with <paramref name="listing"/> and <paramref name="stamp"/>: a temporary file
    /// with a random name, made read-only, renamed over the old one. Not synced: it is a cache, and a
    /// file torn by a crash fails its hash.
    /// </summary>
    public static void Write(VerifiedMaildir maildir, MaildirListing listing, MaildirIndex.Stamp stamp)
        => RootFile.ReplaceBytes(maildir, FileName, stream =>
        {
            var records = listing.Records;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            Span<byte> header = stackalloc byte[HeaderLength];
            Magic.CopyTo(header);
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Version);
            BinaryPrimitives.WriteInt32LittleEndian(header[12..], records.Length);
            var namesLength = 0;
            foreach (ref readonly var r in records) namesLength += r.NameLength;
            BinaryPrimitives.WriteInt32LittleEndian(header[16..], namesLength);
            BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (stamp.NewSettled ? 1u : 0) | (stamp.CurSettled ? 2u : 0));
            WriteStamp(header[24..], stamp.New);
            WriteStamp(header[56..], stamp.Cur);
            Emit(stream, hash, header);

            var chunk = new byte[RecordLength * 4096];
            var used = 0;
            foreach (ref readonly var r in records)
            {
                var at = chunk.AsSpan(used, RecordLength);
                at[0] = r.NameLength;
                at[1] = r.BaseLength;
                at[2] = (byte)r.Folder;
                at[3] = r.SizeFromName ? (byte)1 : (byte)0;
                BinaryPrimitives.WriteInt64LittleEndian(at[4..], r.Size);
                used += RecordLength;
                if (used == chunk.Length) { Emit(stream, hash, chunk); used = 0; }
            }
            Emit(stream, hash, chunk.AsSpan(0, used));
            // The names in record order.
            for (var i = 0; i < records.Length; i++) Emit(stream, hash, listing.NameOf(i));
            stream.Write(hash.GetHashAndReset());
            // Read-only, the mark TryRead asks for (the descriptor stays writable: permissions are checked at open).
            if (stream is not BufferedStream { UnderlyingStream: FileStream file }) throw new InvalidOperationException("RootFile no longer writes through a FileStream.");
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file.SafeFileHandle, UnixFileMode.UserRead);
        }, fsyncFile: false, fsyncDirectory: false);

    private static void Emit(Stream stream, IncrementalHash hash, ReadOnlySpan<byte> bytes)
    {
        stream.Write(bytes);
        hash.AppendData(bytes);
    }

    private static void WriteStamp(Span<byte> at, in FolderStamp stamp)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(at, stamp.Device);
        BinaryPrimitives.WriteUInt64LittleEndian(at[8..], stamp.Inode);
        BinaryPrimitives.WriteInt64LittleEndian(at[16..], stamp.ChangeNs);
        BinaryPrimitives.WriteInt64LittleEndian(at[24..], stamp.ModifyNs);
    }

    private static FolderStamp ReadStamp(ReadOnlySpan<byte> at) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(at), BinaryPrimitives.ReadUInt64LittleEndian(at[8..]),
        BinaryPrimitives.ReadInt64LittleEndian(at[16..]), BinaryPrimitives.ReadInt64LittleEndian(at[24..]));

    /// <summary>Reads and checks the file; never throws for what the file holds.</summary>
    public static Rejection TryRead(VerifiedMaildir maildir, out Content content)
    {
        content = default;
        // O_NOFOLLOW and O_NONBLOCK: a symlink, or a FIFO that would hang the open, is not ours.
        var errno = Posix.TryOpenReadAt(maildir.Root, FileName, out var handle);
        if (errno == Posix.ENoEnt) return Rejection.Missing;
        if (errno != 0) return Rejection.NotOurs;
        using (handle)
        {
            if (Posix.TryStat(handle!, out var status) != 0) return Rejection.Damaged;
            if (status.Kind != Posix.FileKind.Regular || status.OwnerId != s_serverId || (status.Permissions & 0xFFF) != OwnerReadOnly)
                return Rejection.NotOurs;
            if (status.Length < HeaderLength + HashLength || status.Length > int.MaxValue) return Rejection.Damaged;
            try
            {
                return Parse(handle!, status.Length, out content) ? Rejection.None : Rejection.Damaged;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OutOfMemoryException)
            {
                return Rejection.Damaged;
            }
        }
    }

    private static bool Parse(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long length, out Content content)
    {
        content = default;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> header = stackalloc byte[HeaderLength];
        if (!ReadExactly(handle, header, 0)) return false;
        if (!header[..8].SequenceEqual(Magic) || BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) != Version) return false;
        var count = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        var namesLength = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        // Counts checked against the length before anything is allocated for them.
        if (count is < 0 or > MaxMessages || namesLength < count || namesLength > count * 255L || (flags & ~3u) != 0) return false;
        if (length != HeaderLength + (long)count * RecordLength + namesLength + HashLength) return false;
        hash.AppendData(header);
        var stamp = new MaildirIndex.Stamp(ReadStamp(header[24..]), ReadStamp(header[56..]), (flags & 1) != 0, (flags & 2) != 0);

        // The names in one buffer (with room for appends: the listing is kept), the records read a chunk at a time and
        // checked as they come, so loading a million-message listing holds no second copy of its records.
        var names = MaildirListing.NewNames(namesLength);
        var recordsAt = (long)HeaderLength;
        var namesAt = HeaderLength + (long)count * RecordLength;
        if (!ReadExactly(handle, names.AsSpan(0, namesLength), namesAt)) return false;
        var records = MaildirListing.NewRecords(count);
        var raw = new byte[RecordLength * 4096];
        var at = 0;
        for (var first = 0; first < count; first += raw.Length / RecordLength)
        {
            var chunk = raw.AsSpan(0, Math.Min(raw.Length / RecordLength, count - first) * RecordLength);
            if (!ReadExactly(handle, chunk, recordsAt + (long)first * RecordLength)) return false;
            hash.AppendData(chunk);
            for (var i = first; i < first + chunk.Length / RecordLength; i++)
            {
                var r = chunk.Slice((i - first) * RecordLength, RecordLength);
                int nameLength = r[0], baseLength = r[1];
                var size = BinaryPrimitives.ReadInt64LittleEndian(r[4..]);
                if (nameLength == 0 || at + nameLength > namesLength || r[2] > (byte)MaildirFolder.Cur || r[3] > 1 || !MaildirListing.Record.Fits(size)) return false;
                var name = names.AsSpan(at, nameLength);
                if (!IsMessageName(name) || MaildirName.BaseLength(name) != baseLength) return false;
                var fromName = r[3] == 1;
                if (fromName && !(MaildirName.TryGetField(name, (byte)'W', out var named) && named == size)) return false;
                // Strictly in arrival order: what a listing of ours is, and no base twice (one UIDL, one message).
                if (i > 0 && ArrivalOrder.Compare(names.AsSpan(records[i - 1].NameStart, records[i - 1].BaseLength), name[..baseLength]) >= 0) return false;
                records[i] = new MaildirListing.Record
                {
                    NameStart = at,
                    NameLength = (byte)nameLength,
                    BaseLength = (byte)baseLength,
                    Folder = (MaildirFolder)r[2],
                    SizeFromName = fromName,
                    Size = size,
                };
                at += nameLength;
            }
        }
        if (at != namesLength) return false;
        hash.AppendData(names, 0, namesLength);
        Span<byte> expected = stackalloc byte[HashLength];
        if (!ReadExactly(handle, expected, namesAt + namesLength)) return false;
        Span<byte> actual = stackalloc byte[HashLength];
        hash.GetHashAndReset(actual);
        if (!CryptographicOperations.FixedTimeEquals(actual, expected)) return false;
        content = new Content(new MaildirListing(names, namesLength, records, count), stamp);
        return true;
    }

    /// <summary>A name <see cref="MaildirScan"/> would keep from a directory: one path component, not hidden, valid UTF-8.</summary>
    private static bool IsMessageName(ReadOnlySpan<byte> name) =>
        name[0] != (byte)'.' && name.IndexOfAny((byte)'/', (byte)0) < 0 && Utf8.IsValid(name);

    private static bool ReadExactly(Microsoft.Win32.SafeHandles.SafeFileHandle handle, Span<byte> into, long offset)
    {
        var done = 0;
        while (done < into.Length)
        {
            var read = RandomAccess.Read(handle, into[done..], offset + done);
            if (read <= 0) return false;
            done += read;
        }
        return true;
    }
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Restante.Storage;
using Restante.Storage.Maildir;

using static Restante.Tests.Storage.BigMaildir;

namespace Restante.Tests.Storage;

/// <summary>
/// The listing a server leaves in <c>restante-listing</c>: a restart reads it instead of listing an unchanged
/// Maildir, sees what changed while it was stopped, and ignores a file it cannot prove is its own and whole.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class MaildirListingFileTests
{
    private static long SizeOf(int i) => i % 50 + 2;   // the line and CRLF

    // An hour ahead: every folder written by the test looks settled.
    private static FakeTimeProvider Settled() => new(DateTimeOffset.UtcNow.AddHours(1));

    private static string FileOf(TempMaildirs dirs) => Path.Combine(dirs.MaildirOf("big"), ListingFile.FileName);

    private static ListingFile.Rejection Check(TempMaildirs dirs)
    {
        using var maildir = VerifiedMaildir.Open(dirs.MaildirOf("big"), dirs.Root.Length, create: false);
        return ListingFile.TryRead(maildir, out _);
    }

    [Fact]
    public async Task A_restart_on_an_unchanged_maildir_lists_no_folder_and_reads_no_message()
    {
        var time = Settled();
        using var dirs = Unsized();
        var (before, sizes) = await ListingAsync(StoreOf(dirs, time));
        Assert.Equal(ListingFile.Rejection.None, Check(dirs));
        // Every file's content changed but not its name: a server that read them would see it.
        foreach (var file in Directory.GetFiles(Path.Combine(dirs.MaildirOf("big"), "new"))) File.WriteAllText(file, "changed, much longer than before\n");
        // Without the size index either: the listing file alone must do.
        File.Delete(Path.Combine(dirs.MaildirOf("big"), SizeIndex.FileName));
        // Writing the files changed their ctime, not the folder's; the folder's times are what count.
        var restarted = StoreOf(dirs, time);

        var (after, afterSizes) = await ListingAsync(restarted);

        Assert.Equal(0, restarted.Index.FoldersListed);
        Assert.Equal(before, after);
        Assert.Equal(sizes, afterSizes);
        Assert.Equal(Enumerable.Range(0, Count).Select(SizeOf), afterSizes);
    }

    [Fact]
    public async Task Changes_made_while_the_server_was_stopped_are_seen_and_uidls_stay_stable()
    {
        var time = Settled();
        using var dirs = Unsized();
        var (before, sizes) = await ListingAsync(StoreOf(dirs, time));
        var maildir = dirs.MaildirOf("big");
        // While stopped: one dropped in, one removed, one moved to cur/ and flagged by another client.
        dirs.Put("big", "new", "1800000000.V801Iffff.mx1", "dropped\n");
        File.Delete(Path.Combine(maildir, "new", before[7]));
        File.Move(Path.Combine(maildir, "new", before[4]), Path.Combine(maildir, "cur", before[4] + ":2,S"));

        var restarted = StoreOf(dirs, time);
        await using var drop = (MaildirMaildrop)await restarted.OpenAsync("big", default);

        var expected = before.Where((_, i) => i != 7).Append("1800000000.V801Iffff.mx1").ToList();
        Assert.Equal(expected, drop.Messages.Select(m => m.Uid));
        Assert.Equal(sizes.Where((_, i) => i != 7).Append(9L), drop.Messages.Select(m => m.Size));
        Assert.Equal((MaildirFolder.Cur, before[4] + ":2,S"), drop.FileOf(4));
        Assert.True(drop.IsSeen(4));
    }

    [Fact]
    public async Task A_delivery_of_ours_is_recorded_and_the_next_login_lists_only_new_while_a_drop_is_still_found()
    {
        var time = Settled();
        using var dirs = Unsized();
        var store = StoreOf(dirs, time);
        var (before, _) = await ListingAsync(store);
        var listed = store.Index.FoldersListed;

        var uid = await store.DeliverAsync("big", new MemoryStream("Subject: ours\n\nhello\n"u8.ToArray()), default);
        var (after, sizes) = await ListingAsync(store);

        // new/ is listed again (the stamp after our rename cannot vouch for a same-tick rename by someone else), cur/ is not.
        Assert.Equal(listed + 1, store.Index.FoldersListed);
        Assert.Equal([.. before, uid], after);
        Assert.Equal("Subject: ours\r\n\r\nhello\r\n".Length, sizes[^1]);

        // Someone else's file in new/ after that: the folder's stamp moved, new/ is listed.
        dirs.Put("big", "new", "1900000000.V801Ieeee.mx1", "theirs\n");
        var (third, _) = await ListingAsync(store);
        Assert.Equal([.. before, uid, "1900000000.V801Ieeee.mx1"], third);
    }

    [Fact]
    public async Task A_file_dropped_just_before_our_delivery_is_not_hidden_by_it()
    {
        var time = Settled();
        using var dirs = Unsized();
        var store = StoreOf(dirs, time);
        var (before, _) = await ListingAsync(store);
        // new/ changed after the listing and before our rename: the delivery must not claim the folder's new stamp.
        dirs.Put("big", "new", "1700000999.V801Iffff.mx1", "dropped\n");
        var uid = await store.DeliverAsync("big", new MemoryStream("Subject: ours\n"u8.ToArray()), default);

        var (after, _) = await ListingAsync(store);

        Assert.Equal([.. before, "1700000999.V801Iffff.mx1", uid], after);
    }

    /// <summary>A listing file taken apart: header fields, records, names; put back with a correct hash.</summary>
    private sealed class Decoded
    {
        public byte[] Header = [];
        public List<(byte NameLength, byte BaseLength, byte Folder, byte FromName, long Size, byte[] Name)> Records = [];

        public static Decoded Read(byte[] file)
        {
            var d = new Decoded { Header = file[..88] };
            var count = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(12));
            var names = 88 + count * 12;
            for (var i = 0; i < count; i++)
            {
                var r = file.AsSpan(88 + i * 12, 12);
                d.Records.Add((r[0], r[1], r[2], r[3], BinaryPrimitives.ReadInt64LittleEndian(r[4..]), file[names..(names + r[0])]));
                names += r[0];
            }
            return d;
        }

        public byte[] Write(int? count = null)
        {
            var body = new MemoryStream();
            var header = (byte[])Header.Clone();
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), count ?? Records.Count);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), Records.Sum(r => r.Name.Length));
            body.Write(header);
            foreach (var r in Records)
            {
                var raw = new byte[12];
                raw[0] = (byte)r.Name.Length;
                raw[1] = r.BaseLength;
                raw[2] = r.Folder;
                raw[3] = r.FromName;
                BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(4), r.Size);
                body.Write(raw);
            }
            foreach (var r in Records) body.Write(r.Name);
            body.Write(SHA256.HashData(body.ToArray()));
            return body.ToArray();
        }

        public void Rename(int index, string name)
        {
            var bytes = Encoding.UTF8.GetBytes(name);
            Records[index] = Records[index] with { Name = bytes, NameLength = (byte)bytes.Length, BaseLength = (byte)MaildirName.BaseLength(bytes) };
        }
    }

    public static TheoryData<string> Hostile => new()
    {
        "empty", "truncated", "flipped-byte", "count-one-more", "count-huge", "names-length-wrong", "slash-in-name", "dot-dot-name",
        "duplicate-message", "out-of-order", "negative-size", "size-past-a-record", "size-from-name-without-w", "unknown-folder", "unknown-version",
        "writable-mode", "owned-by-another-user", "symlink",
    };

    [SkippableTheory]
    [MemberData(nameof(Hostile))]
    public async Task A_damaged_or_hostile_listing_file_is_ignored_and_the_listing_is_exactly_the_folders(string damage)
    {
        var time = Settled();
        using var dirs = Unsized();
        var (before, sizes) = await ListingAsync(StoreOf(dirs, time));
        var path = FileOf(dirs);
        var file = File.ReadAllBytes(path);
        var d = Decoded.Read(file);
        // An invented message where a file that passed would show it: the stamps still match the folders.
        var invented = (d.Records[0].NameLength, d.Records[0].BaseLength, d.Records[0].Folder, d.Records[0].FromName, 7L, Encoding.UTF8.GetBytes("1600000000.invented"));
        invented.BaseLength = (byte)invented.Item6.Length;
        invented.NameLength = (byte)invented.Item6.Length;
        byte[] hostile;
        switch (damage)
        {
            case "empty": hostile = []; break;
            case "truncated": hostile = file[..(file.Length - 100)]; break;
            case "flipped-byte": hostile = (byte[])file.Clone(); hostile[file.Length / 2] ^= 1; break;
            case "count-one-more": hostile = d.Write(count: Count + 1); break;
            case "count-huge": hostile = d.Write(count: int.MaxValue); break;
            case "names-length-wrong":
                hostile = d.Write();
                BinaryPrimitives.WriteInt32LittleEndian(hostile.AsSpan(16), BinaryPrimitives.ReadInt32LittleEndian(hostile.AsSpan(16)) - 1);
                hostile = [.. hostile[..^32], .. SHA256.HashData(hostile[..^32])];
                break;
            case "slash-in-name": d.Records.Insert(0, invented); d.Rename(0, "1600000000.x/../../../../etc/passwd"); hostile = d.Write(); break;
            case "dot-dot-name": d.Records.Insert(0, invented); d.Rename(0, ".."); hostile = d.Write(); break;
            case "duplicate-message": d.Records.Insert(1, d.Records[0] with { Size = 7 }); hostile = d.Write(); break;
            case "out-of-order": d.Records.Add(invented); hostile = d.Write(); break;
            case "negative-size": d.Records[3] = d.Records[3] with { Size = -1 }; d.Records.Insert(0, invented); hostile = d.Write(); break;
            // One past what a 12-byte listing record holds (46 bits, all ones meaning "unknown").
            case "size-past-a-record": d.Records[3] = d.Records[3] with { Size = 1L << 46 }; d.Records.Insert(0, invented); hostile = d.Write(); break;
            case "size-from-name-without-w": d.Records[3] = d.Records[3] with { FromName = 1, Size = 999 }; d.Records.Insert(0, invented); hostile = d.Write(); break;
            case "unknown-folder": d.Records[3] = d.Records[3] with { Folder = 2 }; d.Records.Insert(0, invented); hostile = d.Write(); break;
            case "unknown-version": d.Header[8] = 2; d.Records.Insert(0, invented); hostile = d.Write(); break;
            default: d.Records.Insert(0, invented); hostile = d.Write(); break;   // well formed: refused for who wrote it
        }
        File.Delete(path);
        if (damage == "symlink")
        {
            var elsewhere = Path.Combine(dirs.Root, "elsewhere");
            File.WriteAllBytes(elsewhere, hostile);
            File.SetUnixFileMode(elsewhere, UnixFileMode.UserRead);
            File.CreateSymbolicLink(path, elsewhere);
        }
        else
        {
            File.WriteAllBytes(path, hostile);
            File.SetUnixFileMode(path, damage == "writable-mode" ? UnixFileMode.UserRead | UnixFileMode.UserWrite : UnixFileMode.UserRead);
            // A file the mailbox's user wrote: any account but the server's.
            if (damage == "owned-by-another-user")
            {
                Skip.IfNot(Restante.Auth.FileOwner.EffectiveUid == 0, "giving a file another owner needs root");
                Chown(path, 65534);
            }
        }
        // The size index knows the sizes either way; the listing file is what is tested.
        var restarted = StoreOf(dirs, time);

        var (after, afterSizes) = await ListingAsync(restarted);

        Assert.Equal(before, after);
        Assert.Equal(sizes, afterSizes);
        Assert.Equal(2, restarted.Index.FoldersListed);
        Assert.Equal(ListingFile.Rejection.None, Check(dirs));   // rewritten as ours
    }

    [Fact]
    public async Task An_invented_message_in_a_file_of_ours_whose_folder_changed_since_is_not_served()
    {
        var time = Settled();
        using var dirs = Unsized();
        var (before, _) = await ListingAsync(StoreOf(dirs, time));
        var path = FileOf(dirs);
        var d = Decoded.Read(File.ReadAllBytes(path));
        d.Records.Insert(0, d.Records[0]);
        d.Rename(0, "1600000000.invented");
        // new/'s ctime one nanosecond off what the folder has: that folder must be listed again.
        var ctime = BinaryPrimitives.ReadInt64LittleEndian(d.Header.AsSpan(24 + 16));
        BinaryPrimitives.WriteInt64LittleEndian(d.Header.AsSpan(24 + 16), ctime - 1);
        File.Delete(path);
        File.WriteAllBytes(path, d.Write());
        File.SetUnixFileMode(path, UnixFileMode.UserRead);
        Assert.Equal(ListingFile.Rejection.None, Check(dirs));

        var restarted = StoreOf(dirs, time);
        var (after, _) = await ListingAsync(restarted);

        Assert.Equal(before, after);
        Assert.Equal(1, restarted.Index.FoldersListed);   // new/ only: cur/ is as the file says
    }

    [Fact]
    public async Task A_first_login_on_a_huge_unindexed_maildir_answers_temporarily_and_the_next_sees_every_message()
    {
        var count = MaildirIndex.BackgroundSizingThreshold + 100;
        using var dirs = new TempMaildirs();
        for (var i = 0; i < count; i++) dirs.Put("big", "new", $"{1_700_000_000 + i}.V801I{i:x}M{i}.mx1", new string('a', i % 50) + "\n");
        // No time at all to size within the login: everything is left to the background.
        var store = new MaildirStore(Path.Combine(dirs.Root, "%u", "Maildir"), null, fsync: false, Settled(), sizingBudget: TimeSpan.Zero);

        var refused = await Assert.ThrowsAsync<MailStoreException>(async () => await store.OpenAsync("big", default));
        Assert.Equal(MailStoreErrorKind.Transient, refused.Kind);
        await store.Index.SizedAsync(dirs.MaildirOf("big")).WaitAsync(TimeSpan.FromMinutes(2));

        await using var drop = await store.OpenAsync("big", default);
        Assert.Equal(count, drop.Messages.Count);
        Assert.Equal(Enumerable.Range(0, count).Select(SizeOf), drop.Messages.Select(m => m.Size));
    }

    [Fact]
    public async Task The_index_keeps_at_most_its_byte_budget_and_drops_the_least_recently_opened_mailbox()
    {
        using var dirs = new TempMaildirs();
        foreach (var user in new[] { "a", "b", "c" })
            for (var i = 0; i < Count; i++) dirs.Put(user, "cur", $"{1_700_000_000 + i}.M{i}.host,S=10,W=11:2,S", "Subject: x\n");
        var time = Settled();
        var probe = new MaildirIndex();
        await OpenAsync(probe, dirs, "a", time);
        // Room for two of the three.
        var index = new MaildirIndex(probe.Bytes * 2 + probe.Bytes / 2);

        await OpenAsync(index, dirs, "a", time);
        await OpenAsync(index, dirs, "b", time);
        await OpenAsync(index, dirs, "a", time);   // a is now more recent than b
        await OpenAsync(index, dirs, "c", time);

        Assert.True(index.Bytes <= index.MaxBytes, $"{index.Bytes} > {index.MaxBytes}");
        Assert.Equal(new[] { dirs.MaildirOf("a"), dirs.MaildirOf("c") }.Order(), index.Kept.Order());
    }

    private static async Task OpenAsync(MaildirIndex index, TempMaildirs dirs, string user, TimeProvider time)
    {
        using var maildir = VerifiedMaildir.Open(dirs.MaildirOf(user), dirs.Root.Length, create: false);
        var listing = await index.OpenAsync(maildir, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, fsync: false, TimeSpan.FromSeconds(20), time, default);
        Assert.Equal(Count, listing.Count);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "chown", SetLastError = true)]
    private static extern int ChownCore(string path, uint owner, uint group);

    private static void Chown(string path, uint owner)
    {
        if (ChownCore(path, owner, owner) != 0) throw new IOException($"chown failed: {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }
}

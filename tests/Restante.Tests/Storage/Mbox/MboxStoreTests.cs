using System.Text;
using Restante.Protocol;
using Restante.Storage;
using Restante.Storage.Mbox;

namespace Restante.Tests.Storage.Mbox;

public class MboxStoreTests
{
    [Fact]
    public async Task Reads_a_spool_as_postfix_writes_it_with_exact_sizes_and_content_length_ignored()
    {
        using var f = new MboxFixture();
        // The second message claims a Content-Length that would end it early; the third uses CRLF.
        var one = "Subject: one\n\nbody one\n>From quoted\n";
        var two = "Subject: two\nContent-Length: 3\n\nabcdef\n\nxyz\nFrom inside a paragraph is no separator\nend\n";
        var three = "Subject: three\r\n\r\nbody\r\n";
        f.WriteSpool("alice", MboxFixture.Entry(one) + MboxFixture.Entry(two) + "From x@y Thu Nov 26 10:00:02 2026\r\n" + three + "\r\n");
        await using var drop = await f.CreateStore().OpenAsync("alice", CancellationToken.None);
        Assert.Equal(3, drop.Messages.Count);
        var expected = new[] { one.Replace(">From", "From", StringComparison.Ordinal), two, three };
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(expected[i], await MboxFixture.ReadAsync(drop, i));
            Assert.Equal(MessageOctets.Count(Encoding.Latin1.GetBytes(expected[i])), drop.Messages[i].Size);
        }
    }

    [Fact]
    public async Task Mail_appended_by_the_mta_after_login_survives_the_quit_rewrite()
    {
        using var f = new MboxFixture();
        f.WriteSpool("alice", MboxFixture.Entry("Subject: 1\n\n1\n") + MboxFixture.Entry("Subject: 2\n\n2\n") + MboxFixture.Entry("Subject: 3\n\n3\n"));
        var store = f.CreateStore();
        string[] uidls;
        await using (var drop = await store.OpenAsync("alice", CancellationToken.None))
        {
            uidls = drop.Messages.Select(m => m.Uid).ToArray();
            f.AppendSpool("alice", MboxFixture.Entry("Subject: late\n\nlate\n", date: "Thu Nov 26 11:00:00 2026"));
            Assert.Equal(new ExpungeResult(2, 0), await drop.ExpungeAsync([0, 2], CancellationToken.None));
        }
        Assert.Equal(MboxFixture.Entry("Subject: 2\n\n2\n") + MboxFixture.Entry("Subject: late\n\nlate\n", date: "Thu Nov 26 11:00:00 2026"), f.ReadSpool("alice"));
        await using var next = await store.OpenAsync("alice", CancellationToken.None);
        Assert.Equal(2, next.Messages.Count);
        Assert.Equal(uidls[1], next.Messages[0].Uid);
        Assert.DoesNotContain(next.Messages[1].Uid, uidls);
    }

    [Fact]
    public async Task Uidls_survive_deletions_restarts_and_identical_copies()
    {
        using var f = new MboxFixture();
        var same = MboxFixture.Entry("Subject: same\n\nsame\n");
        f.WriteSpool("alice", same + MboxFixture.Entry("Subject: other\n\nx\n") + same + same);
        string[] first;
        await using (var drop = await f.CreateStore().OpenAsync("alice", CancellationToken.None))
        {
            first = drop.Messages.Select(m => m.Uid).ToArray();
            Assert.Equal(4, first.Distinct().Count());
            Assert.Equal(first[0] + "-2", first[2]);
            // Removing the first copy must not hand its UIDL to the second.
            await drop.ExpungeAsync([0], CancellationToken.None);
        }
        // A new store object: what a restarted server sees.
        await using var again = await f.CreateStore().OpenAsync("alice", CancellationToken.None);
        Assert.Equal(first[1..], again.Messages.Select(m => m.Uid));
    }

    [Fact]
    public async Task X_uidl_headers_are_adopted_at_the_first_open_only()
    {
        using var f = new MboxFixture();
        f.WriteSpool("alice", MboxFixture.Entry("X-UIDL: 4f1a2b3c4d5e6f708192a3b4c5d6e7f8\nSubject: a\n\na\n") + MboxFixture.Entry("Subject: b\n\nb\n"));
        var store = f.CreateStore(MboxUidlSource.XUidl);
        await using (var drop = await store.OpenAsync("alice", CancellationToken.None))
            Assert.Equal("4f1a2b3c4d5e6f708192a3b4c5d6e7f8", drop.Messages[0].Uid);
        // Later mail cannot choose its UIDL: it could pick one a client already knows and stay hidden.
        f.AppendSpool("alice", MboxFixture.Entry("X-UIDL: 4f1a2b3c4d5e6f708192a3b4c5d6e7f8\nSubject: c\n\nc\n") + MboxFixture.Entry("X-UIDL: chosen\nSubject: d\n\nd\n"));
        await using (var drop = await store.OpenAsync("alice", CancellationToken.None))
        {
            Assert.Equal("4f1a2b3c4d5e6f708192a3b4c5d6e7f8", drop.Messages[0].Uid);
            Assert.NotEqual("chosen", drop.Messages[3].Uid);
            Assert.Equal(4, drop.Messages.Select(m => m.Uid).Distinct().Count());
        }
        // The side file remembers the adopted one, so sidefile mode serves it too.
        await using var plain = await f.CreateStore(MboxUidlSource.SideFile).OpenAsync("alice", CancellationToken.None);
        Assert.Equal("4f1a2b3c4d5e6f708192a3b4c5d6e7f8", plain.Messages[0].Uid);
    }

    [Fact]
    public async Task Delivery_quotes_from_lines_and_both_variants_round_trip()
    {
        foreach (var variant in new[] { MboxVariant.Mboxrd, MboxVariant.Mboxo })
        {
            using var f = new MboxFixture();
            var store = f.CreateStore(variant: variant);
            var message = "Subject: q\n\nFrom the start\n>From quoted\n\nFrom after a blank line\nlast\n";
            var uid = await store.DeliverAsync("alice", new MemoryStream(Encoding.ASCII.GetBytes(message)), CancellationToken.None);
            await store.DeliverAsync("alice", new MemoryStream("Subject: next\n\nnext\n"u8.ToArray()), CancellationToken.None);
            var spool = f.ReadSpool("alice");
            Assert.StartsWith("From MAILER-DAEMON ", spool, StringComparison.Ordinal);
            Assert.Contains("\n>From the start\n", spool, StringComparison.Ordinal);
            Assert.Contains("\n>From after a blank line\n", spool, StringComparison.Ordinal);
            Assert.Contains(variant == MboxVariant.Mboxrd ? "\n>>From quoted\n" : "\n>From quoted\n", spool, StringComparison.Ordinal);
            await using var drop = await store.OpenAsync("alice", CancellationToken.None);
            Assert.Equal(2, drop.Messages.Count);
            Assert.Equal(uid, drop.Messages[0].Uid);
            var back = await MboxFixture.ReadAsync(drop, 0);
            // mboxrd is exact; mboxo turns the body's ">From" into "From" (its known loss).
            Assert.Equal(variant == MboxVariant.Mboxrd ? message : message.Replace(">From quoted", "From quoted", StringComparison.Ordinal), back);
            Assert.Equal(MessageOctets.Count(Encoding.ASCII.GetBytes(back)), drop.Messages[0].Size);
        }
    }

    [Fact]
    public async Task Delivery_after_a_spool_without_a_final_empty_line_still_starts_a_new_message()
    {
        using var f = new MboxFixture();
        f.WriteSpool("alice", "From a@b Thu Nov 26 10:00:00 2026\nSubject: cut\n\nno line end");
        var store = f.CreateStore();
        await store.DeliverAsync("alice", new MemoryStream("Subject: new\n\nnew\n"u8.ToArray()), CancellationToken.None);
        await using var drop = await store.OpenAsync("alice", CancellationToken.None);
        Assert.Equal(2, drop.Messages.Count);
        Assert.Equal("Subject: cut\n\nno line end\n", await MboxFixture.ReadAsync(drop, 0));
        Assert.Equal("Subject: new\n\nnew\n", await MboxFixture.ReadAsync(drop, 1));
    }
}

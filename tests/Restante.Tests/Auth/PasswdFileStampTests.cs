using Restante.Auth;

namespace Restante.Tests.Auth;

/// <summary>
/// <see cref="PasswdFileStamp"/> reads with one statx(2) what <see cref="FileInfo"/> reported before it: the same
/// existence, time and length for every kind of path a passwd file setting can name, except that a symlink reads as
/// its target.
/// </summary>
public sealed class PasswdFileStampTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_file_a_symlink_to_it_a_dangling_symlink_a_directory_and_a_missing_name_read_as_FileInfo_reads_them()
    {
        var file = _dir.File("passwd");
        File.WriteAllText(file, "alice:{PLAIN}pw\n");
        File.SetLastWriteTimeUtc(file, new DateTime(2026, 3, 1, 12, 0, 0, 123, DateTimeKind.Utc).AddTicks(4567));
        File.CreateSymbolicLink(_dir.File("link"), file);
        File.CreateSymbolicLink(_dir.File("dangling"), _dir.File("gone"));
        Directory.CreateDirectory(_dir.File("directory"));

        foreach (var name in new[] { "passwd", "dangling", "directory", "missing" })
        {
            var info = new FileInfo(_dir.File(name));
            var expected = info.Exists ? new PasswdFileStamp(true, info.LastWriteTimeUtc, info.Length) : default;
            Assert.Equal((name, expected), (name, PasswdFileStamp.Read(_dir.File(name))));
        }
        Assert.True(PasswdFileStamp.Read(file).Exists);
        // Unlike FileInfo (the link's own lstat), a symlink reads as the file it points to: the one PasswdFile reads,
        // whose edits must reload it (PasswdFileTests.An_edit_of_the_file_behind_a_symlink_is_picked_up).
        Assert.Equal(PasswdFileStamp.Read(file), PasswdFileStamp.Read(_dir.File("link")));
    }

    [Fact]
    public void An_edit_that_keeps_the_length_changes_the_stamp_through_its_time()
    {
        var file = _dir.File("passwd");
        File.WriteAllText(file, "alice:{PLAIN}pw\n");
        File.SetLastWriteTimeUtc(file, new DateTime(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc));
        var before = PasswdFileStamp.Read(file);
        File.WriteAllText(file, "alice:{PLAIN}PW\n");
        File.SetLastWriteTimeUtc(file, new DateTime(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc).AddTicks(1));
        Assert.NotEqual(before, PasswdFileStamp.Read(file));
    }
}

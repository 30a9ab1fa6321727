using System.IO.Enumeration;

namespace Restante.Storage.Maildir;

/// <summary>
/// Adds up a Maildir's message sizes for quota: new/ and cur/ (tmp/ holds nothing delivered).
/// The size comes from <c>,S=</c> in the name (the file's length, as every delivery of ours and
/// Dovecot's writes it); only names without it cost a stat. One directory listing, no file opened.
/// </summary>
internal static class Usage
{
    private static readonly EnumerationOptions ListingOptions = new()
    {
        AttributesToSkip = 0,
        IgnoreInaccessible = false,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
    };

    // REVIEW: a listing per quota check is fine up to tens of thousands of messages; beyond that,
    // keep a running total the way Dovecot's maildirsize file does.
    public static long Measure(string maildir)
    {
        long total = 0;
        foreach (var folder in (ReadOnlySpan<string>)["new", "cur"])
        {
            try
            {
                var sizes = new FileSystemEnumerable<long>(Path.Join(maildir, folder), static (ref FileSystemEntry e) =>
                    MaildirName.TryGetField(e.FileName, 'S', out var size) ? size : e.Length, ListingOptions)
                {
                    ShouldIncludePredicate = static (ref FileSystemEntry e) => !e.IsDirectory && e.FileName[0] != '.',
                };
                foreach (var size in sizes) total += size;
            }
            catch (DirectoryNotFoundException)
            {
                // No such folder yet: nothing stored there.
            }
        }
        return total;
    }
}

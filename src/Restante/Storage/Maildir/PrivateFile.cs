namespace Restante.Storage.Maildir;

/// <summary>Options for files only the mailbox owner may read (mode 0600), as Maildir writers use.</summary>
internal static class PrivateFile
{
    public static FileStreamOptions Options(FileMode mode, FileAccess access, FileShare share)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = 0 };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        return options;
    }
}

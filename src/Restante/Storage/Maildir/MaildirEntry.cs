namespace Restante.Storage.Maildir;

/// <summary>One message as found in <c>new/</c> or <c>cur/</c> when the snapshot was taken.</summary>
internal struct MaildirEntry
{
    public MaildirEntry(MaildirFolder folder, string fileName)
    {
        Folder = folder;
        FileName = fileName;
        var baseName = MaildirName.Base(fileName);
        BaseName = baseName.Length == fileName.Length ? fileName : baseName.ToString();
        HasTime = MaildirName.TryGetTime(fileName, out Seconds);
        SizeFromName = MaildirName.TryGetField(fileName, 'W', out Size);
        if (!SizeFromName) Size = -1;
    }

    /// <summary>Where the file was last seen; updated when another client moved it.</summary>
    public MaildirFolder Folder;

    /// <summary>The file's current name; updated when another client renamed it.</summary>
    public string FileName;

    public readonly string BaseName;
    public readonly long Seconds;
    public readonly bool HasTime;

    /// <summary>True when <see cref="Size"/> came from <c>,W=</c>, so the index need not hold it.</summary>
    public readonly bool SizeFromName;

    /// <summary>Octets after CRLF conversion; -1 until known.</summary>
    public long Size;
}

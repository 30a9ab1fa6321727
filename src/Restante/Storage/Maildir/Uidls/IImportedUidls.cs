namespace Restante.Storage.Maildir;

/// <summary>The UIDLs a previous server kept beside a Maildir, looked up per message.</summary>
internal interface IImportedUidls
{
    /// <summary>Records the file held (damaged lines not counted).</summary>
    int Count { get; }

    /// <summary>Lines of the file that could not be read and were skipped.</summary>
    int DamagedLines { get; }

    /// <summary>
    /// The UIDL the previous server served for the message whose current file name is
    /// <paramref name="fileName"/> (base name <paramref name="baseName"/>); null when it did not know it.
    /// Not yet checked against RFC 1939: see <see cref="UidlAssignment"/>.
    /// </summary>
    string? Find(string baseName, string fileName);
}

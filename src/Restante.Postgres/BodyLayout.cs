namespace Restante.Postgres;

/// <summary>
/// How a body is laid out in body_chunk rows since schema version 4: rows of at most
/// <see cref="RowSize"/> octets, which stay in the table's own pages (toast_tuple_target, migration 4)
/// instead of being cut into ~2 KB TOAST chunks behind an index and glued together again on every
/// read. A statement writes or reads <see cref="RowsPerStatement"/> rows, about the configured
/// ChunkSize. Bodies written before version 4 have one row per ChunkSize (TOASTed); the reader
/// takes both (see <see cref="PostgresMailStore"/>.ReadRowsAsync).
/// </summary>
internal static class BodyLayout
{
    // A heap tuple must fit one 8 KB page (MaxHeapTupleSize 8160 with the default block size): 24
    // octets of tuple header, body_id and seq (12), the bytea length word (4), then the data.
    public const int RowSize = 8000;

    /// <summary>The octets one row holds for a store configured with <paramref name="chunkSize"/>.</summary>
    public static int RowSizeFor(int chunkSize) => Math.Min(chunkSize, RowSize);

    /// <summary>Rows per statement: ChunkSize rounded down to whole rows, at least one.</summary>
    public static int RowsPerStatement(int chunkSize) => Math.Max(1, chunkSize / RowSizeFor(chunkSize));
}

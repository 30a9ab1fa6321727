namespace Restante.Pop3;

/// <summary>What <see cref="Pop3Session.ReadContinuationLineAsync"/> got: a line, a line over the ceiling, or nothing.</summary>
internal sealed class ContinuationLine
{
    private ContinuationLine(ContinuationStatus status, byte[] bytes)
    {
        Status = status;
        Bytes = bytes;
    }

    public static ContinuationLine TooLong { get; } = new(ContinuationStatus.TooLong, []);

    public static ContinuationLine Closed { get; } = new(ContinuationStatus.Closed, []);

    public ContinuationStatus Status { get; }

    /// <summary>The line without its line end (a copy: the caller may keep it across awaits).</summary>
    public byte[] Bytes { get; }

    public static ContinuationLine Of(byte[] bytes) => new(ContinuationStatus.Line, bytes);
}

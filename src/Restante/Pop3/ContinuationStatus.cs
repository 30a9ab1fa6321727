namespace Restante.Pop3;

/// <summary>The three outcomes of reading a continuation line.</summary>
internal enum ContinuationStatus
{
    Line,
    TooLong,
    Closed,
}

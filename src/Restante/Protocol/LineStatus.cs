namespace Restante.Protocol;

public enum LineStatus
{
    Complete,
    NeedMoreData,
    TooLong,
}

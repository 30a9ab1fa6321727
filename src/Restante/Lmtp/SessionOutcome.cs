namespace Restante.Lmtp;

internal enum SessionOutcome
{
    Continue,
    Close,
}

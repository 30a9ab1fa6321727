namespace Restante.Auth.Sasl;

/// <summary>One run of a mechanism. Steps alternate with the client's responses until success or failure.</summary>
public interface ISaslExchange
{
    /// <summary>
    /// The user name the client claimed so far, or the user a validated token names (for the failed-login log and the
    /// login throttle; may be empty, and then a failure counts for the address only). Never a secret.
    /// </summary>
    string AttemptedUser { get; }

    /// <summary>
    /// Feeds the client's next response (already base64-decoded). The first call gets the initial response of the AUTH
    /// command, or null when the client sent none, which is different from an empty one ("=", RFC 5034 §4).
    /// </summary>
    ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte>? response, CancellationToken cancellationToken);
}

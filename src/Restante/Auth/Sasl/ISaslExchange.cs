namespace Restante.Auth.Sasl;

/// <summary>One run of a mechanism. Steps alternate with the client's responses until success or failure.</summary>
public interface ISaslExchange
{
    /// <summary>
    /// The user name the client claimed so far (for the failed-login log; may be empty). Never a secret.
    /// </summary>
    string AttemptedUser { get; }

    /// <summary>
    /// Feeds the client's next response (already base64-decoded). The first call gets the initial response of the AUTH
    /// command, or null when the client sent none, which is different from an empty one ("=", RFC 5034 §4).
    /// </summary>
    ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte>? response, CancellationToken cancellationToken);
}

namespace Restante.Auth.Sasl;

/// <summary>What an exchange says after a response: send this challenge, the user is authenticated, or it failed.</summary>
public sealed class SaslStep
{
    private SaslStep(SaslStepKind kind, byte[] challenge, string user)
    {
        Kind = kind;
        Challenge = challenge;
        User = user;
    }

    /// <summary>The failure; why is deliberately not said (the client gets the same answer whatever it was).</summary>
    public static SaslStep Failed { get; } = new(SaslStepKind.Failed, [], "");

    public SaslStepKind Kind { get; }

    /// <summary>For <see cref="SaslStepKind.Continue"/>: the challenge, before base64.</summary>
    public byte[] Challenge { get; }

    /// <summary>For <see cref="SaslStepKind.Succeeded"/>: the user whose maildrop to open, as the directory spells it.</summary>
    public string User { get; }

    public static SaslStep Continue(byte[] challenge) => new(SaslStepKind.Continue, challenge, "");

    public static SaslStep Succeeded(string user) => new(SaslStepKind.Succeeded, [], user);
}

/// <summary>The three ways a SASL step can end.</summary>
public enum SaslStepKind
{
    Continue,
    Succeeded,
    Failed,
}

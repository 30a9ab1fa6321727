namespace Restante.Networking;

/// <summary>What <see cref="ILineProtocol.TakeRaw"/> made of the input: not its business, not enough yet, or work to do.</summary>
internal enum RawInput
{
    /// <summary>The protocol reads command lines now: the connection frames them.</summary>
    Lines,
    NeedMoreData,
    /// <summary>Something to await: the connection calls <see cref="ILineProtocol.ProcessRawAsync"/>.</summary>
    Ready,
}

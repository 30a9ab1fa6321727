namespace Restante.Lmtp;

/// <summary>Why a received message is refused as a whole. The data is still read to its end first.</summary>
internal enum DataProblem
{
    None,
    /// <summary>RFC 5321 §4.5.3.1.6: a line over 1000 octets. Never deliver a message with a line cut.</summary>
    LineTooLong,
    /// <summary>RFC 1870: more octets than SIZE allows.</summary>
    TooBig,
    /// <summary>The spool could not be written (disk full): temporary, the client retries.</summary>
    SpoolFailed,
}

namespace Restante.Pop3;

/// <summary>RFC 1939 §3: a session moves AUTHORIZATION → TRANSACTION → UPDATE.</summary>
public enum Pop3State
{
    Authorization,
    Transaction,
    Update,
}

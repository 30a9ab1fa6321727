namespace Restante.Admin;

/// <summary>A message in a uidl reply: its number as a session opening now would give it, its unique-id and its size in octets (as LIST counts them).</summary>
internal sealed record MessageRow(int Number, string Uid, long Size);
